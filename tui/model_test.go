package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
)

// atCanaryGate is a console at gate 4 (before the canary).
func atCanaryGate(t *testing.T) (*Model, *fakeCtl) {
	t.Helper()
	ctl := &fakeCtl{}
	m := newTestModel(ctl, 100, 30)
	feed(m, toCanaryGate(newScript(), 4))
	if m.c.st.Gate == nil || m.c.st.Gate.Gate != 4 {
		t.Fatalf("gate %+v, want gate 4 open", m.c.st.Gate)
	}
	return m, ctl
}

// runningFleet is a console with fleet batch 2 running: no gate open.
func runningFleet(t *testing.T) (*Model, *fakeCtl) {
	t.Helper()
	ctl := &fakeCtl{}
	m := newTestModel(ctl, 100, 30)
	feed(m, runningFleetRecords(newScript()))
	if m.c.st.Gate != nil {
		t.Fatalf("a gate is open: %+v", m.c.st.Gate)
	}
	return m, ctl
}

func TestAAloneAndRAloneDoNothingDestructive(t *testing.T) {
	for _, setup := range []struct {
		name string
		make func(*testing.T) (*Model, *fakeCtl)
	}{{"running", runningFleet}, {"at a gate", atCanaryGate}} {
		t.Run(setup.name, func(t *testing.T) {
			m, ctl := setup.make(t)
			press(t, m, "a")
			if got := ctl.got(); got != "" {
				t.Fatalf("a alone sent %q", got)
			}
			if m.confirm.kind != confirmAbort || !strings.Contains(m.View(), "Abort the rollout?") {
				t.Fatalf("a did not ask:\n%s", m.View())
			}
			press(t, m, "esc", "R")
			if got := ctl.got(); got != "" {
				t.Fatalf("a, esc, R sent %q", got)
			}
			if m.confirm.kind != confirmRollback || !strings.Contains(m.View(), "Roll back?") {
				t.Fatalf("R did not ask:\n%s", m.View())
			}
			// Keys that mean something elsewhere do nothing in a confirmation.
			press(t, m, "enter", "R", "a", "t", "p", "esc")
			if got := ctl.got(); got != "" {
				t.Fatalf("keys in the confirmation sent %q", got)
			}
			if m.confirm.kind != confirmNone {
				t.Fatal("esc did not close the confirmation")
			}
		})
	}
}

func TestAbortAndRollbackNeedASecondKey(t *testing.T) {
	m, ctl := runningFleet(t)
	press(t, m, "a", "y")
	if got := ctl.got(); got != "abort" {
		t.Fatalf("a, y sent %q, want abort", got)
	}
	m, ctl = atCanaryGate(t)
	press(t, m, "R")
	view := m.View()
	for _, want := range []string{"1. swap     web-a (1 host)", "2. swap back on local: web-a takes the traffic again",
		"3. standby  web-b (1 host)", "4. test     web-test-1 (1 host)", "3 hosts in all.", "y roll back 3 hosts"} {
		if !strings.Contains(view, want) {
			t.Errorf("the rollback confirmation lacks %q:\n%s", want, view)
		}
	}
	press(t, m, "y")
	if got := ctl.got(); got != "rollback" {
		t.Fatalf("R, y sent %q, want rollback", got)
	}
}

func TestYAnswersTheGateOnScreenByItsNumber(t *testing.T) {
	m, ctl := atCanaryGate(t)
	press(t, m, "y")
	if got := ctl.got(); got != "decide 4 proceed" {
		t.Fatalf("y sent %q, want decide 4 proceed", got)
	}
	press(t, m, "y", "enter")
	if got := ctl.got(); got != "decide 4 proceed" {
		t.Fatalf("a second y for the same gate sent %q", got)
	}
	if !strings.Contains(m.View(), "answer sent") {
		t.Errorf("the gate does not say the answer is on its way:\n%s", m.View())
	}
	// Enter proceeds as well.
	m, ctl = atCanaryGate(t)
	press(t, m, "enter")
	if got := ctl.got(); got != "decide 4 proceed" {
		t.Fatalf("enter sent %q", got)
	}
}

