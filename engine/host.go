package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/rolloutconsole/rollout/engine/netcheck"
	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
	"github.com/rolloutconsole/rollout/inventory/shell"
)

// outputFlushInterval is how long output lines of one host gather before they
// are journaled and shown as one event.
const outputFlushInterval = 100 * time.Millisecond

// maxLineBytes bounds one output line as journaled; longer lines are cut.
const maxLineBytes = 4096

// hostRun is the engine's handle on one host: its connection, reused for
// every step, and its attempt count. One worker at a time owns it.
type hostRun struct {
	host    *inventory.Host
	conn    Conn
	attempt int
	// pre is a connection being opened ahead of the host's turn (see
	// predial); dial takes it over.
	pre *predialed
}

// predialed is a connection opened ahead of its host's turn.
type predialed struct {
	// state is predialWaiting until either the dial ahead starts
	// (predialDialing) or the host's turn, or the end, comes first and
	// takes it over (predialTaken): the turn then dials itself, without
	// waiting for a goroutine to wake.
	state atomic.Int32
	timer *time.Timer   // the settle wait (predial), stopped when taken
	turn  chan struct{} // closed when taken (predialWhen's waiter)
	done  chan struct{} // closed once conn or err is set, after dialing
	conn  Conn
	err   error
}

// take claims a connection opened ahead that has not started dialling, so
// that the caller dials (or not) itself; false means it is dialling or
// dialled: wait for done.
func (p *predialed) take() bool {
	if !p.state.CompareAndSwap(predialWaiting, predialTaken) {
		return false
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	if p.turn != nil {
		close(p.turn)
	}
	return true
}

const (
	predialWaiting = iota
	predialDialing
	predialTaken
)

// aheadSettle is how long a connection opened ahead waits before it dials,
// unless its host's turn comes first. predial is called as hosts start, and
// a wave's wall time is decided by how soon all its commands get going:
// handshakes for the next wave (the costliest thing sshd does) started at
// that same moment compete with them for the client's and, on a shared
// server, sshd's CPU. Waiting a little moves them into the time the wave's
// commands run. On bench/peers.sh's sleep100 bed (a 'sleep 1' change, 100
// hosts, parallel 20, one sshd on two cores) it took the whole rollout from
// 6.72 to 6.35 s (medians of five, interleaved), with 80 and 250 ms within
// 0.05 s of that; a host whose turn comes sooner dials at once, as without.
const aheadSettle = 150 * time.Millisecond

func (e *Engine) hostRun(name string) *hostRun {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	hr := e.hosts[name]
	if hr == nil {
		hr = &hostRun{host: e.plan.Hosts[name]}
		if hr.host == nil {
			hr.host = &inventory.Host{Name: name, Settings: inventory.Settings{Address: name, Transport: inventory.TransportLocal}}
		}
		e.hosts[name] = hr
	}
	return hr
}

// closeConns closes every connection the rollout opened, those opened ahead
// of a turn that never came included.
func (e *Engine) closeConns() {
	if e.preCancel != nil {
		e.preCancel()
	}
	e.hmu.Lock()
	defer e.hmu.Unlock()
	for _, hr := range e.hosts {
		if p := hr.pre; p != nil {
			hr.pre = nil
			if !p.take() {
				<-p.done // prompt: its context is cancelled
				if p.conn != nil {
					p.conn.Close()
				}
			}
		}
		if hr.conn != nil {
			hr.conn.Close()
			hr.conn = nil
		}
	}
	closing := e.closing
	e.closing = nil
	if e.closer != nil {
		e.closer.Stop()
		e.closer = nil
	}
	for _, l := range closing {
		l.conn.Close()
	}
}

// closing is a done host's connection that closeSoon will close, and when.
type closing struct {
	conn Conn
	due  time.Time
}

// closeSoon closes a done host's connection aheadSettle from now, or when
// the rollout ends, whichever comes first. The connection's end costs the
// server (OpenSSH: the session's and the connection's processes exit) just
// when the hosts of the same wave finish theirs and the next ones start
// theirs: done a moment later, it falls into the time their commands run.
// On the sleep100 bed, five interleaved runs: 6.28-6.35 s against
// 6.26-6.29 s. One timer serves the queue, which is in the order due.
func (e *Engine) closeSoon(c Conn) {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	e.closing = append(e.closing, closing{conn: c, due: time.Now().Add(aheadSettle)})
	if e.closer == nil {
		e.closer = time.AfterFunc(aheadSettle, e.closeDue)
	}
}

// closeDue closes the connections whose time has come, and sets the timer
// for the next.
func (e *Engine) closeDue() {
	now := time.Now()
	e.hmu.Lock()
	n := 0
	for n < len(e.closing) && !e.closing[n].due.After(now) {
		n++
	}
	due := slices.Clone(e.closing[:n])
	clear(e.closing[:n])
	e.closing = e.closing[n:]
	if len(e.closing) > 0 && e.closer != nil {
		e.closer.Reset(e.closing[0].due.Sub(now))
	} else {
		e.closer = nil
	}
	e.hmu.Unlock()
	for _, l := range due {
		l.conn.Close()
	}
}

// setHost records a host's new state, durable before the caller acts on it.
func (e *Engine) setHost(hr *hostRun, phase Phase, st HostState, errMsg, kind string) error {
	return e.record(HostChanged{Host: hr.host.Name, Phase: phase, State: st, Attempt: hr.attempt, Error: errMsg, Kind: kind})
}

// outcome is how one command ended, as the engine judges it.
type outcome struct {
	ok    bool
	state HostState // failed or unknown when !ok
	err   string
	kind  string
	check int // the 1-based verify check that failed, 0 when none did
}

var okOutcome = outcome{ok: true}

// connect dials the host unless a connection is open. It is its own visible
// step: connecting.
func (e *Engine) connect(ctx context.Context, hr *hostRun, phase Phase) outcome {
	if hr.conn != nil && !connDead(hr.conn) {
		return okOutcome
	}
	if hr.conn != nil {
		// Kept from preflight or a phase before, and gone while the
		// rollout waited at a gate (an idle timeout, a restarted sshd):
		// nothing ran on it, so dial again rather than lose the host.
		hr.conn.Close()
		hr.conn = nil
	}
	if err := e.setHost(hr, phase, StateConnecting, "", ""); err != nil {
		return journalFailed(err)
	}
	return e.dial(ctx, hr)
}

// connDead reports whether a connection that says whether it is alive is
// not.
func connDead(c Conn) bool {
	a, ok := c.(interface{ Alive() bool })
	return ok && !a.Alive()
}

// dial opens the host's connection unless one is open, without recording a
// state: the swap host is not one of the rollout's hosts.
func (e *Engine) dial(ctx context.Context, hr *hostRun) outcome {
	if hr.conn != nil {
		return okOutcome
	}
	p := hr.pre
	if p != nil {
		hr.pre = nil
		if p.take() {
			p = nil // not dialling yet: dial here, now
		}
	}
	if p != nil {
		select {
		case <-p.done:
			if p.err == nil {
				hr.conn = p.conn
				return okOutcome
			}
			// It failed ahead of the turn, maybe long before it (a pause):
			// dial afresh, as if it had not been tried.
		case <-ctx.Done():
			go func() {
				if <-p.done; p.conn != nil {
					p.conn.Close()
				}
			}()
			return outcome{state: StatePending, err: "cancelled before apply", kind: "canceled"}
		}
	}
	t, err := e.transportFor(hr.host)
	if err != nil {
		return outcome{state: StateFailed, err: err.Error(), kind: "config"}
	}
	dctx, cancel := context.WithTimeout(ctx, e.plan.Change.Timeouts.Connect)
	defer cancel()
	conn, err := e.dialWith(ctx, dctx, t, hr.host)
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled before anything ran: the host is untouched.
			return outcome{state: StatePending, err: "cancelled before apply", kind: "canceled"}
		}
		if dctx.Err() == context.DeadlineExceeded && !isDialTimeouter(t) {
			return outcome{state: StateFailed, err: fmt.Sprintf("connect: no answer within %s", e.plan.Change.Timeouts.Connect), kind: "unreachable"}
		}
		return outcome{state: StateFailed, err: err.Error(), kind: errKind(err)}
	}
	hr.conn = conn
	return okOutcome
}

