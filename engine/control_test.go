package engine_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
)

// waitFor waits until the events hold one that matches.
func (r *run) waitFor(what string, match func(engine.Event) bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, rec := range r.events() {
			if match(rec.Event) {
				return
			}
		}
		select {
		case <-r.done:
			for _, rec := range r.events() {
				if match(rec.Event) {
					return
				}
			}
			r.t.Fatalf("rollout ended before %s\n%s", what, r.dump())
		case <-time.After(2 * time.Millisecond):
		}
	}
	r.t.Fatalf("timed out waiting for %s\n%s", what, r.dump())
}

func hostIs(host string, st engine.HostState) func(engine.Event) bool {
	return func(ev engine.Event) bool {
		h, ok := ev.(engine.HostChanged)
		return ok && h.Host == host && h.State == st
	}
}

func TestAbortMidBatch(t *testing.T) {
	spec := defaultSpec()
	spec.batches = "[100%]"
	spec.parallel = 2
	ft := fake.New()
	ft.Script("f01", fake.Script{Hang: true})
	ft.Script("f02", fake.Script{Hang: true})
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	r.waitFor("f01 applying", hostIs("f01", engine.StateApplying))
	r.waitFor("f02 applying", hostIs("f02", engine.StateApplying))
	if err := r.eng.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := r.wait(); got != engine.OutcomeAborted {
		t.Fatalf("outcome %s\n%s", got, r.dump())
	}
	st := r.state()
	for _, h := range []string{"f01", "f02"} {
		if st.Hosts[h].State != engine.StateUnknown {
			t.Errorf("%s is %s, want unknown", h, st.Hosts[h].State)
		}
	}
	for _, h := range []string{"f03", "f04", "f10"} {
		if st.Hosts[h].State != engine.StatePending || ft.Applied()[h] != 0 {
			t.Errorf("%s started after the abort: %s", h, st.Hosts[h].State)
		}
	}
	if err := r.eng.Abort(); !errors.Is(err, engine.ErrFinished) {
		t.Errorf("abort after the end: %v, want ErrFinished", err)
	}
}

