package tui

import (
	"fmt"
	"slices"
	"strconv"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
)

// The gate actions that open the gate again with their effect (exclude a
// host, retry one host, resize the next batch), the emergency paths
// (finish now, fast rollback), the prompts that ask what they need, and the
// output groups view.

// toggleGroups switches the output pane between the selected host's log
// and the step's output groups. From a gate it puts the gate away first:
// the groups are what the engineer wants to compare before answering.
func (m *Model) toggleGroups() {
	switch {
	case m.keys.ctx == ctxGate:
		m.gateHidden = m.c.st.Gate.Gate
		m.output.grouped = true
	default:
		m.output.grouped = !m.output.grouped
	}
	if m.output.grouped {
		m.focus = focusOutput
	}
}

// jumpToGroup shows one host of the group under the cursor: the one whose
// last lines the group showed.
func (m *Model) jumpToGroup() {
	gs := m.c.groups.top(maxGroupsShown)
	if len(gs) == 0 {
		return
	}
	g := gs[min(m.output.groups.cursor, len(gs)-1)]
	host := g.Hosts[0]
	if !slices.Contains(m.table.rows, host) {
		m.table.clearFilter()
	}
	m.table.selectHost(host)
	m.table.follow = false
	m.output.grouped = false
	m.status.info(fmt.Sprintf("%s: its output is the same as %s", host, plural(g.Count-1, "other host")))
}

// openResize asks for the next batch's size, one step up (+) or down (-)
// already.
func (m *Model) openResize(k string) {
	g := m.c.st.Gate
	size := len(g.Next)
	most := g.ResizeMax // the engine's own bound
	if most <= 0 {
		// A journal from before the gate said (rollout watch of an old one).
		most = max(size, leftInPhase(m.c.st, g.Phase, g.Batch))
	}
	v := size + 1
	if k == "-" {
		v = size - 1
	}
	p := &m.prompt
	p.gate, p.size, p.maxSize = g.Gate, size, most
	p.open(promptResize, m.c.now())
	p.input.SetValue(strconv.Itoa(max(1, min(v, most))))
	p.input.CursorEnd()
}

// openExclude asks why the selected host is to be taken out.
func (m *Model) openExclude() {
	host := m.table.selected()
	h := m.c.st.Hosts[host]
	switch {
	case h == nil:
		m.status.warn("select a host first (esc, then ↑/↓): x excludes the selected host")
		return
	case h.State == engine.StateSkipped:
		m.status.warn(host + " is already out of the rollout")
		return
	}
	p := &m.prompt
	p.gate, p.host, p.applied = m.c.st.Gate.Gate, host, h.Applied
	p.open(promptExclude, m.c.now())
}

// retryOne runs the selected failed host again.
func (m *Model) retryOne() tea.Cmd {
	g := m.c.st.Gate
	host := m.table.selected()
	h := m.c.st.Hosts[host]
	switch {
	case h == nil:
		m.status.warn("select a failed host first (esc, then ↑/↓): T retries the selected host")
		return nil
	case h.State != engine.StateFailed && h.State != engine.StateUnknown:
		m.status.warn(fmt.Sprintf("%s is %s: T retries a failed host", host, h.State))
		return nil
	case !m.armed(m.gateOpenedAt):
		m.status.warn(fmt.Sprintf("gate %d opened just now: press T again to retry %s", g.Gate, host))
		return nil
	}
	return m.sendAnswer(g.Gate, engine.Answer{Decision: engine.RetryHost, Host: host}, "retry "+host)
}

// emergencyOpen reports whether finish-now and the fast rollback may be
// asked for now: at a gate, as the gate says (finish-now only where its
// options list it: a failed gate sets Emergency but offers the fast
// rollback alone); between gates, once the test phase passed (the engine
// has the last word).
func (m *Model) emergencyOpen() (finish, fast bool) {
	st := m.c.st
	if g := st.Gate; g != nil {
		finish = slices.Contains(g.Options, engine.FinishNow)
		fast = slices.Contains(g.Options, engine.FastRollback) || g.Emergency
		return finish, fast
	}
	if !testPassed(st) {
		return false, false
	}
	return st.Emergency == nil && fleetPending(m.c.tally) > 0, m.changed > 0
}

// fleetPending counts the fleet hosts that have not started: what
// finish-now puts in its one batch.
func fleetPending(t *tally) int {
	c := t.of(engine.PhaseFleet)
	return c.of(engine.StatePending)
}

