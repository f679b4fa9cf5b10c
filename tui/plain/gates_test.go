package plain

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
)

// preflightWith is a preflight gate whose report is pf, offering proceed.
func preflightWith(pf *engine.PreflightReport) engine.GateReached {
	return engine.GateReached{Gate: 1, Kind: engine.GatePreflight, Phase: engine.PhaseTest, Batch: 1, Next: []string{"web-test-1"},
		Options: []engine.Decision{engine.Proceed, engine.Exclude, engine.Abort}, Preflight: pf}
}

func startedTestFleet(c *Console) {
	feed(c, engine.RolloutStarted{ID: "r1", Phases: []engine.PhaseLayout{{Phase: engine.PhaseTest, Batches: [][]string{{"web-test-1"}}},
		{Phase: engine.PhaseFleet, Batches: [][]string{{"web-01", "web-02", "web-03"}}}}})
}

// With --yes, a preflight gate the engine does not answer (a host left out,
// a blocking reason, drift) is asked: the prompt is printed, a script's
// answer given ahead answers it, and the end of the input aborts it.
func TestYesAsksAtAPreflightGateTheEngineDoesNotAnswer(t *testing.T) {
	down := []engine.HostSummary{{Host: "web-02", Error: "connection refused"}}
	for _, tc := range []struct {
		name string
		pf   *engine.PreflightReport
	}{
		{"unreachable", &engine.PreflightReport{Checked: 4, OK: 3, Unreachable: down}},
		{"failing", &engine.PreflightReport{Checked: 4, OK: 3, Failing: down}},
		{"locked", &engine.PreflightReport{Checked: 4, OK: 3, Locked: down}},
		{"drift", &engine.PreflightReport{Checked: 4, OK: 4, Drift: true}},
	} {
		t.Run(tc.name+": a queued answer", func(t *testing.T) {
			var out bytes.Buffer
			ctl := &fakeCtl{}
			c := New(&out, ctl, true)
			c.Scripted = true
			startedTestFleet(c)
			c.command("y")
			feed(c, preflightWith(tc.pf))
			if got := strings.Join(ctl.calls, "; "); got != "decide 1 proceed" {
				t.Errorf("calls %q, want the script's proceed\n%s", got, out.String())
			}
			if !strings.Contains(out.String(), "[y] proceed") {
				t.Errorf("no prompt:\n%s", out.String())
			}
		})
		t.Run(tc.name+": end of input", func(t *testing.T) {
			var out bytes.Buffer
			ctl := &fakeCtl{}
			c := New(&out, ctl, true)
			c.Scripted = true
			startedTestFleet(c)
			feed(c, preflightWith(tc.pf))
			c.eof = true
			c.nextQueued()
			if got := strings.Join(ctl.calls, "; "); got != "decide 1 abort" {
				t.Errorf("calls %q, want an abort at the end of input\n%s", got, out.String())
			}
		})
	}
	// Blocking: proceeding is not offered, so the engine never answers.
	var out bytes.Buffer
	ctl := &fakeCtl{}
	c := New(&out, ctl, true)
	startedTestFleet(c)
	g := preflightWith(&engine.PreflightReport{Checked: 4, OK: 3, Failing: down, Blocking: "the standby failed preflight"})
	g.Options = []engine.Decision{engine.Abort}
	feed(c, g)
	if !strings.Contains(out.String(), "[a] abort >") {
		t.Errorf("a blocked gate is not asked:\n%s", out.String())
	}
}

// The gates the engine answers with --yes are not asked, and the end of
// the input while one shows does not abort it: the engine's answer is on
// its way. A script's line given meanwhile is kept for a gate it asks.
func TestYesLeavesTheGatesTheEngineAnswers(t *testing.T) {
	var out bytes.Buffer
	ctl := &fakeCtl{}
	c := New(&out, ctl, true)
	c.Scripted = true
	startedTestFleet(c)
	feed(c, preflightWith(&engine.PreflightReport{Checked: 4, OK: 4,
		Fingerprints: []engine.FingerprintRow{{Name: "nginx", Mixed: true}}}))
	if strings.Contains(out.String(), "[y] proceed") {
		t.Errorf("a gate --yes answers is asked:\n%s", out.String())
	}
	c.command("a")
	feed(c, engine.GateAnswered{Gate: 1, Decision: engine.Proceed, Auto: true})
	if len(ctl.calls) != 0 {
		t.Fatalf("sent %v at a gate the engine answers", ctl.calls)
	}
	feed(c, engine.GateReached{Gate: 2, Kind: engine.GateFailed, Phase: engine.PhaseTest,
		Options: []engine.Decision{engine.Retry, engine.Abort}})
	if got := strings.Join(ctl.calls, "; "); got != "decide 2 abort" {
		t.Errorf("calls %q, want the kept abort at the failed gate", got)
	}

	// End of input at a gate the engine answers: no abort.
	out.Reset()
	ctl.calls = nil
	c = New(&out, ctl, true)
	c.Scripted = true
	startedTestFleet(c)
	feed(c, engine.GateReached{Gate: 1, Kind: engine.GatePhase, Phase: engine.PhaseFleet, Options: []engine.Decision{engine.Proceed, engine.Abort}})
	c.endOfInput()
	if len(ctl.calls) != 0 {
		t.Errorf("the end of input sent %v at a gate the engine answers", ctl.calls)
	}
}

