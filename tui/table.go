package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
)

// hostTable lists every host in plan order (the swap as a row of its own,
// before the host it demotes): host, phase, state, attempt, duration and
// the last line of output. It draws only the rows on screen, so its cost
// does not grow with the fleet.
type hostTable struct {
	c      *common
	width  int
	height int // lines, header and filter line included
	rows   []string
	cursor int
	offset int
	hostW  int
	// follow moves the cursor to each new step's first host (and to the
	// first failing host at a failed gate) until the engineer moves it.
	follow bool
	dirty  bool // rows must be rebuilt
	filter textinput.Model
	// suffix is the domain every host shares (".prod.example.com"): the
	// rows leave it out, the header says it once, so the part that tells
	// hosts apart is what fits.
	suffix  string
	suffixN int // len(st.Order) when suffix was worked out
}

func newHostTable(c *common) hostTable {
	ti := textinput.New()
	ti.Prompt = "/ "
	ti.Placeholder = "host, phase or state"
	ti.CharLimit = 64
	ti.Cursor.SetMode(cursor.CursorStatic)
	ti.PromptStyle, ti.PlaceholderStyle = c.styles.Key, c.styles.Muted
	return hostTable{c: c, follow: true, filter: ti, hostW: 8}
}

// filtering reports whether a filter is typed or kept.
func (t *hostTable) filtering(f focus) bool {
	return f == focusFilter || t.filter.Value() != ""
}

// linesNeeded is how many lines the table would use with room to spare.
func (t *hostTable) linesNeeded() int {
	n := 1 + len(t.rows)
	if t.filter.Value() != "" || t.filter.Focused() {
		n++
	}
	return n
}

func (t *hostTable) setSize(w, h int) {
	t.width, t.height = w, h
	t.filter.Width = max(10, w/3)
	t.clamp()
}

// rebuild lists the rows again: every host in plan order, the swap row,
// the filter applied, the cursor kept on the same host.
func (t *hostTable) rebuild() {
	st := t.c.st
	sel := t.selected()
	t.rows = t.rows[:0]
	q := strings.ToLower(strings.TrimSpace(t.filter.Value()))
	swapAt := ""
	if lay := layoutOf(st, engine.PhaseSwap); lay != nil && lay.Skipped == "" {
		swapAt = lay.Demote
	}
	if t.suffixN != len(st.Order) {
		t.suffix, t.suffixN = commonDomain(st.Order), len(st.Order)
	}
	t.hostW = 8
	for _, name := range st.Order {
		if name == swapAt {
			t.addRow(swapRow, q)
		}
		t.addRow(name, q)
		t.hostW = max(t.hostW, min(width(name)-len(t.suffix), 32))
	}
	t.dirty = false
	if sel != "" {
		for i, r := range t.rows {
			if r == sel {
				t.cursor = i
				break
			}
		}
	}
	t.clamp()
}

func (t *hostTable) addRow(name, q string) {
	if q == "" {
		t.rows = append(t.rows, name)
		return
	}
	phase, state, extra := engine.PhaseSwap, t.c.swap.state(), ""
	if h := t.c.st.Hosts[name]; h != nil {
		phase, state = h.Phase, h.State
		if h.Preflight != "ok" {
			extra = h.Preflight // "unreachable", "locked": filterable
		}
		if h.Excluded != "" {
			extra = "excluded"
		}
	}
	if strings.Contains(strings.ToLower(name), q) || strings.Contains(string(phase), q) || strings.Contains(string(state), q) ||
		(extra != "" && strings.Contains(extra, q)) {
		t.rows = append(t.rows, name)
	}
}

// commonDomain is the dot-started suffix of two labels or more every name
// has (and none is): ".example.com" of web-1.example.com and
// web-2.example.com; "" if none.
func commonDomain(names []string) string {
	if len(names) < 2 {
		return ""
	}
	i := strings.IndexByte(names[0], '.')
	if i < 0 {
		return ""
	}
	suffix := names[0][i:]
	for _, n := range names[1:] {
		for suffix != "" && (!strings.HasSuffix(n, suffix) || n == suffix) {
			j := strings.IndexByte(suffix[1:], '.')
			if j < 0 {
				return ""
			}
			suffix = suffix[j+1:]
		}
	}
	if strings.Count(suffix, ".") < 2 {
		return "" // ".com" alone is not worth the saying
	}
	return suffix
}

// sync rebuilds the rows if events changed what they hold.
func (t *hostTable) sync() {
	if t.dirty {
		t.rebuild()
	}
}

// stateChanged: with a filter on, a host's new state may change the rows.
func (t *hostTable) stateChanged() {
	if t.filter.Value() != "" {
		t.dirty = true
	}
}

// selected is the host under the cursor, or "".
func (t *hostTable) selected() string {
	if t.cursor < 0 || t.cursor >= len(t.rows) {
		return ""
	}
	return t.rows[t.cursor]
}

