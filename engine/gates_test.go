package engine_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
)

// openGates leaves every gate to the test.
func openGates(engine.GateReached) engine.Decision { return "" }

// answer answers g, failing the test on a refusal.
func (r *run) answer(g engine.GateReached, a engine.Answer) {
	r.t.Helper()
	if err := r.eng.Answer(g.Gate, a); err != nil {
		r.t.Fatalf("answer gate %d (%s) with %+v: %v", g.Gate, g.Kind, a, err)
	}
}

// proceedTo answers proceed at every gate until one before phase/batch.
func (r *run) proceedTo(phase engine.Phase, batch int) engine.GateReached {
	r.t.Helper()
	for {
		g := r.waitGate()
		if g.Phase == phase && g.Batch == batch {
			return g
		}
		r.answer(g, engine.Answer{Decision: engine.Proceed})
	}
}

func (r *run) finishAll() engine.Outcome {
	r.t.Helper()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case g := <-r.gates:
				d := engine.Proceed
				if g.Kind == engine.GateFailed {
					d = engine.Abort
				}
				_ = r.eng.Decide(g.Gate, d)
			case <-stop:
				return
			}
		}
	}()
	return r.wait()
}

func TestResizeAtABatchGateLaysTheRestOut(t *testing.T) {
	spec := defaultSpec() // fleet 10: [1, 50%, 100%] = 1, 5, 4
	r := start(t, spec.plan(t), fake.New(), t.TempDir(), openGates)
	g := r.proceedTo(engine.PhaseFleet, 2)
	if !slices.Contains(g.Options, engine.Resize) || len(g.Next) != 5 {
		t.Fatalf("gate before fleet 2: options %v, next %v", g.Options, g.Next)
	}
	err := r.eng.Answer(g.Gate, engine.Answer{Decision: engine.Resize, Size: 99})
	if !errors.Is(err, engine.ErrNotAllowed) || !strings.Contains(err.Error(), "1 to 9 hosts") {
		t.Fatalf("resize to 99 of 9 left: %v", err)
	}
	r.answer(g, engine.Answer{Decision: engine.Resize, Size: 2, Reason: "slow start"})
	g2 := r.waitGate()
	if g2.Gate == g.Gate || g2.Phase != engine.PhaseFleet || g2.Batch != 2 || len(g2.Next) != 2 {
		t.Fatalf("gate after resize: %+v", g2)
	}
	r.answer(g2, engine.Answer{Decision: engine.Proceed})
	if o := r.finishAll(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
	var sizes []int
	var changed *engine.BatchesChanged
	for _, rec := range r.events() {
		switch e := rec.Event.(type) {
		case engine.PhaseStarted:
			if e.Phase == engine.PhaseFleet {
				sizes = append(sizes, len(e.Hosts))
			}
		case engine.BatchesChanged:
			changed = &e
		}
	}
	// 1 done; 9 left laid out as 2, then the last batch (100%: the rest).
	if !slices.Equal(sizes, []int{1, 2, 7}) {
		t.Errorf("fleet batch sizes %v, want [1 2 7]", sizes)
	}
	if changed == nil || changed.Reason != "slow start" || changed.User != "tester" || len(changed.Batches) != 3 {
		t.Errorf("BatchesChanged %+v", changed)
	}
	st := r.state()
	for _, h := range st.Order {
		if st.Hosts[h].State != engine.StateDone {
			t.Errorf("%s ended %s", h, st.Hosts[h].State)
		}
	}
	if !auditHas(st, "resize next batch to 2 hosts", "slow start") {
		t.Errorf("audit lacks the resize: %+v", st.Audit)
	}
}

func auditHas(st *engine.State, what, reason string) bool {
	for _, a := range st.Audit {
		if strings.Contains(a.What, what) && a.Reason == reason && a.User != "" && !a.Time.IsZero() {
			return true
		}
	}
	return false
}

func TestExcludeAtAGateNeedsAReasonAndSkipsTheHost(t *testing.T) {
	spec := defaultSpec()
	ft := fake.New()
	r := start(t, spec.plan(t), ft, t.TempDir(), openGates)
	g := r.waitGate() // start: test hosts next
	for _, tc := range []struct {
		a    engine.Answer
		want string
	}{
		{engine.Answer{Decision: engine.Exclude, Host: "f05"}, "needs a reason"},
		{engine.Answer{Decision: engine.Exclude, Host: "nope", Reason: "x"}, "not a host of this rollout"},
		{engine.Answer{Decision: engine.Exclude, Host: "sb", Reason: "x"}, "the swap needs"},
	} {
		if err := r.eng.Answer(g.Gate, tc.a); !errors.Is(err, engine.ErrNotAllowed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.a, err, tc.want)
		}
	}
	r.answer(g, engine.Answer{Decision: engine.Exclude, Host: "t01", Reason: "flaky disk"})
	g = r.waitGate()
	if err := r.eng.Answer(g.Gate, engine.Answer{Decision: engine.Exclude, Host: "t02", Reason: "x"}); err == nil || !strings.Contains(err.Error(), "last test host") {
		t.Errorf("excluding the last test host: %v", err)
	}
	r.answer(g, engine.Answer{Decision: engine.Exclude, Host: "f05", Reason: "decommissioned"})
	if o := r.finishAll(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
	if n := ft.Applied()["f05"] + ft.Applied()["t01"]; n != 0 {
		t.Errorf("excluded hosts applied %d times", n)
	}
	st := r.state()
	if h := st.Hosts["f05"]; h.State != engine.StateSkipped || h.Excluded != "decommissioned" {
		t.Errorf("f05: %+v", h)
	}
	if !auditHas(st, "exclude f05", "decommissioned") || !auditHas(st, "exclude t01", "flaky disk") {
		t.Errorf("audit: %+v", st.Audit)
	}
}

func TestRetryOneHostAtTheFailedGate(t *testing.T) {
	spec := defaultSpec()
	spec.maxFailures = "0"
	ft := fake.New()
	ft.Script("f03", fake.Script{ApplyExit: 1})
	r := start(t, spec.plan(t), ft, t.TempDir(), openGates)
	var g engine.GateReached
	for {
		g = r.waitGate()
		if g.Kind == engine.GateFailed {
			break
		}
		r.answer(g, engine.Answer{Decision: engine.Proceed})
	}
	if !slices.Equal(g.Next, []string{"f03"}) || !slices.Contains(g.Options, engine.RetryHost) {
		t.Fatalf("failed gate %+v", g)
	}
	if err := r.eng.Answer(g.Gate, engine.Answer{Decision: engine.RetryHost, Host: "f01"}); err == nil || !strings.Contains(err.Error(), "not a failed host") {
		t.Errorf("retrying a done host: %v", err)
	}
	ft.Script("f03", fake.Script{}) // fixed by hand
	r.answer(g, engine.Answer{Decision: engine.RetryHost, Host: "f03", Reason: "fixed the disk"})
	if o := r.finishAll(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
	if n := ft.Applied()["f03"]; n != 2 {
		t.Errorf("f03 applied %d times, want 2", n)
	}
	if st := r.state(); st.Hosts["f03"].State != engine.StateDone || !auditHas(st, "retry_host f03", "fixed the disk") {
		t.Errorf("f03 %s; audit %+v", st.Hosts["f03"].State, st.Audit)
	}
}

func TestFinishNowRunsTheRestInOneBatchWithoutGates(t *testing.T) {
	spec := defaultSpec()
	spec.fleet = 12
	spec.batches = "[1, 2, 3, 100%]"
	r := start(t, spec.plan(t), fake.New(), t.TempDir(), openGates)
	g := r.waitGate()
	if slices.Contains(g.Options, engine.FinishNow) || g.Emergency {
		t.Fatalf("finish-now offered before the test phase passed: %v", g.Options)
	}
	if err := r.eng.FinishNow("in a hurry"); !errors.Is(err, engine.ErrStaleGate) && !errors.Is(err, engine.ErrNotAllowed) {
		t.Errorf("finish-now before test passed: %v", err)
	}
	r.answer(g, engine.Answer{Decision: engine.Proceed})
	g = r.proceedTo(engine.PhaseFleet, 2)
	if !g.Emergency || !slices.Contains(g.Options, engine.FinishNow) || !slices.Contains(g.Options, engine.FastRollback) {
		t.Fatalf("gate before fleet 2 offers %v (emergency %v)", g.Options, g.Emergency)
	}
	if err := r.eng.Answer(g.Gate, engine.Answer{Decision: engine.FinishNow}); err == nil || !strings.Contains(err.Error(), "needs a reason") {
		t.Errorf("finish-now without reason: %v", err)
	}
	r.answer(g, engine.Answer{Decision: engine.FinishNow, Reason: "CVE patch, window closing"})
	if o := r.wait(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
	var after int
	var sizes []int
	seen := false
	for _, rec := range r.events() {
		switch e := rec.Event.(type) {
		case engine.GateAnswered:
			if e.Gate == g.Gate {
				seen = true
			}
		case engine.GateReached:
			if seen {
				after++
			}
		case engine.PhaseStarted:
			if e.Phase == engine.PhaseFleet {
				sizes = append(sizes, len(e.Hosts))
			}
		}
	}
	if after != 0 {
		t.Errorf("%d gates opened after finish-now", after)
	}
	if !slices.Equal(sizes, []int{1, 11}) {
		t.Errorf("fleet batches %v, want [1 11]", sizes)
	}
	st := r.state()
	if st.Emergency == nil || st.Emergency.Reason != "CVE patch, window closing" || !auditHas(st, "finish_now", "CVE patch, window closing") {
		t.Errorf("emergency %+v audit %+v", st.Emergency, st.Audit)
	}
}

func TestFinishNowDuringSoakEndsTheSoak(t *testing.T) {
	spec := defaultSpec()
	spec.soak = "1h"
	ft := fake.New()
	r := start(t, spec.plan(t), ft, t.TempDir(), openGates)
	g := r.proceedTo(engine.PhaseCanary, 1)
	r.answer(g, engine.Answer{Decision: engine.Proceed})
	waitFor(t, r, func(ev engine.Event) bool { _, ok := ev.(engine.SoakStarted); return ok })
	if err := r.eng.FinishNow(""); err == nil {
		t.Error("finish-now without a reason was taken")
	}
	if err := r.eng.FinishNow("users are waiting"); err != nil {
		t.Fatalf("finish-now during soak: %v", err)
	}
	if o := r.wait(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
	for h, v := range map[string]string{"f01": "new", "f10": "new", "c01": "new"} {
		if got := ft.Version(h); got != v {
			t.Errorf("%s on %q", h, got)
		}
	}
}

// waitFor waits until an event matching ok has been recorded, polling the
// events the run has seen.
func waitFor(t *testing.T, r *run, ok func(engine.Event) bool) {
	t.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		for _, rec := range r.events() {
			if ok(rec.Event) {
				return
			}
		}
		select {
		case <-tick.C:
		case <-r.done:
			t.Fatalf("the rollout ended before the awaited event\n%s", r.dump())
		case <-deadline:
			t.Fatalf("the awaited event never came\n%s", r.dump())
		}
	}
}

func TestFastRollbackSkipsVerifyRetries(t *testing.T) {
	spec := defaultSpec()
	spec.retries = 5
	ft := fake.New()
	r := start(t, spec.plan(t), ft, t.TempDir(), openGates)
	g := r.proceedTo(engine.PhaseFleet, 2)
	ft.Script("c01", fake.Script{VerifyFails: -1}) // the rolled-back canary will not pass verify
	r.answer(g, engine.Answer{Decision: engine.FastRollback, Reason: "error rate spiking"})
	if o := r.wait(); o != engine.OutcomeRollbackFailed {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
	st := r.state()
	if st.Rollback == nil || !st.Rollback.Fast || st.Rollback.Reason != "error rate spiking" {
		t.Fatalf("rollback %+v", st.Rollback)
	}
	retries := 0
	for _, rec := range r.events() {
		if c, ok := rec.Event.(engine.CheckFailed); ok && c.Host == "c01" {
			retries++
		}
	}
	if retries != 0 {
		t.Errorf("c01 verify retried %d times in a fast rollback", retries)
	}
	if h := st.Hosts["c01"]; h.State != engine.StateRollbackFailed || h.FailedCheck != 1 {
		t.Errorf("c01 %+v", h)
	}
	if !auditHas(st, "fast_rollback", "error rate spiking") {
		t.Errorf("audit %+v", st.Audit)
	}
}

func TestCheckTalliesAtTheGate(t *testing.T) {
	spec := defaultSpec()
	spec.maxFailures = "2"
	ft := fake.New()
	ft.Script("f02", fake.Script{VerifyFails: -1})
	r := start(t, spec.plan(t), ft, t.TempDir(), openGates)
	g := r.proceedTo(engine.PhaseFleet, 2)
	r.answer(g, engine.Answer{Decision: engine.Proceed})
	g = r.waitGate()
	if len(g.Checks) != 1 || g.Checks[0].Passed != 4 || g.Checks[0].Failed != 1 || g.Checks[0].Name != "verify {{.Host}}" {
		t.Errorf("tallies after fleet 2: %+v", g.Checks)
	}
	r.answer(g, engine.Answer{Decision: engine.Abort})
	r.wait()
}

func TestCapturedValuesReachTheHostsOwnRollback(t *testing.T) {
	spec := defaultSpec()
	spec.fleet = 3
	spec.batches = "[100%]"
	spec.rollback = "rollback {{.Host}} {{.Captured.version}}"
	spec.extra = "capture: {version: getversion}\n"
	ft := fake.New()
	for _, h := range []string{"t01", "t02", "sb", "pr", "c01", "c02", "f01", "f03"} {
		ft.Script(h, fake.Script{Outputs: map[string][]string{"getversion": {"1.0"}}})
	}
	ft.Script("f02", fake.Script{Outputs: map[string][]string{"getversion": {"1.0.1-hotfix it's"}}})
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	if o := r.wait(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
	st := r.state()
	if v := st.Hosts["f02"].Captured["version"]; v != "1.0.1-hotfix it's" {
		t.Fatalf("f02 captured %q", v)
	}
	// Roll the finished rollout back from its journal.
	e, err := engine.Resume(r.eng.JournalPath(), spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: r.dir, User: "tester", RollbackNow: true})
	if err != nil {
		t.Fatal(err)
	}
	rb := drive(t, e, ft, r.dir, proceedAll)
	if o := rb.wait(); o != engine.OutcomeRolledBack {
		t.Fatalf("rollback outcome %s\n%s", o, rb.dump())
	}
	lines := map[string]string{}
	for _, c := range ft.Calls() {
		if c.Verb == "rollback" {
			lines[c.Host] = c.Line
		}
	}
	if got := lines["f02"]; got != `rollback 'f02' '1.0.1-hotfix it'\''s'` {
		t.Errorf("f02 rolled back with %s", got)
	}
	if got := lines["f01"]; got != "rollback 'f01' '1.0'" {
		t.Errorf("f01 rolled back with %s", got)
	}
}

func TestCaptureFailureLeavesTheHostUntouched(t *testing.T) {
	spec := defaultSpec()
	spec.rollback = "rollback {{.Captured.version}}"
	spec.extra = "capture: {version: getversion}\n"
	ft := fake.New()
	ft.Script("t01", fake.Script{Exits: map[string]int{"getversion": 2}})
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	if o := r.wait(); o != engine.OutcomeFailed {
		t.Fatalf("outcome %s", o)
	}
	if n := ft.Applied()["t01"]; n != 0 {
		t.Errorf("t01 applied %d times after its capture failed", n)
	}
	h := r.state().Hosts["t01"]
	if h.State != engine.StateFailed || h.Applied || !strings.Contains(h.Error, "capture version: exit status 2 (nothing was changed)") {
		t.Errorf("t01 %+v", h)
	}
}

// Each command says whether another follows it on the connection when it
// succeeds (Command.More), so that a transport can get that one's session
// ready meanwhile: a capture (the apply follows), the apply and the swap
// (their verify follows); never the last check.
func TestCommandsSayWhetherAnotherFollows(t *testing.T) {
	spec := defaultSpec()
	spec.extra = "capture: {version: getversion}\n"
	ft := fake.New()
	r := start(t, spec.plan(t), ft, t.TempDir(), proceedAll)
	if o := r.wait(); o != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s\n%s", o, r.dump())
	}
	want := map[string]bool{"getversion": true, "apply": true, "swap": true, "verify": false, "swapcheck": false}
	seen := map[string]int{}
	for _, c := range ft.Calls() {
		more, ok := want[c.Verb]
		if !ok {
			t.Errorf("unexpected command %q on %s", c.Line, c.Host)
			continue
		}
		seen[c.Verb]++
		if c.More != more {
			t.Errorf("%s on %s: More = %v, want %v", c.Line, c.Host, c.More, more)
		}
	}
	for verb := range want {
		if seen[verb] == 0 {
			t.Errorf("no %s command ran", verb)
		}
	}
}
