package tui

import (
	"os"

	"github.com/charmbracelet/lipgloss"

	"github.com/rolloutconsole/rollout/engine"
)

// Theme is the palette the console is drawn with. Every colour is a plain
// lipgloss.Color: the background is decided once, before the program starts
// (DetectTheme), so nothing queries the terminal while it runs.
type Theme struct {
	Accent  lipgloss.Color // titles, the active phase, keys
	OK      lipgloss.Color // done, passed
	Fail    lipgloss.Color // failed, unknown, destructive panels
	Warn    lipgloss.Color // paused, gates, rolling back
	Run     lipgloss.Color // in flight
	Muted   lipgloss.Color // secondary text, pending, skipped
	Text    lipgloss.Color // body text
	Select  lipgloss.Color // background of the selected row
	Inverse lipgloss.Color // text on a coloured badge
}

// DarkTheme is for terminals with a dark background.
func DarkTheme() Theme {
	return Theme{Accent: "#7aa2f7", OK: "#9ece6a", Fail: "#f7768e", Warn: "#e0af68", Run: "#7dcfff",
		Muted: "#787c99", Text: "#c0caf5", Select: "#2f3549", Inverse: "#1a1b26"}
}

// LightTheme is for terminals with a light background.
func LightTheme() Theme {
	return Theme{Accent: "#2e5cb8", OK: "#2d7d16", Fail: "#c4203b", Warn: "#8f5e00", Run: "#006b8f",
		Muted: "#6b6f80", Text: "#24283b", Select: "#d5d9e8", Inverse: "#ffffff"}
}

// DetectTheme picks the theme for the terminal on stdout: ROLLOUT_THEME=light
// or dark wins; otherwise the terminal's background is asked once. Call it
// before the program starts reading the terminal.
func DetectTheme() Theme {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return DarkTheme() // no colour is drawn; do not ask the terminal
	}
	switch os.Getenv("ROLLOUT_THEME") {
	case "light":
		lipgloss.SetHasDarkBackground(false)
		return LightTheme()
	case "dark":
		lipgloss.SetHasDarkBackground(true)
		return DarkTheme()
	}
	dark := lipgloss.HasDarkBackground()
	lipgloss.SetHasDarkBackground(dark) // fixed from now on
	if dark {
		return DarkTheme()
	}
	return LightTheme()
}

// badge is how one host state is drawn: a symbol that reads without colour
// (NO_COLOR) and the style that colours it.
type badge struct {
	symbol string
	style  lipgloss.Style
}

// Styles are every style the console uses, built once from a Theme. Views
// take styles from here and never build their own.
type Styles struct {
	Title      lipgloss.Style
	Header     lipgloss.Style
	Muted      lipgloss.Style
	Text       lipgloss.Style
	Bold       lipgloss.Style
	Key        lipgloss.Style
	StateRun   lipgloss.Style
	StateGate  lipgloss.Style
	StateWarn  lipgloss.Style
	StateFail  lipgloss.Style
	StateOK    lipgloss.Style
	PhaseDone  lipgloss.Style
	PhaseNow   lipgloss.Style
	PhaseFail  lipgloss.Style
	PhaseTodo  lipgloss.Style
	BarFull    lipgloss.Style
	BarFail    lipgloss.Style
	BarEmpty   lipgloss.Style
	TableHead  lipgloss.Style
	Selected   lipgloss.Style
	Cursor     lipgloss.Style
	PaneTitle  lipgloss.Style
	PaneFocus  lipgloss.Style
	Meta       lipgloss.Style
	StatusInfo lipgloss.Style
	StatusErr  lipgloss.Style
	Panel      lipgloss.Style // the border of a gate or summary panel
	PanelWarn  lipgloss.Style // of the quit panel, an interrupted summary
	PanelFail  lipgloss.Style // of a failed gate, a confirmation
	PanelTitle lipgloss.Style
	OK         lipgloss.Style
	Fail       lipgloss.Style
	Warn       lipgloss.Style
	HelpKey    lipgloss.Style
	HelpDesc   lipgloss.Style
	HelpSep    lipgloss.Style

	badges map[engine.HostState]badge
}

// NewStyles builds every style from the theme.
func NewStyles(t Theme) *Styles {
	base := lipgloss.NewStyle()
	fg := func(c lipgloss.Color) lipgloss.Style { return base.Foreground(c) }
	s := &Styles{
		Title:      fg(t.Accent).Bold(true),
		Header:     fg(t.Text),
		Muted:      fg(t.Muted),
		Text:       fg(t.Text),
		Bold:       base.Bold(true),
		Key:        fg(t.Accent).Bold(true),
		StateRun:   base.Foreground(t.Inverse).Background(t.Run).Bold(true).Padding(0, 1),
		StateGate:  base.Foreground(t.Inverse).Background(t.Accent).Bold(true).Padding(0, 1),
		StateWarn:  base.Foreground(t.Inverse).Background(t.Warn).Bold(true).Padding(0, 1),
		StateFail:  base.Foreground(t.Inverse).Background(t.Fail).Bold(true).Padding(0, 1),
		StateOK:    base.Foreground(t.Inverse).Background(t.OK).Bold(true).Padding(0, 1),
		PhaseDone:  fg(t.OK),
		PhaseNow:   fg(t.Accent).Bold(true),
		PhaseFail:  fg(t.Fail).Bold(true),
		PhaseTodo:  fg(t.Muted),
		BarFull:    fg(t.OK),
		BarFail:    fg(t.Fail),
		BarEmpty:   fg(t.Muted),
		TableHead:  fg(t.Muted).Bold(true),
		Selected:   base.Background(t.Select),
		Cursor:     fg(t.Accent).Bold(true),
		PaneTitle:  fg(t.Muted),
		PaneFocus:  fg(t.Accent).Bold(true),
		Meta:       fg(t.Muted).Italic(true),
		StatusInfo: fg(t.Text),
		StatusErr:  fg(t.Fail).Bold(true),
		Panel:      fg(t.Accent),
		PanelWarn:  fg(t.Warn),
		PanelFail:  fg(t.Fail),
		PanelTitle: base.Bold(true),
		OK:         fg(t.OK),
		Fail:       fg(t.Fail).Bold(true),
		Warn:       fg(t.Warn),
		HelpKey:    fg(t.Accent),
		HelpDesc:   fg(t.Muted),
		HelpSep:    fg(t.Muted),
	}
	s.badges = map[engine.HostState]badge{
		engine.StatePending:        {"·", fg(t.Muted)},
		engine.StateConnecting:     {"", fg(t.Run)},
		engine.StateApplying:       {"", fg(t.Run)},
		engine.StateVerifying:      {"", fg(t.Run)},
		engine.StateSoaking:        {"", fg(t.Run)},
		engine.StateDone:           {"✓", fg(t.OK)},
		engine.StateFailed:         {"✗", fg(t.Fail).Bold(true)},
		engine.StateSkipped:        {"–", fg(t.Muted)},
		engine.StateUnknown:        {"?", fg(t.Fail).Bold(true)},
		engine.StateRollingBack:    {"", fg(t.Warn)},
		engine.StateRolledBack:     {"↺", fg(t.Warn)},
		engine.StateRollbackFailed: {"✗", fg(t.Fail).Bold(true)},
	}
	return s
}

// badge returns the symbol and style of a host state; in-flight states take
// the spinner's frame as their symbol.
func (s *Styles) badge(st engine.HostState, spin string) (string, lipgloss.Style) {
	b, ok := s.badges[st]
	if !ok {
		return "?", s.Muted
	}
	if b.symbol == "" {
		return spin, b.style
	}
	return b.symbol, b.style
}
