// Package tui is the rollout console: a Bubble Tea program that folds the
// engine's records into what it draws and sends the engineer's decisions
// back as engine commands. It holds no rollout logic: the engine decides,
// journals and acts; the console shows, asks and forwards.
//
// The model never blocks. Records arrive through one receive command that
// re-arms itself and drains every record already waiting (a burst of output
// from a thousand hosts becomes one message); engine commands run in their
// own commands and come back as result messages.
package tui

import (
	"context"
	"fmt"
	"io"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
)

// Controller is what the console asks of the engine (engine.Controller).
// A nil Controller makes the console read-only (rollout watch).
type Controller = engine.Controller

// DefaultArmDelay is how long a gate or a confirmation panel ignores its
// answering key after it opens: a key typed before the panel could be seen
// (a y meant for the previous gate, a double-tap) never answers it. People
// take longer than this to read and react.
const DefaultArmDelay = 200 * time.Millisecond

// Options configure a console.
type Options struct {
	// Records is the engine's event stream (Engine.Subscribe, or a journal
	// followed by Follow). The console reads it to the end.
	Records <-chan engine.Record
	// History is what was journaled before Records starts: a resumed
	// rollout's past, folded first so the console starts where the journal
	// left off (hosts done, their output) rather than with every host
	// pending. Engine.Subscribe delivers only what comes after.
	History []engine.Record
	// Controller steers the engine; nil means watch: read-only.
	Controller Controller
	// Detach stops the engine cleanly (it cancels the context the engine
	// runs under), leaving the journal resumable. Nil hides detach.
	Detach func()
	// ID names the rollout, for the commands the console suggests.
	ID string
	// JournalPath is shown in the summary.
	JournalPath string
	// Now is the clock; time.Now when nil. Tests fix it.
	Now func() time.Time
	// Input and Output are the terminal; stdin and stdout when nil.
	Input  io.Reader
	Output io.Writer
	// Theme overrides the palette; DetectTheme when nil.
	Theme *Theme
	// Scrollback is how many output lines are kept per host;
	// DefaultScrollback when zero.
	Scrollback int
	// ArmDelay: DefaultArmDelay when zero, none when negative.
	ArmDelay time.Duration
	// Grace is how long hosts in flight may finish after a detach, as the
	// quit panel tells it; engine.DefaultGrace when zero.
	Grace time.Duration
	// Inline draws in the normal screen instead of the alternate one, and
	// leaves the mouse alone (tests).
	Inline bool
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.ArmDelay == 0:
		o.ArmDelay = DefaultArmDelay
	case o.ArmDelay < 0:
		o.ArmDelay = 0
	}
	if o.Grace == 0 {
		o.Grace = engine.DefaultGrace
	}
	if o.Scrollback <= 0 {
		o.Scrollback = DefaultScrollback
	}
	return o
}

// Run opens the console and returns once the engineer leaves it: after the
// rollout ended, after a detach or an abort from the quit panel once the
// engine stopped, or when ctx ends and the record stream closes (a signal).
// It returns the state folded so far; records still unread are the
// caller's to drain. The terminal is restored on every path, a panic in
// the console included (the error then wraps tea.ErrProgramPanic).
func Run(ctx context.Context, opts Options) (*engine.State, error) {
	if opts.Theme == nil {
		t := DetectTheme()
		opts.Theme = &t
	}
	m := New(opts)
	popts := []tea.ProgramOption{tea.WithFilter(quitFilter), tea.WithoutSignalHandler()}
	if !opts.Inline {
		popts = append(popts, tea.WithAltScreen(), tea.WithMouseCellMotion())
	}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	p := tea.NewProgram(m, popts...)
	// A signal (the context) stops the engine; the console says so and
	// leaves once the engine has stopped and the stream closed.
	stop := context.AfterFunc(ctx, func() {
		defer func() { _ = recover() }()
		p.Send(stopMsg{})
	})
	defer stop()
	if _, err := p.Run(); err != nil {
		return m.c.st, fmt.Errorf("console: %w", err)
	}
	return m.c.st, nil
}

// quitFilter turns a quit into the quit panel while the rollout runs: a
// quit is a decision (abort, or detach), never a side effect.
func quitFilter(model tea.Model, msg tea.Msg) tea.Msg {
	if _, ok := msg.(tea.QuitMsg); !ok {
		return msg
	}
	if m, ok := model.(*Model); ok && !m.mayQuit() {
		return askQuitMsg{}
	}
	return msg
}