func TestPauseThenResume(t *testing.T) {
	spec := defaultSpec()
	spec.batches = "[100%]"
	spec.parallel = 1
	spec.fleet = 3
	ft := fake.New()
	var once sync.Once
	var r *run
	ready := make(chan struct{})
	ft.OnRun = func(host, verb string) {
		if host == "f01" && verb == "apply" {
			once.Do(func() {
				<-ready
				if err := r.eng.Pause(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	r = start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	close(ready)
	r.waitFor("f01 done", hostIs("f01", engine.StateDone))
	r.waitFor("paused", func(ev engine.Event) bool { _, ok := ev.(engine.Paused); return ok })
	if err := r.eng.Unpause(); err != nil {
		t.Fatal(err)
	}
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", got, r.dump())
	}
	// Between Paused and Unpaused, no host starts; f01 (in flight) finishes.
	paused := false
	sawF01Done := false
	for _, rec := range r.events() {
		switch e := rec.Event.(type) {
		case engine.Paused:
			paused = true
		case engine.Unpaused:
			paused = false
		case engine.HostChanged:
			if paused && e.State == engine.StateConnecting {
				t.Errorf("%s started while paused", e.Host)
			}
			if paused && e.Host == "f01" && e.State == engine.StateDone {
				sawF01Done = true
			}
		}
	}
	if !sawF01Done {
		t.Errorf("the host in flight did not finish while paused\n%s", r.dump())
	}
}

func TestStaleGateDecisionIsRefused(t *testing.T) {
	spec := defaultSpec()
	r := start(t, spec.plan(t), fake.New(), t.TempDir(), func(g engine.GateReached) engine.Decision { return "" })
	g1 := r.waitGate()
	if err := r.eng.Decide(g1.Gate, engine.Proceed); err != nil {
		t.Fatal(err)
	}
	g2 := r.waitGate()
	// A late "yes" meant for the first gate must not approve the second.
	if err := r.eng.Decide(g1.Gate, engine.Proceed); !errors.Is(err, engine.ErrStaleGate) {
		t.Fatalf("stale decision: %v, want ErrStaleGate", err)
	}
	if err := r.eng.Decide(g2.Gate, engine.Abort); err != nil {
		t.Fatal(err)
	}
	if got := r.wait(); got != engine.OutcomeAborted {
		t.Fatalf("outcome %s", got)
	}
}

func TestAutoConfirmNeverAnswersAFailedGate(t *testing.T) {
	spec := defaultSpec()
	ft := fake.New()
	ft.Script("c01", fake.Script{ApplyExit: 1})
	e, err := engine.New(spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: t.TempDir(), AutoConfirm: true})
	if err != nil {
		t.Fatal(err)
	}
	r := drive(t, e, ft, "", func(g engine.GateReached) engine.Decision {
		if g.Kind == engine.GateFailed {
			return ""
		}
		return ignore
	})
	g := r.waitGate()
	if g.Kind != engine.GateFailed || g.Phase != engine.PhaseCanary {
		t.Fatalf("first open gate %+v, want the failed canary gate", g)
	}
	if err := e.Decide(g.Gate, engine.Abort); err != nil {
		t.Fatal(err)
	}
	if got := r.wait(); got != engine.OutcomeFailed {
		t.Fatalf("outcome %s", got)
	}
}

func TestDroppedConnectionLeavesHostUnknown(t *testing.T) {
	spec := defaultSpec()
	ft := fake.New()
	ft.Script("t01", fake.Script{Drop: true})
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	if got := r.wait(); got != engine.OutcomeFailed {
		t.Fatalf("outcome %s", got)
	}
	h := r.state().Hosts["t01"]
	if h.State != engine.StateUnknown || h.Kind != "connection lost" {
		t.Errorf("t01 %s %q, want unknown / connection lost", h.State, h.Kind)
	}
}

// rollbackAt runs a rollout that answers Rollback at the gate before phase
// (batch) and returns the run.
func rollbackAt(t *testing.T, spec fleetSpec, phase engine.Phase, batch int, kind engine.GateKind) (*run, *fake.Transport) {
	ft := fake.New()
	r := start(t, spec.plan(t), ft, t.TempDir(), func(g engine.GateReached) engine.Decision {
		if g.Phase == phase && g.Batch == batch && g.Kind == kind {
			return engine.Rollback
		}
		return proceedAll(g)
	})
	return r, ft
}

func TestRollbackFromEachGate(t *testing.T) {
	spec := defaultSpec()
	spec.fleet = 4
	spec.batches = "[1, 100%]"
	cases := []struct {
		phase engine.Phase
		batch int
		kind  engine.GateKind
		hosts []string
		swap  bool
	}{
		{engine.PhaseStandby, 1, engine.GatePhase, []string{"t02", "t01"}, false},
		{engine.PhaseSwap, 1, engine.GatePhase, []string{"sb", "t02", "t01"}, false},
		{engine.PhaseCanary, 1, engine.GatePhase, []string{"pr", "sb", "t02", "t01"}, true},
		{engine.PhaseFleet, 1, engine.GatePhase, []string{"c02", "c01", "pr", "sb", "t02", "t01"}, true},
		{engine.PhaseFleet, 2, engine.GateBatch, []string{"f01", "c02", "c01", "pr", "sb", "t02", "t01"}, true},
	}
	for _, c := range cases {
		t.Run(string(c.phase)+"-"+string(c.kind), func(t *testing.T) {
			r, ft := rollbackAt(t, spec, c.phase, c.batch, c.kind)
			if got := r.wait(); got != engine.OutcomeRolledBack {
				t.Fatalf("outcome %s\n%s", got, r.dump())
			}
			var rb engine.RollbackStarted
			for _, rec := range r.events() {
				if e, ok := rec.Event.(engine.RollbackStarted); ok {
					rb = e
				}
			}
			// Parallel hosts within a phase (t01/t02, c01/c02) are applied in
			// either order; compare the phase order and the set.
			if !sameByPhase(rb.Hosts, c.hosts) || rb.SwapBack != c.swap {
				t.Errorf("rollback %v swap=%v, want %v swap=%v", rb.Hosts, rb.SwapBack, c.hosts, c.swap)
			}
			st := r.state()
			for _, h := range st.Order {
				applied := ft.Applied()[h] > 0
				want := slices.Contains(c.hosts, h)
				if applied != want {
					t.Errorf("%s applied=%v, want %v", h, applied, want)
				}
				if want && (ft.Version(h) != "old" || st.Hosts[h].State != engine.StateRolledBack) {
					t.Errorf("%s version %q state %s after rollback", h, ft.Version(h), st.Hosts[h].State)
				}
			}
			// The swap back runs after the old primary and before the standby.
			if c.swap {
				if got := r.swaps(); !slices.Equal(got, []string{"sb>pr", "pr>sb"}) {
					t.Errorf("swaps %v, want forward then back", got)
				}
				rolled := r.order(engine.StateRolledBack)
				swapBackSeq, prSeq, sbSeq := seqOf(r, isSwapBackDone), seqOf(r, hostIs("pr", engine.StateRolledBack)), seqOf(r, hostIs("sb", engine.StateRollingBack))
				if !(prSeq < swapBackSeq && swapBackSeq < sbSeq) {
					t.Errorf("order pr=%d swapback=%d sb=%d, rolled %v", prSeq, swapBackSeq, sbSeq, rolled)
				}
			}
		})
	}
}

func isSwapBackDone(ev engine.Event) bool {
	s, ok := ev.(engine.SwapChanged)
	return ok && s.Back && s.State == engine.StateDone
}

func seqOf(r *run, match func(engine.Event) bool) int64 {
	for _, rec := range r.events() {
		if match(rec.Event) {
			return rec.Seq
		}
	}
	return -1
}

// sameByPhase compares rollback orders where hosts of one phase (same first
// letter) may come in any order among themselves.
func sameByPhase(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	group := func(l []string) []string {
		var out []string
		for i := 0; i < len(l); {
			j := i
			for j < len(l) && l[j][0] == l[i][0] {
				j++
			}
			g := slices.Clone(l[i:j])
			slices.Sort(g)
			out = append(out, g...)
			i = j
		}
		return out
	}
	return slices.Equal(group(got), group(want))
}

func TestRollbackAfterFinishFromJournal(t *testing.T) {
	spec := defaultSpec()
	spec.fleet = 3
	dir := t.TempDir()
	ft := fake.New()
	r := start(t, spec.plan(t), ft, dir, proceedAll)
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s", got)
	}
	path := filepath.Join(dir, r.eng.ID()+".journal")
	if _, err := engine.Resume(path, spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: dir}); err == nil {
		t.Fatalf("a succeeded rollout was resumed")
	}
	e, err := engine.Resume(path, spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: dir, RollbackNow: true})
	if err != nil {
		t.Fatal(err)
	}
	r2 := drive(t, e, ft, dir, proceedAll)
	if got := r2.wait(); got != engine.OutcomeRolledBack {
		t.Fatalf("outcome %s\n%s", got, r2.dump())
	}
	st := r2.state()
	for _, h := range st.Order {
		if ft.Version(h) != "old" {
			t.Errorf("%s version %q after rollback", h, ft.Version(h))
		}
	}
	if got := r2.swaps(); !slices.Equal(got, []string{"pr>sb"}) {
		t.Errorf("swaps in the rollback run %v", got)
	}
	// Nothing is left to roll back: a second rollback is refused.
	if _, err := engine.Resume(path, spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: dir, RollbackNow: true}); err == nil {
		t.Errorf("a rolled-back rollout was rolled back again")
	}
}

