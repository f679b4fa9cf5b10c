package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

// fleetNamed is n fleet hosts fleet-01 … fleet-NN.
func fleetNamed(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("fleet-%02d", i+1)
	}
	return out
}

// fleetStarted is a rollout of a test host, a canary and 60 fleet hosts in
// two batches of 30; no standby, so no swap.
func fleetStarted() engine.RolloutStarted {
	hosts := fleetNamed(60)
	st := started(1)
	st.Phases = []engine.PhaseLayout{
		{Phase: engine.PhaseTest, Batches: [][]string{{"web-test-1"}}},
		{Phase: engine.PhaseStandby, Skipped: "the service has no standby"},
		{Phase: engine.PhaseSwap, Skipped: "the service has no standby"},
		{Phase: engine.PhaseCanary, Batches: [][]string{{"web-c1"}}},
		{Phase: engine.PhaseFleet, Batches: [][]string{hosts[:30], hosts[30:]}},
	}
	return st
}

// nginxOutput is what a fleet host prints: its own name in one line, and
// the version it ended up with.
func nginxOutput(host, version string) []string {
	return []string{"Reading package lists...", "Setting up nginx (" + version + "-1) on " + host + " ...", "nginx version: nginx/" + version}
}

// batchGateOptions is what a batch gate offers once issue 9's actions are
// in, past the test phase (the engine's offerEmergency adds both paths).
var batchGateOptions = []engine.Decision{engine.Proceed, engine.Resize, engine.Exclude, engine.RetryHost, engine.Rollback, engine.Abort,
	engine.FinishNow, engine.FastRollback}

// toFleetBatchGate runs test, canary and fleet batch 1 of 30 hosts, where
// fleet-07 and fleet-19 print an older nginx and fail the second check
// (within the budget), to gate 4 before batch 2.
func toFleetBatchGate(s *script) []engine.Record {
	r := s.recs(fleetStarted(), engine.GateReached{Gate: 1, Kind: engine.GateStart, Phase: engine.PhaseTest, Batch: 1,
		Next: []string{"web-test-1"}, Options: []engine.Decision{engine.Proceed, engine.Abort}},
		engine.GateAnswered{Gate: 1, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseTest, Batch: 1, Batches: 1, Hosts: []string{"web-test-1"}})
	r = append(r, s.run(engine.PhaseTest, "web-test-1", engine.StateDone, "", nginxOutput("web-test-1", "1.25.3")...)...)
	r = append(r, s.recs(engine.PhaseFinished{Phase: engine.PhaseTest, Batch: 1, Passed: 1, OK: true},
		gateAfter(2, engine.GatePhase, engine.PhaseCanary, 1, []string{"web-c1"}, nil),
		engine.GateAnswered{Gate: 2, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseCanary, Batch: 1, Batches: 1, Hosts: []string{"web-c1"}})...)
	r = append(r, s.run(engine.PhaseCanary, "web-c1", engine.StateDone, "", nginxOutput("web-c1", "1.25.3")...)...)
	batch := fleetNamed(30)
	r = append(r, s.recs(engine.PhaseFinished{Phase: engine.PhaseCanary, Batch: 1, Passed: 1, OK: true},
		gateAfter(3, engine.GatePhase, engine.PhaseFleet, 1, batch, nil),
		engine.GateAnswered{Gate: 3, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseFleet, Batch: 1, Batches: 2, Hosts: batch})...)
	var failing []engine.HostSummary
	for _, h := range batch {
		if h == "fleet-07" || h == "fleet-19" {
			r = append(r, s.run(engine.PhaseFleet, h, engine.StateFailed, "verify 2: exit status 1", nginxOutput(h, "1.24.0")...)...)
			failing = append(failing, engine.HostSummary{Host: h, State: engine.StateFailed, Duration: 3500 * time.Millisecond, Error: "verify 2: exit status 1"})
			continue
		}
		r = append(r, s.run(engine.PhaseFleet, h, engine.StateDone, "", nginxOutput(h, "1.25.3")...)...)
	}
	return append(r, s.recs(engine.PhaseFinished{Phase: engine.PhaseFleet, Batch: 1, Passed: 28, Failed: 2, OK: true},
		engine.GateReached{Gate: 4, Kind: engine.GateBatch, Phase: engine.PhaseFleet, Batch: 2, Next: fleetNamed(60)[30:],
			Options: batchGateOptions, Emergency: true, Passed: 28, Failed: 2, Failing: failing,
			Slowest: []engine.HostSummary{{Host: "fleet-01", State: engine.StateDone, Duration: 3500 * time.Millisecond}},
			Checks: []engine.CheckTally{{Check: 1, Name: "curl -fsS http://localhost/healthz", Passed: 30},
				{Check: 2, Name: "nginx -v 2>&1 | grep -q 1.25.3", Passed: 28, Failed: 2}}})...)
}

