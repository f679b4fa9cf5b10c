package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/rolloutconsole/rollout/engine"
)

// stateLabel is the rollout's state as the header shows it: words that read
// without colour, and the badge style that colours them.
type stateLabel struct {
	text  string
	style lipgloss.Style
}

// rolloutLabel says in two or three words where the rollout is. A finished
// rollout shows its outcome; otherwise the most pressing fact wins: leaving,
// rolling back, aborting, a failed gate, a gate, paused, running.
func (m *Model) rolloutLabel() stateLabel {
	st, s := m.c.st, m.c.styles
	switch {
	case st.ID == "" && !m.closed:
		return stateLabel{"STARTING", s.StateGate}
	case m.finished():
		return outcomeLabel(st.Outcome, s)
	case m.leave == leaveDetach || m.leave == leaveSignal:
		return stateLabel{"‖ STOPPING", s.StateWarn}
	case st.RollingBack && st.Rollback != nil && st.Rollback.Fast:
		return stateLabel{"↺ FAST ROLLBACK", s.StateFail}
	case st.RollingBack:
		return stateLabel{"↺ ROLLING BACK", s.StateWarn}
	case st.Aborting:
		return stateLabel{"■ ABORTING", s.StateFail}
	case st.Gate != nil && st.Gate.Kind == engine.GateFailed:
		return stateLabel{fmt.Sprintf("✗ %s FAILED · GATE %d", strings.ToUpper(string(st.Gate.Phase)), st.Gate.Gate), s.StateFail}
	case st.Gate != nil:
		return stateLabel{fmt.Sprintf("◆ AT GATE %d", st.Gate.Gate), s.StateGate}
	case st.Emergency != nil && st.Emergency.Decision == engine.FinishNow:
		return stateLabel{"» FINISHING NOW", s.StateWarn}
	case st.Paused:
		return stateLabel{"‖ PAUSED", s.StateWarn}
	}
	return stateLabel{"▶ RUNNING", s.StateRun}
}

// outcomeLabel is the header's word for how a rollout ended.
func outcomeLabel(o engine.Outcome, s *Styles) stateLabel {
	switch o {
	case engine.OutcomeSucceeded:
		return stateLabel{"✓ SUCCEEDED", s.StateOK}
	case engine.OutcomeRolledBack:
		return stateLabel{"↺ ROLLED BACK", s.StateWarn}
	case engine.OutcomeInterrupted:
		return stateLabel{"‖ INTERRUPTED · RESUMABLE", s.StateWarn}
	case "":
		return stateLabel{"■ ENDED", s.StateWarn}
	}
	return stateLabel{"✗ " + strings.ToUpper(strings.ReplaceAll(string(o), "-", " ")), s.StateFail}
}

// header is the top line: what is being rolled out where, its state, and
// how long it has run.
type header struct {
	c     *common
	width int
}

func (h header) view(label stateLabel) string {
	st, s := h.c.st, h.c.styles
	left := " rollout"
	if st.ID != "" {
		left = fmt.Sprintf(" %s · %.10s · service %s", st.Change, st.Digest, st.Service)
	}
	end := h.c.now()
	if !st.Finished.IsZero() {
		end = st.Finished
	}
	elapsed := ""
	if !st.Started.IsZero() {
		elapsed = " " + clock(end.Sub(st.Started)) + " "
	}
	badge := label.style.Render(label.text)
	bw := width(badge) + len(elapsed)
	if bw >= h.width {
		return truncate(badge, h.width)
	}
	l := truncate(left, h.width-bw-1)
	return s.Title.Render(l) + strings.Repeat(" ", h.width-width(l)-bw) + badge + s.Muted.Render(elapsed)
}
