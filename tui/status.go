package tui

import "github.com/charmbracelet/lipgloss"

// statusLine is the line above the keys: the last thing that happened or
// went wrong (a refused command, a note from the engine).
type statusLine struct {
	c     *common
	text  string
	style lipgloss.Style
}

func (s *statusLine) info(t string) { s.text, s.style = t, s.c.styles.StatusInfo }
func (s *statusLine) warn(t string) { s.text, s.style = t, s.c.styles.Warn }
func (s *statusLine) fail(t string) { s.text, s.style = t, s.c.styles.StatusErr }

func (s statusLine) view(w int) string {
	if s.text == "" {
		return fit("", w)
	}
	return s.style.Render(fit(" "+s.text, w))
}
