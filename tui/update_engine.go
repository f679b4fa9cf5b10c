package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
)

// maxBatch bounds the records folded in one message, so a key pressed
// during a flood waits for at most one batch.
const maxBatch = 2000

// frameInterval paces record batches to about one per frame: records that
// arrive within it are folded together, so the console redraws for a burst
// once, not once per record.
const frameInterval = 16 * time.Millisecond

// recordsMsg carries every record that was waiting, in journal order.
type recordsMsg struct {
	recs   []engine.Record
	closed bool      // the stream ended after these
	at     time.Time // when the batch was taken, for pacing the next
}

// listen is the one receive command. It blocks for the first record, waits
// out the rest of the frame after the previous batch (unless that batch was
// full: then it is behind and drains at once), and takes everything already
// queued, up to maxBatch. The handler of its message starts the next one, so
// there is never more than one receiver and records stay in order.
func listen(ch <-chan engine.Record, prev time.Time) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		r, ok := <-ch
		if !ok {
			return recordsMsg{closed: true}
		}
		if wait := frameInterval - time.Since(prev); wait > 0 && !prev.IsZero() {
			time.Sleep(wait)
		}
		recs := make([]engine.Record, 1, 64)
		recs[0] = r
		for len(recs) < maxBatch {
			select {
			case r, ok := <-ch:
				if !ok {
					return recordsMsg{recs: recs, closed: true, at: time.Now()}
				}
				recs = append(recs, r)
			default:
				return recordsMsg{recs: recs, at: time.Now()}
			}
		}
		return recordsMsg{recs: recs} // full: the next batch starts at once
	}
}

// handleRecords folds a batch and re-arms the receiver.
func (m *Model) handleRecords(msg recordsMsg) tea.Cmd {
	for _, r := range msg.recs {
		m.apply(r)
	}
	m.table.sync()
	m.checkPrompt()
	var cmds []tea.Cmd
	if msg.closed {
		m.closed = true
		m.confirm.close()
		m.quit.open = false
		if m.leave != stayOpen && m.leave != leaveWatcher {
			m.leave = leaveNow
			return tea.Quit
		}
	} else {
		cmds = append(cmds, listen(m.opts.Records, msg.at))
	}
	if m.finished() {
		m.confirm.close()
		m.quit.open = false
	}
	cmds = append(cmds, m.startSpinner())
	return tea.Batch(cmds...)
}

// apply folds one record into the state and keeps the logs, counts, rows
// and status that hang off it.
func (m *Model) apply(r engine.Record) {
	st := m.c.st
	switch e := r.Event.(type) {
	case engine.HostOutput:
		e.Lines = cleanLines(e.Lines)
		r.Event = e
		st.Apply(r)
		m.c.logs.add(m.logKey(e.Host), e.Lines...)
		if m.logKey(e.Host) == swapRow && len(e.Lines) > 0 {
			m.c.swap.last = e.Lines[len(e.Lines)-1]
		}
		m.c.groups.output(e)
	case engine.HostChanged:
		m.applyHost(e, r)
	case engine.CheckFailed:
		st.Apply(r)
		m.c.logs.add(e.Host, metaPrefix+fmt.Sprintf("verify %d, try %d of %d failed: %s", e.Check, e.Try, e.Tries, cleanLine(e.Error)))
	case engine.SwapChanged:
		st.Apply(r)
		m.c.swap.changed(e, r.Time)
		m.c.logs.add(swapRow, metaPrefix+swapLine(e))
	case engine.RolloutStarted:
		st.Apply(r)
		m.c.hostGen++
		m.c.logs.fit(len(st.Hosts))
		m.c.tally.reset(st)
		m.changed = 0
		for _, h := range st.Hosts {
			if h.Applied {
				m.changed++
			}
		}
		m.table.rebuild()
	case engine.GateReached:
		st.Apply(r)
		m.gateOpenedAt = m.c.now()
		m.table.followGate(e)
	case engine.PhaseStarted:
		st.Apply(r)
		m.c.groups.startStep(st, e)
		m.table.followStep(e)
	case engine.RollbackStarted:
		st.Apply(r)
		m.c.groups.startRollback(e.Hosts)
		m.noteEvent(r)
	case engine.HostExcluded:
		m.applyExcluded(e, r)
	case engine.HostCaptured:
		st.Apply(r)
		m.c.logs.add(e.Host, metaPrefix+"captured before apply: "+capturedText(e.Values))
	default:
		st.Apply(r)
		m.noteEvent(r)
	}
}

