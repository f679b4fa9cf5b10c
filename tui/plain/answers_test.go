package plain

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

// feed folds and prints records as Run does.
func feed(c *Console, evs ...engine.Event) {
	for _, e := range evs {
		r := engine.Record{Seq: c.state.LastSeq + 1, Time: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), Event: e}
		c.state.Apply(r)
		c.print(r)
	}
}

func fleet(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("fleet-%02d", i+1)
	}
	return out
}

// atBatchGate is a console at gate 4 after a fleet batch of 30 hosts in
// which fleet-07 and fleet-19 printed an older nginx and failed.
func atBatchGate(t *testing.T, scripted bool) (*Console, *fakeCtl, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	ctl := &fakeCtl{}
	c := New(&out, ctl, false)
	c.UTC, c.Scripted = true, scripted
	hosts := fleet(60)
	feed(c, engine.RolloutStarted{ID: "r1", Service: "web", Phases: []engine.PhaseLayout{
		{Phase: engine.PhaseTest, Batches: [][]string{{"web-test-1"}}},
		{Phase: engine.PhaseFleet, Batches: [][]string{hosts[:30], hosts[30:]}}}},
		engine.PhaseFinished{Phase: engine.PhaseTest, Batch: 1, Passed: 1, OK: true},
		engine.PhaseStarted{Phase: engine.PhaseFleet, Batch: 1, Batches: 2, Hosts: hosts[:30]})
	for _, h := range hosts[:30] {
		v, st := "1.25.3", engine.StateDone
		if h == "fleet-07" || h == "fleet-19" {
			v, st = "1.24.0", engine.StateFailed
		}
		feed(c, engine.HostChanged{Host: h, Phase: engine.PhaseFleet, State: engine.StateConnecting},
			engine.HostOutput{Host: h, Stream: engine.Stdout, Lines: []string{"Setting up nginx on " + h, "nginx version: nginx/" + v}},
			engine.HostChanged{Host: h, Phase: engine.PhaseFleet, State: st})
	}
	out.Reset()
	feed(c, engine.GateReached{Gate: 4, Kind: engine.GateBatch, Phase: engine.PhaseFleet, Batch: 2, Next: hosts[30:], Passed: 28, Failed: 2,
		Options: []engine.Decision{engine.Proceed, engine.Resize, engine.Exclude, engine.RetryHost, engine.Rollback, engine.Abort,
			engine.FinishNow, engine.FastRollback}, Emergency: true,
		Checks:  []engine.CheckTally{{Check: 1, Name: "curl -fsS localhost/healthz", Passed: 30}, {Check: 2, Name: "nginx -v", Passed: 28, Failed: 2}},
		Failing: []engine.HostSummary{{Host: "fleet-07", State: engine.StateFailed, Error: "verify 2: exit status 1"}}})
	return c, ctl, &out
}

func TestTheGateShowsChecksAndOutputGroups(t *testing.T) {
	_, _, out := atBatchGate(t, false)
	for _, want := range []string{
		"== gate 4: 28 passed, 2 failed; next fleet batch 2: fleet-[31:60] (30 hosts)",
		"verify 1 curl -fsS localhost/healthz: 30 passed", "verify 2 nginx -v: 28 passed, 2 FAILED",
		"output: 28 hosts identical; 2 differ: fleet-07, fleet-19",
		"28 hosts (fleet-01, fleet-02, fleet-03, …): nginx version: nginx/1.25.3",
		"2 hosts (fleet-07, fleet-19), from line 2: nginx version: nginx/1.24.0",
		"failed within the budget: fleet-07 failed: verify 2: exit status 1",
		"[y] proceed  [t HOST] retry one host  [x HOST REASON] exclude a host  [resize N] size of the next batch  [r] roll back  [a] abort  [finish REASON] finish now  [fast-rollback REASON] roll back at once >",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the gate lacks %q:\n%s", want, out.String())
		}
	}
}

func TestNewAnswers(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{"x fleet-19 disk failing on /var", `answer 4 exclude host="fleet-19" size=0 reason="disk failing on /var"`},
		{"exclude fleet-19 flaky", `answer 4 exclude host="fleet-19" size=0 reason="flaky"`},
		{"t fleet-07", `answer 4 retry_host host="fleet-07" size=0 reason=""`},
		{"resize 5", `answer 4 resize host="" size=5 reason=""`},
		{"RESIZE 12", `answer 4 resize host="" size=12 reason=""`},
		{"finish the db is on fire", `answer 4 finish_now host="" size=0 reason="the db is on fire"`},
		{"fast-rollback errors up 30%", `answer 4 fast_rollback host="" size=0 reason="errors up 30%"`},
		{"y", "decide 4 proceed"},
		{"y two hosts are on the old image; known", `answer 4 proceed host="" size=0 reason="two hosts are on the old image; known"`},
		{"a error budget burnt", `answer 4 abort host="" size=0 reason="error budget burnt"`},
	} {
		t.Run(tc.line, func(t *testing.T) {
			c, ctl, out := atBatchGate(t, false)
			c.command(tc.line)
			if got := strings.Join(ctl.calls, "; "); got != tc.want {
				t.Errorf("%q sent %q, want %q\n%s", tc.line, got, tc.want, out.String())
			}
		})
	}
}

