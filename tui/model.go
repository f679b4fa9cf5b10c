package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
)

// common is what every component reads: the folded rollout, the logs and
// counts kept beside it, the styles and the clock. Components hold a pointer
// to the model's one copy.
type common struct {
	st       *engine.State
	logs     *logStore
	tally    *tally
	styles   *Styles
	now      func() time.Time
	spin     string // the spinner's current frame
	readOnly bool
	id       string
	journal  string
	swap     swapRun // the swap command, drawn as a row of its own
	groups   *outGroups
	// hostGen counts host state changes, so what is counted from hosts
	// is counted again only when one changed, not for every output line.
	hostGen int
}

// focus is the pane that has the keys when no panel is open.
type focus int

const (
	focusTable focus = iota
	focusOutput
	focusFilter
)

// leaving says why the console will close once the record stream ends.
type leaving int

const (
	stayOpen     leaving = iota
	leaveDetach          // the engineer detached
	leaveAbort           // the engineer aborted from the quit panel
	leaveSignal          // a signal stopped the engine
	leaveNow             // quit sent
	leaveWatcher         // watch mode: nothing to wait for
)

// Model is the console. Create it with New; it is a pointer model, so the
// 10,000-host state is never copied.
type Model struct {
	opts Options
	c    *common
	keys keyMap
	help help.Model
	spin spinner.Model

	header  header
	strip   phaseStrip
	table   hostTable
	output  outputPane
	gate    gatePanel
	confirm confirmPanel
	prompt  promptPanel
	quit    quitPanel
	summary summaryPanel
	status  statusLine

	focus         focus
	width, height int
	bodyTop       int // first screen row of the table, for the mouse

	closed        bool    // the record stream ended
	leave         leaving // what closes the console when the stream ends
	spinning      bool    // a spinner tick is scheduled
	animate       bool    // the spinner may tick (tests turn it off)
	changed       int     // hosts that reached applying: what a rollback touches
	gateOpenedAt  time.Time
	gateHidden    int    // the gate whose panel was put away with esc
	answered      int    // the gate an answer was sent for
	helpSel       string // the host the x and T help is worded for
	summaryHidden bool
}

// New builds the console's model. Run starts it; tests drive it directly.
func New(opts Options) *Model {
	opts = opts.withDefaults()
	theme := DarkTheme()
	if opts.Theme != nil {
		theme = *opts.Theme
	}
	styles := NewStyles(theme)
	c := &common{st: engine.NewState(), logs: newLogStore(opts.Scrollback), tally: newTally(), styles: styles,
		now: opts.Now, readOnly: opts.Controller == nil, id: opts.ID, journal: opts.JournalPath, groups: newOutGroups()}
	m := &Model{opts: opts, c: c, keys: newKeyMap(), help: newHelp(styles), animate: true}
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	c.spin = m.spin.Spinner.Frames[0]
	m.header = header{c: c}
	m.strip = phaseStrip{c: c}
	m.table = newHostTable(c)
	m.output = outputPane{c: c, follow: true}
	m.gate = gatePanel{c: c}
	m.confirm = confirmPanel{c: c}
	m.prompt = newPromptPanel(c)
	m.quit = quitPanel{c: c, grace: opts.Grace}
	m.summary = summaryPanel{c: c}
	m.status = statusLine{c: c}
	if c.readOnly {
		m.leave = leaveWatcher
	}
	for _, r := range opts.History {
		m.apply(r)
	}
	m.table.sync()
	m.refreshKeys()
	return m
}

func newHelp(s *Styles) help.Model {
	h := help.New()
	h.ShortSeparator = " · "
	h.Styles.ShortKey, h.Styles.FullKey = s.HelpKey, s.HelpKey
	h.Styles.ShortDesc, h.Styles.FullDesc = s.HelpDesc, s.HelpDesc
	h.Styles.ShortSeparator, h.Styles.FullSeparator = s.HelpSep, s.HelpSep
	h.Styles.Ellipsis = s.HelpSep
	return h
}

// State is the rollout as folded so far.
func (m *Model) State() *engine.State { return m.c.st }

// Init starts receiving records and the clock.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(listen(m.opts.Records, time.Time{}), clockTick())
}

// Update dispatches one message to its handler, then brings the keys and
// the layout in line with the new state.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		cmd = m.handleKey(msg)
	case tea.MouseMsg:
		m.handleMouse(msg)
	case recordsMsg:
		cmd = m.handleRecords(msg)
	case resultMsg:
		m.handleResult(msg)
	case spinner.TickMsg:
		cmd = m.handleSpin(msg)
	case clockMsg:
		cmd = m.handleClock()
	case stopMsg:
		cmd = m.handleStop()
	case askQuitMsg:
		cmd = m.askQuit()
	}
	m.refreshKeys()
	m.layout()
	return m, cmd
}

// finished reports whether the rollout is over (or its stream ended).
func (m *Model) finished() bool { return m.closed || m.c.st.Outcome != "" }

// running reports whether a rollout is under way: started, not over.
func (m *Model) running() bool { return m.c.st.ID != "" && !m.finished() }

// mayQuit reports whether the console may close without asking.
func (m *Model) mayQuit() bool {
	return m.leave == leaveNow || m.c.readOnly || !m.running()
}

// panel is the panel drawn over the panes, if any.
type panel int