// logKey is whose log a host's output goes to: the swap's when it comes
// from where the swap runs and that is not a host of the plan.
func (m *Model) logKey(host string) string {
	if m.c.st.Hosts[host] == nil && host == m.c.st.Swap.Where {
		return swapRow
	}
	return host
}

// applyHost folds a host's new state, moving its count and logging it.
func (m *Model) applyHost(e engine.HostChanged, r engine.Record) {
	st := m.c.st
	h := st.Hosts[e.Host]
	var fromPh engine.Phase
	var from engine.HostState
	applied := false
	if h != nil {
		fromPh, from, applied = h.Phase, h.State, h.Applied
	}
	st.Apply(r)
	m.c.hostGen++
	m.c.groups.hostChanged(e)
	h = st.Hosts[e.Host]
	if from == "" {
		m.c.tally.add(h.Phase, h.State, 1)
		m.table.dirty = true // a host the plan did not list
	} else {
		m.c.tally.move(fromPh, from, h.Phase, h.State)
	}
	if h.Applied && !applied {
		m.changed++
	}
	m.table.stateChanged()
	line := string(e.State)
	if e.Attempt > 1 {
		line += fmt.Sprintf(" (attempt %d)", e.Attempt)
	}
	if e.Error != "" {
		line += ": " + cleanLine(e.Error)
	}
	m.c.logs.add(e.Host, metaPrefix+line)
}

// applyExcluded folds a host taken out of the rollout: it is skipped from
// now on (counted so), out of the output groups, and its log says why.
func (m *Model) applyExcluded(e engine.HostExcluded, r engine.Record) {
	st := m.c.st
	h := st.Hosts[e.Host]
	if h == nil {
		st.Apply(r)
		return
	}
	ph, from := h.Phase, h.State
	st.Apply(r)
	m.c.hostGen++
	m.c.tally.move(ph, from, h.Phase, h.State)
	m.c.groups.g.Remove(e.Host)
	m.table.stateChanged()
	m.c.logs.add(e.Host, metaPrefix+"excluded"+by(e.User)+": "+cleanLine(e.Reason))
	m.status.warn(e.Host + " excluded" + by(e.User) + because(e.Reason))
}

// by writes " by oncall", or nothing when no one is named.
func by(user string) string {
	if user == "" {
		return ""
	}
	return " by " + user
}

// because writes " — the reason", or nothing.
func because(reason string) string {
	if reason == "" {
		return ""
	}
	return " — " + cleanLine(reason)
}

// capturedText writes captured values as name=value, by name.
func capturedText(v map[string]string) string {
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		names[i] = k + "=" + cleanLine(v[k])
	}
	return strings.Join(names, " ")
}

// noteEvent puts what the engine (or another engineer) did in the status line.
func (m *Model) noteEvent(r engine.Record) {
	switch e := r.Event.(type) {
	case engine.GateAnswered:
		m.gateAnswered(e)
	case engine.Paused:
		m.status.info("paused" + by(e.User) + because(e.Reason) + ": no new host starts; hosts in flight finish")
	case engine.Unpaused:
		m.status.info("resumed" + by(e.User))
	case engine.AbortRequested:
		m.status.warn("abort" + by(e.User) + because(e.Reason) + ": cancelling hosts in flight, starting nothing more")
	case engine.RollbackStarted:
		what := "rollback"
		if e.Fast {
			what = "FAST rollback"
		}
		m.status.warn(fmt.Sprintf("%s%s%s: %s, newest first", what, by(e.User), because(e.Reason), plural(len(e.Hosts), "host")))
		m.table.follow = true
	case engine.EmergencyStarted:
		what := "FINISH NOW"
		if e.Decision == engine.FastRollback {
			what = "FAST ROLLBACK"
		}
		m.status.warn(what + by(e.User) + because(e.Reason))
		m.table.follow = true
	case engine.BatchesChanged:
		m.status.info(fmt.Sprintf("%s re-laid%s: %s of %s%s", e.Phase, by(e.User), plural(len(e.Batches), "batch"),
			batchSizes(e.Batches), because(e.Reason)))
	case engine.LockChanged:
		m.lockChanged(e)
	case engine.HookRan:
		if e.Error != "" {
			m.status.warn(fmt.Sprintf("note: the %s hook failed: %s (the rollout goes on)", e.On, cleanLine(e.Error)))
		}
	case engine.SoakStarted:
		m.status.info(fmt.Sprintf("canaries passed; soaking: verified every %s for %s", dur(e.Interval), dur(e.Duration)))
	case engine.Note:
		m.status.info("note: " + cleanLine(e.Msg))
	case engine.RolloutFinished:
		m.status.info("rollout " + string(e.Outcome))
	}
}