// A script's lines read after it answered the open gate, but before the
// engine's answer record arrives, are kept for the gates that follow.
func TestScriptLinesAtAnAnsweredGateAreKept(t *testing.T) {
	var out bytes.Buffer
	ctl := &fakeCtl{}
	c := New(&out, ctl, false)
	c.Scripted = true
	startedTestFleet(c)
	feed(c, engine.GateReached{Gate: 1, Kind: engine.GateStart, Phase: engine.PhaseTest, Options: []engine.Decision{engine.Proceed, engine.Abort}})
	c.command("y")
	c.command("y") // the engine's record of the first answer is not in yet
	c.command("r")
	c.endOfInput()
	feed(c, engine.GateAnswered{Gate: 1, Decision: engine.Proceed},
		engine.GateReached{Gate: 2, Kind: engine.GatePhase, Phase: engine.PhaseFleet, Options: []engine.Decision{engine.Proceed, engine.Rollback, engine.Abort}},
		engine.GateAnswered{Gate: 2, Decision: engine.Proceed},
		engine.GateReached{Gate: 3, Kind: engine.GatePhase, Phase: engine.PhaseFleet, Options: []engine.Decision{engine.Proceed, engine.Rollback, engine.Abort}},
		engine.GateAnswered{Gate: 3, Decision: engine.Rollback},
		engine.GateReached{Gate: 4, Kind: engine.GateFailed, Phase: engine.PhaseFleet, Options: []engine.Decision{engine.Retry, engine.Abort}})
	want := "decide 1 proceed; decide 2 proceed; decide 3 rollback; decide 4 abort"
	if got := strings.Join(ctl.calls, "; "); got != want {
		t.Errorf("calls %q\nwant  %q\n%s", got, want, out.String())
	}

	// At a terminal a second key at an answered gate sends nothing, now
	// or later.
	out.Reset()
	ctl.calls = nil
	c = New(&out, ctl, false)
	startedTestFleet(c)
	feed(c, engine.GateReached{Gate: 1, Kind: engine.GateStart, Phase: engine.PhaseTest, Options: []engine.Decision{engine.Proceed, engine.Abort}})
	c.command("y")
	c.command("y")
	feed(c, engine.GateAnswered{Gate: 1, Decision: engine.Proceed},
		engine.GateReached{Gate: 2, Kind: engine.GatePhase, Phase: engine.PhaseFleet, Options: []engine.Decision{engine.Proceed, engine.Abort}})
	if got := strings.Join(ctl.calls, "; "); got != "decide 1 proceed" {
		t.Errorf("calls %q: a key pressed twice answered a gate not yet shown", got)
	}
}

// Finish-now is an answer only where the gate offers it: at a failed gate
// the engine offers the fast rollback alone, though an emergency is on.
func TestFinishNowOnlyWhereTheGateOffersIt(t *testing.T) {
	var out bytes.Buffer
	ctl := &fakeCtl{}
	c := New(&out, ctl, false)
	startedTestFleet(c)
	feed(c, engine.GateReached{Gate: 5, Kind: engine.GateFailed, Phase: engine.PhaseFleet, Batch: 1, Emergency: true,
		Options: []engine.Decision{engine.Retry, engine.RetryHost, engine.Exclude, engine.Rollback, engine.Abort, engine.FastRollback}})
	if strings.Contains(out.String(), "finish") || !strings.Contains(out.String(), "[fast-rollback REASON]") {
		t.Errorf("the failed gate's prompt:\n%s", out.String())
	}
	c.command("finish it is late")
	if len(ctl.calls) != 0 || !strings.Contains(out.String(), `"finish it is late" is not an answer here`) {
		t.Errorf("finish at a failed gate sent %v\n%s", ctl.calls, out.String())
	}
	c.command("fast-rollback errors")
	if got := strings.Join(ctl.calls, "; "); got != `answer 5 fast_rollback host="" size=0 reason="errors"` {
		t.Errorf("calls %q", got)
	}
}

