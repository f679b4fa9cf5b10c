package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/rolloutconsole/rollout/engine"
)

// phaseStrip is the second and third lines: every phase in order with its
// mark (✓ passed, ● running, ✗ failed, ↺ rolled back, ○ to come, skipped),
// then a progress bar and counts for the phase that matters now.
type phaseStrip struct {
	c     *common
	width int
	// the counts of the batch running, kept until a host changes
	stepGen    int
	stepKey    engine.StepKey
	stepCounts counts
}

func (p *phaseStrip) view() []string {
	return []string{p.strip(), p.progress()}
}

// strip is "test ✓ → standby ✓ → swap ● → canary ○ → fleet ○".
func (p *phaseStrip) strip() string {
	st, s := p.c.st, p.c.styles
	if len(st.Phases) == 0 {
		return fit("", p.width)
	}
	parts := make([]string, 0, len(st.Phases))
	plain := 1
	for _, ph := range st.Phases {
		text, style := p.mark(ph)
		parts = append(parts, style.Render(text))
		plain += width(text) + 3
	}
	line := " " + strings.Join(parts, s.Muted.Render(" → "))
	if plain-3 > p.width {
		return truncate(line, p.width)
	}
	return line + strings.Repeat(" ", p.width-plain+3)
}

// mark is one phase's name and symbol, and its style.
func (p *phaseStrip) mark(ph engine.PhaseLayout) (string, lipgloss.Style) {
	st, s := p.c.st, p.c.styles
	name := string(ph.Phase)
	c := p.c.tally.of(ph.Phase)
	passed := len(ph.Batches) > 0
	for b := range ph.Batches {
		passed = passed && st.Passed[engine.StepKey{Phase: ph.Phase, Batch: b + 1}]
	}
	back := c.of(engine.StateRolledBack) + c.of(engine.StateRollingBack) + c.of(engine.StateRollbackFailed)
	running := st.Current.Phase == ph.Phase && st.Outcome == ""
	switch {
	case ph.Skipped != "":
		return name + " (skipped)", s.PhaseTodo
	case st.Gate != nil && st.Gate.Kind == engine.GateFailed && st.Gate.Phase == ph.Phase:
		return name + " ✗", s.PhaseFail
	case back > 0:
		return name + " ↺", s.Warn
	case passed:
		return name + " ✓", s.PhaseDone
	case c.failed() > 0 && !running:
		return name + " ✗", s.PhaseFail
	case running && len(ph.Batches) > 1:
		return fmt.Sprintf("%s ● %d/%d", name, st.Current.Batch, len(ph.Batches)), s.PhaseNow
	case running:
		return name + " ●", s.PhaseNow
	case st.Current.Phase == ph.Phase:
		return name + " ■ stopped", s.Warn
	}
	return name + " ○", s.PhaseTodo
}

// progress is the bar and counts of what is happening now: the rollback,
// the phase running (or just run), or the whole rollout at its ends.
func (p *phaseStrip) progress() string {
	st := p.c.st
	switch {
	case st.ID == "":
		return fit("", p.width)
	case st.RollingBack && st.Rollback != nil:
		all := p.c.tally.all
		total := len(st.Rollback.Hosts)
		done := all.of(engine.StateRolledBack)
		failed := all.of(engine.StateRollbackFailed)
		return p.bar("rollback", done, failed, total, fmt.Sprintf("%d/%d rolled back · %d rolling back · %d failed",
			done, total, all.of(engine.StateRollingBack), failed))
	case st.Current.Phase == "" || st.Outcome != "":
		return p.overall()
	}
	ph := st.Current.Phase
	c := p.c.tally.of(ph)
	done := c.of(engine.StateDone) + c.of(engine.StateSkipped)
	text := fmt.Sprintf("%d/%d done · %d running · %d failed", done, c.total(), c.inFlight(), c.failed())
	if ph == engine.PhaseSwap && p.c.swap.cur != "" {
		text = "swap " + string(p.c.swap.cur) + " · " + text
	}
	lay := layoutOf(st, ph)
	if lay == nil || len(lay.Batches) < 2 || st.Current.Batch < 1 || st.Current.Batch > len(lay.Batches) {
		return p.bar(string(ph), done, c.failed(), c.total(), text)
	}
	// A phase in batches: the bar is the batch; the phase's total follows.
	b := p.batchCounts(lay)
	bdone := b.of(engine.StateDone) + b.of(engine.StateSkipped)
	text = fmt.Sprintf("%d/%d done · %d running · %d failed · %s %d/%d", bdone, b.total(), b.inFlight(), b.failed(), ph, done, c.total())
	return p.bar(fmt.Sprintf("%s batch %d/%d", ph, st.Current.Batch, len(lay.Batches)), bdone, b.failed(), b.total(), text)
}

// batchCounts counts the hosts of the batch running (or just run).
func (p *phaseStrip) batchCounts(lay *engine.PhaseLayout) counts {
	st := p.c.st
	if p.stepGen == p.c.hostGen && p.stepKey == st.Current && p.stepGen != 0 {
		return p.stepCounts
	}
	var c counts
	for _, h := range lay.Batches[st.Current.Batch-1] {
		if hs := st.Hosts[h]; hs != nil {
			c[stateIndex(hs.State)]++
		}
	}
	p.stepGen, p.stepKey, p.stepCounts = p.c.hostGen, st.Current, c
	return c
}

// overall counts every host: before the first phase and after the last.
func (p *phaseStrip) overall() string {
	all := p.c.tally.all
	total := all.total()
	done := all.of(engine.StateDone)
	var parts []string
	for i, s := range hostStates {
		if all[i] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", all[i], s))
		}
	}
	label := "all hosts"
	if p.c.st.Current.Phase == "" && p.c.st.Outcome == "" {
		label = "plan"
		parts = append([]string{plural(total, "host")}, "nothing changed yet")
	}
	return p.bar(label, done, all.failed(), total, strings.Join(parts, " · "))
}

// bar draws " label  ██████▓▓░░░░░░  text" in exactly the strip's width.
func (p *phaseStrip) bar(label string, done, failed, total int, text string) string {
	s := p.c.styles
	bw := min(30, max(10, p.width/5))
	full, bad := 0, 0
	if total > 0 {
		full = done * bw / total
		bad = min(bw-full, (failed*bw+total-1)/total)
	}
	lw := min(len(label), 18)
	head := " " + fit(label, lw) + "  "
	line := head + s.BarFull.Render(strings.Repeat("█", full)) + s.BarFail.Render(strings.Repeat("▓", bad)) +
		s.BarEmpty.Render(strings.Repeat("░", bw-full-bad)) + "  "
	used := width(head) + bw + 2
	if used >= p.width {
		return truncate(head, p.width)
	}
	return line + fit(text, p.width-used)
}

// layoutOf returns a phase's plan as journaled.
func layoutOf(st *engine.State, ph engine.Phase) *engine.PhaseLayout {
	for i := range st.Phases {
		if st.Phases[i].Phase == ph {
			return &st.Phases[i]
		}
	}
	return nil
}