func TestYWithNoGateOpenSendsNothing(t *testing.T) {
	m, ctl := runningFleet(t)
	press(t, m, "y", "enter", "t")
	if got := ctl.got(); got != "" {
		t.Fatalf("y, enter, t with no gate sent %q", got)
	}
}

func TestFailedGateRefusesProceedAndOffersRetry(t *testing.T) {
	ctl := &fakeCtl{}
	m := newTestModel(ctl, 100, 30)
	s := newScript()
	feed(m, toCanaryGate(s, 4))
	feed(m, failedCanary(s))
	press(t, m, "y", "enter")
	if got := ctl.got(); got != "" {
		t.Fatalf("y at a failed gate sent %q", got)
	}
	view := m.View()
	for _, want := range []string{"CANARY FAILED · GATE 5", "web-c1 failed after 3.5s: verify: exit status 1", "last output: healthz: 503",
		"t retry failed", "R roll back…", "a abort…"} {
		if !strings.Contains(view, want) {
			t.Errorf("the failed gate lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "y proceed") {
		t.Errorf("a failed gate offers proceed:\n%s", view)
	}
	if m.table.selected() != "web-c1" {
		t.Errorf("selected %q, want the failing host", m.table.selected())
	}
	press(t, m, "t")
	if got := ctl.got(); got != "decide 5 retry" {
		t.Fatalf("t sent %q, want decide 5 retry", got)
	}
}

func TestAGateThatJustOpenedIgnoresItsKey(t *testing.T) {
	ctl := &fakeCtl{}
	now := t0
	m := newTestModel(ctl, 100, 30)
	m.opts.ArmDelay = DefaultArmDelay
	m.c.now = func() time.Time { return now }
	feed(m, toCanaryGate(newScript(), 4))
	now = now.Add(50 * time.Millisecond)
	press(t, m, "y")
	if got := ctl.got(); got != "" {
		t.Fatalf("y 50ms after the gate opened sent %q", got)
	}
	if !strings.Contains(m.View(), "press y again") {
		t.Errorf("the refusal is not explained:\n%s", m.View())
	}
	now = now.Add(time.Second)
	press(t, m, "y")
	if got := ctl.got(); got != "decide 4 proceed" {
		t.Fatalf("y a second later sent %q", got)
	}
	// A confirmation takes its y only once it could be read, too.
	m, ctl = runningFleet(t)
	m.opts.ArmDelay = DefaultArmDelay
	m.c.now = func() time.Time { return now }
	press(t, m, "a", "y")
	if got := ctl.got(); got != "" {
		t.Fatalf("a, y at once sent %q", got)
	}
	now = now.Add(time.Second)
	press(t, m, "y")
	if got := ctl.got(); got != "abort" {
		t.Fatalf("y a second later sent %q", got)
	}
}

func TestEngineRefusalShowsInTheStatusLine(t *testing.T) {
	m, ctl := atCanaryGate(t)
	ctl.err = fmt.Errorf("%w: gate 5 is open, not gate 4", engine.ErrStaleGate)
	press(t, m, "y")
	if !strings.Contains(m.View(), "proceed at gate 4: stale gate: that gate is closed") {
		t.Fatalf("no stale-gate status:\n%s", m.View())
	}
	// The answer did not land, so it may be given again.
	press(t, m, "y")
	if got := ctl.got(); got != "decide 4 proceed; decide 4 proceed" {
		t.Fatalf("calls %q", got)
	}
}

func TestPauseFollowsTheEngine(t *testing.T) {
	m, ctl := runningFleet(t)
	press(t, m, "p")
	if got := ctl.got(); got != "pause" {
		t.Fatalf("p sent %q", got)
	}
	feed(m, newScriptAt(m).recs(engine.Paused{User: "oncall"}))
	if !strings.Contains(m.View(), "PAUSED") || !strings.Contains(m.View(), "p resume") {
		t.Fatalf("paused is not shown:\n%s", m.View())
	}
	press(t, m, "p")
	if got := ctl.got(); got != "pause; unpause" {
		t.Fatalf("p, p sent %q", got)
	}
}

// newScriptAt continues numbering after what m has folded.
func newScriptAt(m *Model) *script {
	return &script{seq: m.c.st.LastSeq, now: t0.Add(44 * time.Second)}
}

func TestQuitWhileRunningAsksAndDetachLeavesOnceStopped(t *testing.T) {
	ctl := &fakeCtl{}
	detached := false
	m := newTestModel(ctl, 100, 30)
	m.opts.Detach = func() { detached = true }
	feed(m, toCanaryGate(newScript(), 4))
	if quit := press(t, m, "q"); quit {
		t.Fatal("q quit while the rollout runs")
	}
	if !m.quit.open || !strings.Contains(m.View(), "Leave the console?") {
		t.Fatalf("q did not ask:\n%s", m.View())
	}
	if msg := quitFilter(m, tea.QuitMsg{}); msg != (askQuitMsg{}) {
		t.Fatalf("the filter let a quit through while running: %#v", msg)
	}
	press(t, m, "d")
	if !detached || ctl.got() != "" {
		t.Fatalf("d: detached %v, calls %q", detached, ctl.got())
	}
	// The engine stops, the stream closes: the console leaves by itself.
	_, cmd := m.Update(recordsMsg{recs: newScriptAt(m).recs(engine.RolloutFinished{Outcome: engine.OutcomeInterrupted}), closed: true})
	if !run(t, m, cmd) {
		t.Fatal("the console did not close after the detach")
	}
}

func TestQuitPanelAbortAsksOnceMore(t *testing.T) {
	m, ctl := runningFleet(t)
	press(t, m, "ctrl+c", "a")
	if ctl.got() != "" || m.confirm.kind != confirmAbort || !m.confirm.andQuit {
		t.Fatalf("q, a: calls %q, confirm %v", ctl.got(), m.confirm.kind)
	}
	press(t, m, "y")
	if got := ctl.got(); got != "abort" {
		t.Fatalf("q, a, y sent %q", got)
	}
	_, cmd := m.Update(recordsMsg{recs: newScriptAt(m).recs(engine.AbortRequested{}, engine.RolloutFinished{Outcome: engine.OutcomeAborted}), closed: true})
	if !run(t, m, cmd) {
		t.Fatal("the console did not close after abort-and-leave")
	}
}

func TestWatchModeIsReadOnly(t *testing.T) {
	m := newTestModel(nil, 100, 30)
	feed(m, toCanaryGate(newScript(), 4))
	press(t, m, "y", "t", "p", "a", "R", "enter")
	if m.confirm.kind != confirmNone || m.answered != 0 {
		t.Fatalf("watch mode acted: confirm %v, answered %d", m.confirm.kind, m.answered)
	}
	view := m.View()
	for _, want := range []string{"watching (read-only)", "read-only: the engineer running the rollout answers this gate"} {
		if !strings.Contains(view, want) {
			t.Errorf("watch view lacks %q:\n%s", want, view)
		}
	}
	for _, bad := range []string{"y proceed", "a abort", "R roll back"} {
		if strings.Contains(view, bad) {
			t.Errorf("watch view offers %q:\n%s", bad, view)
		}
	}
	if quit := press(t, m, "esc", "q"); !quit {
		t.Fatal("q did not leave watch mode at once")
	}
}

func TestFoldKeepsCountsLogsAndRows(t *testing.T) {
	m, _ := runningFleet(t)
	st := m.c.st
	if st.Hosts["web-01"].State != engine.StateDone || st.Hosts["web-02"].State != engine.StateApplying {
		t.Fatalf("states: web-01 %s, web-02 %s", st.Hosts["web-01"].State, st.Hosts["web-02"].State)
	}
	all := m.c.tally.all
	if all.of(engine.StateDone) != 5 || all.inFlight() != 2 || all.of(engine.StatePending) != 1 {
		t.Fatalf("counts %v", all)
	}
	fleet := m.c.tally.of(engine.PhaseFleet)
	if fleet.of(engine.StateDone) != 1 || fleet.total() != 4 {
		t.Fatalf("fleet counts %v", fleet)
	}
	if m.changed != 6 {
		t.Fatalf("changed %d, want 6 (five done, web-02 applying)", m.changed)
	}
	// Rows: plan order, the swap before the host it demotes.
	want := "web-test-1 web-b (swap) web-a web-c1 web-01 web-02 web-03 web-04"
	if got := strings.Join(m.table.rows, " "); got != want {
		t.Fatalf("rows %q, want %q", got, want)
	}
	// Follow put the cursor on the step's first host; its log is on screen.
	if m.table.selected() != "web-02" {
		t.Fatalf("selected %q, want web-02", m.table.selected())
	}
	log := m.c.logs.get("web-01")
	var lines []string
	for n := log.first(); n < log.total; n++ {
		lines = append(lines, strings.TrimPrefix(log.line(n), metaPrefix))
	}
	if got := strings.Join(lines, "|"); got != "connecting|applying|applied on web-01|verifying|done" {
		t.Fatalf("web-01 log %q", got)
	}
	if !strings.Contains(m.View(), "fleet batch 2/2") {
		t.Fatalf("no fleet progress:\n%s", m.View())
	}
}

func TestOutputIsCleanedOfControlCharacters(t *testing.T) {
	m, _ := runningFleet(t)
	feed(m, newScriptAt(m).recs(engine.HostOutput{Host: "web-02", Lines: []string{"\x1b]52;c;ZXZpbA==\x07red \x1b[31mtext\ttab"}}))
	got := m.c.logs.get("web-02").last()
	if strings.ContainsAny(got, "\x1b\x07\t") {
		t.Fatalf("a control character reached the screen: %q", got)
	}
	if m.c.st.Hosts["web-02"].LastLine != got {
		t.Fatalf("the table's last line %q is not the cleaned one %q", m.c.st.Hosts["web-02"].LastLine, got)
	}
}

func TestFilterAndNavigation(t *testing.T) {
	m, ctl := runningFleet(t)
	press(t, m, "/", "w", "e", "b", "-", "0")
	if got := strings.Join(m.table.rows, " "); got != "web-01 web-02 web-03 web-04" {
		t.Fatalf("filtered rows %q", got)
	}
	// Typing a and p in the filter types; it does not abort or pause.
	press(t, m, "backspace", "backspace", "backspace", "backspace", "backspace", "a", "p", "p")
	if ctl.got() != "" || m.confirm.kind != confirmNone {
		t.Fatalf("keys typed into the filter acted: %q", ctl.got())
	}
	press(t, m, "esc", "/", "f", "a", "i", "l", "enter")
	if len(m.table.rows) != 0 || !strings.Contains(m.View(), "no hosts match") {
		t.Fatalf("filter on failed: rows %v", m.table.rows)
	}
	press(t, m, "esc")
	if len(m.table.rows) != 9 {
		t.Fatalf("esc kept the filter: %v", m.table.rows)
	}
	press(t, m, "g")
	if m.table.selected() != "web-test-1" {
		t.Fatalf("g: %q", m.table.selected())
	}
	press(t, m, "G", "k")
	if m.table.selected() != "web-03" {
		t.Fatalf("G, k: %q", m.table.selected())
	}
	press(t, m, "enter")
	if m.focus != focusOutput || !strings.Contains(m.View(), "── web-03") {
		t.Fatalf("enter did not open web-03's output:\n%s", m.View())
	}
	press(t, m, "esc")
	if m.focus != focusTable {
		t.Fatal("esc did not go back to the table")
	}
}

func TestMouseWheelScrolls(t *testing.T) {
	m, _ := runningFleet(t)
	m.table.moveTo(0)
	m.Update(tea.MouseMsg{X: 5, Y: m.bodyTop + 2, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if m.table.cursor != 3 {
		t.Fatalf("wheel down on the table: cursor %d, want 3", m.table.cursor)
	}
}

func TestFinishedShowsSummaryAndQuits(t *testing.T) {
	m, ctl := atCanaryGate(t)
	s := newScriptAt(m)
	feed(m, failedCanary(&script{seq: m.c.st.LastSeq, now: s.now}))
	_, cmd := m.Update(recordsMsg{recs: newScriptAt(m).recs(
		engine.GateAnswered{Gate: 5, Decision: engine.Abort},
		engine.RolloutFinished{Outcome: engine.OutcomeFailed, Error: "canary failed; stopped by oncall"}), closed: true})
	if run(t, m, cmd) {
		t.Fatal("the console closed by itself at the end: the summary must be read")
	}
	view := m.View()
	for _, want := range []string{"Rollout FAILED", "canary failed; stopped by oncall", "✗ web-c1 failed: verify: exit status 1",
		"last output: healthz: 503", "rollout show 20260301-030000-web-abc123", "/var/lib/rollout/20260301-030000-web-abc123.journal"} {
		if !strings.Contains(view, want) {
			t.Errorf("summary lacks %q:\n%s", want, view)
		}
	}
	if quit := press(t, m, "q"); !quit || ctl.got() != "" {
		t.Fatalf("q at the summary: quit %v, calls %q", quit, ctl.got())
	}
}

func TestRing(t *testing.T) {
	var r ring
	for i := 0; i < 25; i++ {
		r.add(fmt.Sprint(i), 10)
	}
	if r.len() != 10 || r.first() != 15 || r.line(15) != "15" || r.last() != "24" || cap(r.lines) > 10 {
		t.Fatalf("ring: len %d first %d line15 %q last %q cap %d", r.len(), r.first(), r.line(15), r.last(), cap(r.lines))
	}
}

func TestColumnsDropInOrder(t *testing.T) {
	m, _ := runningFleet(t)
	m.table.hostW = 28
	for _, tc := range []struct {
		w    int
		want tableColumns
	}{
		{120, tableColumns{host: 28, phase: 7, state: 17, try: 3, time: 6, last: 52}},
		{80, tableColumns{host: 28, phase: 0, state: 17, try: 0, time: 6, last: 24}}, // attempt, then phase
		{70, tableColumns{host: 28, phase: 0, state: 17, try: 0, time: 0, last: 21}}, // then duration
		{50, tableColumns{host: 21, phase: 0, state: 17, try: 0, time: 0, last: 8}},  // then the host is cut
	} {
		m.table.width = tc.w
		if got := m.table.columns(); got != tc.want {
			t.Errorf("width %d: %+v, want %+v", tc.w, got, tc.want)
		}
	}
}

func TestScrollbackBudgetShrinksWithTheFleet(t *testing.T) {
	for _, tc := range []struct{ hosts, want int }{{100, DefaultScrollback}, {1996, DefaultScrollback}, {9996, 200}, {100000, minScrollback}} { // four hosts besides the fleet
		m := newTestModel(&fakeCtl{}, 100, 30)
		st := started(1)
		st.Phases[4].Batches = [][]string{fleetNames(tc.hosts)}
		feed(m, newScript().recs(st))
		if m.c.logs.max != tc.want {
			t.Errorf("%d hosts keep %d lines each, want %d", tc.hosts, m.c.logs.max, tc.want)
		}
	}
}

func TestPhaseMarksAfterTheEnd(t *testing.T) {
	m, _ := runningFleet(t)
	feed(m, newScriptAt(m).recs(engine.AbortRequested{User: "oncall"},
		engine.HostChanged{Host: "web-02", Phase: engine.PhaseFleet, State: engine.StateUnknown, Error: "canceled"},
		engine.HostChanged{Host: "web-03", Phase: engine.PhaseFleet, State: engine.StateUnknown, Error: "canceled"},
		engine.RolloutFinished{Outcome: engine.OutcomeAborted, Error: "aborted by oncall"}))
	strip := m.strip.strip()
	if want := "test ✓ → standby ✓ → swap ✓ → canary ✓ → fleet ✗"; !strings.Contains(strip, want) {
		t.Fatalf("strip %q, want %q", strip, want)
	}
	if h := m.rolloutLabel().text; h != "✗ ABORTED" {
		t.Fatalf("header %q", h)
	}
}

// Every screen, at every size, in every panel, is exactly the terminal's
// height and no line is wider than it: nothing wraps, nothing scrolls the
// terminal, whatever the size after a resize.
func TestEverySizeFits(t *testing.T) {
	type setup func(*testing.T) *Model
	setups := map[string]setup{
		"gate":      func(t *testing.T) *Model { m, _ := atCanaryGate(t); return m },
		"running":   func(t *testing.T) *Model { m, _ := runningFleet(t); return m },
		"confirm":   func(t *testing.T) *Model { m, _ := atCanaryGate(t); press(t, m, "R"); return m },
		"quit":      func(t *testing.T) *Model { m, _ := runningFleet(t); press(t, m, "q"); return m },
		"help":      func(t *testing.T) *Model { m, _ := runningFleet(t); press(t, m, "?"); return m },
		"filter":    func(t *testing.T) *Model { m, _ := runningFleet(t); press(t, m, "/", "w"); return m },
		"output":    func(t *testing.T) *Model { m, _ := runningFleet(t); press(t, m, "enter"); return m },
		"starting":  func(t *testing.T) *Model { return newTestModel(&fakeCtl{}, 80, 24) },
		"preflight": func(t *testing.T) *Model { m, _ := atPreflightGate(t, ""); return m },
		"blocked": func(t *testing.T) *Model {
			m, _ := atPreflightGate(t, "the test host web-test-1 cannot be reached")
			return m
		},
		"batch":   func(t *testing.T) *Model { m, _ := atFleetBatchGate(t); return m },
		"groups":  func(t *testing.T) *Model { m, _ := atFleetBatchGate(t); press(t, m, "o"); return m },
		"exclude": func(t *testing.T) *Model { m, _ := atFleetBatchGate(t); press(t, m, "x", "enter"); return m },
		"resize":  func(t *testing.T) *Model { m, _ := atFleetBatchGate(t); press(t, m, "+"); return m },
		"finish":  func(t *testing.T) *Model { m, _ := atFleetBatchGate(t); press(t, m, "F"); return m },
		"fast":    func(t *testing.T) *Model { m, _ := atFleetBatchGate(t); press(t, m, "B"); return m },
		"summary": func(t *testing.T) *Model {
			m, _ := runningFleet(t)
			m.Update(recordsMsg{recs: newScriptAt(m).recs(engine.RolloutFinished{Outcome: engine.OutcomeInterrupted}), closed: true})
			return m
		},
	}
	for name, make := range setups {
		m := make(t)
		for _, size := range [][2]int{{200, 50}, {120, 40}, {100, 30}, {80, 24}, {60, 20}, {40, 12}, {20, 6}, {10, 3}, {1, 1}} {
			w, h := size[0], size[1]
			m.Update(tea.WindowSizeMsg{Width: w, Height: h})
			lines := strings.Split(m.View(), "\n")
			if len(lines) != h {
				t.Errorf("%s at %dx%d: %d lines", name, w, h, len(lines))
			}
			for i, l := range lines {
				if width(l) > w {
					t.Errorf("%s at %dx%d: line %d is %d wide: %q", name, w, h, i+1, width(l), l)
				}
			}
		}
	}
}

func TestOutputPaneScrollsBackAndFollowsAgain(t *testing.T) {
	m, _ := runningFleet(t)
	var lines []string
	for i := 1; i <= 300; i++ {
		lines = append(lines, fmt.Sprintf("line %03d", i))
	}
	feed(m, newScriptAt(m).recs(engine.HostOutput{Host: "web-02", Lines: lines}))
	press(t, m, "enter")
	if v := m.View(); !strings.Contains(v, "following") || !strings.Contains(v, "line 299") {
		t.Fatalf("the pane does not follow the tail:\n%s", v)
	}
	press(t, m, "g")
	if v := m.View(); !strings.Contains(v, " ── connecting") || strings.Contains(v, "line 299") || !strings.Contains(v, "lines 1–") {
		t.Fatalf("g did not go to the oldest line:\n%s", v)
	}
	// New output does not move a pane scrolled back.
	feed(m, newScriptAt(m).recs(engine.HostOutput{Host: "web-02", Lines: []string{"line 301"}}))
	if v := m.View(); !strings.Contains(v, " ── connecting") {
		t.Fatalf("new output moved a pane scrolled back:\n%s", v)
	}
	m.Update(tea.MouseMsg{Y: m.bodyTop + m.table.height + 3, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if m.output.top != 3 {
		t.Fatalf("the wheel over the output scrolled to %d, want 3", m.output.top)
	}
	press(t, m, "G")
	if v := m.View(); !strings.Contains(v, "following") || !strings.Contains(v, "line 300") {
		t.Fatalf("G did not follow the tail again:\n%s", v)
	}
}

func TestHistoryIsFoldedFirst(t *testing.T) {
	past := toCanaryGate(newScript(), 4)
	m := New(Options{History: past, Controller: &fakeCtl{}, Now: func() time.Time { return t0 }, ArmDelay: -1})
	if h := m.c.st.Hosts["web-a"]; h.State != engine.StateDone || m.c.logs.get("web-a").last() != metaPrefix+"done" {
		t.Fatalf("web-a: %s, log %q", h.State, m.c.logs.get("web-a").last())
	}
	if m.c.tally.all.of(engine.StateDone) != 3 || m.changed != 3 {
		t.Fatalf("done %d, changed %d", m.c.tally.all.of(engine.StateDone), m.changed)
	}
}

func TestCommonDomainIsSaidOnce(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"web-1.prod.example.com", "web-2.prod.example.com", "db-1.prod.example.com"}, ".prod.example.com"},
		{[]string{"web-1.prod.example.com", "web-2.test.example.com"}, ".example.com"},
		{[]string{"web-1.example.com", "web-2"}, ""},
		{[]string{"web-1.example.com"}, ""},
		{[]string{"a.example.com", "example.com"}, ""},
	} {
		if got := commonDomain(tc.names); got != tc.want {
			t.Errorf("commonDomain(%q) = %q, want %q", tc.names, got, tc.want)
		}
	}
	m := newTestModel(&fakeCtl{}, 100, 24)
	st := started(1)
	for i := range st.Phases {
		for b := range st.Phases[i].Batches {
			for h := range st.Phases[i].Batches[b] {
				st.Phases[i].Batches[b][h] += ".prod.eu-west-1.example.com"
			}
		}
	}
	feed(m, newScript().recs(st))
	v := m.View()
	if !strings.Contains(v, "hosts *.prod.eu-west-1.example.com") || !strings.Contains(v, "▸ web-test-1 test") {
		t.Fatalf("the shared domain is not said once:\n%s", v)
	}
}