// atFleetBatchGate is a console at gate 4, before fleet batch 2.
func atFleetBatchGate(t *testing.T) (*Model, *fakeCtl) {
	t.Helper()
	ctl := &fakeCtl{}
	m := newTestModel(ctl, 100, 30)
	feed(m, toFleetBatchGate(newScript()))
	if m.c.st.Gate == nil || m.c.st.Gate.Gate != 4 {
		t.Fatalf("gate %+v, want gate 4", m.c.st.Gate)
	}
	// On a host the next batch takes: one that can still be excluded.
	selectHost(m, m.c.st.Gate.Next[0])
	return m, ctl
}

// preflightGate is the preflight's gate: two hosts left out, the test
// host's openssl not what production runs (drift), and production's nginx
// not uniform (mixed, not drift: the test host's value is one of them).
func preflightGate(blocking string) []engine.Event {
	pf := &engine.PreflightReport{Checked: 8, OK: 6,
		Unreachable: []engine.HostSummary{{Host: "web-03", Error: "dial tcp 10.0.0.13:22: connect: connection refused"}},
		Locked:      []engine.HostSummary{{Host: "web-04", Error: "held by rollout 20260301-020000-web-ffffff (alice)"}},
		Fingerprints: []engine.FingerprintRow{
			{Name: "os", Test: []engine.ValueGroup{{Value: "Debian 12.5", Count: 1}}, Production: []engine.ValueGroup{{Value: "Debian 12.5", Count: 5}}},
			{Name: "openssl", Test: []engine.ValueGroup{{Value: "3.0.11", Count: 1}}, Production: []engine.ValueGroup{{Value: "3.0.13", Count: 5}}, Differs: true},
			{Name: "nginx", Test: []engine.ValueGroup{{Value: "1.24.0", Count: 1}},
				Production: []engine.ValueGroup{{Value: "1.24.0", Count: 4}, {Value: "1.22.1", Count: 1}}, Mixed: true},
			{Name: "kernel", Test: []engine.ValueGroup{{Value: "6.1.0-18-amd64", Count: 1}}, Production: []engine.ValueGroup{{Value: "6.1.0-18-amd64", Count: 5}}},
		},
		Drift: true, Blocking: blocking}
	opts := []engine.Decision{engine.Proceed, engine.Exclude, engine.Abort}
	if blocking != "" {
		opts = []engine.Decision{engine.Abort}
	}
	evs := []engine.Event{started(4)}
	for _, h := range []string{"web-test-1", "web-b", "web-a", "web-c1", "web-01", "web-02"} {
		evs = append(evs, engine.PreflightHost{Host: h, OK: true, Fingerprint: map[string]string{"nginx": "1.24.0"}})
	}
	evs = append(evs,
		engine.PreflightHost{Host: "web-03", Problem: "unreachable", Error: pf.Unreachable[0].Error},
		engine.PreflightHost{Host: "web-04", Problem: "locked", Error: pf.Locked[0].Error},
		engine.GateReached{Gate: 1, Kind: engine.GatePreflight, Phase: engine.PhaseTest, Batch: 1, Next: []string{"web-test-1"},
			Options: opts, Preflight: pf})
	return evs
}

func atPreflightGate(t *testing.T, blocking string) (*Model, *fakeCtl) {
	t.Helper()
	ctl := &fakeCtl{}
	m := newTestModel(ctl, 100, 30)
	feed(m, newScript().recs(preflightGate(blocking)...))
	return m, ctl
}

// selectHost puts the table's cursor on a host, as keys would.
func selectHost(m *Model, host string) {
	m.table.selectHost(host)
	m.Update(nil)
}

func wantIn(t *testing.T, view string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(view, w) {
			t.Errorf("the screen lacks %q:\n%s", w, view)
		}
	}
}

