package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rolloutconsole/rollout/engine"
)

// preflight is the preflight gate's account in at most room lines: how
// many hosts were reached and passed, which were not and why, what stops
// the rollout from going on, and the test hosts' fingerprints beside
// production's, with the drift between them. The host list and the
// fingerprint rows share what room is left, each cut with "… N more".
func (g *gatePanel) preflight(gr *engine.GateReached, w, room int) []string {
	s := g.c.styles
	pf := gr.Preflight
	if pf == nil {
		return append([]string{"Nothing has been changed yet. The plan, in order:"}, planLines(g.c.st, w)...)
	}
	bad := problemHosts(pf)
	head := fmt.Sprintf("Preflight: %d checked · %d ok", pf.Checked, pf.OK)
	for _, c := range []struct {
		n    int
		what string
	}{{len(pf.Unreachable), "unreachable"}, {len(pf.Failing), "failing"}, {len(pf.Locked), "locked"}} {
		if c.n > 0 {
			head += fmt.Sprintf(" · %d %s", c.n, c.what)
		}
	}
	mark := s.OK.Render("✓ ")
	if len(bad) > 0 {
		mark = s.Warn.Render("! ")
	}
	out := []string{truncate(mark+head, w)}
	var fixed []string // what is never cut: the blocking reason, the drift
	if pf.Blocking != "" {
		for i, l := range wrap("cannot proceed: "+cleanLine(pf.Blocking), w-2) {
			fixed = append(fixed, s.Fail.Render(map[bool]string{true: "✗ ", false: "  "}[i == 0]+l))
		}
	}
	differs := 0
	var mixed []string
	for _, r := range pf.Fingerprints {
		switch {
		case r.Differs:
			differs++
		case r.Mixed:
			mixed = append(mixed, r.Name)
		}
	}
	var drift []string
	if pf.Drift {
		who := "the test host differs"
		if testHosts(g.c.st) > 1 {
			who = "the test hosts differ"
		}
		text := fmt.Sprintf("drift: %s from production in %s; proceeding acknowledges it", who, plural(max(1, differs), "fingerprint"))
		for i, l := range wrap(text, w-2) {
			drift = append(drift, s.Warn.Render(map[bool]string{true: "! ", false: "  "}[i == 0]+l))
		}
	}
	// Production not uniform: calm, worth a look, not drift.
	var calm []string
	if len(mixed) > 0 {
		text := "mixed in production: " + strings.Join(mixed, ", ") + " (production's own hosts differ; not drift)"
		for i, l := range wrap(text, w-2) {
			calm = append(calm, s.Muted.Render(map[bool]string{true: "~ ", false: "  "}[i == 0]+l))
		}
	}
	avail := room - len(out) - len(fixed) - len(drift) - len(calm)
	note := len(bad) > 0 && pf.Blocking == ""
	if note {
		avail--
	}
	if len(pf.Fingerprints) > 0 {
		avail -= 2 // a blank line and the table's head
	}
	nb, nf := share(avail, len(bad), len(pf.Fingerprints))
	out = append(out, fixed...)
	if note {
		out = append(out, fmt.Sprintf("  proceeding leaves %s out:", plural(len(bad), "host")))
	}
	out = append(out, g.problemLines(bad, nb, w)...)
	if len(pf.Fingerprints) > 0 {
		out = append(out, "")
		out = append(out, g.fingerprints(pf.Fingerprints, nf, w)...)
	}
	out = append(out, drift...)
	out = append(out, calm...)
	if left := room - len(out); left >= len(g.c.st.Phases)+2 {
		out = append(out, "", "The plan, in order:")
		out = append(out, planLines(g.c.st, w)...)
	}
	return out
}

// problemHosts is every host preflight left out, with what was wrong.
func problemHosts(pf *engine.PreflightReport) []engine.HostSummary {
	var out []engine.HostSummary
	for _, c := range []struct {
		hs   []engine.HostSummary
		what string
	}{{pf.Unreachable, "unreachable"}, {pf.Failing, "failing"}, {pf.Locked, "locked"}} {
		for _, h := range c.hs {
			h.State = engine.HostState(c.what)
			out = append(out, h)
		}
	}
	return out
}

// problemLines lists hosts preflight left out in n lines.
func (g *gatePanel) problemLines(hs []engine.HostSummary, n, w int) []string {
	s := g.c.styles
	nameW := 8
	for _, h := range hs {
		nameW = max(nameW, min(width(h.Host), 24))
	}
	shown, more := listCut(len(hs), n)
	var out []string
	for _, h := range hs[:shown] {
		line := "  " + s.Fail.Render("✗ "+fit(h.Host, nameW)) + " " + string(h.State)
		if h.Error != "" {
			line += ": " + cleanLine(h.Error)
		}
		out = append(out, truncate(line, w))
	}
	if more > 0 {
		out = append(out, s.Muted.Render(fmt.Sprintf("  … %d more", more)))
	}
	return out
}