// A fingerprint mixed in production is marked so, calmly, and is not
// counted as drift; only a test host's value production lacks is.
func TestMixedProductionIsNotDrift(t *testing.T) {
	var out bytes.Buffer
	c := New(&out, &fakeCtl{}, false)
	startedTestFleet(c)
	feed(c, preflightWith(&engine.PreflightReport{Checked: 4, OK: 4, Drift: true, Fingerprints: []engine.FingerprintRow{
		{Name: "openssl", Test: []engine.ValueGroup{{Value: "3.0.11", Count: 1}}, Production: []engine.ValueGroup{{Value: "3.0.13", Count: 3}}, Differs: true},
		{Name: "nginx", Test: []engine.ValueGroup{{Value: "1.24.0", Count: 1}},
			Production: []engine.ValueGroup{{Value: "1.24.0", Count: 2}, {Value: "1.22.1", Count: 1}}, Mixed: true},
	}}))
	for _, want := range []string{
		`fingerprint openssl: test "3.0.11" | production "3.0.13" ×3  DIFFERS`,
		`fingerprint nginx: test "1.24.0" | production "1.24.0" ×2, "1.22.1" ×1  (mixed in production)`,
		"DRIFT: the test hosts differ from production in 1 fingerprint (openssl); proceeding acknowledges it",
		"mixed in production: nginx (production's own hosts differ; not drift)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "nginx: test \"1.24.0\" | production \"1.24.0\" ×2, \"1.22.1\" ×1  DIFFERS") {
		t.Errorf("a mixed row is marked as drift:\n%s", out.String())
	}
}

// The output groups line shows, for each smaller group, the first line
// where it differs from the largest: not its last line, which may well
// be the same.
func TestOutputGroupsShowTheFirstDifferingLine(t *testing.T) {
	var out bytes.Buffer
	c := New(&out, &fakeCtl{}, false)
	c.UTC = true
	hosts := fleet(10)
	feed(c, engine.RolloutStarted{ID: "r1", Phases: []engine.PhaseLayout{{Phase: engine.PhaseFleet, Batches: [][]string{hosts, fleet(12)[10:]}}}},
		engine.PhaseStarted{Phase: engine.PhaseFleet, Batch: 1, Batches: 2, Hosts: hosts})
	for _, h := range hosts {
		proxy := "nginx/1.25.3"
		if h == "fleet-03" || h == "fleet-08" {
			proxy = "nginx/1.22.1"
		}
		feed(c, engine.HostChanged{Host: h, Phase: engine.PhaseFleet, State: engine.StateConnecting},
			engine.HostOutput{Host: h, Stream: engine.Stdout, Lines: []string{"fetching demo-service 2.0 on " + h, "installing demo-service 2.0"}},
			engine.HostOutput{Host: h, Stream: engine.Stdout, Lines: []string{"restarted demo-service 2.0", "reloaded the front proxy: " + proxy}},
			engine.HostOutput{Host: h, Stream: engine.Stdout, Lines: []string{"GET /healthz: 200 OK (demo-service 2.0)"}},
			engine.HostChanged{Host: h, Phase: engine.PhaseFleet, State: engine.StateDone})
	}
	// fleet-10 printed less: its output stops early.
	feed(c, engine.HostChanged{Host: "fleet-10", Phase: engine.PhaseFleet, State: engine.StateConnecting},
		engine.HostOutput{Host: "fleet-10", Stream: engine.Stdout, Lines: []string{"fetching demo-service 2.0 on fleet-10"}})
	out.Reset()
	feed(c, engine.GateReached{Gate: 3, Kind: engine.GateBatch, Phase: engine.PhaseFleet, Batch: 2, Next: fleet(12)[10:], Passed: 10,
		Options: []engine.Decision{engine.Proceed, engine.Abort}})
	for _, want := range []string{
		"output: 7 hosts identical; 3 differ: fleet-03, fleet-08, fleet-10",
		"7 hosts (fleet-01, fleet-02, fleet-04, …): GET /healthz: 200 OK (demo-service 2.0)",
		"2 hosts (fleet-03, fleet-08), from line 4: reloaded the front proxy: nginx/1.22.1",
		"1 hosts (fleet-10), from line 2: (no more output)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out.String())
		}
	}
}

// Once finish-now is taken the engine answers the passing gates itself,
// with or without --yes: the console does not ask them.
func TestAfterFinishNowTheEngineAnswers(t *testing.T) {
	var out bytes.Buffer
	ctl := &fakeCtl{}
	c := New(&out, ctl, false)
	c.Scripted = true
	startedTestFleet(c)
	feed(c, engine.EmergencyStarted{Decision: engine.FinishNow, User: "oncall", Reason: "late"})
	out.Reset()
	feed(c, engine.GateReached{Gate: 6, Kind: engine.GateBatch, Phase: engine.PhaseFleet, Batch: 2, Emergency: true,
		Options: []engine.Decision{engine.Proceed, engine.Rollback, engine.Abort}})
	c.endOfInput()
	if strings.Contains(out.String(), "[y] proceed") || len(ctl.calls) != 0 {
		t.Errorf("a gate the engine answers after finish-now was asked (calls %v):\n%s", ctl.calls, out.String())
	}
}
