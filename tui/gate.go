package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rolloutconsole/rollout/engine"
)

// gatePanel is the question the engine asks between phases: what the last
// step did (passed, failed, the slowest hosts, the failing ones and why),
// what the next one will touch, and the keys that answer. A failed gate
// offers only retry, roll back and abort: the engine's options decide.
type gatePanel struct {
	c *common
	// The body depends only on the gate and the size: kept, because
	// folding a 10,000-host list is not a per-frame job.
	cacheGate, cacheW, cacheH int
	cache                     []string
}

// view draws the gate in w×h. The keys that answer it close the panel; the
// keys that act on the selected host, resize the batch or take an
// emergency path take a line of their own above them when one line cannot
// hold both.
func (g *gatePanel) view(gr *engine.GateReached, answered, w, h int, k *keyMap, sel string) []string {
	s := g.c.styles
	extra, keys := g.keys(gr, answered, k, sel, w-4)
	room := max(0, h-4-len(extra))
	if gr.Gate != g.cacheGate || w != g.cacheW || room != g.cacheH {
		g.cache = g.body(gr, w-4, room)
		g.cacheGate, g.cacheW, g.cacheH = gr.Gate, w, room
	}
	body := cutLines(s, g.cache, room)
	body = append(body[:len(body):len(body)], extra...) // never into the cache
	border := s.Panel
	switch {
	case gr.Kind == engine.GateFailed || gr.Preflight != nil && gr.Preflight.Blocking != "":
		border = s.PanelFail
	case gr.Preflight != nil && (gr.Preflight.Drift || gr.Preflight.OK < gr.Preflight.Checked):
		border = s.PanelWarn
	}
	return drawPanel(s, border, g.title(gr), body, keys, w, h)
}

func (g *gatePanel) title(gr *engine.GateReached) string {
	cur := g.c.st.Current
	switch gr.Kind {
	case engine.GateStart:
		return fmt.Sprintf("Gate %d · ready to start", gr.Gate)
	case engine.GatePreflight:
		if gr.Preflight != nil && gr.Preflight.Blocking != "" {
			return fmt.Sprintf("Gate %d · preflight: cannot proceed", gr.Gate)
		}
		return fmt.Sprintf("Gate %d · preflight done: nothing changed yet", gr.Gate)
	case engine.GateResume:
		return fmt.Sprintf("Gate %d · resumed from the journal", gr.Gate)
	case engine.GateFailed:
		return fmt.Sprintf("Gate %d · %s FAILED", gr.Gate, stepName(g.c.st, gr.Phase, gr.Batch))
	}
	return fmt.Sprintf("Gate %d · %s passed", gr.Gate, stepName(g.c.st, cur.Phase, cur.Batch))
}

// stepName is "canary", or "fleet batch 2/4" for a phase with batches.
func stepName(st *engine.State, ph engine.Phase, batch int) string {
	if lay := layoutOf(st, ph); lay != nil && len(lay.Batches) > 1 {
		return fmt.Sprintf("%s batch %d/%d", ph, batch, len(lay.Batches))
	}
	return string(ph)
}

// body is everything above the keys, for room lines: what just happened,
// then what comes next, which is never the part cut.
func (g *gatePanel) body(gr *engine.GateReached, w, room int) []string {
	next := g.next(gr, w)
	avail := max(0, room-len(next)-1)
	var out []string
	switch gr.Kind {
	case engine.GateStart:
		out = append(out, "Nothing has been changed yet. The plan, in order:")
		out = append(out, planLines(g.c.st, w)...)
	case engine.GatePreflight:
		out = append(out, g.preflight(gr, w, avail)...)
	case engine.GateResume:
		out = append(out, "The rollout stopped here before; the journal says:")
		out = append(out, "  "+countsLine(g.c.tally.all))
		out = append(out, notesLines(g.c.st, 3, w)...)
	case engine.GateFailed:
		out = append(out, g.failed(gr, w)...)
	default:
		out = append(out, g.passed(gr, w)...)
	}
	out = cutLines(g.c.styles, out, avail)
	out = append(out, "")
	return append(out, next...)
}