// visibleRows is how many host rows fit.
func (t *hostTable) visibleRows() int {
	n := t.height - 1
	if t.filter.Value() != "" || t.filter.Focused() {
		n--
	}
	return max(0, n)
}

// clamp keeps the cursor on a row and the row on screen.
func (t *hostTable) clamp() {
	t.cursor = max(0, min(t.cursor, len(t.rows)-1))
	vis := t.visibleRows()
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if vis > 0 && t.cursor >= t.offset+vis {
		t.offset = t.cursor - vis + 1
	}
	t.offset = max(0, min(t.offset, len(t.rows)-vis))
}

// move moves the cursor by n rows; the engineer has taken over from follow.
func (t *hostTable) move(n int) {
	t.cursor += n
	t.follow = false
	t.clamp()
}

// moveTo puts the cursor on row i (clamped).
func (t *hostTable) moveTo(i int) {
	t.cursor = i
	t.follow = false
	t.clamp()
}

// selectHost puts the cursor on a host, if it is listed.
func (t *hostTable) selectHost(name string) {
	t.sync()
	for i, r := range t.rows {
		if r == name {
			t.cursor = i
			t.clamp()
			return
		}
	}
}

// update moves the cursor for a key or the mouse (Y relative to the
// table's first line).
func (t *hostTable) update(msg tea.Msg, k *keyMap) {
	page := max(1, t.visibleRows()-1)
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch step, top, bottom := moveKey(msg, k, page); {
		case top:
			t.moveTo(0)
		case bottom:
			t.moveTo(len(t.rows) - 1)
		case step != 0:
			t.move(step)
		}
	case tea.MouseMsg:
		switch {
		case msg.Button == tea.MouseButtonWheelUp:
			t.move(-3)
		case msg.Button == tea.MouseButtonWheelDown:
			t.move(3)
		case msg.Button == tea.MouseButtonLeft && msg.Action == tea.MouseActionPress:
			if row := msg.Y - (t.height - t.visibleRows()); row >= 0 && row < t.visibleRows() {
				t.moveTo(t.offset + row)
			}
		}
	}
}

// followStep selects the first host of a step that starts.
func (t *hostTable) followStep(e engine.PhaseStarted) {
	if !t.follow {
		return
	}
	switch {
	case e.Phase == engine.PhaseSwap:
		t.selectHost(swapRow)
	case len(e.Hosts) > 0:
		t.selectHost(e.Hosts[0])
	}
}

// followGate selects the first failing host at a failed gate, and the
// first host preflight left out at the preflight gate: the host x and T
// would act on.
func (t *hostTable) followGate(g engine.GateReached) {
	if !t.follow {
		return
	}
	switch {
	case g.Kind == engine.GateFailed && len(g.Failing) > 0:
		t.selectHost(g.Failing[0].Host)
	case g.Preflight != nil:
		if bad := problemHosts(g.Preflight); len(bad) > 0 {
			t.selectHost(bad[0].Host)
		}
	}
}

// setFilter applies the filter as typed.
func (t *hostTable) updateFilter(msg tea.Msg) {
	before := t.filter.Value()
	t.filter, _ = t.filter.Update(msg)
	if t.filter.Value() != before {
		t.rebuild()
	}
}

// clearFilter drops the filter and shows every host again.
func (t *hostTable) clearFilter() {
	t.filter.SetValue("")
	t.filter.Blur()
	t.rebuild()
}

// tableColumns are the widths of the table's columns; 0 means dropped.
type tableColumns struct{ host, phase, state, try, time, last int }

// columns fits the columns to the width. When space runs short they go in
// this order: attempt, phase (the strip shows it), duration; the last
// output shrinks to what is left; the host name is cut last.
func (t *hostTable) columns() tableColumns {
	c := tableColumns{host: t.hostW, phase: 7, state: 17, try: 3, time: 6}
	used := func() int {
		n := 2 + c.host
		for _, w := range []int{c.phase, c.state, c.try, c.time} {
			if w > 0 {
				n += w + 1
			}
		}
		return n + 1
	}
	for _, drop := range []*int{&c.try, &c.phase, &c.time} {
		if t.width-used() >= 20 {
			break
		}
		*drop = 0
	}
	c.last = t.width - used()
	if c.last < 8 {
		c.host = max(6, c.host+c.last-8)
		c.last = max(0, t.width-used())
	}
	return c
}

