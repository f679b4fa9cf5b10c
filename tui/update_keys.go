package tui

import (
	"fmt"
	"slices"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
)

// handleKey gives a key to whoever has the keys: the open panel, the
// filter, or the focused pane. Only enabled bindings match (refreshKeys),
// so a key that is not in the footer does nothing.
func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	m.refreshKeys()
	switch m.keys.ctx {
	case ctxQuit:
		return m.quitKey(msg)
	case ctxPrompt:
		return m.promptKey(msg)
	case ctxConfirm:
		return m.confirmKey(msg)
	case ctxSummary:
		return m.summaryKey(msg)
	case ctxGate:
		return m.gateKey(msg)
	case ctxFilter:
		return m.filterKey(msg)
	}
	return m.paneKey(msg)
}

// paneKey handles the table and the output pane.
func (m *Model) paneKey(msg tea.KeyMsg) tea.Cmd {
	k := &m.keys
	switch {
	case key.Matches(msg, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom):
		if m.focus == focusOutput {
			m.output.update(msg, k)
		} else {
			m.table.update(msg, k)
		}
	case key.Matches(msg, k.Open):
		if m.focus == focusOutput && m.output.grouped {
			m.jumpToGroup()
		} else {
			m.focus = focusOutput
		}
	case key.Matches(msg, k.Back):
		if m.focus == focusOutput {
			m.focus = focusTable
		} else {
			m.table.clearFilter()
		}
	case key.Matches(msg, k.Focus):
		m.focus = map[focus]focus{focusTable: focusOutput, focusOutput: focusTable}[m.focus]
	case key.Matches(msg, k.Filter):
		m.focus = focusFilter
		m.table.filter.Focus()
	case key.Matches(msg, k.ShowGate):
		m.gateHidden = 0
	case key.Matches(msg, k.Summary):
		m.summaryHidden = false
	default:
		return m.commonKey(msg)
	}
	return nil
}

// commonKey handles what works from a pane and from the gate panel.
func (m *Model) commonKey(msg tea.KeyMsg) tea.Cmd {
	k := &m.keys
	switch {
	case key.Matches(msg, k.Retry):
		return m.decide(engine.Retry)
	case key.Matches(msg, k.Pause):
		return m.pause()
	case key.Matches(msg, k.Abort):
		m.confirm.open(confirmAbort, m.c.now(), false, m.changed)
	case key.Matches(msg, k.Rollback):
		m.confirm.open(confirmRollback, m.c.now(), false, m.changed)
	case key.Matches(msg, k.Groups):
		m.toggleGroups()
	case key.Matches(msg, k.Resize):
		m.openResize(msg.String())
	case key.Matches(msg, k.Exclude):
		m.openExclude()
	case key.Matches(msg, k.RetryOne):
		return m.retryOne()
	case key.Matches(msg, k.Finish):
		m.openEmergency(promptFinish)
	case key.Matches(msg, k.FastBack):
		m.openEmergency(promptFastBack)
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, k.Quit):
		return m.askQuit()
	}
	return nil
}

// gateKey answers the open gate, or puts it away to look around.
func (m *Model) gateKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Proceed):
		return m.decide(engine.Proceed)
	case key.Matches(msg, m.keys.Back):
		m.gateHidden = m.c.st.Gate.Gate
		return nil
	}
	return m.commonKey(msg)
}

// armed reports whether a panel opened at t may take its answer now: a key
// that arrives sooner was typed before the panel could be read.
func (m *Model) armed(t time.Time) bool {
	return m.c.now().Sub(t) >= m.opts.ArmDelay
}

// decide sends a decision for the gate on screen, by its number, so it can
// only ever answer that gate.
func (m *Model) decide(d engine.Decision) tea.Cmd {
	g := m.c.st.Gate
	ctl := m.opts.Controller
	if g == nil || ctl == nil || !slices.Contains(g.Options, d) {
		return nil
	}
	if m.answered == g.Gate {
		return nil
	}
	if !m.armed(m.gateOpenedAt) {
		m.status.warn(fmt.Sprintf("gate %d opened just now: press %s again to %s", g.Gate, keyFor(d), d))
		return nil
	}
	m.answered = g.Gate
	m.status.info(fmt.Sprintf("gate %d: %s…", g.Gate, d))
	gate := g.Gate
	return control(fmt.Sprintf("%s at gate %d", d, gate), gate, func() error { return ctl.Decide(gate, d) })
}

func keyFor(d engine.Decision) string {
	if d == engine.Retry {
		return "t"
	}
	return "y"
}

