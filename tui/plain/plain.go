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
	"slices"
	"strings"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

// Controller is what the console asks of the engine (engine.Controller).
type Controller = engine.Controller

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

	gate *engine.GateReached
	// selfAnswered: the engine answers the open gate by itself (--yes, or
	// a finish-now taken), so the console neither asks nor answers it.
	selfAnswered bool
	paused       bool // as last asked of the engine
	eof          bool // input ended
	// answered is the gate an answer was sent for, so a late end of input
	// or a second line never sends another.
	answered int
	state    *engine.State
	started  map[string]time.Time
	groups   *groups // the current step's output, grouped across hosts
}

// New returns a console writing to out and steering ctl. auto says the
// engine answers gates itself (--yes) where it may, so the console asks
// only at the others: failed gates, a preflight that is not clean, gates
// that do not offer to proceed.
func New(out io.Writer, ctl Controller, auto bool) *Console {
	return &Console{out: out, ctl: ctl, auto: auto, state: engine.NewState(), started: map[string]time.Time{}, groups: newGroups()}
}

// Run prints every record until the channel closes, and answers gates and
// commands from in, one a line (see parse): y, t, t HOST, x HOST REASON,
// resize N, finish REASON, fast-rollback REASON, r, a, p. End of input at
// an open gate aborts: an unattended console never lets a rollout go on by
// itself.
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
				c.endOfInput()
				continue
			}
			c.command(line)
		}
	}
}

// endOfInput notes that the input ended, and aborts an open gate no
// answer will come for.
func (c *Console) endOfInput() {
	c.eof = true
	if c.waiting() && len(c.queued) == 0 {
		c.printf("input closed at an open gate: aborting\n")
		c.answer(engine.Abort)
	}
}

func (c *Console) printf(format string, args ...any) {
	fmt.Fprintf(c.out, format, args...)
}

// waiting reports whether a gate is open that waits for this console's
// answer: not one the engine answers by itself, nor one answered already.
func (c *Console) waiting() bool {
	return c.gate != nil && !c.selfAnswered && c.answered != c.gate.Gate
}

// command acts on one input line.
func (c *Console) command(line string) {
	if strings.TrimSpace(line) == "" {
		if c.gate != nil {
			c.prompt()
		}
		return
	}
	cmd, err := parse(line)
	if err != nil {
		c.printf("%v\n", err)
		if c.gate != nil {
			c.prompt()
		}
		return
	}
	switch {
	case cmd.decision == "":
		c.pause()
	case c.Scripted && !c.waiting():
		// For the next gate that waits for an answer: none is open, the
		// engine answers this one, or this one was answered and the
		// engine's record of it is on its way (a script writes its answers
		// when it likes, and the console may read them before that record).
		c.queued = append(c.queued, line)
	case c.gate != nil && !c.selfAnswered && c.answered == c.gate.Gate:
		// answered already; the engine's reply is on its way (at a
		// terminal a second key never answers the next gate, unseen)
	case c.waiting():
		if !c.answerGate(cmd) {
			c.prompt()
		}
	case cmd.emergency():
		c.emergency(cmd)
	case cmd.decision == engine.Rollback:
		c.report(c.ctl.Rollback())
	case cmd.decision == engine.Abort:
		c.report(c.ctl.Abort())
	case c.gate != nil:
		c.printf("gate %d is answered by the engine (--yes, finish-now): %q answers a gate only once one asks\n", c.gate.Gate, line)
	default:
		c.printf("no gate is open: %q answers a gate only once it is shown\n", line)
	}
}

// pause pauses, or resumes what this console paused.
func (c *Console) pause() {
	var err error
	if c.paused {
		err = c.ctl.Unpause()
	} else {
		err = c.ctl.Pause()
	}
	if err == nil {
		c.paused = !c.paused
	}
	c.report(err)
}

func (c *Console) report(err error) {
	if err != nil {
		c.printf("%v\n", err)
	}
}