func TestBatchGateShowsChecksAndOutputGroups(t *testing.T) {
	m, _ := atFleetBatchGate(t)
	wantIn(t, m.View(), "✓ fleet batch 1/2 passed: 28 done, 2 failed",
		"✓ verify 1 curl -fsS http://localhost/healthz", "30 passed",
		"✗ verify 2 nginx -v 2>&1 | grep -q 1.25.3", "28 passed · 2 failed",
		"output: 28 hosts identical · 2 differ: fleet-07, fleet-19 (o compares)",
		"x exclude fleet-31…", "+/- resize (30)…", "F finish now…", "B fast rollback…")
}

func TestResizeSendsTheNewSize(t *testing.T) {
	m, ctl := atFleetBatchGate(t)
	press(t, m, "-")
	wantIn(t, m.View(), "Resize the next batch", "The next batch has 30 hosts; it can take 1 to 30.", "hosts: 29")
	press(t, m, "-", "-", "+", "y", "q", "a") // y, q, a are not typed and do nothing
	if got := ctl.got(); got != "" || m.prompt.input.Value() != "28" {
		t.Fatalf("calls %q, value %q", got, m.prompt.input.Value())
	}
	press(t, m, "enter")
	if got := ctl.got(); got != `answer 4 resize host="" size=28 reason=""` {
		t.Fatalf("resize sent %q", got)
	}
	// Typed digits; a size it cannot take is refused in the panel.
	m, ctl = atFleetBatchGate(t)
	press(t, m, "+")
	if m.prompt.input.Value() != "30" {
		t.Fatalf("+ on the last batch gave %q: it cannot grow past what is left", m.prompt.input.Value())
	}
	press(t, m, "enter")
	wantIn(t, m.View(), "the next batch has 30 already")
	press(t, m, "backspace", "backspace", "9", "9", "enter")
	wantIn(t, m.View(), "at most 30: what is left of the phase")
	press(t, m, "backspace", "backspace", "1", "2", "enter")
	if got := ctl.got(); got != `answer 4 resize host="" size=12 reason=""` {
		t.Fatalf("resize sent %q", got)
	}
}

func TestExcludeAsksForAReasonAndTheInputTakesEveryKey(t *testing.T) {
	m, ctl := atFleetBatchGate(t)
	selectHost(m, "fleet-19")
	press(t, m, "x")
	wantIn(t, m.View(), "Exclude fleet-19?", "It was changed already", "reason:", "enter exclude fleet-19")
	// An empty reason, or spaces, is refused.
	press(t, m, "enter", " ", "enter")
	if got := ctl.got(); got != "" {
		t.Fatalf("an empty reason sent %q", got)
	}
	wantIn(t, m.View(), "a reason is required")
	// Keys that act elsewhere type into the reason.
	press(t, m, "q", "y", "a", "R", "t", "T", "x", "p", "o", "?", "F", "B")
	if got := ctl.got(); got != "" || m.quit.open || m.confirm.kind != confirmNone || m.prompt.kind != promptExclude {
		t.Fatalf("keys in the reason acted: calls %q", got)
	}
	if v := m.prompt.input.Value(); v != " qyaRtTxpo?FB" {
		t.Fatalf("typed %q", v)
	}
	press(t, m, "esc")
	if m.prompt.kind != promptNone || ctl.got() != "" {
		t.Fatal("esc did not cancel")
	}
	press(t, m, "x")
	for _, r := range "disk failing" {
		press(t, m, string(r))
	}
	press(t, m, "enter")
	if got := ctl.got(); got != `answer 4 exclude host="fleet-19" size=0 reason="disk failing"` {
		t.Fatalf("exclude sent %q", got)
	}
	if !strings.Contains(m.View(), "answer sent") {
		t.Errorf("the gate does not say the answer is on its way:\n%s", m.View())
	}
	// The engine excludes it and opens the gate again.
	s := newScriptAt(m)
	feed(m, s.recs(engine.GateAnswered{Gate: 4, Decision: engine.Exclude, User: "oncall", Host: "fleet-19", Reason: "disk failing"},
		engine.HostExcluded{Host: "fleet-19", User: "oncall", Reason: "disk failing"}))
	wantIn(t, m.View(), "fleet-19 excluded by oncall — disk failing")
	if c := m.c.tally.of(engine.PhaseFleet); c.of(engine.StateSkipped) != 1 || c.of(engine.StateFailed) != 1 {
		t.Fatalf("fleet counts %v", c)
	}
	press(t, m, "esc")
	wantIn(t, m.View(), "– skipped", "excluded: disk failing")
}