func TestBadAnswersAreRefusedWithWhy(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{"x", "x needs a host and a reason: x HOST REASON…"},
		{"x fleet-19", "a reason is required: x fleet-19 REASON…"},
		{"x fleet-19    ", "a reason is required: x fleet-19 REASON…"},
		{"x nosuch because", `unknown host "nosuch"`},
		{"t nosuch", `unknown host "nosuch"`},
		{"t fleet-07 fleet-19", "t takes one host: t HOST"},
		{"resize", "resize needs a number of hosts, at least 1: resize N"},
		{"resize many", "resize needs a number of hosts, at least 1: resize N"},
		{"resize 0", "resize needs a number of hosts, at least 1: resize N"},
		{"finish", "a reason is required: finish REASON…"},
		{"fast-rollback   ", "a reason is required: fast-rollback REASON…"},
		{"rezise 5", `"rezise 5" is not a command`},
		{"yolo", `"yolo" is not a command`},
		{"p now", "p takes nothing more"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			c, ctl, out := atBatchGate(t, false)
			out.Reset()
			c.command(tc.line)
			if len(ctl.calls) != 0 {
				t.Errorf("%q sent %v", tc.line, ctl.calls)
			}
			if !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), "[y] proceed") {
				t.Errorf("%q: output %q, want %q and the prompt again", tc.line, out.String(), tc.want)
			}
		})
	}
}

