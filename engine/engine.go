package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"sync"
	"time"

	"github.com/rolloutconsole/rollout/inventory"
)

// DefaultGrace is how long in-flight hosts may finish after the console is
// told to stop (SIGTERM, SIGHUP) before they are cancelled.
const DefaultGrace = 10 * time.Second

// Options configure an engine.
type Options struct {
	// Transport reaches hosts whose transport is ssh.
	Transport Transport
	// Local reaches hosts whose transport is local, and runs swap: local.
	Local Transport
	// StateDir holds journals and locks.
	StateDir string
	// ID names the rollout; generated when empty.
	ID string
	// User is recorded with every decision; the OS user when empty.
	User string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Grace is how long in-flight hosts may finish when ctx ends; DefaultGrace when zero.
	Grace time.Duration
	// AutoConfirm answers Proceed at every gate that passed (--yes). A failed
	// gate is never answered automatically.
	AutoConfirm bool
	// Secrets are redacted from every output line before it is journaled.
	Secrets []string
	// RollbackNow, with Resume, rolls back every host the journal says was
	// changed instead of going on: rollback after a rollout finished.
	RollbackNow bool
	// Preflight, for a new rollout, connects to every host of the plan,
	// runs the change's preflight checks and fingerprints and takes the
	// remote lock before the first gate.
	Preflight bool
	// PreflightParallel bounds preflight's connections at once;
	// DefaultPreflightParallel when zero.
	PreflightParallel int
	// InventoryArgs are recorded in the journal's header for resume: the
	// options the inventory was read with beyond its file.
	InventoryArgs []string
	// Hooks runs the change's on: commands (locally, with sh -c) when a
	// gate opens, a phase fails and the rollout ends.
	Hooks bool
}

// DefaultPreflightParallel is how many hosts preflight reaches at once.
const DefaultPreflightParallel = 50

// Engine runs one rollout. Create it with New or Resume, Subscribe, then Run
// it in its own goroutine; send it commands from any goroutine.
type Engine struct {
	plan    *Plan
	opts    Options
	journal *Journal
	replay  *Replay

	cmds chan request
	done chan struct{}

	mu    sync.Mutex // guards state and subs
	state *State
	subs  []*fanout

	hmu   sync.Mutex // guards hosts
	hosts map[string]*hostRun

	// preCtx bounds connections opened ahead of a host's turn (predial);
	// set by Run, cancelled when it returns.
	preCtx    context.Context
	preCancel context.CancelFunc
	// applying, under hmu, is closed when a host of the running step
	// starts its apply, or its swap: the next step's connections opened
	// ahead (dialNextStep) wait for it.
	applying chan struct{}
	// closing, under hmu, holds done hosts' connections that closeSoon
	// closes a moment later (closer, the timer, set while any wait), or
	// closeConns at the end.
	closing []closing
	closer  *time.Timer

	// Owned by the engine loop.
	gateSeq     int
	paused      bool
	rollingBack bool
	// finishNow and fastRollback are the emergency paths taken, with the
	// reason typed for them.
	finishNow       bool
	fastRollback    bool
	emergencyReason string
	// swapProblem is the swap host's preflight failure (it is not one of
	// the rollout's hosts, so the state does not hold it).
	swapProblem string
	// lockErr is set when preflight found another rollout's lock.
	lockErr error
	// preflightOnly stops after preflight, reading locks rather than
	// taking them (Preflight); preflightResult is its report.
	preflightOnly   bool
	preflightResult *PreflightReport
	// hookWG counts hooks running; Run waits for them before it closes the journal.
	hookWG sync.WaitGroup

	jmu  sync.Mutex // guards jerr
	jerr error
}

// request is a command sent to the engine loop.
type request struct {
	kind   reqKind
	gate   int
	answer Answer
	reply  chan error
}

type reqKind int

const (
	reqDecide reqKind = iota
	reqPause
	reqUnpause
	reqAbort
	reqRollback
	reqFinishNow
)

// New prepares a rollout of plan and creates its journal. Nothing connects
// until Run.
func New(plan *Plan, opts Options) (*Engine, error) {
	e, err := newEngine(plan, opts)
	if err != nil {
		return nil, err
	}
	h := Header{ID: e.opts.ID, Change: plan.Change.Name, Digest: plan.Change.Digest, Service: plan.Service,
		Inventory: plan.InventoryFile, ChangeFile: plan.Change.File, Created: e.opts.Now(), User: e.opts.User,
		InventoryArgs: opts.InventoryArgs}
	h.Machine, _ = os.Hostname()
	j, err := CreateJournal(e.opts.StateDir, h)
	if err != nil {
		return nil, err
	}
	e.journal = j
	return e, nil
}

