package tui

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/rolloutconsole/rollout/engine"
)

// summaryPanel is the end: the outcome, every phase's counts, the failed
// hosts with their last output, where the journal is and how to read it.
type summaryPanel struct {
	c *common
	// kept until another record arrives or the width changes
	cacheSeq  int64
	cacheW    int
	cache     []string
	widestSeq int64
	widestW   int
}

func (p *summaryPanel) view(w, h int) []string {
	s := p.c.styles
	if p.cacheSeq != p.c.st.LastSeq || p.cacheW != w || p.cache == nil {
		p.cache = summaryLines(p.c.st, p.c.tally, p.c.id, p.c.journal, w-4, s)
		p.cacheSeq, p.cacheW = p.c.st.LastSeq, w
	}
	border := s.PanelFail
	switch p.c.st.Outcome {
	case engine.OutcomeSucceeded:
		border = s.Panel
	case engine.OutcomeInterrupted, engine.OutcomeRolledBack:
		border = s.PanelWarn
	}
	keys := hints(s, keyHint(s, "q", "quit"), keyHint(s, "esc", "look around"))
	return drawPanel(s, border, summaryTitle(p.c.st), p.cache, keys, w, h)
}

// widest is the width of the summary's widest line, uncut.
func (p *summaryPanel) widest() int {
	if p.widestSeq != p.c.st.LastSeq || p.widestW == 0 {
		p.widestW = 1
		for _, l := range summaryLines(p.c.st, p.c.tally, p.c.id, p.c.journal, 1<<20, nil) {
			p.widestW = max(p.widestW, width(l))
		}
		p.widestSeq = p.c.st.LastSeq
	}
	return p.widestW
}

// summaryTitle says how the rollout ended, in words.
func summaryTitle(st *engine.State) string {
	switch st.Outcome {
	case engine.OutcomeSucceeded:
		return "Rollout succeeded"
	case engine.OutcomeRolledBack:
		return "Rollout rolled back"
	case engine.OutcomeRollbackFailed:
		return "Rollback FAILED on some hosts"
	case engine.OutcomeInterrupted:
		return "Rollout interrupted (resumable)"
	case "":
		return "Rollout ended without an outcome"
	}
	return "Rollout " + strings.ToUpper(string(st.Outcome))
}

// summaryLines is the summary's text, styled with s (nil: plain), w wide.
func summaryLines(st *engine.State, t *tally, id, journal string, w int, s *Styles) []string {
	paint := func(st lipgloss.Style, text string) string {
		if s == nil {
			return text
		}
		return st.Render(text)
	}
	var fail, muted lipgloss.Style
	if s != nil {
		fail, muted = s.Fail, s.Muted
	}
	out := []string{fmt.Sprintf("%s on service %s · took %s", st.Change, st.Service, clock(st.Finished.Sub(st.Started)))}
	if st.Error != "" {
		out = append(out, truncate(cleanLine(st.Error), w))
	}
	out = append(out, notesLines(st, 3, w)...)
	out = append(out, reasonLines(st, 3, w)...)
	for _, ph := range st.Phases {
		text := countsLine(t.of(ph.Phase))
		if ph.Skipped != "" {
			text = "skipped: " + ph.Skipped
		}
		if ph.Phase == engine.PhaseSwap && st.Swap.State != "" {
			text += " · swap " + string(st.Swap.State)
			if st.Swap.Back != "" {
				text += ", swapped back: " + string(st.Swap.Back)
			}
		}
		out = append(out, truncate("  "+fit(string(ph.Phase), 8)+" "+text, w))
	}
	var failed []*engine.HostStatus
	for _, name := range st.Order {
		switch h := st.Hosts[name]; h.State {
		case engine.StateFailed, engine.StateUnknown, engine.StateRollbackFailed:
			failed = append(failed, h)
		}
	}
	if len(failed) > 0 {
		out = append(out, "", paint(fail, fmt.Sprintf("Failed or unknown: %s", plural(len(failed), "host"))))
		for i, h := range failed {
			if i == 5 {
				out = append(out, paint(muted, fmt.Sprintf("  … and %d more (rollout show %s)", len(failed)-5, id)))
				break
			}
			out = append(out, truncate(fmt.Sprintf("  ✗ %s %s: %s", h.Name, h.State, cleanLine(h.Error)), w))
			if h.LastLine != "" {
				out = append(out, paint(muted, truncate("      last output: "+cleanLine(h.LastLine), w)))
			}
		}
	}
	out = append(out, "", truncate("journal  "+journal, w), "details  rollout show "+id)
	switch st.Outcome {
	case engine.OutcomeInterrupted, "":
		out = append(out, "go on    rollout resume "+id)
	case engine.OutcomeFailed, engine.OutcomeAborted:
		out = append(out, "then     rollout resume "+id+"  or  rollout rollback "+id)
	case engine.OutcomeSucceeded:
		out = append(out, "undo     rollout rollback "+id)
	}
	return out
}

// WriteSummary prints the end of a rollout as plain text: the outcome,
// every phase's counts, the failed hosts with their last output, the
// journal and the commands to read or go on with it. The console prints it
// after it closes, so it stays in the terminal's scrollback.
func WriteSummary(w io.Writer, st *engine.State, id, journal string) {
	t := newTally()
	t.reset(st)
	fmt.Fprintf(w, "%s\n", summaryTitle(st))
	for _, l := range summaryLines(st, t, id, journal, 1<<20, nil) {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// reasonLines lists the last n decisions taken with a reason (an
// exclusion, an emergency path): the why that the journal keeps.
func reasonLines(st *engine.State, n, w int) []string {
	var out []string
	for i := len(st.Audit) - 1; i >= 0 && len(out) < n; i-- {
		a := st.Audit[i]
		if a.Reason == "" {
			continue
		}
		// One decision is audited more than once (the gate's answer, then
		// the host leaving or the rollback starting), with the same reason:
		// say it once, as the gate's answer, which names the gate.
		if i > 0 {
			if p := st.Audit[i-1]; p.Reason == a.Reason && p.User == a.User {
				continue
			}
		}
		out = append(out, truncate("  "+a.User+": "+cleanLine(a.What)+" — "+cleanLine(a.Reason), w))
	}
	slices.Reverse(out)
	return out
}