// gateAnswered says what was decided at a gate, by whom, and why.
func (m *Model) gateAnswered(e engine.GateAnswered) {
	text := fmt.Sprintf("gate %d: %s", e.Gate, e.Decision)
	switch e.Decision {
	case engine.Exclude, engine.RetryHost:
		text += " " + e.Host
	case engine.Resize:
		text += fmt.Sprintf(" the next batch to %s", plural(e.Size, "host"))
	}
	switch {
	case e.Auto:
		text += " (--yes)"
	case e.User != "":
		text += " by " + e.User
	}
	m.status.info(text + because(e.Reason))
	switch e.Decision {
	case engine.Proceed, engine.Retry, engine.RetryHost, engine.FinishNow:
		m.table.follow = true
	}
}

// lockChanged says where the remote lock is, and where it could not be
// released.
func (m *Model) lockChanged(e engine.LockChanged) {
	switch {
	case len(e.Failures) > 0:
		m.status.warn(fmt.Sprintf("remote lock %s: not released on %s: %s", e.Path, plural(len(e.Failures), "host"), cleanLine(e.Failures[0])))
	case e.Taken:
		m.status.info(fmt.Sprintf("remote lock %s taken on %s", e.Path, plural(e.Hosts, "host")))
	default:
		m.status.info(fmt.Sprintf("remote lock %s released on %s", e.Path, plural(e.Hosts, "host")))
	}
}

// resultMsg is how an engine command ended.
type resultMsg struct {
	what string // "proceed at gate 3", "pause", …
	gate int    // the gate a decision named, 0 otherwise
	err  error
}

// control runs one engine command off the update loop.
func control(what string, gate int, fn func() error) tea.Cmd {
	return func() tea.Msg { return resultMsg{what: what, gate: gate, err: fn()} }
}

// handleResult reports a command's failure; success shows in the records.
func (m *Model) handleResult(msg resultMsg) {
	if msg.err == nil {
		return
	}
	if msg.gate != 0 && m.answered == msg.gate {
		m.answered = 0 // the answer did not land: let the engineer try again
	}
	m.status.fail(msg.what + ": " + explain(msg.err))
}

// explain turns an engine error into words for the status line.
func explain(err error) string {
	switch {
	case errors.Is(err, engine.ErrStaleGate):
		return "stale gate: that gate is closed"
	case errors.Is(err, engine.ErrNotAllowed):
		return "not allowed: " + err.Error()
	case errors.Is(err, engine.ErrFinished):
		return "the rollout has already finished"
	}
	return err.Error()
}

// clockMsg ticks the elapsed time once a second.
type clockMsg struct{}

func clockTick() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return clockMsg{} })
}

// It ticks until the stream ends: a watched rollout that was interrupted
// may be resumed, and its clock must run again.
func (m *Model) handleClock() tea.Cmd {
	if m.closed {
		return nil
	}
	return clockTick()
}

// startSpinner starts the one spinner when a host is in flight and it is
// not ticking already.
func (m *Model) startSpinner() tea.Cmd {
	if m.spinning || !m.animate || m.inFlight() == 0 {
		return nil
	}
	m.spinning = true
	return m.spin.Tick
}

// inFlight counts hosts with a command running, the swap included.
func (m *Model) inFlight() int {
	n := m.c.tally.all.inFlight()
	if m.c.swap.state().InFlight() {
		n++
	}
	return n
}

// handleSpin advances the spinner, and lets it stop once nothing runs.
func (m *Model) handleSpin(msg spinner.TickMsg) tea.Cmd {
	if m.inFlight() == 0 || m.finished() {
		m.spinning = false
		return nil
	}
	var cmd tea.Cmd
	m.spin, cmd = m.spin.Update(msg)
	m.c.spin = m.spin.View()
	return cmd
}

// stopMsg: the context ended (a signal); the engine is stopping.
type stopMsg struct{}

func (m *Model) handleStop() tea.Cmd {
	if m.closed || m.c.readOnly {
		m.leave = leaveNow
		return tea.Quit
	}
	m.leave = leaveSignal
	m.status.warn("stopping: hosts in flight get " + dur(m.opts.Grace) + " to finish; the journal stays resumable")
	return nil
}

// askQuitMsg opens the quit panel (a quit caught by the filter).
type askQuitMsg struct{}
