// Package plain is the line console: one human-readable line per engine
// event, and gate answers read from a line-oriented input (a pipe, a script,
// a terminal without the full console). It is what `rollout run` uses
// without a TTY or with --plain, and it stays for CI use.
package plain

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

// Controller is what the console asks of the engine.
type Controller interface {
	Decide(gate int, d engine.Decision) error
	Pause() error
	Unpause() error
	Abort() error
	Rollback() error
}

// Console prints events and reads answers.
type Console struct {
	out  io.Writer
	ctl  Controller
	auto bool // the engine answers passing gates itself (--yes)
	// Timestamps in local time unless UTC is set (tests).
	UTC bool
	// Scripted input (not a terminal): a y or t given while no gate is open
	// answers the next gate, in order. At a terminal it is refused, so a key
	// pressed too early can never approve a gate nobody has seen.
	Scripted bool

	queued []string

	gate   *engine.GateReached
	paused bool // as last asked of the engine
	eof    bool // input ended
	// answered is the gate an answer was sent for, so a late end of input
	// or a second line never sends another.
	answered int
	state    *engine.State
	started  map[string]time.Time
}

// New returns a console writing to out and steering ctl. auto says the
// engine answers passing gates itself, so the console prompts only at
// failed ones.
func New(out io.Writer, ctl Controller, auto bool) *Console {
	return &Console{out: out, ctl: ctl, auto: auto, state: engine.NewState(), started: map[string]time.Time{}}
}

// Run prints every record until the channel closes, and answers gates and
// commands from in. Input lines: y (proceed), t (retry failed hosts), r (roll
// back), a (abort), p (pause or resume). End of input at an open gate aborts:
// an unattended console never lets a rollout go on by itself.
func (c *Console) Run(ctx context.Context, records <-chan engine.Record, in io.Reader) *engine.State {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- strings.TrimSpace(sc.Text()):
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case rec, ok := <-records:
			if !ok {
				return c.state
			}
			c.state.Apply(rec)
			c.print(rec)
		case line, ok := <-lines:
			if !ok {
				lines = nil
				c.eof = true
				if c.gate != nil && len(c.queued) == 0 && c.answered != c.gate.Gate {
					c.printf("input closed at an open gate: aborting\n")
					c.answer(engine.Abort)
				}
				continue
			}
			c.command(line)
		}
	}
}

func (c *Console) printf(format string, args ...any) {
	fmt.Fprintf(c.out, format, args...)
}

// command acts on one input line.
func (c *Console) command(line string) {
	if line == "" {
		if c.gate != nil {
			c.prompt()
		}
		return
	}
	key := strings.ToLower(line[:1])
	if c.gate != nil && c.answered == c.gate.Gate && key != "p" {
		return // answered already; the engine's reply is on its way
	}
	if c.gate == nil && c.Scripted && strings.Contains("ytra", key) {
		c.queued = append(c.queued, key)
		return
	}
	if c.gate == nil && (key == "y" || key == "t") {
		c.printf("no gate is open: %q answers a gate only once it is shown\n", line)
		return
	}
	if c.gate != nil && key != "p" {
		d, ok := map[string]engine.Decision{"y": engine.Proceed, "t": engine.Retry, "r": engine.Rollback, "a": engine.Abort}[key]
		if !ok || !offers(c.gate, d) {
			c.printf("%q is not an answer here.\n", line)
			c.prompt()
			return
		}
		c.answer(d)
		return
	}
	var err error
	switch key {
	case "p":
		if c.paused {
			err = c.ctl.Unpause()
		} else {
			err = c.ctl.Pause()
		}
		if err == nil {
			c.paused = !c.paused
		}
	case "a":
		err = c.ctl.Abort()
	case "r":
		err = c.ctl.Rollback()
	default:
		c.printf("keys: p pause/resume, a abort, r roll back (y, t at a gate)\n")
		return
	}
	if err != nil {
		c.printf("%v\n", err)
	}
}

func offers(g *engine.GateReached, d engine.Decision) bool {
	for _, o := range g.Options {
		if o == d {
			return true
		}
	}
	return false
}

