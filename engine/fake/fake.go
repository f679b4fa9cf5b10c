// Package fake is a scriptable Transport for tests: per-host latency, exit
// codes, hangs and dropped connections, with a record of every command run.
//
// It understands the commands of a test change by their first word: "apply",
// "verify", "rollback" and "swap"; anything else exits 0.
package fake

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

// Script is how one host behaves.
type Script struct {
	// DialErr fails every dial.
	DialErr error
	// Latency is added to every command.
	Latency time.Duration
	// ApplyExit is apply's exit code.
	ApplyExit int
	// VerifyFails is how many verify runs fail (exit 1) before they pass; -1 fails them all.
	VerifyFails int
	// VerifyFailsAfterApply makes verify fail from the Nth run on (1-based;
	// 0 never): a canary that passes, then fails during soak.
	VerifyFailsFrom int
	// RollbackExit is rollback's exit code.
	RollbackExit int
	// Hang makes apply block until cancelled.
	Hang bool
	// Drop makes apply return a lost connection.
	Drop bool
	// Output is printed by every command, one line each.
	Output []string
	// Outputs are printed, on stdout, by the commands whose first word is
	// the key (a capture or fingerprint command, say), after Output.
	Outputs map[string][]string
	// Exits are the exit codes of commands by first word, for the verbs
	// the fake does not otherwise know (a preflight check, say).
	Exits map[string]int
}

// Call is one command run.
type Call struct {
	Host string
	Verb string // apply, verify, rollback, swap, …
	Line string
	More bool // the engine's hint that another command follows (Command.More)
	Exit int
	Err  error
}

// Transport is the fake. The zero value runs every command at once with exit 0.
type Transport struct {
	mu       sync.Mutex
	scripts  map[string]*Script
	calls    []Call
	verifies map[string]int
	inflight int
	maxIn    int
	dials    map[string]int
	warms    map[string]int
	open     []*conn
	// Applied counts applies per host; a rollback does not decrease it.
	applied map[string]int
	// Version is "new" after apply, "old" after rollback.
	version map[string]string
	// OnRun, when set, is called as each command starts (with the lock not held).
	OnRun func(host, verb string)
	// OnDial, when set, is called as each dial starts (with the lock not held).
	OnDial func(host string)
	// OnClose, when set, is called as a connection is first closed (with
	// the lock not held).
	OnClose func(host string)
	// dead marks connections that have gone (Kill): they say so by Alive.
	dead map[*conn]bool
}

// New returns a fake with no scripts.
func New() *Transport {
	return &Transport{scripts: map[string]*Script{}, verifies: map[string]int{}, dials: map[string]int{},
		applied: map[string]int{}, version: map[string]string{}}
}

// Script sets how host behaves.
func (t *Transport) Script(host string, s Script) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scripts[host] = &s
}

// SetVersion sets a host's version, as if a previous run had applied.
func (t *Transport) SetVersion(host, v string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.version[host] = v
}

// Calls returns every command run so far, in order.
func (t *Transport) Calls() []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Call(nil), t.calls...)
}

// Applied returns how many times apply ran on each host.
func (t *Transport) Applied() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.applied))
	for k, v := range t.applied {
		out[k] = v
	}
	return out
}

// Version returns a host's version: "new", "old", or "" if never touched.
func (t *Transport) Version(host string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.version[host]
}

// MaxInFlight is the most commands that ran at once.
func (t *Transport) MaxInFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.maxIn
}

// Warms is how many times the engine asked each host's connections to get
// a session ready (engine.Warmer).
func (t *Transport) Warms() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.warms)
}

// Warm counts the engine's hint; the fake has no sessions to prepare.
func (c *conn) Warm() {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	if c.t.warms == nil {
		c.t.warms = map[string]int{}
	}
	c.t.warms[c.host]++
}

// Dials is how many times each host was dialed.
func (t *Transport) Dials() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.dials))
	for k, v := range t.dials {
		out[k] = v
	}
	return out
}