// Resume prepares to go on with the rollout journaled at path. The plan must
// be of the same change (same digest) and service; hosts that were in flight
// when the journal stopped are re-verified before anything else.
func Resume(path string, plan *Plan, opts Options) (*Engine, error) {
	j, rp, err := AppendJournal(path)
	if err != nil {
		return nil, err
	}
	if rp.Header.Digest != plan.Change.Digest {
		j.Close()
		return nil, fmt.Errorf("resume %s: the change is not the one this rollout started with (digest %.12s, now %.12s): resume needs the same change file", rp.Header.ID, rp.Header.Digest, plan.Change.Digest)
	}
	if rp.Header.Service != plan.Service {
		j.Close()
		return nil, fmt.Errorf("resume %s: the rollout is of service %q, not %q", rp.Header.ID, rp.Header.Service, plan.Service)
	}
	opts.ID = rp.Header.ID
	e, err := newEngine(plan, opts)
	if err != nil {
		j.Close()
		return nil, err
	}
	e.journal, e.replay = j, rp
	for _, r := range rp.Records {
		e.state.Apply(r)
	}
	for _, ph := range e.state.Phases {
		// Batches laid out anew at a gate stay as they were laid out.
		if pp := e.plan.Phase(ph.Phase); pp != nil && len(ph.Batches) > 0 && ph.Phase == PhaseFleet {
			pp.Batches = ph.Batches
		}
	}
	if em := e.state.Emergency; em != nil && em.Decision == FinishNow {
		e.finishNow, e.emergencyReason = true, em.Reason
	}
	switch {
	case e.state.Outcome == OutcomeRolledBack && !e.hasRollbackWork():
		j.Close()
		return nil, fmt.Errorf("resume %s: the rollout was already rolled back; nothing to do", rp.Header.ID)
	case e.state.Outcome == OutcomeSucceeded && !opts.RollbackNow:
		j.Close()
		return nil, fmt.Errorf("resume %s: the rollout already succeeded; nothing to resume (roll it back with rollout rollback %s)", rp.Header.ID, rp.Header.ID)
	}
	return e, nil
}