func (c *Console) answer(d engine.Decision) {
	g := c.gate
	if c.answered == g.Gate {
		return
	}
	c.answered = g.Gate
	if err := c.ctl.Decide(g.Gate, d); err != nil {
		c.answered = 0
		c.printf("%v\n", err)
	}
}

var optionText = map[engine.Decision]string{
	engine.Proceed:  "[y] proceed",
	engine.Retry:    "[t] retry failed hosts",
	engine.Rollback: "[r] roll back",
	engine.Abort:    "[a] abort",
}

func (c *Console) prompt() {
	var parts []string
	for _, o := range c.gate.Options {
		parts = append(parts, optionText[o])
	}
	c.printf("   %s > \n", strings.Join(parts, "  "))
}

func (c *Console) stamp(t time.Time) string {
	if c.UTC {
		t = t.UTC()
	} else {
		t = t.Local()
	}
	return t.Format("15:04:05")
}

// print writes one record.
func (c *Console) print(rec engine.Record) {
	ts := c.stamp(rec.Time)
	switch e := rec.Event.(type) {
	case engine.RolloutStarted:
		verb := "rollout"
		if e.Resumed {
			verb = "resuming"
		}
		c.printf("%s %s %s: %q (digest %.12s) on service %s, %d hosts\n", ts, verb, e.ID, e.Change, e.Digest, e.Service, len(c.state.Order))
	case engine.GateReached:
		c.gateOpened(ts, e)
	case engine.GateAnswered:
		c.gate = nil
		by := e.User
		if e.Auto {
			by = "--yes"
		}
		c.printf("%s gate %d: %s (%s)\n", ts, e.Gate, e.Decision, by)
	case engine.PhaseStarted:
		what := string(e.Phase)
		if e.Batches > 1 {
			what = fmt.Sprintf("%s batch %d/%d", e.Phase, e.Batch, e.Batches)
		}
		c.printf("%s -- %s started: %s\n", ts, what, hostsText(e.Hosts))
	case engine.PhaseFinished:
		verdict := "passed"
		if !e.OK {
			verdict = "FAILED"
		}
		c.printf("%s -- %s %s: %d passed, %d failed\n", ts, e.Phase, verdict, e.Passed, e.Failed)
	case engine.HostChanged:
		c.hostChanged(ts, e, rec.Time)
	case engine.HostOutput:
		for _, l := range e.Lines {
			c.printf("%s    %s | %s\n", ts, e.Host, l)
		}
	case engine.CheckFailed:
		c.printf("%s    %s verify %d try %d/%d failed: %s; retrying\n", ts, e.Host, e.Check, e.Try, e.Tries, e.Error)
	case engine.SwapChanged:
		c.swap(ts, e)
	case engine.Paused:
		c.printf("%s paused by %s: no new host starts; hosts in flight finish (p to resume)\n", ts, e.User)
	case engine.Unpaused:
		c.printf("%s resumed by %s\n", ts, e.User)
	case engine.AbortRequested:
		c.printf("%s ABORT by %s: cancelling hosts in flight, starting nothing more\n", ts, e.User)
	case engine.RollbackStarted:
		back := ""
		if e.SwapBack {
			back = ", swapping traffic back"
		}
		c.printf("%s ROLLBACK by %s: %d hosts in reverse order%s: %s\n", ts, e.User, len(e.Hosts), back, strings.Join(e.Hosts, ", "))
	case engine.SoakStarted:
		c.printf("%s    canaries soaking for %s (verify every %s)\n", ts, e.Duration, e.Interval)
	case engine.Note:
		c.printf("%s note: %s\n", ts, e.Msg)
	case engine.RolloutFinished:
		c.printf("%s rollout %s", ts, strings.ToUpper(string(e.Outcome)))
		if e.Error != "" {
			c.printf(": %s", e.Error)
		}
		c.printf("\n")
	}
}