// predial starts opening a host's connection ahead of its turn in a batch
// that is already under way (runHostsAhead), so that when a slot frees up
// the host starts at once instead of after a handshake: with every slot
// busy for as long as its command runs, the next hosts' handshakes happen
// meanwhile, after aheadSettle. A connection that can (Warmer) also gets
// its first command's session ready; one kept from preflight gets only
// that. Nothing runs on the connection and nothing is journaled until the
// host's turn comes (connecting, then applying); a host whose turn never
// comes (abort, failures over budget) has it closed at the end.
// It dials within Timeouts.Connect, like a dial in turn; a failure is not
// reported but tried again in turn.
func (e *Engine) predial(name string) { e.predialWhen(name, nil) }

// predialWhen is predial that dials aheadSettle after start is closed (or
// when the host's turn comes): dialNextStep's connections wait for the
// running step's first apply, so that they do not compete with that step's
// own handshakes (20 of them held a test host's connection from 35 to 126
// ms on the bed), and then a moment more, for that apply's session and
// command to get going on the host (sleep100 on the bed, five interleaved
// runs: 6.42 s median without the moment, 6.35 s with it).
func (e *Engine) predialWhen(name string, start <-chan struct{}) {
	hr := e.hostRun(name)
	if hr.conn != nil && hr.pre == nil {
		// Kept from preflight: its first command's session can still be
		// made ready ahead of the turn.
		if w, ok := hr.conn.(Warmer); ok && !connDead(hr.conn) {
			w.Warm()
		}
		return
	}
	if hr.conn != nil || hr.pre != nil || e.preCtx == nil {
		return
	}
	t, err := e.transportFor(hr.host)
	if err != nil {
		return
	}
	p := &predialed{done: make(chan struct{})}
	hr.pre = p
	dialNow := func() {
		if !p.state.CompareAndSwap(predialWaiting, predialDialing) {
			return // taken by the turn, or the end, meanwhile
		}
		defer close(p.done)
		if err := e.preCtx.Err(); err != nil {
			p.err = err
			return
		}
		dctx, cancel := context.WithTimeout(e.preCtx, e.plan.Change.Timeouts.Connect)
		defer cancel()
		p.conn, p.err = e.dialWith(e.preCtx, dctx, t, hr.host)
		if w, ok := p.conn.(Warmer); ok && p.err == nil {
			w.Warm()
		}
	}
	if start == nil {
		// No goroutine waits: the timer starts one if the turn has not
		// come by then (10,000 hosts through the fake transport: waiting
		// goroutines with timers of their own cost 5 µs a host).
		p.timer = time.AfterFunc(aheadSettle, dialNow)
		return
	}
	p.turn = make(chan struct{})
	go func() {
		select {
		case <-start:
		case <-p.turn:
			return
		case <-e.preCtx.Done():
			dialNow()
			return
		}
		// The first apply has only just been sent: its session and
		// command are still starting on the host.
		settle := time.NewTimer(aheadSettle)
		defer settle.Stop()
		select {
		case <-settle.C:
		case <-p.turn:
			return
		case <-e.preCtx.Done():
		}
		dialNow()
	}()
}

