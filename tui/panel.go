package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// box draws a panel w columns wide: a rounded border in the border style
// with the title set in its top edge, and the lines inside.
func box(s *Styles, border lipgloss.Style, title string, lines []string, w int) []string {
	inner := max(1, w-4)
	w = inner + 4
	title = truncate(title, inner-2)
	out := make([]string, 0, len(lines)+2)
	out = append(out, border.Render("╭─ ")+s.PanelTitle.Render(title)+border.Render(" "+strings.Repeat("─", max(0, w-5-width(title)))+"╮"))
	side := border.Render("│")
	for _, l := range lines {
		out = append(out, side+" "+fit(l, inner)+" "+side)
	}
	return append(out, border.Render("╰"+strings.Repeat("─", w-2)+"╯"))
}

// drawPanel draws a panel that fits h lines: the body cut (with a mark) when it
// does not, the keys always on the last line inside.
func drawPanel(s *Styles, border lipgloss.Style, title string, body []string, keys string, w, h int) []string {
	body = cutLines(s, body, max(0, h-4)) // the border's two lines, a blank line, the keys
	lines := append(body, "", keys)
	return box(s, border, title, lines, w)
}

// cutLines returns at most room lines of body: when it has more, the last
// line kept says how many more were cut.
func cutLines(s *Styles, body []string, room int) []string {
	if len(body) <= room {
		return body
	}
	cut := len(body) - room + 1
	return append(body[:max(0, room-1):max(0, room-1)], s.Muted.Render("  … "+plural(cut, "more line")))
}

// overlay draws the panel over the middle of base (lines of width w).
func overlay(base, top []string, w int) []string {
	if len(top) == 0 {
		return base
	}
	pw := width(top[0])
	x := max(0, (w-pw)/2)
	y := max(0, (len(base)-len(top))/2)
	for i, l := range top {
		if y+i >= len(base) {
			break
		}
		b := base[y+i]
		left := ansi.Truncate(b, x, "")
		if lw := width(left); lw < x {
			left += strings.Repeat(" ", x-lw)
		}
		if strings.IndexByte(left, 0x1b) >= 0 {
			left += "\x1b[0m" // end a style cut off mid-way
		}
		base[y+i] = left + l + ansi.TruncateLeft(b, x+pw, "")
	}
	return base
}

// keyHint writes "y proceed" with the key in the key style.
func keyHint(s *Styles, k, desc string) string {
	return s.Key.Render(k) + " " + desc
}

// hints joins key hints.
func hints(s *Styles, parts ...string) string {
	return strings.Join(parts, s.Muted.Render("  ·  "))
}
