package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
)

// fleetSpec describes a test service.
type fleetSpec struct {
	test, canary, fleet int
	standby             bool
	batches             string // YAML list, e.g. [1, 50%, 100%]
	parallel            int
	maxFailures         string
	soak                string
	retries             int
	// rollback replaces the rollback command; extra is appended to the change.
	rollback, extra string
}

func defaultSpec() fleetSpec {
	return fleetSpec{test: 2, canary: 2, fleet: 10, standby: true, batches: "[1, 50%, 100%]", parallel: 3, maxFailures: "0", soak: "0s"}
}

func (s fleetSpec) inventoryYAML() string {
	var b strings.Builder
	b.WriteString("defaults: {transport: local}\nservices:\n  web:\n")
	list := func(role, prefix string, n int) {
		if n == 0 {
			return
		}
		fmt.Fprintf(&b, "    %s:\n", role)
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "      - %s%02d\n", prefix, i)
		}
	}
	list("test", "t", s.test)
	if s.standby {
		b.WriteString("    standby: sb\n    primary: pr\n    swap: local\n")
	}
	list("canary", "c", s.canary)
	list("fleet", "f", s.fleet)
	return b.String()
}

func (s fleetSpec) changeYAML() string {
	rollback := s.rollback
	if rollback == "" {
		rollback = "rollback {{.Host}}"
	}
	return fmt.Sprintf(`name: test change
apply: apply {{.Host}}
verify:
  run: verify {{.Host}}
  retries: %d
  interval: 1ms
rollback: %q
swap:
  run: swap {{.Promote}} {{.Demote}}
  verify: swapcheck {{.Promote}}
canary: {soak: %s, interval: 5ms}
fleet: {batches: %s, parallel: %d, max_failures: %q}
%s`, s.retries, rollback, s.soak, s.batches, s.parallel, s.maxFailures, s.extra)
}

func (s fleetSpec) plan(t testing.TB) *engine.Plan {
	t.Helper()
	inv, err := inventory.Parse("inventory.yaml", []byte(s.inventoryYAML()), inventory.Options{})
	if err != nil {
		t.Fatalf("inventory: %v\n%s", err, s.inventoryYAML())
	}
	ch, err := change.Parse("change.yaml", []byte(s.changeYAML()), change.Options{})
	if err != nil {
		t.Fatalf("change: %v", err)
	}
	svc, _ := inv.Service("web")
	p, err := engine.NewPlan(inv, svc, ch)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// policy answers a gate; returning "" leaves the gate open (the test acts itself).
type policy func(g engine.GateReached) engine.Decision

// ignore tells drive to leave a gate alone: the engine answers it itself (--yes).
const ignore engine.Decision = "(ignore)"

func proceedAll(g engine.GateReached) engine.Decision {
	if g.Kind == engine.GateFailed {
		return engine.Abort
	}
	return engine.Proceed
}

// run is one rollout under test.
type run struct {
	t       testing.TB
	eng     *engine.Engine
	fake    *fake.Transport
	dir     string
	mu      sync.Mutex
	records []engine.Record
	outcome engine.Outcome
	err     error
	done    chan struct{}
	// gates receives every gate the policy left open.
	gates chan engine.GateReached
}

func start(t testing.TB, p *engine.Plan, ft *fake.Transport, dir string, pol policy) *run {
	t.Helper()
	e, err := engine.New(p, engine.Options{Transport: ft, Local: ft, StateDir: dir, User: "tester", Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return drive(t, e, ft, dir, pol)
}

func drive(t testing.TB, e *engine.Engine, ft *fake.Transport, dir string, pol policy) *run {
	r := &run{t: t, eng: e, fake: ft, dir: dir, done: make(chan struct{}), gates: make(chan engine.GateReached, 100)}
	sub := e.Subscribe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for rec := range sub {
			r.mu.Lock()
			r.records = append(r.records, rec)
			r.mu.Unlock()
			if g, ok := rec.Event.(engine.GateReached); ok {
				if d := pol(g); d == ignore {
				} else if d != "" {
					if err := e.Decide(g.Gate, d); err != nil {
						t.Errorf("decide gate %d %s: %v", g.Gate, d, err)
					}
				} else {
					r.gates <- g
				}
			}
		}
	}()
	go func() {
		r.outcome, r.err = e.Run(context.Background())
		wg.Wait()
		close(r.done)
	}()
	return r
}

// wait waits for the rollout to end.
func (r *run) wait() engine.Outcome {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		r.t.Fatalf("rollout did not finish; events so far:\n%s", r.dump())
	}
	if r.err != nil {
		r.t.Fatalf("run: %v", r.err)
	}
	return r.outcome
}

// waitGate waits for the next gate the policy left open.
func (r *run) waitGate() engine.GateReached {
	r.t.Helper()
	select {
	case g := <-r.gates:
		return g
	case <-time.After(20 * time.Second):
		r.t.Fatalf("no gate reached; events so far:\n%s", r.dump())
	}
	return engine.GateReached{}
}

func (r *run) events() []engine.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engine.Record(nil), r.records...)
}

func (r *run) dump() string {
	var b strings.Builder
	for _, rec := range r.events() {
		fmt.Fprintf(&b, "%s\n", describe(rec.Event))
	}
	return b.String()
}

// describe is a compact one-line form of an event, for exact sequence assertions.
func describe(ev engine.Event) string {
	switch e := ev.(type) {
	case engine.HostChanged:
		s := fmt.Sprintf("host %s %s", e.Host, e.State)
		if e.Error != "" {
			s += " (" + e.Error + ")"
		}
		return s
	case engine.PhaseStarted:
		return fmt.Sprintf("phase %s %d/%d %v", e.Phase, e.Batch, e.Batches, e.Hosts)
	case engine.PhaseFinished:
		return fmt.Sprintf("phase %s %d finished ok=%v passed=%d failed=%d", e.Phase, e.Batch, e.OK, e.Passed, e.Failed)
	case engine.GateReached:
		return fmt.Sprintf("gate %d %s %s %d %v", e.Gate, e.Kind, e.Phase, e.Batch, e.Options)
	case engine.GateAnswered:
		return fmt.Sprintf("decision %d %s", e.Gate, e.Decision)
	case engine.SwapChanged:
		return fmt.Sprintf("swap back=%v %s", e.Back, e.State)
	case engine.RollbackStarted:
		return fmt.Sprintf("rollback %v swap=%v", e.Hosts, e.SwapBack)
	case engine.RolloutFinished:
		return fmt.Sprintf("finished %s", e.Outcome)
	case engine.HostOutput:
		return fmt.Sprintf("output %s %v", e.Host, e.Lines)
	case engine.CheckFailed:
		return fmt.Sprintf("check %s try %d/%d", e.Host, e.Try, e.Tries)
	}
	return ev.Type()
}

// hostStates returns the final state of every host from the events.
func (r *run) state() *engine.State {
	return engine.Fold(r.events())
}

// order returns, for one host state, the hosts in the order they reached it.
func (r *run) order(st engine.HostState) []string {
	var out []string
	for _, rec := range r.events() {
		if h, ok := rec.Event.(engine.HostChanged); ok && h.State == st {
			out = append(out, h.Host)
		}
	}
	return out
}

func (r *run) swaps() []string {
	var out []string
	for _, rec := range r.events() {
		if s, ok := rec.Event.(engine.SwapChanged); ok && s.State == engine.StateApplying {
			out = append(out, s.Promote+">"+s.Demote)
		}
	}
	return out
}
