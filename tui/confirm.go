package tui

import (
	"fmt"
	"slices"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

// confirmKind is the destructive action a confirmation panel asks about.
type confirmKind int

const (
	confirmNone confirmKind = iota
	confirmAbort
	confirmRollback
)

// rollbackStep is one line of the rollback order: a phase's hosts, or the
// swap back.
type rollbackStep struct {
	phase    engine.Phase
	hosts    []string
	swapBack bool
}

// confirmPanel asks for the second, explicit key before an abort or a
// rollback, and says what will happen: how many hosts, in which order.
// What it says is worked out once, when it opens.
type confirmPanel struct {
	c        *common
	kind     confirmKind
	openedAt time.Time
	andQuit  bool // the abort came from the quit panel: leave after
	steps    []rollbackStep
	hosts    int
	inFlight []string
	changed  int
}

// open asks about kind; changed is how many hosts reached applying.
func (p *confirmPanel) open(kind confirmKind, now time.Time, andQuit bool, changed int) {
	st := p.c.st
	p.kind, p.openedAt, p.andQuit, p.changed = kind, now, andQuit, changed
	p.inFlight = p.inFlight[:0]
	for _, name := range st.Order {
		if st.Hosts[name].State.InFlight() {
			p.inFlight = append(p.inFlight, name)
		}
	}
	p.steps, p.hosts = nil, 0
	if kind == confirmRollback {
		p.steps, p.hosts = rollbackSteps(st)
	}
}

func (p *confirmPanel) close() { p.kind = confirmNone }

// rollbackSteps groups the engine's rollback order (State.RollbackSet) by
// phase, with the swap back where it falls: after every host changed after
// the swap, before those changed before it.
func rollbackSteps(st *engine.State) ([]rollbackStep, int) {
	hosts, swap := st.RollbackSet()
	var steps []rollbackStep
	for _, h := range hosts {
		hs := st.Hosts[h]
		if swap && hs.AppliedSeq < st.Swap.Seq {
			steps = append(steps, rollbackStep{phase: engine.PhaseSwap, swapBack: true})
			swap = false
		}
		if n := len(steps); n > 0 && !steps[n-1].swapBack && steps[n-1].phase == hs.Phase {
			steps[n-1].hosts = append(steps[n-1].hosts, h)
			continue
		}
		steps = append(steps, rollbackStep{phase: hs.Phase, hosts: []string{h}})
	}
	if swap {
		steps = append(steps, rollbackStep{phase: engine.PhaseSwap, swapBack: true})
	}
	// A phase's hosts roll back together (in parallel): list them in plan
	// order, so they fold into ranges.
	at := make(map[string]int, len(st.Order))
	for i, h := range st.Order {
		at[h] = i
	}
	for _, step := range steps {
		slices.SortFunc(step.hosts, func(a, b string) int { return at[a] - at[b] })
	}
	return steps, len(hosts)
}

func (p *confirmPanel) view(w, h int) []string {
	s := p.c.styles
	if p.kind == confirmRollback {
		return drawPanel(s, s.PanelFail, "Roll back?", p.rollbackBody(w-4), hints(s,
			keyHint(s, "y", "roll back "+plural(p.hosts, "host")), keyHint(s, "esc", "cancel")), w, h)
	}
	yes := "abort now"
	if p.andQuit {
		yes = "abort, then leave"
	}
	return drawPanel(s, s.PanelFail, "Abort the rollout?", p.abortBody(w-4), hints(s,
		keyHint(s, "y", yes), keyHint(s, "esc", "keep going")), w, h)
}

func (p *confirmPanel) rollbackBody(w int) []string {
	sw := p.c.st.Swap
	out := []string{"Every host this rollout changed goes back to the old version,", "newest phase first (a phase's hosts in parallel), each verified:"}
	for i, step := range p.steps {
		n := fmt.Sprintf("  %d. ", i+1)
		if step.swapBack {
			out = append(out, truncate(n+fmt.Sprintf("swap back on %s: %s takes the traffic again", sw.Where, sw.Demote), w))
			continue
		}
		head := n + fit(string(step.phase), 8) + " "
		tail := " (" + plural(len(step.hosts), "host") + ")"
		out = append(out, head+hostList(step.hosts, max(10, w-width(head)-width(tail)))+tail)
	}
	out = append(out, "", plural(p.hosts, "host")+" in all.")
	if len(p.inFlight) > 0 {
		out[len(out)-1] += " " + plural(len(p.inFlight), "host") + " in flight are cancelled first."
	}
	return out
}

func (p *confirmPanel) abortBody(w int) []string {
	st := p.c.st
	var out []string
	switch {
	case st.RollingBack:
		out = append(out, "This stops the rollback: hosts not yet rolled back stay", "on the new version.")
	case len(p.inFlight) > 0:
		out = append(out, fmt.Sprintf("Cancels %s in flight now: %s;", plural(len(p.inFlight), "host"), hostList(p.inFlight, w-30)),
			"their outcome is unknown until they are verified again.")
	case st.Gate != nil:
		out = append(out, fmt.Sprintf("The rollout stops at gate %d. Nothing is running.", st.Gate.Gate))
	}
	out = append(out, "Nothing more starts.")
	if p.changed > 0 && !st.RollingBack {
		out = append(out, fmt.Sprintf("The %s already changed stay changed.", plural(p.changed, "host")))
	}
	out = append(out, "", "Afterwards: rollout rollback "+p.c.id+" undoes them;", "rollout resume "+p.c.id+" goes on.")
	return out
}
