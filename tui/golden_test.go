package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/rolloutconsole/rollout/engine"
)

// The golden tests run the console as a program (teatest) at a fixed size
// and clock, feed it records through its stream and keys through its
// input, wait for each step to reach the screen, and compare the final
// screen with testdata/<test>.golden. Regenerate with: go test ./tui -run
// Golden -update

// goldenStep is one input to the program and the text that shows it landed.
type goldenStep struct {
	recs  []engine.Record
	keys  []string
	close bool   // close the stream after recs
	wait  string // text that appears once the step is on screen
}

func goldenRun(t *testing.T, w, h int, ctl Controller, steps ...goldenStep) {
	t.Helper()
	ch := make(chan engine.Record, 4096)
	opts := Options{Records: ch, Controller: ctl, ID: "20260301-030000-web-abc123",
		JournalPath: "/var/lib/rollout/20260301-030000-web-abc123.journal",
		Now:         func() time.Time { return t0.Add(45 * time.Second) }, ArmDelay: -1, Inline: true}
	if ctl != nil {
		opts.Detach = func() {}
	}
	m := New(opts)
	m.animate = false // the spinner would make the screen depend on timing
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	for _, s := range steps {
		for _, r := range s.recs {
			ch <- r
		}
		if s.close {
			close(ch)
		}
		for _, k := range s.keys {
			tm.Send(keyMsg(k))
		}
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s.wait)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).View()
	if lines := strings.Split(final, "\n"); len(lines) != h {
		t.Errorf("the screen has %d lines, want %d", len(lines), h)
	}
	for i, l := range strings.Split(final, "\n") {
		if n := width(l); n > w {
			t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, n, w, l)
		}
	}
	teatest.RequireEqualOutput(t, []byte(final))
}

// fleetOutput is a fleet host's busy log, a long line among it.
func fleetOutput(host string) []string {
	out := []string{"Reading package lists...", "Building dependency tree...", "The following packages will be upgraded:",
		"  nginx nginx-common nginx-core (1.24.0-1 => 1.25.3-1) " + strings.Repeat("and a very long tail ", 8)}
	for i := 1; i <= 12; i++ {
		out = append(out, fmt.Sprintf("Unpacking nginx-module-%02d (1.25.3-1) on %s ...", i, host))
	}
	return out
}

func TestGoldenFirstGate(t *testing.T) {
	s := newScript()
	recs := s.recs(started(4), engine.GateReached{Gate: 1, Kind: engine.GateStart, Phase: engine.PhaseTest, Batch: 1,
		Next: []string{"web-test-1"}, Options: []engine.Decision{engine.Proceed, engine.Abort}})
	goldenRun(t, 100, 30, &fakeCtl{}, goldenStep{recs: recs, wait: "Gate 1 · ready to start"})
}

func TestGoldenRunningFleetBatch(t *testing.T) {
	s := newScript()
	recs := runningFleetRecords(s)
	recs = append(recs, s.recs(engine.HostOutput{Host: "web-02", Stream: engine.Stdout, Lines: fleetOutput("web-02")},
		engine.HostOutput{Host: "web-03", Stream: engine.Stdout, Lines: []string{"Reading package lists..."}})...)
	goldenRun(t, 100, 30, &fakeCtl{}, goldenStep{recs: recs, wait: "nginx-module-12"})
}

func TestGoldenFailedCanaryGate(t *testing.T) {
	s := newScript()
	recs := append(toCanaryGate(s, 4), failedCanary(s)...)
	goldenRun(t, 100, 30, &fakeCtl{}, goldenStep{recs: recs, wait: "CANARY FAILED"})
}

func TestGoldenRollbackConfirmation(t *testing.T) {
	s := newScript()
	recs := append(toCanaryGate(s, 4), failedCanary(s)...)
	goldenRun(t, 100, 30, &fakeCtl{},
		goldenStep{recs: recs, wait: "CANARY FAILED"},
		goldenStep{keys: []string{"R"}, wait: "Roll back?"})
}

func TestGoldenSummary(t *testing.T) {
	s := newScript()
	recs := append(toCanaryGate(s, 4), failedCanary(s)...)
	s.at(44 * time.Second)
	order := []string{"web-c1", "web-a", "web-b", "web-test-1"}
	rb := s.recs(engine.GateAnswered{Gate: 5, Decision: engine.Rollback, User: "oncall"},
		engine.RollbackStarted{User: "oncall", Hosts: order, SwapBack: true})
	for i, h := range order {
		ph := []engine.Phase{engine.PhaseCanary, engine.PhaseSwap, engine.PhaseStandby, engine.PhaseTest}[i]
		rb = append(rb, s.recs(engine.HostChanged{Host: h, Phase: ph, State: engine.StateRollingBack, Attempt: 1},
			engine.HostChanged{Host: h, Phase: ph, State: engine.StateRolledBack, Attempt: 1})...)
		if h == "web-a" {
			rb = append(rb, s.recs(engine.SwapChanged{Back: true, Where: "local", Promote: "web-a", Demote: "web-b", State: engine.StateApplying},
				engine.SwapChanged{Back: true, Where: "local", Promote: "web-a", Demote: "web-b", State: engine.StateDone})...)
		}
	}
	rb = append(rb, s.recs(engine.RolloutFinished{Outcome: engine.OutcomeRolledBack})...)
	goldenRun(t, 100, 30, &fakeCtl{},
		goldenStep{recs: recs, wait: "CANARY FAILED"},
		goldenStep{recs: rb, close: true, wait: "Rollout rolled back"})
}

func TestGolden80x24Gate(t *testing.T) {
	s := newScript()
	goldenRun(t, 80, 24, &fakeCtl{}, goldenStep{recs: toCanaryGate(s, 4), wait: "Gate 4 · swap passed"})
}

func TestGolden80x24RunningFleet(t *testing.T) {
	s := newScript()
	recs := runningFleetRecords(s)
	recs = append(recs, s.recs(engine.HostOutput{Host: "web-02", Stream: engine.Stdout, Lines: fleetOutput("web-02")})...)
	goldenRun(t, 80, 24, &fakeCtl{}, goldenStep{recs: recs, wait: "nginx-module-12"})
}

func TestGoldenWatch(t *testing.T) {
	s := newScript()
	goldenRun(t, 100, 30, nil, goldenStep{recs: toCanaryGate(s, 4), wait: "read-only"})
}

func TestGoldenPreflightDrift80x24(t *testing.T) {
	goldenRun(t, 80, 24, &fakeCtl{}, goldenStep{recs: newScript().recs(preflightGate("")...), wait: "proceed despite drift"})
}

func TestGoldenOutputGroups80x24(t *testing.T) {
	goldenRun(t, 80, 24, &fakeCtl{},
		goldenStep{recs: toFleetBatchGate(newScript()), wait: "Gate 4 · fleet batch 1/2 passed"},
		goldenStep{keys: []string{"o"}, wait: "output groups · fleet batch 1/2"},
		goldenStep{keys: []string{"down"}, wait: "▸ ≠ 2 hosts"})
}

func TestGoldenFinishNowPrompt(t *testing.T) {
	goldenRun(t, 80, 24, &fakeCtl{},
		goldenStep{recs: toFleetBatchGate(newScript()), wait: "Gate 4 · fleet batch 1/2 passed"},
		goldenStep{keys: []string{"F", "d", "b", " ", "d", "o", "w", "n"}, wait: "reason: db down"})
}
