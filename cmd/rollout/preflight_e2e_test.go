package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/demo"
)

// The tests of issue 9's features drive the built binary in plain mode on
// the embedded demo fleet (and, for the remote lock, a real sshd), and
// judge the run by its journal (engine.ReadJournal, engine.Fold) and by what
// is left on the hosts: each demo host's version file and deploy log.
// Where a test must answer a gate only once it is open, it polls the
// journal for the gate; nothing sleeps and hopes.

// journalIn reads the journal the plain output names ("journal: PATH").
func journalIn(t *testing.T, out string) []engine.Record {
	t.Helper()
	path := between(out, "journal: ", "\n")
	if path == "" {
		t.Fatalf("no journal path in:\n%s", out)
	}
	rp, err := engine.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Damage != nil {
		t.Errorf("journal damaged: %v", rp.Damage)
	}
	return rp.Records
}

// eventsOf is every event of type T in the records, in order.
func eventsOf[T engine.Event](recs []engine.Record) []T {
	var out []T
	for _, r := range recs {
		if e, ok := r.Event.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// gateNumbered is the gate with number n, and the answer it got.
func gateNumbered(t *testing.T, recs []engine.Record, n int) (engine.GateReached, []engine.GateAnswered) {
	t.Helper()
	var g *engine.GateReached
	for _, e := range eventsOf[engine.GateReached](recs) {
		if e.Gate == n {
			g = &e
		}
	}
	if g == nil {
		t.Fatalf("no gate %d in the journal", n)
	}
	var answers []engine.GateAnswered
	for _, a := range eventsOf[engine.GateAnswered](recs) {
		if a.Gate == n {
			answers = append(answers, a)
		}
	}
	return *g, answers
}

// gateBlock is what the plain console printed for gate n: from its
// "== gate n" line up to the answer's "gate n:" line, or to the end of out
// while it is open.
func gateBlock(t *testing.T, out string, n int) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, fmt.Sprintf("== gate %d:", n))
	if !ok {
		t.Fatalf("no gate %d in the output:\n%s", n, out)
	}
	block, _, _ := strings.Cut(rest, fmt.Sprintf(" gate %d: ", n))
	return block
}

// osUser is who the engine records as taking decisions: the OS user.
func osUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// demoFile reads a file of a demo host's sandbox; "" when it is not there.
func demoFile(dir, host, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "hosts", host, name))
	return string(b)
}

// demoProc is `rollout demo --plain --keep` running in the background, its
// answers written to stdin as the test goes.
type demoProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   syncBuffer // stdout and stderr
	done  chan struct{}
}

// startDemo starts the demo at speed 20 with its own state dir.
func startDemo(t *testing.T, args ...string) *demoProc {
	t.Helper()
	dir := t.TempDir()
	full := append([]string{"demo", "--plain", "--keep", "--speed", "20", "--state-dir", filepath.Join(dir, "state")}, args...)
	p := &demoProc{t: t, cmd: exec.Command(binary(t), full...), done: make(chan struct{})}
	p.cmd.Dir = dir
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if d := between(p.out.String(), "demo fleet kept in ", " ("); d != "" {
			os.RemoveAll(d)
		}
	})
	return p
}

// send writes one answer line.
func (p *demoProc) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("answer %q: %v\n%s", line, err, p.out.String())
	}
}

// waitJournal polls the demo's journal until ready holds for its records.
func (p *demoProc) waitJournal(what string, ready func([]engine.Record) bool) []engine.Record {
	p.t.Helper()
	waitOutput(p.t, &p.out, "journal: ")
	return waitJournalFile(p.t, between(p.out.String(), "journal: ", "\n"), what, ready)
}