// view draws the table in exactly its height.
func (t *hostTable) view(f focus) []string {
	if t.height <= 0 {
		return nil
	}
	s := t.c.styles
	out := make([]string, 0, t.height)
	cols := t.columns()
	if t.filter.Focused() || t.filter.Value() != "" {
		out = append(out, t.filterLine())
	}
	head := "  " + fit("HOST", cols.host) + " " + optCol("PHASE", cols.phase, false) + fit("STATE", cols.state) + " " +
		optCol("TRY", cols.try, true) + optCol("TIME", cols.time, true)
	pos := ""
	if len(t.rows) > t.visibleRows() {
		pos = fmt.Sprintf("%d/%d ", t.cursor+1, len(t.rows))
	}
	if note := "hosts *" + t.suffix + "  "; t.suffix != "" && width(note)+width(pos)+len("LAST OUTPUT ") <= cols.last {
		pos = note + pos
	}
	out = append(out, s.TableHead.Render(head+spread("LAST OUTPUT", pos, cols.last)))
	vis := t.visibleRows()
	for i := t.offset; i < len(t.rows) && i < t.offset+vis; i++ {
		out = append(out, t.row(t.rows[i], cols, i == t.cursor, f != focusFilter))
	}
	blank := strings.Repeat(" ", t.width)
	for len(out) < t.height {
		if len(t.rows) == 0 && len(out) == t.height-vis {
			out = append(out, fit(s.Muted.Render("  no hosts match the filter"), t.width))
			continue
		}
		out = append(out, blank)
	}
	return out
}

// optCol writes a column that may be dropped (width 0), with its separator.
func optCol(text string, w int, right bool) string {
	if w == 0 {
		return ""
	}
	if right {
		return fitRight(text, w) + " "
	}
	return fit(text, w) + " "
}

func (t *hostTable) filterLine() string {
	s := t.c.styles
	n := fmt.Sprintf("  %d of %d", len(t.rows), len(t.c.st.Order))
	if t.filter.Focused() {
		return spread(" "+t.filter.View(), s.Muted.Render(n+" · enter keep · esc clear "), t.width)
	}
	return spread(s.Key.Render(" / ")+t.filter.Value(), s.Muted.Render(n+" · esc clears "), t.width)
}

// row draws one host. The selected row is one reverse-coloured block with a
// cursor mark, so it stands out without colour too.
func (t *hostTable) row(name string, c tableColumns, selected, active bool) string {
	s := t.c.styles
	r := t.rowData(name)
	sym, bs := s.badge(r.state, t.c.spin)
	mark := "  "
	if selected {
		mark = "▸ "
	}
	try := ""
	if r.attempt > 0 {
		try = strconv.Itoa(r.attempt)
	}
	var b strings.Builder
	b.WriteString(fit(r.name, c.host) + " ")
	b.WriteString(optCol(string(r.phase), c.phase, false))
	state := fit(sym+" "+string(r.state), c.state) + " "
	pre := optCol(try, c.try, true) + optCol(r.dur, c.time, true)
	last := fit(r.last, c.last)
	if selected && active {
		return s.Selected.Render(s.Cursor.Render(mark) + b.String() + state + pre + last)
	}
	if selected {
		mark = s.Cursor.Render(mark)
	}
	if r.failed && c.last > 0 {
		last = s.Fail.Render(last)
	}
	return mark + b.String() + bs.Render(state) + pre + last
}

// rowFacts is what one row shows.
type rowFacts struct {
	name    string
	phase   engine.Phase
	state   engine.HostState
	attempt int
	dur     string
	last    string
	failed  bool // last is an error
}

func (t *hostTable) rowData(name string) rowFacts {
	now := t.c.now()
	if name == swapRow {
		sw := t.c.swap
		r := rowFacts{name: "⇄ swap", phase: engine.PhaseSwap, state: sw.state(), attempt: t.c.st.Swap.Attempts, dur: dur(sw.duration(now)), last: sw.last}
		if r.state == "" {
			r.state = engine.StatePending
		}
		if e := t.c.st.Swap.Error; e != "" && (r.state == engine.StateFailed || r.state == engine.StateUnknown) {
			r.last, r.failed = e, true
		}
		if r.last == "" {
			r.last = "promote " + t.c.st.Swap.Promote + ", demote " + t.c.st.Swap.Demote + " (on " + t.c.st.Swap.Where + ")"
		}
		return r
	}
	h := t.c.st.Hosts[name]
	if h == nil {
		return rowFacts{name: name, state: engine.StatePending}
	}
	r := rowFacts{name: strings.TrimSuffix(name, t.suffix), phase: h.Phase, state: h.State, attempt: h.Attempt, dur: dur(h.Duration(now)), last: h.LastLine}
	switch {
	case h.Excluded != "":
		r.last = "excluded: " + cleanLine(h.Excluded)
	case h.Error != "":
		r.last, r.failed = h.Error, true
	case h.State == engine.StatePending && h.Preflight != "" && h.Preflight != "ok":
		// Preflight left it out: say so where its output would be.
		r.last, r.failed = "⚠ preflight: "+h.Preflight, true
		if h.PreflightError != "" {
			r.last += ": " + cleanLine(h.PreflightError)
		}
	}
	return r
}