// Dial connects to host, or fails as scripted.
func (t *Transport) Dial(ctx context.Context, host *inventory.Host) (engine.Conn, error) {
	t.mu.Lock()
	s := t.scripts[host.Name]
	t.dials[host.Name]++
	onDial := t.OnDial
	t.mu.Unlock()
	if onDial != nil {
		onDial(host.Name)
	}
	if s != nil && s.DialErr != nil {
		return nil, fmt.Errorf("dial %s: %w", host.Name, s.DialErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &conn{t: t, host: host.Name}
	t.mu.Lock()
	t.open = append(t.open, c)
	t.mu.Unlock()
	return c, nil
}

type conn struct {
	t      *Transport
	host   string
	closed bool // under t.mu
}

// Kill ends every open connection to host, as an sshd restart would: each
// says so by Alive, and a command run on one fails as a lost connection.
func (t *Transport) Kill(host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.open {
		if c.host == host {
			if t.dead == nil {
				t.dead = map[*conn]bool{}
			}
			t.dead[c] = true
		}
	}
}

// Alive reports whether the connection was not killed.
func (c *conn) Alive() bool {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	return !c.t.dead[c]
}

// Close marks the connection closed; OnClose hears of the first.
func (c *conn) Close() error {
	c.t.mu.Lock()
	first := !c.closed
	c.closed = true
	onClose := c.t.OnClose
	c.t.mu.Unlock()
	if first && onClose != nil {
		onClose(c.host)
	}
	return nil
}

// Unclosed counts the connections dialled and not closed since.
func (t *Transport) Unclosed() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.open {
		if !c.closed {
			n++
		}
	}
	return n
}

func (c *conn) Run(ctx context.Context, cmd engine.Command, out engine.OutputFunc) (int, error) {
	verb, _, _ := strings.Cut(strings.TrimSpace(cmd.Line), " ")
	t := c.t
	if !c.Alive() {
		return c.done(verb, cmd, -1, fmt.Errorf("%s: %w", c.host, engine.ErrConnectionLost))
	}
	t.mu.Lock()
	s := t.scripts[c.host]
	if s == nil {
		s = &Script{}
	}
	t.inflight++
	t.maxIn = max(t.maxIn, t.inflight)
	onRun := t.OnRun
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.inflight--
		t.mu.Unlock()
	}()
	if onRun != nil {
		onRun(c.host, verb)
	}
	if s.Latency > 0 {
		select {
		case <-time.After(s.Latency):
		case <-ctx.Done():
			return c.done(verb, cmd, -1, ctx.Err())
		}
	}
	for _, l := range s.Output {
		out(engine.Stdout, []byte(l))
	}
	for _, l := range s.Outputs[verb] {
		out(engine.Stdout, []byte(l))
	}
	switch verb {
	case "apply":
		t.mu.Lock()
		t.applied[c.host]++
		t.mu.Unlock()
		if s.Hang {
			<-ctx.Done()
			return c.done(verb, cmd, -1, ctx.Err())
		}
		if s.Drop {
			return c.done(verb, cmd, -1, fmt.Errorf("%s: %w", c.host, engine.ErrConnectionLost))
		}
		if s.ApplyExit == 0 {
			t.setVersion(c.host, "new")
		}
		return c.done(verb, cmd, s.ApplyExit, nil)
	case "verify":
		t.mu.Lock()
		t.verifies[c.host]++
		n := t.verifies[c.host]
		t.mu.Unlock()
		fail := s.VerifyFails < 0 || n <= s.VerifyFails || (s.VerifyFailsFrom > 0 && n >= s.VerifyFailsFrom)
		if fail {
			out(engine.Stderr, []byte("health check failed"))
			return c.done(verb, cmd, 1, nil)
		}
		return c.done(verb, cmd, 0, nil)
	case "rollback":
		if s.RollbackExit == 0 {
			t.setVersion(c.host, "old")
		}
		return c.done(verb, cmd, s.RollbackExit, nil)
	}
	return c.done(verb, cmd, s.Exits[verb], nil)
}

func (t *Transport) setVersion(host, v string) {
	t.mu.Lock()
	t.version[host] = v
	t.mu.Unlock()
}

func (c *conn) done(verb string, cmd engine.Command, code int, err error) (int, error) {
	c.t.mu.Lock()
	c.t.calls = append(c.t.calls, Call{Host: c.host, Verb: verb, Line: cmd.Line, More: cmd.More, Exit: code, Err: err})
	c.t.mu.Unlock()
	return code, err
}