// pause pauses, or resumes a paused rollout, as the state says it is.
func (m *Model) pause() tea.Cmd {
	ctl := m.opts.Controller
	if m.c.st.Paused {
		m.status.info("resuming…")
		return control("resume", 0, ctl.Unpause)
	}
	m.status.info("pausing: no new host will start; hosts in flight finish")
	return control("pause", 0, ctl.Pause)
}

// confirmKey takes the second, explicit key of an abort or a rollback.
func (m *Model) confirmKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Cancel):
		m.confirm.close()
		m.status.info("cancelled: nothing was done")
	case key.Matches(msg, m.keys.Confirm):
		if !m.armed(m.confirm.openedAt) {
			m.status.warn("that came too fast after the question: press y again to confirm")
			return nil
		}
		return m.confirmed()
	}
	return nil
}

// confirmed sends the confirmed abort or rollback.
func (m *Model) confirmed() tea.Cmd {
	ctl := m.opts.Controller
	kind, andQuit := m.confirm.kind, m.confirm.andQuit
	m.confirm.close()
	if ctl == nil {
		return nil
	}
	if andQuit {
		m.leave = leaveAbort
	}
	if kind == confirmRollback {
		m.status.warn("rolling back…")
		return control("roll back", 0, ctl.Rollback)
	}
	m.status.warn("aborting…")
	return control("abort", 0, ctl.Abort)
}

// askQuit closes at once when nothing runs (or in watch mode), and asks
// otherwise.
func (m *Model) askQuit() tea.Cmd {
	if m.mayQuit() {
		m.leave = leaveNow
		return tea.Quit
	}
	m.quit.open = true
	return nil
}

// quitKey: detach, abort (asked once more), or stay.
func (m *Model) quitKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Cancel):
		m.quit.open = false
	case key.Matches(msg, m.keys.Detach):
		m.quit.open = false
		m.leave = leaveDetach
		m.status.warn("detaching: hosts in flight finish, then the console closes; resume with rollout resume " + m.c.id)
		m.opts.Detach()
	case key.Matches(msg, m.keys.Abort):
		m.quit.open = false
		m.confirm.open(confirmAbort, m.c.now(), true, m.changed)
	}
	return nil
}

// summaryKey: leave, or put the summary away to look at the hosts.
func (m *Model) summaryKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Leave):
		m.leave = leaveNow
		return tea.Quit
	case key.Matches(msg, m.keys.Back):
		m.summaryHidden = true
	case key.Matches(msg, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
	}
	return nil
}

// filterKey types into the filter; enter keeps it, esc drops it.
func (m *Model) filterKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.String() {
	case "enter":
		m.focus = focusTable
		m.table.filter.Blur()
	case "esc":
		m.focus = focusTable
		m.table.clearFilter()
	case "ctrl+c":
		return m.askQuit()
	default:
		m.table.updateFilter(msg)
	}
	return nil
}

// handleMouse gives the mouse to the pane under it.
func (m *Model) handleMouse(msg tea.MouseMsg) {
	if m.activePanel() != panelNone || m.focus == focusFilter {
		return
	}
	msg.Y -= m.bodyTop
	if msg.Y >= m.table.height {
		msg.Y -= m.table.height
		m.output.update(msg, &m.keys)
		return
	}
	m.table.update(msg, &m.keys)
}