// fingerprints sets the test hosts' values beside production's in n lines
// and a head: the rows that differ first, marked ≠ (drift), then the rows
// mixed in production, marked ~ (calmly: not drift).
func (g *gatePanel) fingerprints(rows []engine.FingerprintRow, n, w int) []string {
	s := g.c.styles
	rows = slices.Clone(rows)
	rank := func(r engine.FingerprintRow) int {
		switch {
		case r.Differs:
			return 0
		case r.Mixed:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(rows, func(a, b engine.FingerprintRow) int { return rank(a) - rank(b) })
	nameW := len("FINGERPRINT")
	for _, r := range rows {
		nameW = max(nameW, min(width(r.Name), 18))
	}
	colW := max(8, (w-2-nameW-2)/2)
	out := []string{s.TableHead.Render(fit("  "+fit("FINGERPRINT", nameW)+" "+fit("TEST", colW)+" PRODUCTION", w))}
	shown, more := listCut(len(rows), n)
	for _, r := range rows[:shown] {
		mark := "  "
		switch {
		case r.Differs:
			mark = s.Warn.Render("≠ ")
		case r.Mixed:
			mark = s.Muted.Render("~ ")
		}
		out = append(out, truncate(mark+fit(r.Name, nameW)+" "+fit(valueGroups(driftFirst(r)), colW)+" "+valueGroups(r.Production), w))
	}
	if more > 0 {
		// The rows cut are the calmest (see the order above): say which.
		same, mixed := ", the same on both sides", 0
		for _, r := range rows[shown:] {
			switch {
			case r.Differs:
				same = ""
			case r.Mixed:
				mixed++
			}
		}
		if same != "" && mixed > 0 {
			same = fmt.Sprintf(", %d mixed in production", mixed)
		}
		out = append(out, s.Muted.Render(fmt.Sprintf("  … %d more%s", more, same)))
	}
	return out
}

// driftFirst orders a row's test values so that those no production host
// has come first: a narrow column that must cut something cuts a value
// production shares, never the drift.
func driftFirst(r engine.FingerprintRow) []engine.ValueGroup {
	inProd := make(map[string]bool, len(r.Production))
	for _, v := range r.Production {
		inProd[v.Value] = true
	}
	test := slices.Clone(r.Test)
	slices.SortStableFunc(test, func(a, b engine.ValueGroup) int {
		switch {
		case !inProd[a.Value] && inProd[b.Value]:
			return -1
		case inProd[a.Value] && !inProd[b.Value]:
			return 1
		}
		return 0
	})
	return test
}

// valueGroups writes "1.24.0 ×29 · 1.25.3 (fleet-07)", or the one value
// alone: a value only one host gave is shown with that host, the outlier
// an engineer will want to look at.
func valueGroups(vgs []engine.ValueGroup) string {
	if len(vgs) == 0 {
		return "—"
	}
	var parts []string
	for _, v := range vgs {
		text := cleanLine(v.Value)
		if text == "" {
			text = `""`
		}
		switch {
		case len(vgs) > 1 && v.Count == 1 && len(v.Hosts) == 1:
			text += " (" + v.Hosts[0] + ")"
		case len(vgs) > 1 || v.Count > 1:
			text += fmt.Sprintf(" ×%d", v.Count)
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, " · ")
}

// checks tallies each verify check over the hosts just done, in at most n
// lines: "✓ verify 1 curl -fsS …   30 passed".
func (g *gatePanel) checks(cs []engine.CheckTally, w, n int) []string {
	s := g.c.styles
	shown, more := listCut(len(cs), n)
	var out []string
	for _, c := range cs[:shown] {
		mark := s.OK.Render("✓ ")
		count := fmt.Sprintf("%d passed", c.Passed)
		if c.Failed > 0 {
			mark = s.Fail.Render("✗ ")
			count += fmt.Sprintf(" · %d failed", c.Failed)
		}
		out = append(out, "  "+mark+spread(fmt.Sprintf("verify %d %s", c.Check, cleanLine(c.Name)), count, w-4))
	}
	if more > 0 {
		out = append(out, s.Muted.Render(fmt.Sprintf("  … %s more", plural(more, "check"))))
	}
	return out
}

// listCut says how many of n items fit in lines lines, and how many are
// left for a "… N more" line.
func listCut(n, lines int) (shown, more int) {
	if n <= lines {
		return n, 0
	}
	shown = max(0, lines-1)
	return shown, n - shown
}

// share splits n lines between two lists of a and b items: one line each
// first (when it has items), then a line at a time to the shorter share.
func share(n, a, b int) (int, int) {
	x, y := min(a, 1), min(b, 1)
	for x+y < n && (x < a || y < b) {
		if x < a && (x <= y || y >= b) {
			x++
		} else {
			y++
		}
	}
	return x, y
}

// wrap breaks text into lines of at most w columns at spaces.
func wrap(text string, w int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case width(line)+1+width(word) <= w:
			line += " " + word
		default:
			out = append(out, line)
			line = word
		}
	}
	if line != "" || len(out) == 0 {
		out = append(out, line)
	}
	for i := range out {
		out[i] = truncate(out[i], w)
	}
	return out
}

// testHosts counts the plan's test hosts.
func testHosts(st *engine.State) int {
	n := 0
	if lay := layoutOf(st, engine.PhaseTest); lay != nil {
		for _, b := range lay.Batches {
			n += len(b)
		}
	}
	return n
}

// testPassed reports whether every batch of the test phase passed: the
// emergency paths are open from then on.
func testPassed(st *engine.State) bool {
	lay := layoutOf(st, engine.PhaseTest)
	if lay == nil || len(lay.Batches) == 0 {
		return false
	}
	for b := range lay.Batches {
		if !st.Passed[engine.StepKey{Phase: engine.PhaseTest, Batch: b + 1}] {
			return false
		}
	}
	return true
}