const (
	panelNone panel = iota
	panelGate
	panelConfirm
	panelPrompt
	panelQuit
	panelSummary
)

// activePanel decides which panel is up: a question asked by the engineer
// (quit, a prompt, confirm) over the summary, over a gate.
func (m *Model) activePanel() panel {
	switch {
	case m.quit.open:
		return panelQuit
	case m.prompt.kind != promptNone:
		return panelPrompt
	case m.confirm.kind != confirmNone:
		return panelConfirm
	case m.finished() && !m.summaryHidden && m.c.st.ID != "":
		return panelSummary
	case m.c.st.Gate != nil && m.c.st.Gate.Gate != m.gateHidden:
		return panelGate
	}
	return panelNone
}

// keyContext is who gets the next key.
func (m *Model) keyContext() keyContext {
	switch m.activePanel() {
	case panelQuit:
		return ctxQuit
	case panelConfirm:
		return ctxConfirm
	case panelPrompt:
		return ctxPrompt
	case panelSummary:
		return ctxSummary
	case panelGate:
		return ctxGate
	}
	switch m.focus {
	case focusFilter:
		return ctxFilter
	case focusOutput:
		return ctxOutput
	}
	return ctxTable
}

// footerHeight is how many lines the key help takes.
func (m *Model) footerHeight() int {
	if !m.help.ShowAll {
		return 1
	}
	h := 1
	for _, col := range m.keys.FullHelp() {
		n := 0
		for _, b := range col {
			if b.Enabled() {
				n++
			}
		}
		h = max(h, n)
	}
	return h
}

// topHeight is the header, the phase strip and the progress line.
const topHeight = 3

// layout sizes the panes: the output pane takes two fifths of the body
// (three fifths when it has the keys), the table the rest, and a table
// shorter than its share gives the spare lines to the output.
func (m *Model) layout() {
	w := m.width
	body := max(0, m.height-topHeight-1-m.footerHeight())
	out := body * 2 / 5
	if m.focus == focusOutput {
		out = body * 3 / 5
	}
	tbl := body - out
	if need := m.table.linesNeeded(); tbl > need {
		out += tbl - need
		tbl = need
	}
	if tbl < 3 && body >= 6 {
		out -= 3 - tbl
		tbl = 3
	}
	m.bodyTop = topHeight
	m.header.width, m.strip.width = w, w
	m.table.setSize(w, tbl)
	m.output.setSize(w, out)
	m.output.show(m.table.selected())
	m.help.Width = w
	if m.c.readOnly {
		m.help.Width = max(0, w-width(readOnlyNote))
	}
}

// readOnlyNote opens the footer in watch mode.
const readOnlyNote = "watching (read-only) · "

// View draws the screen: header, phase strip, table, output, status, keys,
// and the open panel over the table and output.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	if m.width < minWidth || m.height < minHeight {
		return m.tooSmall()
	}
	lines := make([]string, 0, m.height)
	lines = append(lines, m.header.view(m.rolloutLabel()))
	lines = append(lines, m.strip.view()...)
	body := m.table.view(m.focus)
	body = append(body, m.output.view(m.table.selected(), m.focus == focusOutput)...)
	if p := m.panelLines(len(body)); p != nil {
		body = overlay(body, p, m.width)
	}
	lines = append(lines, body...)
	lines = append(lines, m.status.view(m.width))
	lines = append(lines, m.footer()...)
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	for i, l := range lines {
		if len(l) > m.width { // a line can be wider only if it has more bytes than columns
			lines[i] = truncate(l, m.width)
		}
	}
	return strings.Join(lines, "\n")
}

// The smallest terminal the console draws in; below it, it says so.
const minWidth, minHeight = 40, 12

// tooSmall asks for a bigger terminal, and still says where the rollout is.
func (m *Model) tooSmall() string {
	label := m.rolloutLabel()
	lines := []string{label.text, "terminal too small:", fmt.Sprintf("%dx%d, need %dx%d", m.width, m.height, minWidth, minHeight)}
	out := make([]string, m.height)
	for i := range out {
		if i < len(lines) {
			out[i] = truncate(lines[i], m.width)
		}
	}
	return strings.Join(out, "\n")
}

// panelLines renders the open panel to fit a body of h lines, or nil.
func (m *Model) panelLines(h int) []string {
	w := min(m.width, 80)
	switch m.activePanel() {
	case panelGate:
		return m.gate.view(m.c.st.Gate, m.answered, w, h, &m.keys, m.table.selected())
	case panelConfirm:
		return m.confirm.view(w, h)
	case panelPrompt:
		return m.prompt.view(w, h)
	case panelQuit:
		return m.quit.view(m.detachable(), w, h)
	case panelSummary:
		// Wider when it helps: the journal path is there to be copied.
		return m.summary.view(min(m.width, max(w, m.summary.widest()+4)), h)
	}
	return nil
}

// footer is the key help for the current context.
func (m *Model) footer() []string {
	prefix := ""
	if m.c.readOnly {
		prefix = m.c.styles.Warn.Render("watching (read-only)") + m.c.styles.HelpSep.Render(" · ")
	}
	v := prefix + m.help.View(m.keys)
	out := strings.Split(v, "\n")
	for i := range out {
		out[i] = truncate(out[i], m.width)
	}
	return out
}

// detachable reports whether the quit panel may offer detach.
func (m *Model) detachable() bool { return m.opts.Detach != nil }
