package tui

import "github.com/rolloutconsole/rollout/engine"

// hostStates lists every host state in the order counts are kept and
// written: outcomes first, then what is under way, what waits last.
var hostStates = []engine.HostState{
	engine.StateDone, engine.StateFailed, engine.StateUnknown, engine.StateRolledBack, engine.StateRollbackFailed,
	engine.StateRollingBack, engine.StateConnecting, engine.StateApplying, engine.StateVerifying, engine.StateSoaking,
	engine.StateSkipped, engine.StatePending,
}

// counts is a number of hosts per state, indexed like hostStates.
type counts [12]int

func stateIndex(s engine.HostState) int {
	for i, h := range hostStates {
		if h == s {
			return i
		}
	}
	return len(hostStates) - 1 // an unknown state word counts as pending
}

// of returns the count of one state.
func (c *counts) of(s engine.HostState) int { return c[stateIndex(s)] }

// total is every host counted.
func (c *counts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// inFlight is every host with a command running.
func (c *counts) inFlight() int {
	n := 0
	for i, s := range hostStates {
		if s.InFlight() {
			n += c[i]
		}
	}
	return n
}

// failed is every host that failed or whose outcome is not known.
func (c *counts) failed() int {
	return c.of(engine.StateFailed) + c.of(engine.StateUnknown) + c.of(engine.StateRollbackFailed)
}

// tally keeps host counts per state, overall and per phase, up to date as
// events are folded, so no view walks 10,000 hosts to count them.
type tally struct {
	all   counts
	phase map[engine.Phase]*counts
}

func newTally() *tally { return &tally{phase: map[engine.Phase]*counts{}} }

// reset recounts from the state (once per rollout start, not per event).
func (t *tally) reset(s *engine.State) {
	t.all = counts{}
	clear(t.phase)
	for _, h := range s.Hosts {
		t.add(h.Phase, h.State, 1)
	}
}

func (t *tally) add(ph engine.Phase, st engine.HostState, n int) {
	i := stateIndex(st)
	t.all[i] += n
	c := t.phase[ph]
	if c == nil {
		c = &counts{}
		t.phase[ph] = c
	}
	c[i] += n
}

// move counts a host that went from one phase and state to another.
func (t *tally) move(fromPh engine.Phase, from engine.HostState, toPh engine.Phase, to engine.HostState) {
	t.add(fromPh, from, -1)
	t.add(toPh, to, 1)
}

// of returns a phase's counts (zero when it has no hosts).
func (t *tally) of(ph engine.Phase) counts {
	if c := t.phase[ph]; c != nil {
		return *c
	}
	return counts{}
}