// refreshKeys switches every binding on or off for the state and the
// context, and words the ones whose meaning changes.
func (m *Model) refreshKeys() {
	k := &m.keys
	ctx := m.keyContext()
	k.ctx = ctx
	st := m.c.st
	ctl := m.opts.Controller != nil
	run := m.running() && m.leave == stayOpen
	gate := st.Gate
	nav := ctx == ctxTable || ctx == ctxOutput
	offers := func(d engine.Decision) bool { return gate != nil && slices.Contains(gate.Options, d) }
	for _, b := range []*key.Binding{&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.Top, &k.Bottom, &k.Focus, &k.Filter} {
		b.SetEnabled(nav)
	}
	k.Open.SetEnabled(ctx == ctxTable || ctx == ctxFilter || (ctx == ctxOutput && m.output.grouped))
	k.Back.SetEnabled(ctx == ctxOutput || ctx == ctxFilter || ctx == ctxGate || ctx == ctxSummary ||
		(ctx == ctxTable && m.table.filter.Value() != ""))
	k.Proceed.SetEnabled(ctx == ctxGate && ctl && run && offers(engine.Proceed) && m.answered != gate.Gate)
	k.ShowGate.SetEnabled(nav && gate != nil && gate.Gate == m.gateHidden)
	k.Retry.SetEnabled((nav || ctx == ctxGate) && ctl && run && offers(engine.Retry) && m.answered != gate.Gate)
	k.Pause.SetEnabled(nav && ctl && run && gate == nil && !st.Aborting)
	k.Abort.SetEnabled((nav || ctx == ctxGate || ctx == ctxQuit) && ctl && run && !st.Aborting)
	k.Rollback.SetEnabled((nav || ctx == ctxGate) && ctl && run && !st.RollingBack && !st.Aborting &&
		(m.changed > 0 || st.Swap.State != "") && (gate == nil || offers(engine.Rollback)))
	// What reopens the gate with its effect: only what the gate offers,
	// and not once an answer to it is on its way.
	act := (nav || ctx == ctxGate) && ctl && run && gate != nil && m.answered != gate.Gate
	k.Resize.SetEnabled(act && offers(engine.Resize))
	// x and T act on the selected host: on only when it is one they can take.
	selHost := st.Hosts[m.table.selected()]
	k.Exclude.SetEnabled(act && offers(engine.Exclude) && selHost != nil && st.ExcludeRefusal(selHost.Name) == "")
	k.RetryOne.SetEnabled(act && offers(engine.RetryHost) && selHost != nil &&
		(selHost.State == engine.StateFailed || selHost.State == engine.StateUnknown))
	finish, fast := m.emergencyOpen()
	emergency := (nav || ctx == ctxGate) && ctl && run && !st.RollingBack && !st.Aborting && (gate == nil || m.answered != gate.Gate)
	k.Finish.SetEnabled(emergency && finish)
	k.FastBack.SetEnabled(emergency && fast)
	k.Groups.SetEnabled((nav || ctx == ctxGate) && (m.c.groups.g.Len() > 0 || m.output.grouped))
	k.Send.SetEnabled(ctx == ctxPrompt)
	k.Dismiss.SetEnabled(ctx == ctxPrompt)
	k.Confirm.SetEnabled(ctx == ctxConfirm)
	k.Cancel.SetEnabled(ctx == ctxConfirm || ctx == ctxQuit)
	k.Detach.SetEnabled(ctx == ctxQuit && m.opts.Detach != nil)
	k.Summary.SetEnabled(nav && m.finished())
	k.Help.SetEnabled(nav || ctx == ctxGate || ctx == ctxSummary)
	k.Quit.SetEnabled(nav || ctx == ctxGate)
	k.Leave.SetEnabled(ctx == ctxSummary)
	m.wordKeys()
}

// wordKeys sets the help words that depend on the state.
func (m *Model) wordKeys() {
	k := &m.keys
	st := m.c.st
	pause := "pause"
	if st.Paused {
		pause = "resume"
	}
	k.Pause.SetHelp("p", pause)
	quit := "quit"
	if m.running() && !m.c.readOnly {
		quit = "quit…"
	}
	k.Quit.SetHelp("q", quit)
	confirm := "abort now"
	if m.confirm.kind == confirmRollback {
		confirm = "roll back " + plural(m.confirm.hosts, "host")
	}
	k.Confirm.SetHelp("y", confirm)
	proceed := "proceed"
	if st.Gate != nil && st.Gate.Kind == engine.GateStart {
		proceed = "start"
	}
	k.Proceed.SetHelp("y", proceed)
	back := "back"
	switch m.keys.ctx {
	case ctxGate, ctxSummary:
		back = "look around"
	case ctxFilter:
		back = "clear"
	}
	k.Back.SetHelp("esc", back)
	open := "output"
	switch {
	case m.keys.ctx == ctxFilter:
		open = "keep filter"
	case m.keys.ctx == ctxOutput && m.output.grouped:
		open = "show a host"
	}
	k.Open.SetHelp("enter", open)
	k.Groups.SetHelp("o", map[bool]string{true: "host output", false: "groups"}[m.output.grouped])
	if sel := m.table.selected(); sel != m.helpSel || k.Exclude.Help().Desc == "" {
		// Worded for the selected host; only when it changes, so an output
		// line does not cost two strings.
		m.helpSel = sel
		if sel == swapRow || sel == "" {
			sel = "host"
		}
		k.Exclude.SetHelp("x", "exclude "+sel+"…")
		k.RetryOne.SetHelp("T", "retry "+sel)
	}
	send := "send"
	switch m.prompt.kind {
	case promptExclude:
		send = "exclude " + m.prompt.host
	case promptResize:
		send = "set the size"
	case promptFinish:
		send = "finish now"
	case promptFastBack:
		send = "roll back now"
	}
	k.Send.SetHelp("enter", send)
	k.Help.SetHelp("?", map[bool]string{true: "fewer keys", false: "more keys"}[m.help.ShowAll])
	k.Cancel.SetHelp("esc", map[bool]string{true: "stay", false: "cancel"}[m.keys.ctx == ctxQuit])
}
