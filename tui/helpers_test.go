package tui

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/rolloutconsole/rollout/engine"
)

func TestMain(m *testing.M) {
	// Goldens are plain text: no colour, whatever the terminal running the tests.
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

// t0 is the fixed clock of every test.
var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// fakeCtl records every command the console sends.
type fakeCtl struct {
	mu    sync.Mutex
	calls []string
	err   error // returned by every call
}

func (f *fakeCtl) add(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return f.err
}

func (f *fakeCtl) Decide(g int, d engine.Decision) error {
	return f.add(fmt.Sprintf("decide %d %s", g, d))
}
func (f *fakeCtl) Answer(g int, a engine.Answer) error {
	return f.add(fmt.Sprintf("answer %d %s host=%q size=%d reason=%q", g, a.Decision, a.Host, a.Size, a.Reason))
}
func (f *fakeCtl) FinishNow(reason string) error { return f.add(fmt.Sprintf("finish-now %q", reason)) }
func (f *fakeCtl) FastRollback(reason string) error {
	return f.add(fmt.Sprintf("fast-rollback %q", reason))
}
func (f *fakeCtl) Pause() error    { return f.add("pause") }
func (f *fakeCtl) Unpause() error  { return f.add("unpause") }
func (f *fakeCtl) Abort() error    { return f.add("abort") }
func (f *fakeCtl) Rollback() error { return f.add("rollback") }

func (f *fakeCtl) got() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "; ")
}

// script writes records as the engine would: numbered, timed.
type script struct {
	seq int64
	now time.Time
}

func newScript() *script { return &script{now: t0} }

// at moves the script's clock to t0+d.
func (s *script) at(d time.Duration) *script {
	s.now = t0.Add(d)
	return s
}

func (s *script) recs(evs ...engine.Event) []engine.Record {
	out := make([]engine.Record, len(evs))
	for i, e := range evs {
		s.seq++
		out[i] = engine.Record{Seq: s.seq, Time: s.now, Event: e}
	}
	return out
}

// run is one host going through a phase as hostRun has it, timed as a
// host takes: half a second to connect, two to apply, one to verify.
func (s *script) run(ph engine.Phase, host string, final engine.HostState, errMsg string, out ...string) []engine.Record {
	var r []engine.Record
	for _, e := range hostRun(ph, host, final, errMsg, out...) {
		r = append(r, s.recs(e)...)
		switch e := e.(type) {
		case engine.HostChanged:
			switch e.State {
			case engine.StateConnecting:
				s.now = s.now.Add(500 * time.Millisecond)
			case engine.StateApplying:
				s.now = s.now.Add(2 * time.Second)
			case engine.StateVerifying:
				s.now = s.now.Add(time.Second)
			}
		}
	}
	return r
}

// layout is the local example's plan (cmd/rollout/testdata/local), with a
// fleet of n hosts in batches of 1, then the rest.
func layout(fleet int) []engine.PhaseLayout {
	var hosts []string
	for i := 1; i <= fleet; i++ {
		hosts = append(hosts, fmt.Sprintf("web-%02d", i))
	}
	return []engine.PhaseLayout{
		{Phase: engine.PhaseTest, Batches: [][]string{{"web-test-1"}}},
		{Phase: engine.PhaseStandby, Batches: [][]string{{"web-b"}}},
		{Phase: engine.PhaseSwap, Batches: [][]string{{"web-a"}}, SwapHost: "local", Promote: "web-b", Demote: "web-a"},
		{Phase: engine.PhaseCanary, Batches: [][]string{{"web-c1"}}},
		{Phase: engine.PhaseFleet, Batches: [][]string{hosts[:1], hosts[1:]}},
	}
}

func started(fleet int) engine.RolloutStarted {
	return engine.RolloutStarted{ID: "20260301-030000-web-abc123", Change: "version 2", Digest: "fdf15841c42d0db8bb4af6fdbaf21b61",
		Service: "web", User: "oncall", Phases: layout(fleet)}
}

// hostRun is one host going through a phase, with its output.
func hostRun(ph engine.Phase, host string, final engine.HostState, errMsg string, out ...string) []engine.Event {
	evs := []engine.Event{
		engine.HostChanged{Host: host, Phase: ph, State: engine.StateConnecting, Attempt: 1},
		engine.HostChanged{Host: host, Phase: ph, State: engine.StateApplying, Attempt: 1},
	}
	if len(out) > 0 {
		evs = append(evs, engine.HostOutput{Host: host, Stream: engine.Stdout, Lines: out})
	}
	return append(evs,
		engine.HostChanged{Host: host, Phase: ph, State: engine.StateVerifying, Attempt: 1},
		engine.HostChanged{Host: host, Phase: ph, State: final, Attempt: 1, Error: errMsg})
}