func newEngine(plan *Plan, opts Options) (*Engine, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Grace == 0 {
		opts.Grace = DefaultGrace
	}
	if opts.User == "" {
		opts.User = currentUser()
	}
	if opts.ID == "" {
		opts.ID = NewID(opts.Now(), plan.Service)
	}
	if opts.StateDir == "" {
		return nil, errors.New("no state dir for the journal")
	}
	// The engine lays batches out anew (a resized batch, finish-now): it
	// works on its own copy of the plan's phases.
	own := *plan
	own.Phases = slices.Clone(plan.Phases)
	plan = &own
	e := &Engine{plan: plan, opts: opts, cmds: make(chan request), done: make(chan struct{}),
		state: NewState(), hosts: map[string]*hostRun{}}
	for _, name := range planHosts(plan) {
		h := plan.Hosts[name]
		if h == nil {
			return nil, fmt.Errorf("host %s is in the plan but not in the inventory", name)
		}
		if _, err := e.transportFor(h); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// planHosts is every host the plan touches or runs commands on.
func planHosts(p *Plan) []string {
	var out []string
	for i := range p.Phases {
		out = append(out, p.Phases[i].Hosts()...)
		if sh := p.Phases[i].SwapHost; sh != "" && sh != inventory.SwapLocal {
			out = append(out, sh)
		}
	}
	return out
}

func (e *Engine) transportFor(h *inventory.Host) (Transport, error) {
	if h.Transport == inventory.TransportLocal {
		if e.opts.Local == nil {
			return nil, fmt.Errorf("host %s uses the local transport, but none is configured", h.Name)
		}
		return e.opts.Local, nil
	}
	if e.opts.Transport == nil {
		return nil, fmt.Errorf("host %s is reached over %s, but no such transport is configured", h.Name, h.Transport)
	}
	return e.opts.Transport, nil
}

// NewID makes a rollout ID that sorts by time and names the service.
func NewID(t time.Time, service string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s", t.UTC().Format("20060102-150405"), service, hex.EncodeToString(b[:]))
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

func (e *Engine) hasRollbackWork() bool {
	return len(e.state.rollbackOrder()) > 0
}

// ID is the rollout's ID.
func (e *Engine) ID() string { return e.opts.ID }

// JournalPath is where the rollout is journaled.
func (e *Engine) JournalPath() string { return e.journal.Path() }

// JournalStats counts the journal's events and fsyncs; read it after Run.
func (e *Engine) JournalStats() JournalStats { return e.journal.Stats() }

// Plan is the plan the engine runs.
func (e *Engine) Plan() *Plan { return e.plan }

// Subscribe returns a channel of every record from now on, in journal order.
// It closes when Run returns. The subscriber must read it to the end.
func (e *Engine) Subscribe() <-chan Record {
	f := newFanout()
	e.mu.Lock()
	e.subs = append(e.subs, f)
	e.mu.Unlock()
	return f.out
}

// Snapshot returns a copy of the engine's state for reading.
func (e *Engine) Snapshot() *State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state.clone()
}

// Controller is the command surface of a running rollout: what a console
// (the full-screen one, the line one, a test's fake) asks of the engine.
// *Engine is one.
type Controller interface {
	// Decide answers the named gate; a gate that is no longer open fails
	// with ErrStaleGate.
	Decide(gate int, d Decision) error
	// Answer answers the named gate with a decision and what it needs: the
	// host to exclude or retry, the next batch's size, a reason.
	Answer(gate int, a Answer) error
	// FinishNow takes the emergency path forward: the rest of the fleet in
	// one batch, no more soak or gates. The reason is required.
	FinishNow(reason string) error
	// FastRollback rolls every changed host back at once, each verified
	// once without waits. The reason is required.
	FastRollback(reason string) error
	// Pause stops new hosts from starting.
	Pause() error
	// Unpause lets hosts start again.
	Unpause() error
	// Abort cancels hosts in flight and starts nothing more.
	Abort() error
	// Rollback rolls back every host that was changed, newest first.
	Rollback() error
}

var _ Controller = (*Engine)(nil)

// Decide answers the named gate. A decision for a gate that is no longer
// open fails with ErrStaleGate, so a key pressed for one gate can never
// answer the next.
func (e *Engine) Decide(gate int, d Decision) error {
	return e.Answer(gate, Answer{Decision: d})
}

// Answer answers the named gate with a decision and its details: the host
// to exclude or retry, the new batch size, the engineer's reason. Exclude,
// RetryHost and Resize leave the rollout at a gate, opened again (with a new
// number) to show their effect.
func (e *Engine) Answer(gate int, a Answer) error {
	return e.send(request{kind: reqDecide, gate: gate, answer: a})
}

// FinishNow takes the emergency path at any moment after the test phase
// passed: the rest of the fleet in one batch with no more soak and no more
// batch gates, each host still verified and the failure budget still kept.
// The reason is required and journaled.
func (e *Engine) FinishNow(reason string) error {
	return e.send(request{kind: reqFinishNow, answer: Answer{Decision: FinishNow, Reason: reason}})
}

// FastRollback cancels hosts in flight and rolls back every changed host at
// the fleet's parallelism, verifying each once without retries or waits.
// The reason is required and journaled.
func (e *Engine) FastRollback(reason string) error {
	return e.send(request{kind: reqRollback, answer: Answer{Decision: FastRollback, Reason: reason}})
}

// Pause stops new hosts from starting; hosts in flight finish.
func (e *Engine) Pause() error { return e.send(request{kind: reqPause}) }

// Unpause lets hosts start again.
func (e *Engine) Unpause() error { return e.send(request{kind: reqUnpause}) }

// Abort cancels hosts in flight and starts nothing more.
func (e *Engine) Abort() error { return e.send(request{kind: reqAbort}) }

// Rollback cancels hosts in flight, then rolls back every host that reached
// applying, in reverse order.
func (e *Engine) Rollback() error { return e.send(request{kind: reqRollback}) }

func (e *Engine) send(r request) error {
	r.reply = make(chan error, 1)
	select {
	case e.cmds <- r:
		return <-r.reply
	case <-e.done:
		return ErrFinished
	}
}

// record journals events and returns once they are durable. The engine never
// acts on an event before this returns.
func (e *Engine) record(events ...Event) error {
	err := e.journal.Append(events...)
	if err != nil {
		e.jmu.Lock()
		if e.jerr == nil {
			e.jerr = err
		}
		e.jmu.Unlock()
	}
	return err
}

// journalErr is the first journal failure, after which the engine takes no
// further step: it cannot record what it would do.
func (e *Engine) journalErr() error {
	e.jmu.Lock()
	defer e.jmu.Unlock()
	return e.jerr
}

// note records something the engineer should know.
func (e *Engine) note(msg string) {
	_ = e.record(Note{Msg: msg})
}

// sink folds committed records into the state and hands them to subscribers.
func (e *Engine) sink(recs []Record) {
	e.mu.Lock()
	for _, r := range recs {
		e.state.Apply(r)
	}
	subs := e.subs
	e.mu.Unlock()
	for _, s := range subs {
		s.push(recs)
	}
	e.fireHooks(recs)
}

// read runs fn with the state locked.
func (e *Engine) read(fn func(s *State)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(e.state)
}

// clone copies the state deeply enough for a reader to keep.
func (s *State) clone() *State {
	c := *s
	c.Hosts = make(map[string]*HostStatus, len(s.Hosts))
	for k, v := range s.Hosts {
		h := *v
		c.Hosts[k] = &h
	}
	c.Order = append([]string(nil), s.Order...)
	c.Passed = make(map[StepKey]bool, len(s.Passed))
	for k, v := range s.Passed {
		c.Passed[k] = v
	}
	c.Notes = append([]string(nil), s.Notes...)
	c.Audit = append([]AuditEntry(nil), s.Audit...)
	c.LockHosts = append([]string(nil), s.LockHosts...)
	c.Phases = append([]PhaseLayout(nil), s.Phases...)
	return &c
}
