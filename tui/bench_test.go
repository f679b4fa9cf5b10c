package tui

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rolloutconsole/rollout/engine"
)

// fleetNames is n fleet host names.
func fleetNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("fleet-%05d.example.com", i+1)
	}
	return out
}

// bigRollout is the records of a rollout of n fleet hosts (plus the five
// of the local example) in the middle of its third fleet batch: batches of
// 1, 10%, 50% and the rest; the first two passed, the third half done and
// a few hundred hosts in flight.
func bigRollout(n int) ([]engine.Record, []string) {
	hosts := fleetNames(n)
	lay := layout(1)
	b2 := max(1, n/10)
	b3 := n / 2
	lay[4].Batches = [][]string{hosts[:1], hosts[1 : 1+b2], hosts[1+b2 : 1+b2+b3], hosts[1+b2+b3:]}
	st := started(1)
	st.Phases = lay
	s := newScript()
	recs := s.recs(st)
	for _, h := range []string{"web-test-1", "web-b", "web-a", "web-c1"} {
		recs = append(recs, s.recs(hostRun(engine.PhaseTest, h, engine.StateDone, "", "ok")...)...)
	}
	recs = append(recs, s.recs(engine.PhaseStarted{Phase: engine.PhaseFleet, Batch: 3, Batches: 4, Hosts: lay[4].Batches[2]})...)
	for i, h := range hosts[:1+b2+b3] {
		switch {
		case i < 1+b2+b3/2:
			recs = append(recs, s.recs(hostRun(engine.PhaseFleet, h, engine.StateDone, "", "Setting up nginx (1.25.3-1) ...")...)...)
		case i < 1+b2+b3/2+300:
			recs = append(recs, s.recs(engine.HostChanged{Host: h, Phase: engine.PhaseFleet, State: engine.StateApplying, Attempt: 1},
				engine.HostOutput{Host: h, Lines: []string{"Unpacking nginx-common (1.25.3-1) over (1.24.0-1) ..."}})...)
		}
	}
	return recs, hosts
}

// benchModel is a 200×50 console over bigRollout(n), the cursor on a
// running host whose scrollback is full.
func benchModel(tb testing.TB, n int) (*Model, []string) {
	tb.Helper()
	m := newTestModel(&fakeCtl{}, 200, 50)
	recs, hosts := bigRollout(n)
	feed(m, recs)
	sel := hosts[1+n/10+n/4+1]
	m.table.selectHost(sel)
	lines := make([]string, DefaultScrollback)
	for i := range lines {
		lines[i] = fmt.Sprintf("%s: Unpacking nginx-module-%04d (1.25.3-1) over (1.24.0-1) ...", sel, i)
	}
	feed(m, []engine.Record{{Seq: m.c.st.LastSeq + 1, Time: t0, Event: engine.HostOutput{Host: sel, Lines: lines}}})
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
	if m.table.selected() != sel || m.inFlight() < 200 {
		tb.Fatalf("selected %q, in flight %d", m.table.selected(), m.inFlight())
	}
	return m, hosts
}

// BenchmarkView is one frame of a 10,000-host rollout at 200×50: only the
// rows and log lines on screen are drawn. Target: under 2 ms.
func BenchmarkView(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			m, _ := benchModel(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = m.View()
			}
		})
	}
}

// BenchmarkFrame is what one frame costs at 10,000 hosts when a host
// changed state since the last: the fold, then a View that counts the
// batch running (5,000 hosts) again.
func BenchmarkFrame(b *testing.B) {
	m, hosts := benchModel(b, 10000)
	h := hosts[1+1000+2500+10] // running, in the batch
	states := []engine.HostState{engine.StateVerifying, engine.StateApplying}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Update(recordsMsg{recs: []engine.Record{{Seq: int64(i), Time: t0, Event: engine.HostChanged{Host: h, Phase: engine.PhaseFleet, State: states[i%2], Attempt: 1}}}})
		_ = m.View()
	}
}

// BenchmarkUpdateOutputLine is one output line arriving at a 10,000-host
// console: the fold, the log, the keys and the layout. Target: under 20 µs.
func BenchmarkUpdateOutputLine(b *testing.B) {
	for _, which := range []string{"other host", "selected host"} {
		b.Run(which, func(b *testing.B) {
			m, hosts := benchModel(b, 10000)
			target := func(i int) string { return hosts[i%len(hosts)] }
			if which == "selected host" {
				sel := m.table.selected()
				target = func(int) string { return sel }
			}
			msgs := make([]recordsMsg, 4096)
			for i := range msgs {
				msgs[i] = recordsMsg{recs: []engine.Record{{Time: t0, Event: engine.HostOutput{Host: target(i),
					Lines: []string{"Unpacking nginx-module-0042 (1.25.3-1) over (1.24.0-1) ..."}}}}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				msg := msgs[i%len(msgs)]
				msg.recs[0].Seq = int64(i)
				m.Update(msg)
			}
		})
	}
}

// BenchmarkMemoryPerHost fills 1,000 hosts' scrollback (1,000 lines of 80
// bytes each) and reports the heap it takes per host, the line text
// included, and the console's own overhead beyond the text.
func BenchmarkMemoryPerHost(b *testing.B) {
	const hosts, lineLen = 1000, 80
	names := fleetNames(hosts)
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := newTestModel(&fakeCtl{}, 200, 50)
		st := started(1)
		st.Phases[4].Batches = [][]string{names}
		feed(m, newScript().recs(st))
		for _, h := range names {
			lines := make([]string, DefaultScrollback)
			for k := range lines {
				lines[k] = fmt.Sprintf("%-*s", lineLen, fmt.Sprintf("%s line %d", h, k))
			}
			m.apply(engine.Record{Time: t0, Event: engine.HostOutput{Host: h, Lines: lines}})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / hosts
		b.ReportMetric(per, "bytes/host")
		b.ReportMetric(per-float64(DefaultScrollback*lineLen), "overhead-bytes/host")
		runtime.KeepAlive(m)
	}
}

// streamOutput sends output as the engine would for hosts printing 100
// lines a second each: every 10 ms, a tenth of the hosts flush 10 lines.
// It closes ch when stop closes.
func streamOutput(ch chan<- engine.Record, names []string, rec func(engine.Event) engine.Record, stop <-chan struct{}, lines *atomic.Int64) {
	defer close(ch)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	n := len(names)
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for _, h := range names[(k%10)*n/10 : (k%10+1)*n/10] {
			out := make([]string, 10)
			for i := range out {
				out[i] = fmt.Sprintf("%s: Unpacking nginx-module-%06d (1.25.3-1) ...", h, k*10+i)
			}
			ch <- rec(engine.HostOutput{Host: h, Lines: out})
			lines.Add(10)
		}
	}
}