// passed summarises the step that just passed.
func (g *gatePanel) passed(gr *engine.GateReached, w int) []string {
	s := g.c.styles
	cur := g.c.st.Current
	out := []string{s.OK.Render("✓ ") + fmt.Sprintf("%s passed: %d done, %d failed", stepName(g.c.st, cur.Phase, cur.Batch), gr.Passed, gr.Failed)}
	out = append(out, g.checks(gr.Checks, w, 3)...)
	if sum := g.c.groups.summary(w - 2); sum != "" {
		out = append(out, "  "+sum)
	}
	if len(gr.Slowest) > 0 {
		var parts []string
		for _, h := range gr.Slowest {
			parts = append(parts, h.Host+" "+dur(h.Duration))
		}
		out = append(out, truncate("  slowest: "+strings.Join(parts, " · "), w))
	}
	if len(gr.Failing) > 0 {
		out = append(out, fmt.Sprintf("  failed within the phase's budget: %s", plural(len(gr.Failing), "host")))
		out = append(out, g.failing(gr.Failing, 3, w)...)
	}
	return out
}

// failed says what failed and that the phase cannot go on.
func (g *gatePanel) failed(gr *engine.GateReached, w int) []string {
	s := g.c.styles
	out := []string{s.Fail.Render("✗ ") + fmt.Sprintf("%s failed: %d done, %d failed, more than the phase allows",
		stepName(g.c.st, gr.Phase, gr.Batch), gr.Passed, gr.Failed)}
	out = append(out, g.checks(gr.Checks, w, 3)...)
	if sum := g.c.groups.summary(w - 2); sum != "" {
		out = append(out, "  "+sum)
	}
	out = append(out, g.failing(gr.Failing, 4, w)...)
	out = append(out, "", "It cannot go forward: retry the failed hosts, roll back, or abort.")
	return out
}

// failing lists up to n failing hosts with their error and last output.
func (g *gatePanel) failing(hs []engine.HostSummary, n int, w int) []string {
	s := g.c.styles
	var out []string
	for i, h := range hs {
		if i == n {
			out = append(out, s.Muted.Render(fmt.Sprintf("  … and %s more", plural(len(hs)-n, "host"))))
			break
		}
		out = append(out, truncate("  "+s.Fail.Render("✗ "+h.Host)+" "+string(h.State)+" after "+dur(h.Duration)+": "+cleanLine(h.Error), w))
		if hs := g.c.st.Hosts[h.Host]; hs != nil && hs.LastLine != "" {
			out = append(out, s.Muted.Render(truncate("      last output: "+hs.LastLine, w)))
		}
	}
	return out
}

// next says what answering yes would touch.
func (g *gatePanel) next(gr *engine.GateReached, w int) []string {
	st := g.c.st
	if gr.Kind == engine.GateFailed {
		out := []string{"t retries " + hostList(gr.Next, w/2) + " (" + plural(len(gr.Next), "host") + ")"}
		if slices.Contains(gr.Options, engine.Rollback) {
			out = append(out, "R rolls back every host changed so far, newest first")
		}
		return out
	}
	head := "Next: " + stepName(st, gr.Phase, gr.Batch) + " · " + plural(len(gr.Next), "host") + ": "
	out := []string{head + hostList(gr.Next, max(10, w-width(head)))}
	lay := layoutOf(st, gr.Phase)
	switch {
	case gr.Phase == engine.PhaseSwap && lay != nil:
		out = append(out, fmt.Sprintf("  the swap runs on %s: %s takes the traffic from %s, then %s is changed",
			lay.SwapHost, lay.Promote, lay.Demote, lay.Demote))
	case gr.Phase == engine.PhaseTest:
		out = append(out, "  no production host is touched until the test hosts pass")
	case lay != nil && len(lay.Batches) > gr.Batch:
		rest := 0
		for _, b := range lay.Batches[gr.Batch:] {
			rest += len(b)
		}
		out = append(out, fmt.Sprintf("  then %s (%s), each after a gate",
			plural(len(lay.Batches)-gr.Batch, "more batch"), plural(rest, "host")))
	}
	return out
}

