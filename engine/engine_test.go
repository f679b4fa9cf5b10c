package engine_test

import (
	"slices"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
)

func TestHappyPathAllPhases(t *testing.T) {
	spec := defaultSpec()
	ft := fake.New()
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s, want succeeded\n%s", got, r.dump())
	}
	st := r.state()
	for _, h := range st.Order {
		if st.Hosts[h].State != engine.StateDone {
			t.Errorf("%s is %s, want done", h, st.Hosts[h].State)
		}
		if ft.Applied()[h] != 1 {
			t.Errorf("%s applied %d times", h, ft.Applied()[h])
		}
	}
	// The phases start in order, each behind a gate.
	var seq []string
	for _, rec := range r.events() {
		switch e := rec.Event.(type) {
		case engine.GateReached:
			seq = append(seq, "gate:"+string(e.Kind))
		case engine.PhaseStarted:
			seq = append(seq, string(e.Phase))
		}
	}
	want := []string{"gate:start", "test", "gate:phase", "standby", "gate:phase", "swap", "gate:phase", "canary",
		"gate:phase", "fleet", "gate:batch", "fleet", "gate:batch", "fleet"}
	if !slices.Equal(seq, want) {
		t.Errorf("sequence\n got %v\nwant %v", seq, want)
	}
	if got := r.swaps(); !slices.Equal(got, []string{"sb>pr"}) {
		t.Errorf("swaps %v", got)
	}
}

func phasesStarted(r *run) []string {
	var out []string
	for _, rec := range r.events() {
		if e, ok := rec.Event.(engine.PhaseStarted); ok && (len(out) == 0 || out[len(out)-1] != string(e.Phase)) {
			out = append(out, string(e.Phase))
		}
	}
	return out
}

func TestNoStandbySkipsStandbyAndSwap(t *testing.T) {
	spec := defaultSpec()
	spec.standby = false
	r := start(t, spec.plan(t), fake.New(), t.TempDir(), proceedAll)
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", got, r.dump())
	}
	if got, want := phasesStarted(r), []string{"test", "canary", "fleet"}; !slices.Equal(got, want) {
		t.Errorf("phases %v, want %v", got, want)
	}
	if len(r.swaps()) != 0 {
		t.Errorf("swap ran without a standby")
	}
}

func TestNoCanary(t *testing.T) {
	spec := defaultSpec()
	spec.canary = 0
	r := start(t, spec.plan(t), fake.New(), t.TempDir(), proceedAll)
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", got, r.dump())
	}
	if got, want := phasesStarted(r), []string{"test", "standby", "swap", "fleet"}; !slices.Equal(got, want) {
		t.Errorf("phases %v, want %v", got, want)
	}
}

func TestVerifyFailsThenPassesWithinRetries(t *testing.T) {
	spec := defaultSpec()
	spec.retries = 3
	ft := fake.New()
	ft.Script("t01", fake.Script{VerifyFails: 2})
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", got, r.dump())
	}
	var tries []int
	for _, rec := range r.events() {
		if c, ok := rec.Event.(engine.CheckFailed); ok {
			if c.Host != "t01" || c.Tries != 4 {
				t.Errorf("unexpected check failure %+v", c)
			}
			tries = append(tries, c.Try)
		}
	}
	if !slices.Equal(tries, []int{1, 2}) {
		t.Errorf("failed tries %v, want [1 2]", tries)
	}
	if st := r.state().Hosts["t01"].State; st != engine.StateDone {
		t.Errorf("t01 %s, want done", st)
	}
}

func TestVerifyFailingPastRetriesFailsTestAndStopsBeforeProduction(t *testing.T) {
	spec := defaultSpec()
	spec.retries = 1
	ft := fake.New()
	ft.Script("t02", fake.Script{VerifyFails: -1})
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	if got := r.wait(); got != engine.OutcomeFailed {
		t.Fatalf("outcome %s, want failed\n%s", got, r.dump())
	}
	for h, n := range ft.Applied() {
		if h != "t01" && h != "t02" {
			t.Errorf("production host %s applied %d times after the test phase failed", h, n)
		}
	}
	var failedGate *engine.GateReached
	for _, rec := range r.events() {
		if g, ok := rec.Event.(engine.GateReached); ok && g.Kind == engine.GateFailed {
			failedGate = &g
		}
	}
	if failedGate == nil || !slices.Equal(failedGate.Options, []engine.Decision{engine.Retry, engine.RetryHost, engine.Exclude, engine.Rollback, engine.Abort}) {
		t.Fatalf("failed gate %+v", failedGate)
	}
	if !slices.Equal(failedGate.Next, []string{"t02"}) || failedGate.Failed != 1 || failedGate.Passed != 1 {
		t.Errorf("failed gate summary %+v", failedGate)
	}
}

