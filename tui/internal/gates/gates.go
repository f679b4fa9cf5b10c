// Package gates holds what both consoles must know about a gate and the
// engine does not export: which gates the engine answers by itself.
package gates

import (
	"slices"

	"github.com/rolloutconsole/rollout/engine"
)

// EngineAnswers reports whether the engine answers the gate by itself when
// auto is set (--yes, engine.Options.AutoConfirm, or a finish-now taken):
// only when the gate offers Proceed, it is not a failed gate, and a
// preflight report is clean (no unreachable, failing or locked host,
// nothing blocking, no drift). Any other gate waits for an answer, so a
// console must ask for one.
//
// It mirrors the condition in engine/walk.go (*Engine).gate and
// (*PreflightReport).clean in engine/preflight.go, which are not exported:
// change it with them.
func EngineAnswers(g *engine.GateReached, auto bool) bool {
	if g == nil || !auto || g.Kind == engine.GateFailed || !slices.Contains(g.Options, engine.Proceed) {
		return false
	}
	pf := g.Preflight
	return pf == nil || len(pf.Unreachable)+len(pf.Failing)+len(pf.Locked) == 0 && !pf.Drift && pf.Blocking == ""
}