// keys lists the answers this gate offers (the enabled bindings say which
// may be pressed now): the answers that close it in keys, and the actions
// that open it again (exclude, retry one host, resize) and the emergency
// paths in extra, lines of their own when one line of w cannot hold all.
func (g *gatePanel) keys(gr *engine.GateReached, answered int, k *keyMap, sel string, w int) (extra []string, keys string) {
	s := g.c.styles
	if g.c.readOnly {
		return nil, s.Muted.Render("read-only: the engineer running the rollout answers this gate")
	}
	if answered == gr.Gate {
		return nil, s.Muted.Render("answer sent; waiting for the engine…")
	}
	var parts []string
	for _, o := range gr.Options {
		switch o {
		case engine.Proceed:
			verb := "proceed"
			switch {
			case gr.Kind == engine.GateStart:
				verb = "start"
			case gr.Preflight != nil && gr.Preflight.Drift:
				verb = "proceed despite drift"
			}
			parts = append(parts, keyHint(s, "y", verb))
		case engine.Retry:
			parts = append(parts, keyHint(s, "t", "retry failed"))
		case engine.Rollback:
			parts = append(parts, keyHint(s, "R", "roll back…"))
		case engine.Abort:
			parts = append(parts, keyHint(s, "a", "abort…"))
		}
	}
	parts = append(parts, keyHint(s, "esc", "look around"))
	var acts []string
	host := sel != "" && sel != swapRow
	if k.RetryOne.Enabled() && host {
		acts = append(acts, keyHint(s, "T", "retry "+sel))
	}
	if k.Exclude.Enabled() && host {
		acts = append(acts, keyHint(s, "x", "exclude "+sel+"…"))
	}
	if k.Resize.Enabled() {
		acts = append(acts, keyHint(s, "+/-", fmt.Sprintf("resize (%d)…", len(gr.Next))))
	}
	if k.Finish.Enabled() {
		acts = append(acts, keyHint(s, "F", "finish now…"))
	}
	if k.FastBack.Enabled() {
		acts = append(acts, keyHint(s, "B", "fast rollback…"))
	}
	if one := hints(s, append(parts[:len(parts)-1:len(parts)-1], append(acts, parts[len(parts)-1])...)...); len(acts) == 0 || width(one) <= w {
		return nil, one
	}
	return packHints(s, acts, w), hints(s, parts...)
}

// packHints sets key hints on as few lines of w as hold them.
func packHints(s *Styles, parts []string, w int) []string {
	var out []string
	var line []string
	for _, p := range parts {
		if len(line) > 0 && width(hints(s, append(line, p)...)) > w {
			out = append(out, hints(s, line...))
			line = nil
		}
		line = append(line, p)
	}
	return append(out, hints(s, line...))
}

// planLines is the whole plan, one line a phase, for the first gate.
func planLines(st *engine.State, w int) []string {
	var out []string
	for _, ph := range st.Phases {
		name := "  " + fit(string(ph.Phase), 8) + " "
		var hosts []string
		for _, b := range ph.Batches {
			hosts = append(hosts, b...)
		}
		var text string
		switch {
		case ph.Skipped != "":
			text = "skipped: " + ph.Skipped
		case ph.Phase == engine.PhaseSwap:
			text = fmt.Sprintf("swap on %s (%s takes traffic from %s), then %s", ph.SwapHost, ph.Promote, ph.Demote, hostList(hosts, 30))
		default:
			tail := " (" + plural(len(hosts), "host")
			if len(ph.Batches) > 1 {
				tail += " in " + plural(len(ph.Batches), "batch") + ": " + batchSizes(ph.Batches)
			}
			tail += ")"
			text = hostList(hosts, max(10, w-width(name)-width(tail))) + tail
		}
		out = append(out, truncate(name+text, w))
	}
	return out
}

// notesLines lists the engine's last n notes (a repaired journal, hosts
// re-verified on resume).
func notesLines(st *engine.State, n, w int) []string {
	var out []string
	for _, note := range st.Notes[max(0, len(st.Notes)-n):] {
		out = append(out, truncate("  note: "+cleanLine(note), w))
	}
	return out
}

// batchSizes writes "1, 4, 20, 75" (cut after six).
func batchSizes(batches [][]string) string {
	var parts []string
	for i, b := range batches {
		if i == 6 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprint(len(b)))
	}
	return strings.Join(parts, ", ")
}

// countsLine writes "3 done · 1 failed · 4 pending".
func countsLine(c counts) string {
	var parts []string
	for i, s := range hostStates {
		if c[i] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[i], s))
		}
	}
	return strings.Join(parts, " · ")
}