func TestRollbackRequestWhileRunning(t *testing.T) {
	spec := defaultSpec()
	spec.batches = "[100%]"
	spec.parallel = 2
	ft := fake.New()
	ft.Script("f03", fake.Script{Hang: true})
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	r.waitFor("f03 applying", hostIs("f03", engine.StateApplying))
	if err := r.eng.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := r.wait(); got != engine.OutcomeRolledBack {
		t.Fatalf("outcome %s\n%s", got, r.dump())
	}
	st := r.state()
	for _, h := range st.Order {
		if ft.Applied()[h] > 0 && st.Hosts[h].State != engine.StateRolledBack {
			t.Errorf("%s applied but %s", h, st.Hosts[h].State)
		}
		if ft.Applied()[h] == 0 && st.Hosts[h].State != engine.StatePending {
			t.Errorf("%s never applied but %s", h, st.Hosts[h].State)
		}
	}
}

func TestRollbackWhilePausedAndAfterAbort(t *testing.T) {
	spec := defaultSpec()
	spec.batches = "[100%]"
	spec.parallel = 1
	ft := fake.New()
	var once sync.Once
	var r *run
	ready := make(chan struct{})
	ft.OnRun = func(host, verb string) {
		if host == "f02" && verb == "apply" {
			once.Do(func() {
				<-ready
				if err := r.eng.Pause(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	r = start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	close(ready)
	r.waitFor("f02 done while paused", hostIs("f02", engine.StateDone))
	if err := r.eng.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := r.wait(); got != engine.OutcomeRolledBack {
		t.Fatalf("outcome %s\n%s", got, r.dump())
	}
	if ft.Version("f02") != "old" || ft.Applied()["f03"] != 0 {
		t.Errorf("f02 %q, f03 applied %d", ft.Version("f02"), ft.Applied()["f03"])
	}

	// After an abort, the journal rolls back what was changed.
	dir := t.TempDir()
	ft2 := fake.New()
	ft2.Script("f01", fake.Script{Hang: true})
	r2 := start(t, spec.plan(t), ft2, dir, proceedAll)
	r2.waitFor("f01 applying", hostIs("f01", engine.StateApplying))
	if err := r2.eng.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := r2.wait(); got != engine.OutcomeAborted {
		t.Fatalf("outcome %s", got)
	}
	e, err := engine.Resume(filepath.Join(dir, r2.eng.ID()+".journal"), spec.plan(t), engine.Options{Transport: ft2, Local: ft2, StateDir: dir, RollbackNow: true})
	if err != nil {
		t.Fatal(err)
	}
	r3 := drive(t, e, ft2, dir, proceedAll)
	if got := r3.wait(); got != engine.OutcomeRolledBack {
		t.Fatalf("outcome %s\n%s", got, r3.dump())
	}
	if ft2.Version("f01") != "old" || ft2.Version("t01") != "old" {
		t.Errorf("after rollback f01 %q t01 %q", ft2.Version("f01"), ft2.Version("t01"))
	}
}

// Under --yes the next step's first hosts are dialled ahead, but only once
// the running step has started applying, and a moment (aheadSettle) after,
// so that their handshakes compete neither with that step's own nor with
// its first command getting going; each connection opened ahead is asked
// to get its first session ready, and is the one the host's turn uses, or
// its turn dials instead if the dial ahead has not started: every fleet
// host is dialled once.
func TestConnectionsOpenedAheadWaitForTheRunningStep(t *testing.T) {
	spec := fleetSpec{test: 1, fleet: 6, batches: "[100%]", parallel: 2, maxFailures: "0", soak: "0s", extra: "capture: {version: getversion}\n"}
	ft := fake.New()
	var mu sync.Mutex
	var order []string
	var testApplied, firstDial time.Time
	ft.OnDial = func(h string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, "dial "+h)
		if h == "f01" {
			firstDial = time.Now()
		}
	}
	ft.OnRun = func(h, verb string) {
		mu.Lock()
		order = append(order, verb+" "+h)
		mu.Unlock()
		if h == "t01" && verb == "apply" {
			// The test host's apply takes long enough for the next
			// step's dials to start while it runs.
			testApplied = time.Now()
			time.Sleep(600 * time.Millisecond)
		}
	}
	runAutoConfirmed(t, spec, ft)
	mu.Lock()
	defer mu.Unlock()
	captured := slices.Index(order, "getversion t01")
	for _, h := range []string{"f01", "f02"} {
		if i := slices.Index(order, "dial "+h); i < captured {
			t.Errorf("%s was dialled before the test host had even captured its state:\n%s", h, strings.Join(order, "\n"))
		}
	}
	if testApplied.IsZero() || firstDial.IsZero() {
		t.Fatalf("no apply of t01 or no dial of f01 seen:\n%s", strings.Join(order, "\n"))
	}
	if d := firstDial.Sub(testApplied); d < 100*time.Millisecond {
		t.Errorf("f01 was dialled %s after the test host's apply started; want it to wait a moment (aheadSettle)", d)
	}
	if slices.Index(order, "dial f01") > slices.Index(order, "verify t01") {
		t.Errorf("f01 was not dialled ahead, while the test host's apply ran:\n%s", strings.Join(order, "\n"))
	}
	dials, warms := ft.Dials(), ft.Warms()
	for i := 1; i <= 6; i++ {
		h := fmt.Sprintf("f%02d", i)
		// Warmed once if its connection was opened ahead, not at all if
		// its turn came first and dialled it (the fake runs in no time).
		if dials[h] != 1 || warms[h] > 1 {
			t.Errorf("%s: dialled %d times, warmed %d times; want 1 and at most 1", h, dials[h], warms[h])
		}
	}
	if warms["t01"] != 0 {
		t.Errorf("the test host, dialled in turn, was warmed %d times", warms["t01"])
	}
}

// A done host's connection is closed a moment after (aheadSettle), while
// the next host's command runs, rather than just as it starts or only at
// the end; and the end closes every connection still open, at once.
func TestDoneHostsConnectionClosesSoon(t *testing.T) {
	spec := fleetSpec{test: 1, fleet: 3, batches: "[100%]", parallel: 1, maxFailures: "0", soak: "0s"}
	ft := fake.New()
	var mu sync.Mutex
	closed := map[string]time.Time{}
	var f02Start, f02End time.Time
	ft.OnClose = func(h string) {
		mu.Lock()
		defer mu.Unlock()
		closed[h] = time.Now()
	}
	ft.OnRun = func(h, verb string) {
		if h != "f02" || verb != "apply" {
			return
		}
		mu.Lock()
		f02Start = time.Now()
		mu.Unlock()
		time.Sleep(600 * time.Millisecond)
		mu.Lock()
		f02End = time.Now()
		mu.Unlock()
	}
	runAutoConfirmed(t, spec, ft)
	if n := ft.Unclosed(); n != 0 {
		t.Errorf("%d connections left open at the end", n)
	}
	mu.Lock()
	defer mu.Unlock()
	c, ok := closed["f01"]
	switch {
	case !ok || f02Start.IsZero():
		t.Fatalf("f01 closed %v, f02 applied at %v", ok, f02Start)
	case c.Sub(f02Start) < 100*time.Millisecond:
		t.Errorf("f01's connection closed %s after f02 started: want a moment later", c.Sub(f02Start))
	case !c.Before(f02End):
		t.Errorf("f01's connection closed only after f02's apply ended: want it closed meanwhile")
	}
}

// runAutoConfirmed runs spec's rollout through ft under --yes (every gate
// answers itself) and fails the test unless it succeeds.
func runAutoConfirmed(t *testing.T, spec fleetSpec, ft *fake.Transport) {
	t.Helper()
	e, err := engine.New(spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: t.TempDir(), AutoConfirm: true, User: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	r := drive(t, e, ft, "", func(engine.GateReached) engine.Decision { return ignore })
	if o := r.wait(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
}
