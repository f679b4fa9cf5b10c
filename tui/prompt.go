package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
)

// promptKind is what a prompt panel asks for.
type promptKind int

const (
	promptNone     promptKind = iota
	promptExclude             // a reason to take the selected host out
	promptResize              // the next batch's size
	promptFinish              // a reason for finish-now
	promptFastBack            // a reason for the fast rollback
)

// promptPanel asks for what a decision needs: the reason for an exclusion
// or an emergency path, the size of the next batch. While it is open every
// key goes to its input, so a q, y or a typed into a reason never acts.
// What it says is worked out when it opens.
type promptPanel struct {
	c        *common
	kind     promptKind
	input    textinput.Model
	openedAt time.Time
	gate     int    // the gate it answers; 0 for an emergency asked outside one
	host     string // the host to exclude
	applied  bool   // that host was changed already
	size     int    // the next batch's size now
	maxSize  int    // the most it can take: what is left of the phase
	remain   int    // fleet hosts not yet run, for finish-now
	changed  int    // hosts a rollback touches
	inFlight int    // hosts with a command running now
	msg      string // why the last enter was refused
}

func newPromptPanel(c *common) promptPanel {
	ti := textinput.New()
	ti.CharLimit = 200
	ti.Cursor.SetMode(cursor.CursorStatic)
	ti.PromptStyle, ti.PlaceholderStyle = c.styles.Key, c.styles.Muted
	return promptPanel{c: c, input: ti}
}

// open asks for kind; the caller fills what the kind needs first.
func (p *promptPanel) open(kind promptKind, now time.Time) {
	p.kind, p.openedAt, p.msg = kind, now, ""
	p.input.Reset()
	p.input.Prompt, p.input.Placeholder = "reason: ", "why?"
	if kind == promptResize {
		p.input.Prompt, p.input.Placeholder = "hosts: ", ""
	}
	p.input.Focus()
}

func (p *promptPanel) close() {
	p.kind = promptNone
	p.input.Blur()
}

// reason is the typed reason, trimmed.
func (p *promptPanel) reason() string { return strings.TrimSpace(p.input.Value()) }

// number reads the typed size; ok is false when it is not a number.
func (p *promptPanel) number() (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(p.input.Value()))
	return n, err == nil
}

// key types into the input. In the size prompt + and - step the number and
// only digits are typed.
func (p *promptPanel) key(msg tea.KeyMsg) {
	if p.kind == promptResize && msg.Type == tea.KeyRunes {
		for _, r := range msg.Runes {
			n, _ := p.number()
			switch {
			case r == '+' || r == '=':
				p.input.SetValue(strconv.Itoa(min(n+1, p.maxSize)))
			case r == '-':
				p.input.SetValue(strconv.Itoa(max(n-1, 1)))
			case r >= '0' && r <= '9':
				p.input.SetValue(p.input.Value() + string(r))
			}
		}
		p.input.CursorEnd()
		return
	}
	p.input, _ = p.input.Update(msg)
}

// refuse says why enter did nothing; the panel stays open.
func (p *promptPanel) refuse(msg string) { p.msg = msg }

func (p *promptPanel) view(w, h int) []string {
	s := p.c.styles
	p.input.Width = max(10, w-4-width(p.input.Prompt)-2)
	var title, yes string
	var body []string
	border := s.PanelWarn
	switch p.kind {
	case promptExclude:
		title, yes = "Exclude "+p.host+"?", "exclude "+p.host
		body = []string{
			p.host + " leaves the rollout: nothing more runs on it, and it",
			"shows as skipped. The gate opens again without it.",
		}
		if p.applied {
			body = append(body, s.Warn.Render("It was changed already: excluding it does not undo that."))
		}
	case promptResize:
		title, yes, border = "Resize the next batch", "set the size", s.Panel
		body = []string{
			fmt.Sprintf("The next batch has %s; it can take 1 to %d.", plural(p.size, "host"), p.maxSize),
			"+ and - step it, or type the number. The gate opens again",
			"with the new layout: nothing starts until you proceed.",
		}
	case promptFinish:
		title, yes, border = "Finish now?", "finish now", s.PanelFail
		body = []string{
			fmt.Sprintf("The emergency path: the remaining %s go in one", plural(p.remain, "fleet host")),
			"batch; no more soak or gates. Verify still runs on every host",
			"and the failure budget is still kept: over it, the rollout stops.",
		}
	case promptFastBack:
		title, yes, border = "Fast rollback?", fmt.Sprintf("roll back %s now", plural(p.changed, "host")), s.PanelFail
		body = []string{
			fmt.Sprintf("Every changed host (%d) is rolled back at once, at the", p.changed),
			"fleet's parallelism, and verified once without retries or waits.",
		}
		if p.inFlight > 0 {
			body = append(body, fmt.Sprintf("%s in flight are cancelled first.", plural(p.inFlight, "host")))
		}
	}
	if p.kind != promptResize {
		body = append(body, "", "Type why: it is journaled with your name.")
	}
	body = append(body, "", p.input.View())
	if p.msg != "" {
		body = append(body, s.Fail.Render(p.msg))
	}
	keys := hints(s, keyHint(s, "enter", yes), keyHint(s, "esc", "cancel"))
	return drawPanel(s, border, title, body, keys, w, h)
}

// leftInPhase counts the hosts of a phase, from a batch on, that have not
// passed or been excluded: the most the next batch can take.
func leftInPhase(st *engine.State, ph engine.Phase, batch int) int {
	lay := layoutOf(st, ph)
	if lay == nil || batch < 1 || batch > len(lay.Batches) {
		return 0
	}
	n := 0
	for _, b := range lay.Batches[batch-1:] {
		for _, h := range b {
			if hs := st.Hosts[h]; hs == nil || (hs.State != engine.StateDone && hs.State != engine.StateSkipped) {
				n++
			}
		}
	}
	return n
}