func TestCtrlCInAPromptCancelsIt(t *testing.T) {
	m, ctl := atFleetBatchGate(t)
	press(t, m, "x", "w", "ctrl+c")
	if m.prompt.kind != promptNone || m.quit.open || ctl.got() != "" {
		t.Fatalf("ctrl+c: prompt %v, quit %v, calls %q", m.prompt.kind, m.quit.open, ctl.got())
	}
}

func TestRetryOneHostOnlyForAFailedHost(t *testing.T) {
	m, ctl := atFleetBatchGate(t)
	selectHost(m, "fleet-01")
	press(t, m, "T")
	if got := ctl.got(); got != "" || strings.Contains(m.View(), "T retry") {
		t.Fatalf("T on a done host sent %q, or is offered:\n%s", got, m.View())
	}
	selectHost(m, "fleet-07")
	wantIn(t, m.View(), "T retry fleet-07")
	press(t, m, "T")
	if got := ctl.got(); got != `answer 4 retry_host host="fleet-07" size=0 reason=""` {
		t.Fatalf("T sent %q", got)
	}
	press(t, m, "T", "y")
	if got := ctl.got(); strings.Count(got, "answer") != 1 {
		t.Fatalf("a second answer to the same gate: %q", got)
	}
}

func TestFinishNowNeedsAReason(t *testing.T) {
	m, ctl := atFleetBatchGate(t)
	press(t, m, "F")
	wantIn(t, m.View(), "Finish now?", "the remaining 30 fleet hosts go in one", "failure budget is still kept", "enter finish now")
	press(t, m, "enter")
	if ctl.got() != "" {
		t.Fatalf("an empty reason sent %q", ctl.got())
	}
	for _, r := range "db on fire" {
		press(t, m, string(r))
	}
	press(t, m, "enter")
	// The gate offers it: it answers the gate by its number.
	if got := ctl.got(); got != `answer 4 finish_now host="" size=0 reason="db on fire"` {
		t.Fatalf("finish sent %q", got)
	}
	// A gate that says an emergency is possible but does not list
	// finish-now does not take it (see TestFinishNowIsOffAtAFailedGate).
	m, ctl = atFleetBatchGate(t)
	m.c.st.Gate.Options = slices.DeleteFunc(slices.Clone(m.c.st.Gate.Options), func(d engine.Decision) bool { return d == engine.FinishNow })
	press(t, m, "F", "n", "o", "w", "enter")
	if got := ctl.got(); got != "" {
		t.Fatalf("finish at a gate not offering it sent %q", got)
	}
}

func TestFastRollbackNeedsAReason(t *testing.T) {
	m, ctl := atFleetBatchGate(t)
	press(t, m, "B")
	wantIn(t, m.View(), "Fast rollback?", "Every changed host (32) is rolled back at once", "enter roll back 32 hosts now")
	press(t, m, "enter", "esc")
	if ctl.got() != "" {
		t.Fatalf("sent %q", ctl.got())
	}
	press(t, m, "B", "5", "0", "0", "s", "enter")
	if got := ctl.got(); got != `answer 4 fast_rollback host="" size=0 reason="500s"` {
		t.Fatalf("fast rollback sent %q", got)
	}
}

func TestEmergencyBetweenGatesOnceTheTestPassed(t *testing.T) {
	m, ctl := runningFleet(t)
	press(t, m, "F", "s", "l", "o", "w", "enter")
	if got := ctl.got(); got != `finish-now "slow"` {
		t.Fatalf("F while running sent %q", got)
	}
	// Before the test phase passed, neither opens.
	m = newTestModel(ctl, 100, 30)
	feed(m, newScript().recs(started(4), engine.GateReached{Gate: 1, Kind: engine.GateStart, Phase: engine.PhaseTest, Batch: 1,
		Options: []engine.Decision{engine.Proceed, engine.Abort}}))
	press(t, m, "F", "B")
	if m.prompt.kind != promptNone {
		t.Fatal("an emergency path opened before the test phase passed")
	}
}