// openEmergency asks why, and says what the emergency path does.
func (m *Model) openEmergency(kind promptKind) {
	p := &m.prompt
	p.gate = 0
	if g := m.c.st.Gate; g != nil {
		p.gate = g.Gate
	}
	p.remain = fleetPending(m.c.tally)
	p.changed, p.inFlight = m.changed, m.c.tally.all.inFlight()
	p.open(kind, m.c.now())
}

// promptKey gives every key to the open prompt but enter (send), esc and
// ctrl+c (cancel).
func (m *Model) promptKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEsc, tea.KeyCtrlC:
		m.prompt.close()
		m.status.info("cancelled: nothing was sent")
	case tea.KeyEnter:
		return m.promptSubmit()
	default:
		m.prompt.key(msg)
	}
	return nil
}

// promptSubmit sends what the prompt asked for, or says in the panel why
// it will not: an empty reason, a size out of range.
func (m *Model) promptSubmit() tea.Cmd {
	p := &m.prompt
	if m.opts.Controller == nil {
		p.close()
		return nil
	}
	if !m.armed(p.openedAt) {
		p.refuse("that came too fast after the question: press enter again")
		return nil
	}
	reason := p.reason()
	if p.kind != promptResize && reason == "" {
		p.refuse("a reason is required: type why, then enter")
		return nil
	}
	switch p.kind {
	case promptResize:
		n, ok := p.number()
		switch {
		case !ok || n < 1:
			p.refuse("type a number of hosts, at least 1")
		case n > p.maxSize:
			p.refuse(fmt.Sprintf("at most %d: what is left of the phase", p.maxSize))
		case n == p.size:
			p.refuse(fmt.Sprintf("the next batch has %d already", n))
		default:
			return m.sendAnswer(p.gate, engine.Answer{Decision: engine.Resize, Size: n}, fmt.Sprintf("resize the next batch to %d", n))
		}
		return nil
	case promptExclude:
		return m.sendAnswer(p.gate, engine.Answer{Decision: engine.Exclude, Host: p.host, Reason: reason}, "exclude "+p.host)
	}
	return m.sendEmergency(p.kind, reason)
}

// sendAnswer sends an answer to the named gate, if it is still the one
// open, and closes the prompt.
func (m *Model) sendAnswer(gate int, a engine.Answer, what string) tea.Cmd {
	m.prompt.close()
	g := m.c.st.Gate
	if g == nil || g.Gate != gate {
		m.status.warn(fmt.Sprintf("gate %d closed meanwhile: nothing was sent", gate))
		return nil
	}
	ctl := m.opts.Controller
	m.answered = gate
	m.status.info(fmt.Sprintf("gate %d: %s…", gate, what))
	return control(fmt.Sprintf("%s at gate %d", what, gate), gate, func() error { return ctl.Answer(gate, a) })
}

// sendEmergency sends finish-now or the fast rollback: as the answer to
// the open gate when it offers it, by itself otherwise.
func (m *Model) sendEmergency(kind promptKind, reason string) tea.Cmd {
	d, what := engine.FinishNow, "finish now"
	call := m.opts.Controller.FinishNow
	if kind == promptFastBack {
		d, what = engine.FastRollback, "fast rollback"
		call = m.opts.Controller.FastRollback
	}
	if g := m.c.st.Gate; g != nil && slices.Contains(g.Options, d) {
		return m.sendAnswer(g.Gate, engine.Answer{Decision: d, Reason: reason}, what)
	}
	m.prompt.close()
	m.status.warn(what + "…")
	return control(what, 0, func() error { return call(reason) })
}

// checkPrompt closes a prompt the records made pointless: its gate closed,
// the rollout ended, a rollback began. Nothing it held is sent.
func (m *Model) checkPrompt() {
	p := &m.prompt
	st := m.c.st
	var why string
	switch {
	case p.kind == promptNone:
		return
	case m.finished():
		why = "the rollout ended"
	case (p.kind == promptExclude || p.kind == promptResize) && (st.Gate == nil || st.Gate.Gate != p.gate):
		why = fmt.Sprintf("gate %d closed", p.gate)
	case st.RollingBack:
		why = "a rollback started"
	case p.kind == promptFinish && st.Emergency != nil:
		why = "an emergency path was taken already"
	default:
		return
	}
	p.close()
	m.status.warn(why + " while you typed: nothing was sent")
}
