package engine

import (
	"cmp"
	"context"
	"slices"
)

// swapUnit names the swap among hosts; no host name can have parentheses.
const swapUnit = "(swap)"

// rollbackUnit is one thing to undo: a host, or the swap (swapUnit).
type rollbackUnit struct {
	name  string
	phase Phase
	seq   int64 // when it was first applied
}

// rollbackOrder is every host that reached applying and is not rolled back
// yet, and the swap if it ran, latest first: fleet, canary, old primary, swap
// back, standby, test.
func (s *State) rollbackOrder() []rollbackUnit {
	var units []rollbackUnit
	for _, name := range s.Order {
		h := s.Hosts[name]
		if h.Applied && h.State != StateRolledBack {
			units = append(units, rollbackUnit{name: name, phase: h.Phase, seq: h.AppliedSeq})
		}
	}
	if s.Swap.State != "" && s.Swap.Back != StateDone {
		units = append(units, rollbackUnit{name: swapUnit, phase: PhaseSwap, seq: s.Swap.Seq})
	}
	slices.SortStableFunc(units, func(a, b rollbackUnit) int { return cmp.Compare(b.seq, a.seq) })
	return units
}

// RollbackSet is every host a rollback would touch now, in order; swap is
// true when the swap would be reversed. Consoles show it before asking.
func (s *State) RollbackSet() (hosts []string, swap bool) {
	for _, u := range s.rollbackOrder() {
		if u.name == swapUnit {
			swap = true
			continue
		}
		hosts = append(hosts, u.name)
	}
	return hosts, swap
}

// rollback undoes every host that reached applying, in reverse order, then
// verifies each. Hosts of one phase roll back in parallel (the phase's
// parallel limit); phases, and the swap back, one after another.
func (e *Engine) rollback(ctx context.Context) (Outcome, string) {
	e.rollingBack = true
	e.paused = false
	var units []rollbackUnit
	e.read(func(s *State) { units = s.rollbackOrder() })
	ev := RollbackStarted{User: e.opts.User}
	if e.fastRollback {
		ev.Fast, ev.Reason = true, e.emergencyReason
	}
	for _, u := range units {
		if u.name == swapUnit {
			ev.SwapBack = true
			continue
		}
		ev.Hosts = append(ev.Hosts, u.name)
	}
	if err := e.record(ev); err != nil {
		return OutcomeInterrupted, err.Error()
	}
	failed := 0
	for len(units) > 0 {
		n := 1
		for n < len(units) && units[n].phase == units[0].phase && units[n].name != swapUnit && units[0].name != swapUnit {
			n++
		}
		group := units[:n]
		units = units[n:]
		var res batchResult
		if group[0].name == swapUnit {
			res = e.runHosts(ctx, []string{swapUnit}, 1, -1, e.swapJob(true))
		} else {
			names := make([]string, len(group))
			for i, u := range group {
				names[i] = u.name
			}
			par := e.plan.Change.Fleet.Parallel
			if pp := e.plan.Phase(group[0].phase); pp != nil && pp.Parallel > 0 && !e.fastRollback {
				par = pp.Parallel
			}
			res = e.runHosts(ctx, names, par, -1, e.hostJob(e.rollbackJob(func(string) Phase { return group[0].phase })))
		}
		failed += res.failed
		switch res.stop {
		case stopAbort:
			return OutcomeAborted, "rollback aborted by " + e.opts.User
		case stopInterrupt, stopJournal:
			return OutcomeInterrupted, "the console stopped during the rollback; resume to finish it"
		}
	}
	if failed > 0 {
		return OutcomeRollbackFailed, "some hosts could not be rolled back"
	}
	return OutcomeRolledBack, ""
}