func TestGateActionsAreOffOWhenNotOffered(t *testing.T) {
	m, ctl := atCanaryGate(t) // proceed, roll back, abort only
	selectHost(m, "web-a")
	press(t, m, "+", "-", "x", "T", "F", "B")
	if got := ctl.got(); got != "" || m.prompt.kind != promptNone {
		t.Fatalf("keys the gate does not offer acted: %q, prompt %v", got, m.prompt.kind)
	}
	for _, bad := range []string{"x exclude", "T retry", "+/-", "F finish", "B fast"} {
		if strings.Contains(m.View(), bad) {
			t.Errorf("the canary gate offers %q:\n%s", bad, m.View())
		}
	}
	// Watch mode offers none of them.
	w := newTestModel(nil, 100, 30)
	feed(w, toFleetBatchGate(newScript()))
	press(t, w, "+", "x", "T", "F", "B")
	if w.prompt.kind != promptNone {
		t.Fatal("watch mode opened a prompt")
	}
}

func TestAPromptClosesWhenItsGateDoes(t *testing.T) {
	m, ctl := atFleetBatchGate(t)
	press(t, m, "x", "w")
	feed(m, newScriptAt(m).recs(engine.GateAnswered{Gate: 4, Decision: engine.Abort, User: "alice"}))
	if m.prompt.kind != promptNone || !strings.Contains(m.View(), "gate 4 closed while you typed: nothing was sent") {
		t.Fatalf("the prompt outlived its gate:\n%s", m.View())
	}
	if ctl.got() != "" {
		t.Fatalf("sent %q", ctl.got())
	}
}

func TestOutputGroupsViewJumpsToAHost(t *testing.T) {
	m, _ := atFleetBatchGate(t)
	press(t, m, "o")
	if m.activePanel() != panelNone || !m.output.grouped || m.focus != focusOutput {
		t.Fatalf("o at the gate: panel %v, grouped %v", m.activePanel(), m.output.grouped)
	}
	wantIn(t, m.View(), "output groups · fleet batch 1/2 · 30 hosts in 2 groups",
		"= 28 hosts · 3 lines: fleet-[01:04], …", "nginx version: nginx/1.25.3",
		"≠ 2 hosts · 3 lines: fleet-07, fleet-19", "nginx version: nginx/1.24.0")
	press(t, m, "down", "enter")
	if m.output.grouped || m.table.selected() != "fleet-07" {
		t.Fatalf("enter on the outliers: grouped %v, selected %q", m.output.grouped, m.table.selected())
	}
	wantIn(t, m.View(), "── fleet-07 ·", "fleet-07: its output is the same as 1 other host")
	press(t, m, "o", "o")
	if m.output.grouped {
		t.Fatal("o did not toggle back")
	}
	press(t, m, "y") // the gate comes back
	if m.activePanel() != panelGate {
		t.Fatal("y did not show the gate again")
	}
}

func TestPreflightGate(t *testing.T) {
	m, ctl := atPreflightGate(t, "")
	wantIn(t, m.View(), "Gate 1 · preflight done: nothing changed yet",
		"Preflight: 8 checked · 6 ok · 1 unreachable · 1 locked",
		"proceeding leaves 2 hosts out:",
		"web-03   unreachable: dial tcp 10.0.0.13:22: connect: connection refused",
		"FINGERPRINT TEST", "≠ openssl     3.0.11", "3.0.13 ×5", "~ nginx       1.24.0", "1.24.0 ×4 · 1.22.1 ×1",
		"drift: the test host differs from production in 1 fingerprint;", "acknowledges it",
		"~ mixed in production: nginx", "not drift",
		"y proceed despite drift", "x exclude web-03…")
	// The table says why hosts were left out.
	press(t, m, "esc")
	wantIn(t, m.View(), "⚠ preflight: unreachable: dial tcp", "⚠ preflight: locked: held by rollout")
	press(t, m, "y", "y")
	if got := ctl.got(); got != "decide 1 proceed" {
		t.Fatalf("y sent %q", got)
	}
	m, ctl = atPreflightGate(t, "the test host web-test-1 cannot be reached")
	wantIn(t, m.View(), "Gate 1 · preflight: cannot proceed", "✗ cannot proceed: the test host web-test-1 cannot be reached")
	press(t, m, "y", "enter")
	if got := ctl.got(); got != "" || strings.Contains(m.View(), "y proceed") {
		t.Fatalf("a blocked preflight proceeded: %q", got)
	}
}