// dialWith dials host with the change's connect timeout: as the timeout of
// a transport that takes one (ctx, which only cancels), else as dctx's
// deadline.
func (e *Engine) dialWith(ctx, dctx context.Context, t Transport, host *inventory.Host) (Conn, error) {
	if dt, ok := t.(DialTimeouter); ok {
		return dt.DialTimeout(ctx, host, e.plan.Change.Timeouts.Connect)
	}
	return t.Dial(dctx, host)
}

func isDialTimeouter(t Transport) bool {
	_, ok := t.(DialTimeouter)
	return ok
}

func journalFailed(err error) outcome {
	return outcome{state: StateUnknown, err: err.Error(), kind: "journal"}
}

// errKind is the badge for an error.
func errKind(err error) string {
	switch {
	case errors.Is(err, ErrConnectionLost):
		return "connection lost"
	case errors.Is(err, ErrUnreachable):
		return "unreachable"
	case errors.Is(err, ErrAuth):
		return "auth"
	case errors.Is(err, ErrHostKeyUnknown), errors.Is(err, ErrHostKeyMismatch):
		return "host key"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

// vars are the placeholder values for a command on a host.
func (e *Engine) vars(hr *hostRun, extra map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		switch name {
		case "Host":
			return hr.host.Name, true
		case "Address":
			return hr.host.Address, true
		case "Service":
			return e.plan.Service, true
		case "Change":
			return e.plan.Change.Name, true
		}
		if c, ok := strings.CutPrefix(name, "Captured."); ok {
			var v string
			var found bool
			e.read(func(s *State) {
				if h := s.Hosts[hr.host.Name]; h != nil {
					v, found = h.Captured[c]
				}
			})
			return v, found
		}
		v, ok := extra[name]
		return v, ok
	}
}

// captureBefore runs the change's capture commands on a host just before
// its first apply and journals what they printed, for that host's rollback.
// A retry keeps the first capture: by then the host may be half changed.
// A capture that fails fails the host before anything is changed, since
// its rollback would not know what to restore.
func (e *Engine) captureBefore(ctx context.Context, hr *hostRun) outcome {
	if len(e.plan.Change.Capture) == 0 {
		return okOutcome
	}
	var have bool
	e.read(func(s *State) {
		if h := s.Hosts[hr.host.Name]; h != nil {
			have = h.Captured != nil
		}
	})
	if have {
		return okOutcome
	}
	lookup := e.vars(hr, nil)
	values := make(map[string]string, len(e.plan.Change.Capture))
	for _, c := range e.plan.Change.Capture {
		// Another capture or the apply follows.
		v, o := e.capture(ctx, hr, c.Step, e.plan.Change.Timeouts.Verify, lookup, true)
		if !o.ok {
			if o.kind != "canceled" {
				o.err = fmt.Sprintf("capture %s: %s (nothing was changed)", c.Name, o.err)
			}
			if o.state == StateUnknown && o.kind == "canceled" {
				o.state = StatePending
			}
			return o
		}
		values[c.Name] = v
	}
	if err := e.record(HostCaptured{Host: hr.host.Name, Values: values}); err != nil {
		return journalFailed(err)
	}
	return okOutcome
}

// run runs one step on the host's connection with the step's timeout,
// streaming output into the journal. more says that another command
// follows on the connection if this one succeeds (Command.More).
func (e *Engine) run(ctx context.Context, hr *hostRun, step change.Step, timeout time.Duration, lookup func(string) (string, bool), more bool) outcome {
	return e.runTo(ctx, hr, step, timeout, lookup, more, nil)
}

// runsCommand reports whether any of checks runs a command on the host, so
// that the step before them can say More.
func runsCommand(checks []change.Check) bool {
	return slices.ContainsFunc(checks, func(c change.Check) bool { return c.Run != nil })
}

// maxCaptured bounds what a capture or fingerprint command's output keeps.
const maxCaptured = 4096

// capture runs a step and returns what it printed on stdout, cleaned like
// any output (secrets redacted, control characters made inert), trailing
// blank lines dropped and cut at maxCaptured. Its stderr is journaled as
// output, so a failing capture shows why.
func (e *Engine) capture(ctx context.Context, hr *hostRun, step change.Step, timeout time.Duration, lookup func(string) (string, bool), more bool) (string, outcome) {
	var b strings.Builder
	o := e.runTo(ctx, hr, step, timeout, lookup, more, func(s Stream, line []byte) bool {
		if s != Stdout {
			return false
		}
		if b.Len() < maxCaptured {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(e.clean(line))
		}
		return true
	})
	v := strings.TrimRight(b.String(), "\n \t")
	if len(v) > maxCaptured {
		v = v[:maxCaptured]
	}
	return v, o
}

// runTo is run with a tap: each output line is first offered to keep, and
// journaled only when keep is nil or returns false.
func (e *Engine) runTo(ctx context.Context, hr *hostRun, step change.Step, timeout time.Duration, lookup func(string) (string, bool), more bool, keep func(Stream, []byte) bool) outcome {
	line, err := step.Run.Render(lookup)
	if err != nil {
		return outcome{state: StateFailed, err: err.Error(), kind: "config"}
	}
	if step.Timeout > 0 {
		timeout = step.Timeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := newOutputBuffer(e, hr.host.Name)
	sink := out.add
	if keep != nil {
		sink = func(s Stream, l []byte) {
			if !keep(s, l) {
				out.add(s, l)
			}
		}
	}
	code, err := hr.conn.Run(sctx, Command{Line: line, Env: e.env(), PTY: step.PTY, More: more}, sink)
	out.flush()
	switch {
	case err == nil && code == 0:
		return okOutcome
	case err == nil:
		return outcome{state: StateFailed, err: fmt.Sprintf("exit status %d", code), kind: "exit"}
	case ctx.Err() != nil:
		return outcome{state: StateUnknown, err: "cancelled while running", kind: "canceled"}
	case errors.Is(err, ErrConnectionLost) && sctx.Err() == context.DeadlineExceeded:
		// Timed out, and the connection went before the command could be
		// stopped: it may still be running on the host.
		hr.conn.Close()
		hr.conn = nil
		return outcome{state: StateUnknown, err: fmt.Sprintf("timed out after %s, and the connection was lost before the command could be stopped: %v", timeout, err), kind: "connection lost"}
	case sctx.Err() == context.DeadlineExceeded:
		return outcome{state: StateFailed, err: fmt.Sprintf("timed out after %s", timeout), kind: "timeout"}
	case errors.Is(err, ErrConnectionLost):
		hr.conn.Close()
		hr.conn = nil
		return outcome{state: StateUnknown, err: err.Error(), kind: "connection lost"}
	default:
		return outcome{state: StateFailed, err: err.Error(), kind: errKind(err)}
	}
}

func (e *Engine) env() []EnvVar {
	out := make([]EnvVar, len(e.plan.Change.Env))
	for i, v := range e.plan.Change.Env {
		out[i] = EnvVar{Name: v.Name, Value: v.Value}
	}
	return out
}

// verify runs every check with its retries; the first check that fails all
// its tries fails the host. then says that a command follows the checks on
// the connection if they pass.
func (e *Engine) verify(ctx context.Context, hr *hostRun, checks []change.Check, lookup func(string) (string, bool), then bool) outcome {
	for i, c := range checks {
		tries := c.Retries + 1
		more := then
		if i+1 < len(checks) {
			more = runsCommand(checks[i+1:])
		}
		for try := 1; ; try++ {
			var o outcome
			if c.Run != nil {
				o = e.run(ctx, hr, c.Step, e.plan.Change.Timeouts.Verify, lookup, more)
			} else {
				o = e.netCheck(ctx, hr, c, lookup)
			}
			if o.ok {
				break
			}
			if o.state == StateUnknown || try >= tries {
				o.check = i + 1
				label := "verify"
				if len(checks) > 1 {
					label = fmt.Sprintf("verify %d", i+1)
				}
				if c.Name != "" {
					label += fmt.Sprintf(" (%s)", c.Name)
				}
				o.err = label + ": " + o.err
				return o
			}
			if err := e.record(CheckFailed{Host: hr.host.Name, Check: i + 1, Try: try, Tries: tries, Error: o.err}); err != nil {
				return journalFailed(err)
			}
			select {
			case <-ctx.Done():
				return outcome{state: StateUnknown, err: "cancelled while verifying", kind: "canceled"}
			case <-time.After(c.Interval):
			}
		}
	}
	return okOutcome
}

// applyJob applies the change to one host and verifies it.
func (e *Engine) applyJob(phase Phase) func(context.Context, *hostRun) HostState {
	return func(ctx context.Context, hr *hostRun) HostState {
		hr.attempt++
		if o := e.connect(ctx, hr, phase); !o.ok {
			return e.finish(hr, phase, o)
		}
		if o := e.captureBefore(ctx, hr); !o.ok {
			return e.finish(hr, phase, o)
		}
		if err := e.setHost(hr, phase, StateApplying, "", ""); err != nil {
			return e.finish(hr, phase, journalFailed(err))
		}
		e.startedApplying()
		lookup := e.vars(hr, nil)
		if o := e.run(ctx, hr, e.plan.Change.Apply, e.plan.Change.Timeouts.Apply, lookup, runsCommand(e.plan.Change.Verify)); !o.ok {
			if o.err != "" && o.kind != "canceled" && o.kind != "connection lost" {
				o.err = "apply: " + o.err
			}
			return e.finish(hr, phase, o)
		}
		st := e.verifyJob(phase, StateVerifying, StateDone)(ctx, hr)
		if st == StateDone && phase != PhaseCanary && phase != PhaseSwap && hr.conn != nil {
			// Done, and nothing but a rollback (which dials again) comes
			// back to it: the connection goes now (a moment later: see
			// closeSoon) rather than at the end, so a fleet holds about
			// as many connections as it runs hosts at once, not one per
			// host it ever touched (memory, sshd processes, keepalives),
			// and closing 100 of them does not hold up the end (~1 ms
			// each on a loopback sshd). Canaries keep theirs for the
			// soak; a failed host for a retry.
			e.closeSoon(hr.conn)
			hr.conn = nil
		}
		return st
	}
}

// verifyJob verifies a host without applying: re-verification of hosts whose
// outcome is unknown, and canary soak rounds.
func (e *Engine) verifyJob(phase Phase, working, passed HostState) func(context.Context, *hostRun) HostState {
	return func(ctx context.Context, hr *hostRun) HostState {
		if o := e.connect(ctx, hr, phase); !o.ok {
			if o.state == StatePending {
				o.state = StateUnknown
			}
			return e.finish(hr, phase, o)
		}
		if err := e.setHost(hr, phase, working, "", ""); err != nil {
			return e.finish(hr, phase, journalFailed(err))
		}
		if o := e.verify(ctx, hr, e.plan.Change.Verify, e.vars(hr, nil), false); !o.ok {
			return e.finish(hr, phase, o)
		}
		return e.finish(hr, phase, outcome{ok: true, state: passed})
	}
}

// rollbackJob runs the change's rollback on a host, then verifies it.
func (e *Engine) rollbackJob(phase func(string) Phase) func(context.Context, *hostRun) HostState {
	return func(ctx context.Context, hr *hostRun) HostState {
		ph := phase(hr.host.Name)
		fail := func(o outcome) HostState {
			if o.state == StateFailed {
				o.state = StateRollbackFailed
			}
			if o.state == StatePending {
				o.state = StateRollbackFailed
			}
			return e.finish(hr, ph, o)
		}
		if err := e.setHost(hr, ph, StateRollingBack, "", ""); err != nil {
			return fail(journalFailed(err))
		}
		if o := e.dial(ctx, hr); !o.ok {
			return fail(o)
		}
		lookup := e.vars(hr, nil)
		if o := e.run(ctx, hr, e.plan.Change.Rollback, e.plan.Change.Timeouts.Rollback, lookup, runsCommand(e.plan.Change.RollbackVerify)); !o.ok {
			o.err = "rollback: " + o.err
			return fail(o)
		}
		checks := e.plan.Change.RollbackVerify
		if e.fastRollback {
			// The emergency rollback verifies once, without retries or waits.
			checks = slices.Clone(checks)
			for i := range checks {
				checks[i].Retries = 0
			}
		}
		if o := e.verify(ctx, hr, checks, lookup, false); !o.ok {
			o.err = "after rollback, " + o.err
			return fail(o)
		}
		return e.finish(hr, ph, outcome{ok: true, state: StateRolledBack})
	}
}

// finish records a host's end state and returns it.
func (e *Engine) finish(hr *hostRun, phase Phase, o outcome) HostState {
	st := o.state
	if o.ok && st == "" {
		st = StateDone
	}
	if err := e.record(HostChanged{Host: hr.host.Name, Phase: phase, State: st, Attempt: hr.attempt, Error: o.err, Kind: o.kind, Check: o.check}); err != nil {
		return StateUnknown
	}
	return st
}

// outputBuffer gathers one host's output lines and journals them as one
// event per stream at most every outputFlushInterval, and at the end of each
// command.
type outputBuffer struct {
	e     *Engine
	host  string
	mu    sync.Mutex
	lines [3][]string
	timer *time.Timer
}

func newOutputBuffer(e *Engine, host string) *outputBuffer {
	return &outputBuffer{e: e, host: host}
}

func (b *outputBuffer) add(s Stream, line []byte) {
	text := b.e.clean(line)
	b.mu.Lock()
	b.lines[s&3] = append(b.lines[s&3], text)
	if b.timer == nil {
		b.timer = time.AfterFunc(outputFlushInterval, b.flush)
	}
	b.mu.Unlock()
}

func (b *outputBuffer) flush() {
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	var evs []Event
	for _, s := range []Stream{Stdout, Stderr} {
		if len(b.lines[s]) > 0 {
			evs = append(evs, HostOutput{Host: b.host, Stream: s, Lines: b.lines[s]})
			b.lines[s] = nil
		}
	}
	b.mu.Unlock()
	if len(evs) > 0 {
		b.e.journal.Post(evs...)
	}
}

// clean makes an output line safe to journal and to show: secrets redacted,
// invalid UTF-8 replaced, control characters (escape sequences that would
// move a cursor, set a title or write a clipboard) made visible and inert,
// and the line cut at maxLineBytes.
//
// Secrets are redacted first, from the raw bytes: a secret holding a control
// character or invalid UTF-8 would no longer match once made printable, and
// one straddling maxLineBytes would leak its first part.
func (e *Engine) clean(line []byte) string {
	s := string(line)
	for _, secret := range e.opts.Secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "********")
		}
	}
	if len(s) > maxLineBytes {
		s = s[:maxLineBytes]
	}
	return Printable(s)
}