// gateAfter is the gate the engine opens after a step passed.
func gateAfter(n int, kind engine.GateKind, next engine.Phase, batch int, hosts []string, passed []engine.HostSummary) engine.GateReached {
	return engine.GateReached{Gate: n, Kind: kind, Phase: next, Batch: batch, Next: hosts,
		Options: []engine.Decision{engine.Proceed, engine.Rollback, engine.Abort}, Passed: len(passed), Slowest: passed}
}

// toCanaryGate is a rollout from its start to the gate before the canary
// (gate 4), everything passed.
func toCanaryGate(s *script, fleet int) []engine.Record {
	var r []engine.Record
	r = append(r, s.recs(started(fleet),
		engine.GateReached{Gate: 1, Kind: engine.GateStart, Phase: engine.PhaseTest, Batch: 1, Next: []string{"web-test-1"},
			Options: []engine.Decision{engine.Proceed, engine.Abort}})...)
	s.at(3 * time.Second)
	r = append(r, s.recs(engine.GateAnswered{Gate: 1, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseTest, Batch: 1, Batches: 1, Hosts: []string{"web-test-1"}})...)
	r = append(r, s.run(engine.PhaseTest, "web-test-1", engine.StateDone, "", "applied on web-test-1")...)
	s.at(7 * time.Second)
	r = append(r, s.recs(engine.PhaseFinished{Phase: engine.PhaseTest, Batch: 1, Passed: 1, OK: true},
		gateAfter(2, engine.GatePhase, engine.PhaseStandby, 1, []string{"web-b"}, []engine.HostSummary{{Host: "web-test-1", State: engine.StateDone, Duration: 3500 * time.Millisecond}}))...)
	s.at(9 * time.Second)
	r = append(r, s.recs(engine.GateAnswered{Gate: 2, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseStandby, Batch: 1, Batches: 1, Hosts: []string{"web-b"}})...)
	r = append(r, s.run(engine.PhaseStandby, "web-b", engine.StateDone, "", "applied on web-b")...)
	s.at(13 * time.Second)
	r = append(r, s.recs(engine.PhaseFinished{Phase: engine.PhaseStandby, Batch: 1, Passed: 1, OK: true},
		gateAfter(3, engine.GatePhase, engine.PhaseSwap, 1, []string{"web-a"}, []engine.HostSummary{{Host: "web-b", State: engine.StateDone, Duration: 3500 * time.Millisecond}}))...)
	s.at(15 * time.Second)
	r = append(r, s.recs(engine.GateAnswered{Gate: 3, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseSwap, Batch: 1, Batches: 1, Hosts: []string{"web-a"}},
		engine.SwapChanged{Where: "local", Promote: "web-b", Demote: "web-a", State: engine.StateApplying})...)
	s.at(15500 * time.Millisecond)
	r = append(r, s.recs(engine.SwapChanged{Where: "local", Promote: "web-b", Demote: "web-a", State: engine.StateVerifying})...)
	s.at(16 * time.Second)
	r = append(r, s.recs(engine.SwapChanged{Where: "local", Promote: "web-b", Demote: "web-a", State: engine.StateDone})...)
	r = append(r, s.run(engine.PhaseSwap, "web-a", engine.StateDone, "", "applied on web-a")...)
	s.at(20 * time.Second)
	r = append(r, s.recs(engine.PhaseFinished{Phase: engine.PhaseSwap, Batch: 1, Passed: 1, OK: true},
		gateAfter(4, engine.GatePhase, engine.PhaseCanary, 1, []string{"web-c1"}, []engine.HostSummary{{Host: "web-a", State: engine.StateDone, Duration: 3500 * time.Millisecond}}))...)
	return r
}

// failedCanary goes on from gate 4: the canary fails and gate 5 is the
// failed gate.
func failedCanary(s *script) []engine.Record {
	s.at(25 * time.Second)
	r := s.recs(engine.GateAnswered{Gate: 4, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseCanary, Batch: 1, Batches: 1, Hosts: []string{"web-c1"}})
	r = append(r, s.run(engine.PhaseCanary, "web-c1", engine.StateFailed, "verify: exit status 1", "applied on web-c1", "healthz: 503 Service Unavailable")...)
	s.at(29 * time.Second)
	fail := engine.HostSummary{Host: "web-c1", State: engine.StateFailed, Duration: 3500 * time.Millisecond, Error: "verify: exit status 1"}
	return append(r, s.recs(engine.PhaseFinished{Phase: engine.PhaseCanary, Batch: 1, Failed: 1},
		engine.GateReached{Gate: 5, Kind: engine.GateFailed, Phase: engine.PhaseCanary, Batch: 1, Next: []string{"web-c1"},
			Options: []engine.Decision{engine.Retry, engine.Rollback, engine.Abort}, Failed: 1, Failing: []engine.HostSummary{fail}, Slowest: []engine.HostSummary{fail}})...)
}

