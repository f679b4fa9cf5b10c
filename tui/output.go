package tui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// outputPane shows the selected host's log: its output and, in italics,
// what the console saw happen to it (state changes, failed checks). It
// follows the tail until scrolled up, and draws straight from the host's
// ring, only the lines on screen.
//
// It is not a bubbles/viewport on purpose: a viewport holds its content as
// one string it splits and measures on every SetContent, which for a full
// 1,000-line scrollback costs more per output line than the 20 µs an update
// may take. Reading the ring by line number costs the same at any length.
type outputPane struct {
	c      *common
	width  int
	height int // lines, title included
	host   string
	top    int // absolute number of the first line shown, when not following
	follow bool
	// grouped shows the step's output groups instead of one host's log.
	grouped bool
	groups  groupsView
}

func (p *outputPane) setSize(w, h int) { p.width, p.height = w, h }

// show switches to a host's log, at its tail.
func (p *outputPane) show(host string) {
	if host != p.host {
		p.host, p.follow = host, true
	}
}

// bodyHeight is how many log lines fit.
func (p *outputPane) bodyHeight() int { return max(0, p.height-1) }

// span returns the first line on screen and the range of line numbers kept.
func (p *outputPane) span() (start, first, total int) {
	r := p.c.logs.get(p.host)
	if r == nil {
		return 0, 0, 0
	}
	first, total = r.first(), r.total
	bottom := max(first, total-p.bodyHeight())
	if p.follow {
		return bottom, first, total
	}
	return max(first, min(p.top, bottom)), first, total
}

// scroll moves by n lines (negative: up). Reaching the bottom follows again.
func (p *outputPane) scroll(n int) {
	start, first, total := p.span()
	bottom := max(first, total-p.bodyHeight())
	p.top = max(first, min(start+n, bottom))
	p.follow = p.top >= bottom
}

// toTop shows the oldest line kept; toBottom follows the tail.
func (p *outputPane) toTop() {
	_, first, _ := p.span()
	p.top, p.follow = first, false
}

func (p *outputPane) toBottom() { p.follow = true }

// update scrolls for a key or the mouse wheel, or moves between groups.
func (p *outputPane) update(msg tea.Msg, k *keyMap) {
	if p.grouped {
		p.groups.update(msg, k, len(p.c.groups.top(maxGroupsShown)))
		return
	}
	page := max(1, p.bodyHeight()-1)
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch step, top, bottom := moveKey(msg, k, page); {
		case top:
			p.toTop()
		case bottom:
			p.toBottom()
		case step != 0:
			p.scroll(step)
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			p.scroll(-3)
		case tea.MouseButtonWheelDown:
			p.scroll(3)
		}
	}
}

// view draws the pane in exactly its height.
func (p *outputPane) view(host string, focused bool) []string {
	if p.height <= 0 {
		return nil
	}
	s := p.c.styles
	if p.grouped {
		return p.groups.view(p.c.groups, s, p.width, p.height, focused)
	}
	out := make([]string, 0, p.height)
	start, first, total := p.span()
	where := "following"
	if !p.follow {
		where = fmt.Sprintf("lines %d–%d of %d", start+1, min(total, start+p.bodyHeight()), total)
	}
	if first > 0 {
		where += fmt.Sprintf(" (%d older dropped)", first)
	}
	title := "── output"
	if host != "" {
		name := host
		if host == swapRow {
			name = "swap"
		}
		title = fmt.Sprintf("── %s · %s", name, plural(total, "line"))
	}
	ts := s.PaneTitle
	if focused {
		ts = s.PaneFocus
	}
	right := " " + where + " ──"
	line := title + " " + strings.Repeat("─", max(0, p.width-width(title)-width(right)-1)) + right
	out = append(out, ts.Render(fit(line, p.width)))
	r := p.c.logs.get(host)
	if r == nil || r.len() == 0 {
		out = append(out, s.Muted.Render(fit("  (no output yet)", p.width)))
	} else {
		for n := start; n < total && len(out) < p.height; n++ {
			out = append(out, p.line(r.line(n)))
		}
	}
	blank := strings.Repeat(" ", p.width)
	for len(out) < p.height {
		out = append(out, blank)
	}
	return out
}

// line draws one log line: host output as it came, console notes muted.
func (p *outputPane) line(text string) string {
	if strings.HasPrefix(text, metaPrefix) {
		return p.c.styles.Meta.Render(fit(" ── "+text[len(metaPrefix):], p.width))
	}
	return fit(" "+text, p.width)
}