// latencyWriter is a terminal that notes when a text first reaches it.
type latencyWriter struct {
	mu    sync.Mutex
	want  []byte
	since time.Time
	buf   []byte
	seen  chan time.Duration
}

func (w *latencyWriter) expect(s string) {
	w.mu.Lock()
	w.want, w.since, w.buf = []byte(s), time.Now(), w.buf[:0]
	w.mu.Unlock()
}

func (w *latencyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.want != nil {
		w.buf = append(w.buf, p...)
		if bytes.Contains(w.buf, w.want) {
			w.seen <- time.Since(w.since)
			w.want = nil
		}
	}
	return len(p), nil
}

// stressRun is one stress run's figures.
type stressRun struct {
	lat   []time.Duration // sorted
	rate  float64         // lines per second the console took in
	taken time.Duration
}

func (r stressRun) worst() time.Duration { return r.lat[len(r.lat)-1] }

func (r stressRun) String() string {
	return fmt.Sprintf("%d keys over %s while 1,000 hosts streamed %.0f lines/s: key-to-screen p50 %s, p99 %s, worst %s",
		len(r.lat), r.taken.Round(time.Millisecond), r.rate, r.lat[len(r.lat)/2], r.lat[len(r.lat)*99/100], r.worst())
}

// TestStressKeyLatency: 1,000 hosts each print 100 lines a second (the
// engine flushes a host's lines every 100 ms, so 10,000 records of 10 lines
// a second) for 10 s, while a key moves the cursor every 100 ms. The
// latency is from the key to the new cursor row reaching the terminal.
// Target: worst under 100 ms. On a shared machine a neighbour can steal
// the CPU for longer than that, so a run over the target is tried again
// (three runs at most) and every run is logged.
// Run: go test ./tui -run StressKeyLatency -v
func TestStressKeyLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("stress: 10 s")
	}
	dur, limit := 10*time.Second, 100*time.Millisecond
	if raceEnabled {
		dur, limit = 3*time.Second, time.Second // the race detector slows everything ten times
	}
	var best stressRun
	for try := 1; try <= 3; try++ {
		r := stress(t, 1000, dur)
		t.Logf("run %d: %s", try, r)
		if best.lat == nil || r.worst() < best.worst() {
			best = r
		}
		if best.worst() <= limit {
			break
		}
	}
	if best.worst() > limit {
		t.Errorf("worst key-to-screen latency %s in the best of three runs, want under %s", best.worst(), limit)
	}
	if best.rate < 50000 && !raceEnabled {
		t.Errorf("the console kept up with only %.0f lines/s of the 100,000 sent", best.rate)
	}
}

// stress runs the console over hosts streaming output for dur, pressing j
// every 100 ms, and measures each key's way to the screen.
func stress(t *testing.T, hosts int, dur time.Duration) stressRun {
	names := fleetNames(hosts)
	ch := make(chan engine.Record, 256)
	m := New(Options{Records: ch, Controller: &fakeCtl{}, Now: time.Now, ArmDelay: -1, Inline: true})
	w := &latencyWriter{seen: make(chan time.Duration, 1)}
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(w), tea.WithoutSignalHandler())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	p.Send(tea.WindowSizeMsg{Width: 160, Height: 50})
	st := started(1)
	st.Phases[4].Batches = [][]string{names}
	var seq atomic.Int64
	rec := func(e engine.Event) engine.Record {
		return engine.Record{Seq: seq.Add(1), Time: time.Now(), Event: e}
	}
	ch <- rec(st)
	ch <- rec(engine.PhaseStarted{Phase: engine.PhaseFleet, Batch: 1, Batches: 1, Hosts: names})
	for _, h := range names {
		ch <- rec(engine.HostChanged{Host: h, Phase: engine.PhaseFleet, State: engine.StateApplying, Attempt: 1})
	}
	var lines atomic.Int64
	stop := make(chan struct{})
	go streamOutput(ch, names, rec, stop, &lines)
	time.Sleep(200 * time.Millisecond) // let the stream start
	var r stressRun
	start := time.Now()
	// The cursor follows the fleet's start to its first host; each j moves
	// it one host on.
	keys := time.NewTicker(100 * time.Millisecond)
	defer keys.Stop()
	for i := 1; time.Since(start) < dur; i++ {
		<-keys.C
		w.expect("▸ " + names[i])
		p.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("j")})
		select {
		case d := <-w.seen:
			r.lat = append(r.lat, d)
		case <-time.After(5 * time.Second):
			t.Fatalf("key %d never reached the screen", i)
		}
	}
	r.taken = time.Since(start)
	r.rate = float64(lines.Load()) / r.taken.Seconds()
	close(stop)
	p.Quit()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slices.Sort(r.lat)
	return r
}