func TestCanaryFailingDuringSoak(t *testing.T) {
	spec := defaultSpec()
	spec.soak = "50ms"
	ft := fake.New()
	// The first verify (after apply) passes; the third — a soak round — fails.
	ft.Script("c02", fake.Script{VerifyFailsFrom: 3})
	r := start(t, spec.plan(t), ft, t.TempDir(), func(g engine.GateReached) engine.Decision {
		if g.Kind == engine.GateFailed {
			return ""
		}
		return engine.Proceed
	})
	g := r.waitGate()
	if g.Kind != engine.GateFailed || g.Phase != engine.PhaseCanary {
		t.Fatalf("gate %+v, want canary failed", g)
	}
	if err := r.eng.Decide(g.Gate, engine.Proceed); err == nil {
		t.Errorf("a failed gate accepted proceed")
	}
	if err := r.eng.Decide(g.Gate, engine.Abort); err != nil {
		t.Fatal(err)
	}
	if got := r.wait(); got != engine.OutcomeFailed {
		t.Fatalf("outcome %s", got)
	}
	if st := r.state().Hosts["c02"]; st.State != engine.StateFailed {
		t.Errorf("c02 %s, want failed", st.State)
	}
	sawSoak := false
	for _, rec := range r.events() {
		if h, ok := rec.Event.(engine.HostChanged); ok && h.State == engine.StateSoaking {
			sawSoak = true
		}
	}
	if !sawSoak {
		t.Errorf("no soaking state recorded")
	}
	for h := range ft.Applied() {
		if h[0] == 'f' {
			t.Errorf("fleet host %s applied after the canary failed", h)
		}
	}
}

func TestFleetBatchOverBudgetNeverStartsNextBatch(t *testing.T) {
	spec := defaultSpec()
	spec.batches = "[4, 100%]"
	spec.parallel = 1
	spec.maxFailures = "1"
	ft := fake.New()
	ft.Script("f01", fake.Script{ApplyExit: 3})
	ft.Script("f02", fake.Script{ApplyExit: 3})
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	if got := r.wait(); got != engine.OutcomeFailed {
		t.Fatalf("outcome %s\n%s", got, r.dump())
	}
	applied := ft.Applied()
	for _, h := range []string{"f03", "f04", "f05", "f06", "f07", "f08", "f09", "f10"} {
		if applied[h] != 0 {
			t.Errorf("%s applied after the budget was spent", h)
		}
	}
	st := r.state()
	if st.Hosts["f01"].State != engine.StateFailed || st.Hosts["f02"].State != engine.StateFailed {
		t.Errorf("f01 %s f02 %s", st.Hosts["f01"].State, st.Hosts["f02"].State)
	}
	if e := st.Hosts["f01"].Error; e != "apply: exit status 3" {
		t.Errorf("f01 error %q", e)
	}
}

func TestRetryFailedHostsAtFailedGate(t *testing.T) {
	spec := defaultSpec()
	ft := fake.New()
	ft.Script("t01", fake.Script{ApplyExit: 1})
	retried := false
	r := start(t, spec.plan(t), ft, t.TempDir(), func(g engine.GateReached) engine.Decision {
		if g.Kind == engine.GateFailed {
			if retried {
				return engine.Abort
			}
			retried = true
			ft.Script("t01", fake.Script{}) // fixed by the engineer
			return engine.Retry
		}
		return engine.Proceed
	})
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", got, r.dump())
	}
	if n := ft.Applied()["t01"]; n != 2 {
		t.Errorf("t01 applied %d times, want 2 (the retry)", n)
	}
	if n := ft.Applied()["t02"]; n != 1 {
		t.Errorf("t02 applied %d times, want 1: a passed host is not retried", n)
	}
	if a := r.state().Hosts["t01"].Attempt; a != 2 {
		t.Errorf("t01 attempt %d, want 2", a)
	}
}