func (c *Console) hostChanged(ts string, e engine.HostChanged, t time.Time) {
	switch e.State {
	case engine.StateConnecting, engine.StateRollingBack:
		c.started[e.Host] = t
	case engine.StateApplying, engine.StateVerifying:
		if _, ok := c.started[e.Host]; !ok {
			c.started[e.Host] = t
		}
	}
	line := fmt.Sprintf("%s    %s %s", ts, e.Host, e.State)
	if !e.State.InFlight() {
		if s, ok := c.started[e.Host]; ok {
			line += fmt.Sprintf(" (%s)", t.Sub(s).Round(time.Millisecond))
			delete(c.started, e.Host)
		}
	}
	if e.Error != "" {
		line += ": " + e.Error
	}
	c.printf("%s\n", line)
}

func (c *Console) swap(ts string, e engine.SwapChanged) {
	verb := "swap"
	if e.Back {
		verb = "swap back"
	}
	where := e.Where
	if where == inventory.SwapLocal {
		where = "this machine"
	}
	switch e.State {
	case engine.StateApplying:
		c.printf("%s    %s on %s: promote %s, demote %s\n", ts, verb, where, e.Promote, e.Demote)
	case engine.StateVerifying:
		c.printf("%s    %s: verifying %s\n", ts, verb, e.Promote)
	default:
		msg := ""
		if e.Error != "" {
			msg = ": " + e.Error
		}
		c.printf("%s    %s %s%s\n", ts, verb, e.State, msg)
	}
}

func (c *Console) gateOpened(ts string, g engine.GateReached) {
	c.gate = &g
	switch g.Kind {
	case engine.GateFailed:
		c.printf("%s == gate %d: %s FAILED (%d passed, %d failed)\n", ts, g.Gate, g.Phase, g.Passed, g.Failed)
		for _, h := range g.Failing {
			c.printf("      %s %s: %s\n", h.Host, h.State, h.Error)
		}
	case engine.GateStart:
		c.printf("%s == gate %d: ready to start with %s: %s\n", ts, g.Gate, g.Phase, hostsText(g.Next))
	case engine.GateResume:
		c.printf("%s == gate %d: resumed; next %s batch %d: %s\n", ts, g.Gate, g.Phase, g.Batch, hostsText(g.Next))
	default:
		c.printf("%s == gate %d: %d passed, %d failed; next %s", ts, g.Gate, g.Passed, g.Failed, g.Phase)
		if g.Kind == engine.GateBatch {
			c.printf(" batch %d", g.Batch)
		}
		c.printf(": %s\n", hostsText(g.Next))
	}
	if len(g.Slowest) > 0 && g.Kind != engine.GateFailed {
		s := g.Slowest[0]
		c.printf("      slowest: %s %s\n", s.Host, s.Duration.Round(time.Millisecond))
	}
	if c.auto && offers(&g, engine.Proceed) {
		return // the engine answers it
	}
	c.prompt()
	c.nextQueued()
}

// nextQueued answers the open gate from scripted input given ahead of it.
// A refused answer is dropped and the next one tried; with nothing left and
// the input closed, the gate is aborted.
func (c *Console) nextQueued() {
	for c.gate != nil && len(c.queued) > 0 {
		next := c.queued[0]
		c.queued = c.queued[1:]
		d := map[string]engine.Decision{"y": engine.Proceed, "t": engine.Retry, "r": engine.Rollback, "a": engine.Abort}[next]
		if offers(c.gate, d) {
			c.answer(d)
			return
		}
		c.printf("%q is not an answer here.\n", next)
	}
	if c.gate != nil && c.eof && c.answered != c.gate.Gate {
		c.printf("input closed at an open gate: aborting\n")
		c.answer(engine.Abort)
	}
}

// hostsText names hosts compactly: runs folded into ranges, long lists cut
// in the middle.
func hostsText(hosts []string) string {
	n := "1 host"
	if len(hosts) != 1 {
		n = fmt.Sprintf("%d hosts", len(hosts))
	}
	folded := inventory.Fold(hosts)
	if len(folded) > 6 {
		return fmt.Sprintf("%s … %s (%s)", strings.Join(folded[:3], ", "), strings.Join(folded[len(folded)-2:], ", "), n)
	}
	return fmt.Sprintf("%s (%s)", strings.Join(folded, ", "), n)
}