// Printable returns s with invalid UTF-8 replaced by U+FFFD and every control
// character except tab shown in caret notation (ESC as ^[), so text from a
// host can never drive the terminal it is shown on.
func Printable(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case r == '\t':
			b.WriteByte('\t')
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + '@')
		case r == 0x7f:
			b.WriteString("^?")
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// quoteEnv renders env assignments for a command line, for transports that
// cannot pass environment variables any other way.
func quoteEnv(env []EnvVar) string {
	var b strings.Builder
	for _, v := range env {
		b.WriteString("export ")
		b.WriteString(v.Name)
		b.WriteByte('=')
		b.WriteString(shell.Quote(v.Value))
		b.WriteString("; ")
	}
	return b.String()
}

// WithEnv prefixes a command line with its environment, quoted, for
// transports that pass env inside the command.
func WithEnv(cmd Command) string {
	if len(cmd.Env) == 0 {
		return cmd.Line
	}
	return quoteEnv(cmd.Env) + cmd.Line
}

// netCheck runs an HTTP, TCP or Prometheus check, dialled from the console
// or, for from: host, through the host's connection.
func (e *Engine) netCheck(ctx context.Context, hr *hostRun, c change.Check, lookup func(string) (string, bool)) outcome {
	timeout, from := e.plan.Change.Timeouts.Verify, ""
	var run func(context.Context, netcheck.DialFunc) error
	expand := func(t *shell.Template) (string, error) {
		if t == nil {
			return "", nil
		}
		return t.Expand(lookup)
	}
	var err error
	switch {
	case c.HTTP != nil:
		var u string
		if u, err = expand(c.HTTP.URL); err == nil {
			chk := netcheck.HTTP{URL: u, Status: c.HTTP.Status, BodyContains: c.HTTP.BodyContains}
			run, from = chk.Check, c.HTTP.From
			if c.HTTP.Timeout > 0 {
				timeout = c.HTTP.Timeout
			}
		}
	case c.TCP != nil:
		var a string
		if a, err = expand(c.TCP.Address); err == nil {
			run, from = netcheck.TCP{Address: a}.Check, c.TCP.From
			if c.TCP.Timeout > 0 {
				timeout = c.TCP.Timeout
			}
		}
	case c.Prometheus != nil:
		var u, q string
		if u, err = expand(c.Prometheus.URL); err == nil {
			q, err = expand(c.Prometheus.Query)
		}
		if err == nil {
			run, from = netcheck.Prometheus{URL: u, Query: q, Max: c.Prometheus.Max, Min: c.Prometheus.Min}.Check, c.Prometheus.From
			if c.Prometheus.Timeout > 0 {
				timeout = c.Prometheus.Timeout
			}
		}
	default:
		return outcome{state: StateFailed, err: "the check has nothing to run", kind: "config"}
	}
	if err != nil {
		return outcome{state: StateFailed, err: err.Error(), kind: "config"}
	}
	if c.Timeout > 0 {
		timeout = c.Timeout
	}
	var dial netcheck.DialFunc
	if from == change.FromHost {
		d, ok := hr.conn.(NetDialer)
		if !ok {
			return outcome{state: StateFailed, err: fmt.Sprintf("%s is reached by a transport that cannot open connections from the host; use from: console", hr.host.Name), kind: "config"}
		}
		dial = d.DialContext
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := run(cctx, dial); err != nil {
		if ctx.Err() != nil {
			return outcome{state: StateUnknown, err: "cancelled while verifying", kind: "canceled"}
		}
		msg := e.clean([]byte(err.Error()))
		newOutputBuffer(e, hr.host.Name).post(Stderr, msg)
		return outcome{state: StateFailed, err: msg, kind: "check"}
	}
	return okOutcome
}

// post journals one line at once, outside a command's output.
func (b *outputBuffer) post(s Stream, line string) {
	b.e.journal.Post(HostOutput{Host: b.host, Stream: s, Lines: []string{line}})
}
