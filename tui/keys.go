package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// keyContext is what has the keys: a pane, the filter, or a panel.
type keyContext int

const (
	ctxTable keyContext = iota
	ctxOutput
	ctxFilter
	ctxGate
	ctxConfirm
	ctxQuit
	ctxSummary
	ctxPrompt // a text input has every key: a reason, a batch size
)

// keyMap is every key the console knows. The model holds one and switches
// bindings on and off with the state (refreshKeys), so the footer lists
// only keys that do something now, and a disabled key cannot match.
type keyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Open     key.Binding // enter: the selected host's output
	Back     key.Binding // esc: out of the output pane, a panel, the filter
	Filter   key.Binding
	Focus    key.Binding // tab: table ⇄ output
	Proceed  key.Binding // y/enter at a gate
	ShowGate key.Binding // y with the gate panel put away
	Retry    key.Binding
	Groups   key.Binding // o: the output pane shows the host's output or the step's groups
	Resize   key.Binding // +/-: the next batch's size
	Exclude  key.Binding // x: take the selected host out, with a reason
	RetryOne key.Binding // T: retry the selected failed host
	Finish   key.Binding // F: the emergency path forward, with a reason
	FastBack key.Binding // B: the emergency rollback, with a reason
	Send     key.Binding // enter in a text input
	Dismiss  key.Binding // esc in a text input
	Pause    key.Binding
	Abort    key.Binding
	Rollback key.Binding
	Confirm  key.Binding // y in a confirmation panel
	Cancel   key.Binding // esc/n in a panel
	Detach   key.Binding
	Summary  key.Binding
	Help     key.Binding
	Quit     key.Binding
	Leave    key.Binding // q/enter once the rollout is over

	ctx keyContext
}

func newKeyMap() keyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return keyMap{
		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+b"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+f", " "}, "pgdn", "page down"),
		Top:      b([]string{"g", "home"}, "g", "top"),
		Bottom:   b([]string{"G", "end"}, "G", "bottom"),
		Open:     b([]string{"enter"}, "enter", "output"),
		Back:     b([]string{"esc"}, "esc", "back"),
		Filter:   b([]string{"/"}, "/", "filter"),
		Focus:    b([]string{"tab"}, "tab", "switch pane"),
		Proceed:  b([]string{"y", "enter"}, "y", "proceed"),
		ShowGate: b([]string{"y"}, "y", "show gate"),
		Retry:    b([]string{"t"}, "t", "retry failed"),
		Groups:   b([]string{"o"}, "o", "groups"),
		Resize:   b([]string{"+", "=", "-"}, "+/-", "resize batch…"),
		Exclude:  b([]string{"x"}, "x", "exclude host…"),
		RetryOne: b([]string{"T"}, "T", "retry host"),
		Finish:   b([]string{"F"}, "F", "finish now…"),
		FastBack: b([]string{"B"}, "B", "fast rollback…"),
		Send:     b([]string{"enter"}, "enter", "send"),
		Dismiss:  b([]string{"esc", "ctrl+c"}, "esc", "cancel"),
		Pause:    b([]string{"p"}, "p", "pause"),
		Abort:    b([]string{"a"}, "a", "abort…"),
		Rollback: b([]string{"R"}, "R", "roll back…"),
		Confirm:  b([]string{"y"}, "y", "confirm"),
		Cancel:   b([]string{"esc", "n"}, "esc", "cancel"),
		Detach:   b([]string{"d"}, "d", "detach"),
		Summary:  b([]string{"s"}, "s", "summary"),
		Help:     b([]string{"?"}, "?", "more keys"),
		Quit:     b([]string{"q", "ctrl+c"}, "q", "quit"),
		Leave:    b([]string{"q", "ctrl+c", "enter"}, "q", "quit"),
	}
}

// ShortHelp is the footer: the keys that work in the current context.
func (k keyMap) ShortHelp() []key.Binding {
	switch k.ctx {
	case ctxFilter:
		return []key.Binding{k.Open, k.Back}
	case ctxGate:
		return []key.Binding{k.Proceed, k.Retry, k.RetryOne, k.Exclude, k.Resize, k.Rollback, k.Abort, k.Back, k.Help, k.Quit,
			k.Groups, k.Finish, k.FastBack}
	case ctxPrompt:
		return []key.Binding{k.Send, k.Dismiss}
	case ctxConfirm:
		return []key.Binding{k.Confirm, k.Cancel}
	case ctxQuit:
		return []key.Binding{k.Detach, k.Abort, k.Cancel}
	case ctxSummary:
		return []key.Binding{k.Leave, k.Back, k.Help}
	case ctxOutput:
		return []key.Binding{k.ShowGate, k.Retry, k.RetryOne, k.Exclude, k.Resize, k.Pause, k.Abort, k.Rollback, k.Summary, k.Help, k.Quit,
			k.Open, k.Groups, k.Back, k.Bottom, k.Finish, k.FastBack}
	}
	// What steers the rollout first, then help and quit, then the pane's
	// own keys: a narrow footer cuts from the end, and ? shows them all.
	// The emergency paths come last: they are for a bad night, not for
	// every glance at the footer.
	return []key.Binding{k.ShowGate, k.Retry, k.RetryOne, k.Exclude, k.Resize, k.Pause, k.Abort, k.Rollback, k.Summary, k.Help, k.Quit,
		k.Open, k.Filter, k.Groups, k.Back, k.Finish, k.FastBack}
}

// FullHelp is every key, in columns: moving, the rollout, the console.
func (k keyMap) FullHelp() [][]key.Binding {
	switch k.ctx {
	case ctxFilter, ctxConfirm, ctxQuit, ctxPrompt:
		return [][]key.Binding{k.ShortHelp()}
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Proceed, k.ShowGate, k.Retry, k.Pause, k.Abort, k.Rollback},
		{k.RetryOne, k.Exclude, k.Resize, k.Finish, k.FastBack},
		{k.Open, k.Focus, k.Groups, k.Filter, k.Back, k.Summary, k.Help, k.Quit, k.Leave},
	}
}

// moveKey reads a movement key shared by the table and the output pane: a
// relative step (a line, or page lines), or a jump to the top or the bottom.
func moveKey(msg tea.KeyMsg, k *keyMap, page int) (step int, top, bottom bool) {
	switch {
	case key.Matches(msg, k.Up):
		return -1, false, false
	case key.Matches(msg, k.Down):
		return 1, false, false
	case key.Matches(msg, k.PageUp):
		return -page, false, false
	case key.Matches(msg, k.PageDown):
		return page, false, false
	case key.Matches(msg, k.Top):
		return 0, true, false
	case key.Matches(msg, k.Bottom):
		return 0, false, true
	}
	return 0, false, false
}
