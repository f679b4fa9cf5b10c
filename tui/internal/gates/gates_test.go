package gates

import (
	"testing"

	"github.com/rolloutconsole/rollout/engine"
)

func TestEngineAnswersOnlyWhatWalkAnswers(t *testing.T) {
	proceed := []engine.Decision{engine.Proceed, engine.Abort}
	down := []engine.HostSummary{{Host: "fleet-03", Error: "connection refused"}}
	for _, tc := range []struct {
		name string
		g    engine.GateReached
		auto bool
		want bool
	}{
		{"a passing gate", engine.GateReached{Kind: engine.GatePhase, Options: proceed}, true, true},
		{"without --yes", engine.GateReached{Kind: engine.GatePhase, Options: proceed}, false, false},
		{"no proceed offered", engine.GateReached{Kind: engine.GatePhase, Options: []engine.Decision{engine.Abort}}, true, false},
		{"a failed gate", engine.GateReached{Kind: engine.GateFailed, Options: proceed}, true, false},
		{"a clean preflight", engine.GateReached{Kind: engine.GatePreflight, Options: proceed, Preflight: &engine.PreflightReport{Checked: 3, OK: 3}}, true, true},
		{"mixed production is no drift", engine.GateReached{Kind: engine.GatePreflight, Options: proceed,
			Preflight: &engine.PreflightReport{Checked: 3, OK: 3, Fingerprints: []engine.FingerprintRow{{Name: "nginx", Mixed: true}}}}, true, true},
		{"unreachable", engine.GateReached{Kind: engine.GatePreflight, Options: proceed, Preflight: &engine.PreflightReport{Unreachable: down}}, true, false},
		{"failing", engine.GateReached{Kind: engine.GatePreflight, Options: proceed, Preflight: &engine.PreflightReport{Failing: down}}, true, false},
		{"locked", engine.GateReached{Kind: engine.GatePreflight, Options: proceed, Preflight: &engine.PreflightReport{Locked: down}}, true, false},
		{"drift", engine.GateReached{Kind: engine.GatePreflight, Options: proceed, Preflight: &engine.PreflightReport{Drift: true}}, true, false},
		{"blocking", engine.GateReached{Kind: engine.GatePreflight, Options: proceed, Preflight: &engine.PreflightReport{Blocking: "the standby is down"}}, true, false},
	} {
		if got := EngineAnswers(&tc.g, tc.auto); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if EngineAnswers(nil, true) {
		t.Error("no gate answered")
	}
}