func TestAnswersNotOfferedAreRefused(t *testing.T) {
	var out bytes.Buffer
	ctl := &fakeCtl{}
	c := New(&out, ctl, false)
	feed(c, engine.RolloutStarted{ID: "r1", Phases: []engine.PhaseLayout{{Phase: engine.PhaseTest, Batches: [][]string{{"web-test-1"}}}}},
		engine.GateReached{Gate: 1, Kind: engine.GateStart, Phase: engine.PhaseTest, Options: []engine.Decision{engine.Proceed, engine.Abort}})
	for _, line := range []string{"x web-test-1 why", "t web-test-1", "resize 2", "finish now", "fast-rollback now", "r"} {
		c.command(line)
	}
	if len(ctl.calls) != 0 {
		t.Fatalf("answers the gate does not offer were sent: %v", ctl.calls)
	}
	if n := strings.Count(out.String(), "is not an answer here"); n != 6 {
		t.Fatalf("%d refusals, want 6:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "[y] proceed  [a] abort >") {
		t.Errorf("the prompt offers more than the gate:\n%s", out.String())
	}
}

func TestEmergencyBetweenGates(t *testing.T) {
	var out bytes.Buffer
	ctl := &fakeCtl{}
	c := New(&out, ctl, false)
	c.command("finish tired of waiting")
	c.command("fast-rollback alarms")
	c.command("x web-1 why") // a gate answer with no gate
	if got := strings.Join(ctl.calls, "; "); got != `finish-now "tired of waiting"; fast-rollback "alarms"` {
		t.Fatalf("calls %q", got)
	}
	if !strings.Contains(out.String(), `no gate is open: "x web-1 why" answers a gate only once it is shown`) {
		t.Errorf("output %q", out.String())
	}
}

func TestAScriptsNewAnswersWaitForTheirGates(t *testing.T) {
	c, ctl, _ := atBatchGate(t, true)
	c.command("x fleet-19 disk failing")
	feed(c, engine.GateAnswered{Gate: 4, Decision: engine.Exclude, Host: "fleet-19", Reason: "disk failing", User: "oncall"},
		engine.HostExcluded{Host: "fleet-19", User: "oncall", Reason: "disk failing"})
	// Given before the gate that follows: kept for it.
	c.command("resize 10")
	c.command("fast-rollback it is bad")
	feed(c, engine.GateReached{Gate: 5, Kind: engine.GateBatch, Phase: engine.PhaseFleet, Batch: 2, Next: fleet(60)[30:],
		Options: []engine.Decision{engine.Proceed, engine.Resize, engine.Rollback, engine.Abort}, Emergency: true})
	feed(c, engine.GateAnswered{Gate: 5, Decision: engine.Resize, Size: 10, User: "oncall"},
		engine.GateReached{Gate: 6, Kind: engine.GateBatch, Phase: engine.PhaseFleet, Batch: 2, Next: fleet(60)[30:40],
			Options: []engine.Decision{engine.Proceed, engine.Rollback, engine.Abort}, Emergency: true})
	want := `answer 4 exclude host="fleet-19" size=0 reason="disk failing"; answer 5 resize host="" size=10 reason=""; fast-rollback "it is bad"`
	if got := strings.Join(ctl.calls, "; "); got != want {
		t.Fatalf("calls %q\nwant  %q", got, want)
	}
}

func TestPreflightGateIsPrinted(t *testing.T) {
	var out bytes.Buffer
	ctl := &fakeCtl{}
	c := New(&out, ctl, true) // --yes never passes a drift
	feed(c, engine.RolloutStarted{ID: "r1", Phases: []engine.PhaseLayout{{Phase: engine.PhaseTest, Batches: [][]string{{"web-test-1"}}},
		{Phase: engine.PhaseFleet, Batches: [][]string{{"web-01", "web-02"}}}}},
		engine.PreflightHost{Host: "web-02", Problem: "unreachable", Error: "connection refused"},
		engine.GateReached{Gate: 1, Kind: engine.GatePreflight, Phase: engine.PhaseTest, Batch: 1, Next: []string{"web-test-1"},
			Options: []engine.Decision{engine.Proceed, engine.Exclude, engine.Abort},
			Preflight: &engine.PreflightReport{Checked: 3, OK: 2, Unreachable: []engine.HostSummary{{Host: "web-02", Error: "connection refused"}},
				Fingerprints: []engine.FingerprintRow{
					{Name: "openssl", Test: []engine.ValueGroup{{Value: "3.0.11", Count: 1}}, Production: []engine.ValueGroup{{Value: "3.0.13", Count: 2}}, Differs: true},
					{Name: "os", Test: []engine.ValueGroup{{Value: "Debian 12", Count: 1}}, Production: []engine.ValueGroup{{Value: "Debian 12", Count: 2}}}},
				Drift: true}})
	for _, want := range []string{
		"web-02 preflight unreachable: connection refused",
		"== gate 1: ready to start with test: web-test-1 (1 host); preflight done, nothing changed yet",
		"preflight: 3 checked, 2 ok, 1 unreachable, 0 failing, 0 locked",
		"unreachable web-02: connection refused (left out if you proceed)",
		`fingerprint openssl: test "3.0.11" | production "3.0.13" ×2  DIFFERS`,
		`fingerprint os: test "Debian 12" | production "Debian 12" ×2`,
		"DRIFT: the test hosts differ from production in 1 fingerprint (openssl); proceeding acknowledges it, --yes never does",
		"[y] proceed  [x HOST REASON] exclude a host  [a] abort >",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out.String())
		}
	}
}

func TestNewEventsArePrinted(t *testing.T) {
	var out bytes.Buffer
	c := New(&out, &fakeCtl{}, false)
	c.UTC = true
	feed(c, engine.HostExcluded{Host: "web-3", User: "oncall", Reason: "disk"},
		engine.HostCaptured{Host: "web-1", Values: map[string]string{"version": "1.24.0", "conf": "abc"}},
		engine.BatchesChanged{Phase: engine.PhaseFleet, Batches: [][]string{{"a"}, {"b", "c"}}, User: "oncall", Reason: "faster"},
		engine.EmergencyStarted{Decision: engine.FinishNow, User: "oncall", Reason: "late"},
		engine.LockChanged{Path: "/run/rollout.lock", Taken: true, Hosts: 9},
		engine.LockChanged{Path: "/run/rollout.lock", Hosts: 9, Failures: []string{"web-2: permission denied"}},
		engine.HookRan{On: "gate", Error: "exit status 3"},
		engine.HookRan{On: "finish", Duration: 1500 * time.Millisecond},
		engine.RollbackStarted{User: "oncall", Hosts: []string{"web-1"}, Fast: true, Reason: "bad"},
		engine.GateAnswered{Gate: 3, Decision: engine.Resize, Size: 5, User: "oncall"})
	for _, want := range []string{
		"web-3 EXCLUDED by oncall: disk", "web-1 captured: conf=abc version=1.24.0", "fleet batches now 1, 2 (by oncall): faster",
		"FINISH NOW by oncall: late", "remote lock /run/rollout.lock taken on 9 hosts", "not released: web-2: permission denied",
		"note: the gate hook failed: exit status 3 (the rollout goes on)", "finish hook ran (1.5s)",
		"FAST ROLLBACK by oncall: bad: 1 hosts", "gate 3: resize the next batch to 5 hosts (oncall)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out.String())
		}
	}
}