// answerGate answers the open gate, or says why it cannot: false when the
// command is not an answer here.
func (c *Console) answerGate(cmd command) bool {
	g := c.gate
	if !offers(g, cmd.decision) {
		c.printf("%q is not an answer here.\n", cmd.line)
		return false
	}
	if cmd.host != "" && c.state.Hosts[cmd.host] == nil {
		c.printf("unknown host %q\n", cmd.host)
		return false
	}
	if cmd.emergency() && !slices.Contains(g.Options, cmd.decision) {
		c.emergency(cmd) // possible here, but not one of the gate's answers
		return true
	}
	c.answered = g.Gate
	var err error
	if a := cmd.answer(); a.Host == "" && a.Size == 0 && a.Reason == "" {
		err = c.ctl.Decide(g.Gate, a.Decision)
	} else {
		err = c.ctl.Answer(g.Gate, a)
	}
	if err != nil {
		c.answered = 0
		c.printf("%v\n", err)
	}
	return true
}

// emergency sends finish-now or the fast rollback on its own.
func (c *Console) emergency(cmd command) {
	if cmd.decision == engine.FinishNow {
		c.report(c.ctl.FinishNow(cmd.reason))
		return
	}
	c.report(c.ctl.FastRollback(cmd.reason))
}

// answer sends a plain decision for the open gate, once.
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
		c.gate, c.selfAnswered = nil, false
		by := e.User
		if e.Auto {
			by = "--yes"
		}
		what := string(e.Decision)
		switch {
		case e.Host != "":
			what += " " + e.Host
		case e.Decision == engine.Resize:
			what += fmt.Sprintf(" the next batch to %d hosts", e.Size)
		}
		c.printf("%s gate %d: %s (%s)%s\n", ts, e.Gate, what, by, because(e.Reason))
	case engine.PhaseStarted:
		what := string(e.Phase)
		if e.Batches > 1 {
			what = fmt.Sprintf("%s batch %d/%d", e.Phase, e.Batch, e.Batches)
		}
		c.printf("%s -- %s started: %s\n", ts, what, hostsText(e.Hosts))
		c.groups.startStep(e)
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
		c.groups.output(e)
	case engine.CheckFailed:
		c.printf("%s    %s verify %d try %d/%d failed: %s; retrying\n", ts, e.Host, e.Check, e.Try, e.Tries, e.Error)
	case engine.SwapChanged:
		c.swap(ts, e)
	case engine.Paused:
		c.printf("%s paused by %s%s: no new host starts; hosts in flight finish (p to resume)\n", ts, e.User, because(e.Reason))
	case engine.Unpaused:
		c.printf("%s resumed by %s\n", ts, e.User)
	case engine.AbortRequested:
		c.printf("%s ABORT by %s%s: cancelling hosts in flight, starting nothing more\n", ts, e.User, because(e.Reason))
	case engine.RollbackStarted:
		back, what := "", "ROLLBACK"
		if e.SwapBack {
			back = ", swapping traffic back"
		}
		if e.Fast {
			what = "FAST ROLLBACK"
		}
		c.printf("%s %s by %s%s: %d hosts in reverse order%s: %s\n", ts, what, e.User, because(e.Reason), len(e.Hosts), back, strings.Join(e.Hosts, ", "))
		c.groups.startRollback(e.Hosts)
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
	default:
		c.printMore(ts, rec.Event)
	}
}

func (c *Console) hostChanged(ts string, e engine.HostChanged, t time.Time) {
	c.groups.hostChanged(e)
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

// nextQueued answers the open gate from scripted input given ahead of it.
// A refused answer is dropped and the next one tried; with nothing left and
// the input closed, the gate is aborted.
func (c *Console) nextQueued() {
	for c.waiting() && len(c.queued) > 0 {
		next := c.queued[0]
		c.queued = c.queued[1:]
		cmd, err := parse(next)
		if err != nil {
			c.printf("%v\n", err)
			continue
		}
		if c.answerGate(cmd) && cmd.emergency() && !slices.Contains(c.gate.Options, cmd.decision) {
			return // sent on its own: the gate closes when the engine acts
		}
	}
	if c.waiting() && c.eof && len(c.queued) == 0 {
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