// runningFleetRecords goes on from gate 4 to fleet batch 2 running:
// web-02 applying, web-03 connecting, web-04 waiting.
func runningFleetRecords(s *script) []engine.Record {
	r := toCanaryGate(s, 4)
	s.at(25 * time.Second)
	r = append(r, s.recs(engine.GateAnswered{Gate: 4, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseCanary, Batch: 1, Batches: 1, Hosts: []string{"web-c1"}})...)
	r = append(r, s.run(engine.PhaseCanary, "web-c1", engine.StateDone, "", "applied on web-c1")...)
	s.at(29 * time.Second)
	r = append(r, s.recs(engine.PhaseFinished{Phase: engine.PhaseCanary, Batch: 1, Passed: 1, OK: true},
		gateAfter(5, engine.GatePhase, engine.PhaseFleet, 1, []string{"web-01"}, []engine.HostSummary{{Host: "web-c1", State: engine.StateDone, Duration: 3500 * time.Millisecond}}))...)
	s.at(31 * time.Second)
	r = append(r, s.recs(engine.GateAnswered{Gate: 5, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseFleet, Batch: 1, Batches: 2, Hosts: []string{"web-01"}})...)
	r = append(r, s.run(engine.PhaseFleet, "web-01", engine.StateDone, "", "applied on web-01")...)
	s.at(35 * time.Second)
	r = append(r, s.recs(engine.PhaseFinished{Phase: engine.PhaseFleet, Batch: 1, Passed: 1, OK: true},
		gateAfter(6, engine.GateBatch, engine.PhaseFleet, 2, []string{"web-02", "web-03", "web-04"}, []engine.HostSummary{{Host: "web-01", State: engine.StateDone, Duration: 3500 * time.Millisecond}}))...)
	s.at(37 * time.Second)
	r = append(r, s.recs(engine.GateAnswered{Gate: 6, Decision: engine.Proceed, User: "oncall"},
		engine.PhaseStarted{Phase: engine.PhaseFleet, Batch: 2, Batches: 2, Hosts: []string{"web-02", "web-03", "web-04"}},
		engine.HostChanged{Host: "web-02", Phase: engine.PhaseFleet, State: engine.StateConnecting, Attempt: 1})...)
	s.at(37500 * time.Millisecond)
	return append(r, s.recs(engine.HostChanged{Host: "web-02", Phase: engine.PhaseFleet, State: engine.StateApplying, Attempt: 1},
		engine.HostChanged{Host: "web-03", Phase: engine.PhaseFleet, State: engine.StateConnecting, Attempt: 1})...)
}

// newTestModel is a console over no stream, with a fixed clock, no arm
// delay and no spinner ticks, sized w×h.
func newTestModel(ctl Controller, w, h int) *Model {
	opts := Options{ID: "20260301-030000-web-abc123", JournalPath: "/var/lib/rollout/20260301-030000-web-abc123.journal",
		Now: func() time.Time { return t0.Add(45 * time.Second) }, ArmDelay: -1}
	if ctl != nil {
		opts.Controller = ctl
		opts.Detach = func() {}
	}
	m := New(opts)
	m.animate = false
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// feed folds records as one batch.
func feed(m *Model, recs []engine.Record) tea.Cmd {
	_, cmd := m.Update(recordsMsg{recs: recs})
	return cmd
}

// press sends keys ("a", "enter", "esc", "R", …) and runs the commands they
// return, feeding results back, as the program would.
func press(t *testing.T, m *Model, keys ...string) (quit bool) {
	t.Helper()
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		quit = run(t, m, cmd) || quit
	}
	return quit
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// run executes a command as the program would (batches included) and feeds
// its message back; it reports whether the program would quit.
func run(t *testing.T, m *Model, cmd tea.Cmd) bool {
	t.Helper()
	if cmd == nil {
		return false
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a command did not return: the model must not block")
	}
	switch msg := msg.(type) {
	case tea.QuitMsg:
		return true
	case tea.BatchMsg:
		quit := false
		for _, c := range msg {
			quit = run(t, m, c) || quit
		}
		return quit
	case nil:
		return false
	default:
		_, next := m.Update(msg)
		return run(t, m, next)
	}
}