// waitJournalFile polls a journal until ready holds for its records, and
// returns them.
func waitJournalFile(t *testing.T, path, what string, ready func([]engine.Record) bool) []engine.Record {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if rp, err := engine.ReadJournal(path); err == nil && ready(rp.Records) {
			return rp.Records
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in %s after 30s", what, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gateOpen waits until gate n is in the journal.
func (p *demoProc) gateOpen(n int) []engine.Record {
	p.t.Helper()
	return p.waitJournal(fmt.Sprintf("gate %d", n), func(recs []engine.Record) bool {
		return slices.ContainsFunc(eventsOf[engine.GateReached](recs), func(g engine.GateReached) bool { return g.Gate == n })
	})
}

// exit closes stdin, waits for the demo to end and returns its exit code,
// output and the fleet's directory.
func (p *demoProc) exit() (int, string, string) {
	p.t.Helper()
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("the demo did not exit:\n%s", p.out.String())
	}
	out := p.out.String()
	dir := between(out, "demo fleet kept in ", " (")
	if dir == "" {
		p.t.Fatalf("no fleet dir in the output:\n%s", out)
	}
	return p.cmd.ProcessState.ExitCode(), out, dir
}

// Preflight reaches every host before anything changes. A host whose SSH
// server is down is named unreachable at the first gate, the preflight
// gate; proceeding excludes it, with the reason and who decided in the
// journal and in rollout show, and the rollout goes through every other
// host. The down host is never touched.
func TestPreflightExcludesAnUnreachableHost(t *testing.T) {
	// Gates: preflight, standby, swap, canary, 3 fleet batches.
	out, code, dir := demoRun(t, strings.Repeat("y\n", 7), "--hosts", "6", "--down", "fleet-03")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	recs := journalIn(t, out)
	me := osUser(t)

	g, answers := gateNumbered(t, recs, 1)
	if g.Kind != engine.GatePreflight || g.Preflight == nil {
		t.Fatalf("gate 1 is a %s gate with report %+v, want the preflight gate", g.Kind, g.Preflight)
	}
	pf := g.Preflight
	if len(pf.Unreachable) != 1 || pf.Unreachable[0].Host != "fleet-03" || !strings.Contains(pf.Unreachable[0].Error, "connection refused") {
		t.Errorf("preflight unreachable %+v, want fleet-03 refusing connections", pf.Unreachable)
	}
	if pf.Checked != 12 || pf.OK != 11 || pf.Blocking != "" || pf.Drift {
		t.Errorf("preflight report: %d checked, %d ok, blocking %q, drift %v; want 12, 11, none, none", pf.Checked, pf.OK, pf.Blocking, pf.Drift)
	}
	if !slices.Contains(g.Options, engine.Proceed) || !slices.Contains(g.Options, engine.Exclude) {
		t.Errorf("the preflight gate offers %v, want proceed and exclude", g.Options)
	}
	if len(answers) != 1 || answers[0].Decision != engine.Proceed || answers[0].Auto || answers[0].User != me {
		t.Errorf("gate 1 answered %+v, want proceed by %s", answers, me)
	}
	block := gateBlock(t, out, 1)
	if !strings.Contains(block, "fleet-03") || !strings.Contains(block, "unreachable") {
		t.Errorf("the preflight gate does not name fleet-03 unreachable:\n%s", block)
	}

	// The exclusion: journaled with who and why, the host skipped, nothing
	// ever started on it.
	excluded := eventsOf[engine.HostExcluded](recs)
	if len(excluded) != 1 || excluded[0].Host != "fleet-03" || excluded[0].User != me ||
		!strings.HasPrefix(excluded[0].Reason, "preflight: unreachable: ") || !strings.Contains(excluded[0].Reason, "connection refused") {
		t.Fatalf("exclusions %+v, want fleet-03 by %s for being unreachable", excluded, me)
	}
	for _, h := range eventsOf[engine.HostChanged](recs) {
		if h.Host == "fleet-03" && h.State != engine.StateSkipped {
			t.Errorf("fleet-03 was started: %+v", h)
		}
	}
	st := engine.Fold(recs)
	if st.Outcome != engine.OutcomeSucceeded {
		t.Errorf("outcome %s", st.Outcome)
	}
	for _, name := range st.Order {
		hs := st.Hosts[name]
		if name == "fleet-03" {
			if hs.State != engine.StateSkipped || hs.Excluded != excluded[0].Reason || hs.Preflight != "unreachable" {
				t.Errorf("fleet-03 ended %s (excluded %q, preflight %q)", hs.State, hs.Excluded, hs.Preflight)
			}
			continue
		}
		if hs.State != engine.StateDone || hs.Preflight != "ok" {
			t.Errorf("%s ended %s, preflight %q", name, hs.State, hs.Preflight)
		}
	}
	if !slices.ContainsFunc(st.Audit, func(a engine.AuditEntry) bool {
		return a.What == "exclude fleet-03" && a.User == me && a.Reason == excluded[0].Reason
	}) {
		t.Errorf("the audit trail lacks the exclusion: %+v", st.Audit)
	}

	// The hosts themselves.
	for _, h := range demoHosts(dir) {
		v := demoVersion(t, dir, h)
		if h == "fleet-03" {
			if v != demo.StartVersion(h) || demoFile(dir, h, "deploys") != "" {
				t.Errorf("fleet-03 was touched: on %s, deploys %q", v, demoFile(dir, h, "deploys"))
			}
			continue
		}
		if v != demo.NewVersion {
			t.Errorf("%s on %s, want %s", h, v, demo.NewVersion)
		}
	}

	// rollout show says who took fleet-03 out, and why.
	id := st.ID
	show, errOut, code := newLocalBed(t).runIn(filepath.Dir(between(out, "journal: ", "\n")), "show", id)
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, errOut)
	}
	row := lineWith(show, "fleet-03 ")
	if !strings.Contains(row, "skipped") || !strings.Contains(row, "preflight: unreachable") {
		t.Errorf("show's fleet-03 row does not say it was excluded and why: %q\n%s", row, show)
	}
	if line := lineWith(show, "exclude fleet-03"); !strings.Contains(line, "by "+me) || !strings.Contains(line, "connection refused") {
		t.Errorf("show's decisions do not say who excluded fleet-03 and why: %q\n%s", line, show)
	}
}