// A fingerprint only mixed in production is shown calmly: no drift, no
// warning, proceed is plain proceed.
func TestMixedProductionIsNoDrift(t *testing.T) {
	ctl := &fakeCtl{}
	m := newTestModel(ctl, 100, 30)
	evs := preflightGate("")
	g := evs[len(evs)-1].(engine.GateReached)
	pf := *g.Preflight
	pf.Unreachable, pf.Locked, pf.OK, pf.Drift = nil, nil, pf.Checked, false
	pf.Fingerprints = slices.DeleteFunc(slices.Clone(pf.Fingerprints), func(r engine.FingerprintRow) bool { return r.Differs })
	g.Preflight = &pf
	evs[len(evs)-1] = g
	feed(m, newScript().recs(evs...))
	v := m.View()
	wantIn(t, v, "~ nginx       1.24.0", "1.24.0 ×4 · 1.22.1 ×1", "~ mixed in production: nginx", "y proceed")
	for _, bad := range []string{"≠", "drift:", "despite drift", "the same on both sides"} {
		if strings.Contains(v, bad) {
			t.Errorf("a mixed production shows %q:\n%s", bad, v)
		}
	}
}

func TestEngineNotesReachTheStatusLine(t *testing.T) {
	m, _ := runningFleet(t)
	for _, tc := range []struct {
		ev   engine.Event
		want string
	}{
		{engine.HookRan{On: "gate", Error: "exit status 7", Duration: time.Second}, "note: the gate hook failed: exit status 7 (the rollout goes on)"},
		{engine.LockChanged{Path: "/run/rollout.lock", Taken: true, Hosts: 9}, "remote lock /run/rollout.lock taken on 9 hosts"},
		{engine.BatchesChanged{Phase: engine.PhaseFleet, Batches: [][]string{{"web-01"}, {"web-02", "web-03", "web-04"}}, User: "oncall", Reason: "faster"},
			"fleet re-laid by oncall: 2 batches of 1, 3 — faster"},
		{engine.EmergencyStarted{Decision: engine.FinishNow, User: "oncall", Reason: "db on fire"}, "FINISH NOW by oncall — db on fire"},
		{engine.Paused{User: "alice", Reason: "lunch"}, "paused by alice — lunch"},
	} {
		feed(m, newScriptAt(m).recs(tc.ev))
		wantIn(t, m.View(), tc.want)
	}
	if h := m.rolloutLabel().text; h != "» FINISHING NOW" {
		t.Errorf("header %q", h)
	}
	feed(m, newScriptAt(m).recs(engine.RollbackStarted{User: "oncall", Hosts: []string{"web-02", "web-01"}, Fast: true, Reason: "bad"}))
	if h := m.rolloutLabel().text; h != "↺ FAST ROLLBACK" {
		t.Errorf("header %q", h)
	}
	wantIn(t, m.View(), "FAST rollback by oncall — bad: 2 hosts")
	feed(m, newScriptAt(m).recs(engine.HostCaptured{Host: "web-02", Values: map[string]string{"version": "1.24.0-1", "conf": "sha256:ab"}}))
	if got := m.c.logs.get("web-02").last(); got != metaPrefix+"captured before apply: conf=sha256:ab version=1.24.0-1" {
		t.Errorf("captured log line %q", got)
	}
}

func TestHelpListsTheGateKeys(t *testing.T) {
	m, _ := atFleetBatchGate(t)
	press(t, m, "?")
	selectHost(m, "fleet-19")
	wantIn(t, m.View(), "retry fleet-19", "exclude fleet-19…", "resize batch…", "finish now…", "fast rollback…", "groups")
}

func TestSummaryKeepsTheReasons(t *testing.T) {
	m, _ := atFleetBatchGate(t)
	feed(m, newScriptAt(m).recs(engine.GateAnswered{Gate: 4, Decision: engine.Exclude, User: "oncall", Host: "fleet-19", Reason: "disk failing"},
		engine.HostExcluded{Host: "fleet-19", User: "oncall", Reason: "disk failing"},
		engine.GateAnswered{Gate: 5, Decision: engine.FastRollback, User: "oncall", Reason: "errors up"},
		engine.EmergencyStarted{Decision: engine.FastRollback, User: "oncall", Reason: "errors up"},
		engine.RollbackStarted{Hosts: []string{"fleet-01"}, Fast: true, User: "oncall", Reason: "errors up"},
		engine.RolloutFinished{Outcome: engine.OutcomeRolledBack}))
	wantIn(t, m.View(), "oncall: exclude fleet-19 at the batch gate before fleet batch 2 — disk failing", "oncall: fast_rollback at gate 5 — errors up")
	if v := m.View(); strings.Contains(v, "oncall: exclude fleet-19 — disk") || strings.Count(v, "errors up") != 1 {
		t.Errorf("a decision is said twice:\n%s", m.View())
	}
}
