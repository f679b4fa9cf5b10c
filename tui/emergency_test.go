package tui

import (
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
)

// At a failed gate the engine says an emergency is possible but offers only
// the fast rollback: F is off there, and says nothing; B is on.
func TestFinishNowIsOffAtAFailedGate(t *testing.T) {
	m, ctl := atFleetBatchGate(t)
	s := newScriptAt(m)
	feed(m, s.recs(engine.GateAnswered{Gate: 4, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseFleet, Batch: 2, Batches: 2, Hosts: fleetNamed(60)[30:]},
		engine.PhaseFinished{Phase: engine.PhaseFleet, Batch: 2, Passed: 20, Failed: 10},
		engine.GateReached{Gate: 5, Kind: engine.GateFailed, Phase: engine.PhaseFleet, Batch: 2, Next: fleetNamed(60)[30:40], Emergency: true,
			Options: []engine.Decision{engine.Retry, engine.RetryHost, engine.Exclude, engine.Rollback, engine.Abort, engine.FastRollback},
			Passed:  20, Failed: 10}))
	if m.c.st.Gate == nil || m.c.st.Gate.Gate != 5 {
		t.Fatalf("gate %+v, want the failed gate 5", m.c.st.Gate)
	}
	m.refreshKeys()
	if m.keys.Finish.Enabled() || !m.keys.FastBack.Enabled() {
		t.Errorf("at the failed gate F is %v and B is %v; want F off, B on", m.keys.Finish.Enabled(), m.keys.FastBack.Enabled())
	}
	if v := m.View(); strings.Contains(v, "F finish") || !strings.Contains(v, "B fast rollback") {
		t.Errorf("the failed gate's keys:\n%s", v)
	}
	press(t, m, "F")
	if m.prompt.kind != promptNone || ctl.got() != "" {
		t.Fatalf("F at a failed gate opened %v, sent %q", m.prompt.kind, ctl.got())
	}
}