// runIn runs the binary with the state dir state; for commands that read
// another run's journals.
func (b *localBed) runIn(state string, args ...string) (string, string, int) {
	b.t.Helper()
	saved := b.state
	b.state = state
	defer func() { b.state = saved }()
	return b.run("", args...)
}

// lineWith is the first line of text holding s, or "".
func lineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// A test host on another OS release than production is drift: the
// preflight gate shows the fingerprint of the test hosts beside
// production's, and --yes does not answer it (it answers every other
// gate). The engineer's y is journaled as theirs, not --yes's.
func TestPreflightDriftIsNeverAnsweredByYes(t *testing.T) {
	p := startDemo(t, "--yes", "--hosts", "4", "--drift", "test-1")
	recs := p.gateOpen(1)
	g, _ := gateNumbered(t, recs, 1)
	if g.Kind != engine.GatePreflight || g.Preflight == nil || !g.Preflight.Drift {
		t.Fatalf("gate 1: %s gate, report %+v; want the preflight gate with drift", g.Kind, g.Preflight)
	}
	rows := map[string]engine.FingerprintRow{}
	for _, r := range g.Preflight.Fingerprints {
		rows[r.Name] = r
	}
	osRow := rows["os"]
	if !osRow.Differs || fmt.Sprint(osRow.Test) != fmt.Sprint([]engine.ValueGroup{{Value: "debian 12", Count: 1, Hosts: []string{"test-2"}}, {Value: "debian 13", Count: 1, Hosts: []string{"test-1"}}}) ||
		len(osRow.Production) != 1 || osRow.Production[0].Value != "debian 12" || osRow.Production[0].Count != 8 {
		t.Errorf("os fingerprint row %+v, want test-1 on debian 13 beside test-2 and 8 production hosts on debian 12", osRow)
	}
	if svc := rows["service"]; svc.Differs || len(svc.Test) != 1 || len(svc.Production) != 1 || svc.Test[0].Value != svc.Production[0].Value {
		t.Errorf("service fingerprint row %+v, want one checksum everywhere", svc)
	}

	// The gate waits; the console shows the rows and asks.
	waitOutput(t, &p.out, "> \n")
	block := gateBlock(t, p.out.String(), 1)
	for _, want := range []string{"os", `"debian 13"`, `"debian 12"`, "DIFFERS", "DRIFT"} {
		if !strings.Contains(block, want) {
			t.Errorf("the preflight gate lacks %q:\n%s", want, block)
		}
	}
	p.send("y")
	code, out, dir := p.exit()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	recs = journalIn(t, out)
	_, answers := gateNumbered(t, recs, 1)
	if len(answers) != 1 || answers[0].Decision != engine.Proceed || answers[0].Auto || answers[0].User != osUser(t) {
		t.Errorf("gate 1 answered %+v, want one proceed by %s, not by --yes", answers, osUser(t))
	}
	for _, a := range eventsOf[engine.GateAnswered](recs) {
		if a.Gate != 1 && (!a.Auto || a.Decision != engine.Proceed) {
			t.Errorf("gate %d answered %+v, want proceed by --yes", a.Gate, a)
		}
	}
	if !strings.Contains(out, "gate 1: proceed ("+osUser(t)+")") {
		t.Errorf("the output does not say who answered gate 1:\n%s", out)
	}
	if len(eventsOf[engine.HostExcluded](recs)) != 0 {
		t.Errorf("drift excluded a host: %+v", eventsOf[engine.HostExcluded](recs))
	}
	for _, h := range demoHosts(dir) {
		if v := demoVersion(t, dir, h); v != demo.NewVersion {
			t.Errorf("%s on %s, want %s", h, v, demo.NewVersion)
		}
	}
}

// The local example's hosts are directories of one machine, so they share
// one lock directory, as hosts sharing an NFS home do. The lock is taken
// on all of them, and released from all of them at the end: the releases
// run at once, and none may fail or leave anything behind.
func TestLockReleaseOfASharedDirectory(t *testing.T) {
	b := newLocalBed(t)
	out, errOut, code := b.run("", "run", "--plain", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	rel := eventsOf[engine.LockChanged](journalIn(t, out))
	if len(rel) != 2 || !rel[0].Taken || rel[0].Hosts != len(localHosts) || rel[1].Taken || rel[1].Hosts != len(localHosts) || len(rel[1].Failures) != 0 {
		t.Errorf("lock events %+v, want it taken on and released from all %d hosts", rel, len(localHosts))
	}
	locks := filepath.Join(b.dir, ".rollout", "locks")
	if entries, err := os.ReadDir(locks); err != nil || len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left in %s: %v (%v)", locks, names, err)
	}
	if strings.Contains(out, "not released") {
		t.Errorf("the console reports locks not released:\n%s", out)
	}
}

// --yes answers only the gates the engine answers itself: a preflight gate
// with an unreachable host is not one (proceeding excludes the host, a
// decision --yes never takes), so the console must ask, and a script's
// answer given ahead must answer it.
func TestYesAsksAtAPreflightGateWithAnUnreachableHost(t *testing.T) {
	out, code, dir := demoRun(t, "y\n", "--yes", "--hosts", "4", "--down", "fleet-03")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	recs := journalIn(t, out)
	if _, answers := gateNumbered(t, recs, 1); len(answers) != 1 || answers[0].Auto || answers[0].Decision != engine.Proceed {
		t.Errorf("gate 1 answered %+v, want proceed by the script, not --yes", answers)
	}
	if x := eventsOf[engine.HostExcluded](recs); len(x) != 1 || x[0].Host != "fleet-03" {
		t.Errorf("exclusions %+v, want fleet-03", x)
	}
	if demoFile(dir, "fleet-03", "deploys") != "" {
		t.Errorf("fleet-03 was touched")
	}
}

// A script that writes its answers as the rollout goes may write several
// at once while a gate is open: the first answers it, the others are kept
// for the gates that follow, as answers given before their gate are.
func TestScriptedAnswersGivenAtAnOpenGateAreKept(t *testing.T) {
	b := newLocalBed(t)
	cmd, stdin, out := startPlainRun(t, b.dir, b.state)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	waitOutput(t, out, "== gate 1")
	// The local example's six gates, answered in one write.
	if _, err := io.WriteString(stdin, strings.Repeat("y\n", 6)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the rollout did not finish on the script's answers:\n%s", out.String())
	}
	stdin.Close()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
}
