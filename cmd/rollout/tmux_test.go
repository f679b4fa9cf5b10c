package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/tui"
)

// The console in a real terminal: the built binary in tmux, driven by key
// presses, asserted on the captured screen after every step. Each wait
// polls the screen until the text appears; nothing sleeps and hopes.

// tmuxTerm is one tmux session on a server of its own.
type tmuxTerm struct {
	t    *testing.T
	sock string
}

// startTmux runs the binary with args in dir, in a w×h terminal. The
// command line ends by printing the exit code, and the window stays so the
// screen after exit can be read.
func startTmux(t *testing.T, dir string, w, h int, args ...string) *tmuxTerm {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed; the real-terminal tests need it (apt-get install tmux)")
	}
	quoted := []string{shQuote(binary(t))}
	for _, a := range args {
		quoted = append(quoted, shQuote(a))
	}
	name := regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")
	tt := &tmuxTerm{t: t, sock: fmt.Sprintf("rollout-%d-%s-%d", os.Getpid(), name, time.Now().UnixNano()%100000)}
	cmdline := "ROLLOUT_THEME=dark " + strings.Join(quoted, " ") + "; echo EXIT=$?; sleep 3600"
	out, err := exec.Command("tmux", "-L", tt.sock, "-f", "/dev/null", "new-session", "-d", "-s", "t",
		"-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-c", dir, cmdline).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tt.sock, "kill-server").Run() })
	return tt
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// screen is what the terminal shows now.
func (tt *tmuxTerm) screen() string {
	out, err := exec.Command("tmux", "-L", tt.sock, "capture-pane", "-p", "-t", "t").Output()
	if err != nil {
		tt.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

// send presses keys: tmux key names (Enter, Escape) or single characters.
func (tt *tmuxTerm) send(keys ...string) {
	tt.t.Helper()
	for _, k := range keys {
		if out, err := exec.Command("tmux", "-L", tt.sock, "send-keys", "-t", "t", k).CombinedOutput(); err != nil {
			tt.t.Fatalf("send-keys %q: %v: %s", k, err, out)
		}
	}
}

// waitFor polls the screen until it holds every text (or matches every
// regexp written as /…/), and returns it.
func (tt *tmuxTerm) waitFor(wants ...string) string {
	tt.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tt.screen()
		if screenHas(s, wants...) {
			return s
		}
		if time.Now().After(deadline) {
			tt.t.Fatalf("the screen never showed %q; it shows:\n%s", wants, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func screenHas(s string, wants ...string) bool {
	for _, w := range wants {
		if strings.HasPrefix(w, "/") && strings.HasSuffix(w, "/") {
			if !regexp.MustCompile(w[1 : len(w)-1]).MatchString(s) {
				return false
			}
		} else if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// answer presses a gate or confirmation key until the screen shows its
// effect. A panel ignores its key for a moment after it opens (so a key
// typed before it could be read never answers it) and says so: then the
// key is pressed again once that moment (tui.DefaultArmDelay) is over, as
// a person would.
func (tt *tmuxTerm) answer(key string, wants ...string) string {
	tt.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tt.send(key)
	for time.Now().Before(deadline) {
		s := tt.screen()
		if screenHas(s, wants...) {
			return s
		}
		if strings.Contains(s, "again to") {
			time.Sleep(tui.DefaultArmDelay + 50*time.Millisecond)
			if s := tt.screen(); screenHas(s, wants...) {
				return s
			}
			tt.send(key)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tt.t.Fatalf("after %q the screen never showed %q; it shows:\n%s", key, wants, tt.screen())
	return ""
}

// slowFleet makes the fleet's second batch take two seconds a host, long
// enough to pause it while it runs.
func slowFleet(t *testing.T, b *localBed) {
	t.Helper()
	path := filepath.Join(b.dir, "change.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	slow := strings.Replace(string(data), "apply: ", "apply: case {{.Host}} in web-0[2-4]) sleep 2;; esac; ", 1)
	if err := os.WriteFile(path, []byte(slow), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConsoleInTmuxWholeRollout(t *testing.T) {
	b := newLocalBed(t)
	slowFleet(t, b)
	tt := startTmux(t, b.dir, 100, 30, "run", "--state-dir", b.state)
	s := tt.waitFor("Gate 1 · preflight done", "8 hosts · nothing changed yet", "y proceed")
	for _, want := range []string{"test ○ → standby ○ → swap ○ → canary ○ → fleet ○", "fleet    web-[01:04] (4 hosts in 2 batches: 1, 3)"} {
		if !strings.Contains(s, want) {
			t.Errorf("the first gate lacks %q:\n%s", want, s)
		}
	}
	// A second terminal watches, read-only.
	journals, _ := filepath.Glob(filepath.Join(b.state, "*.journal"))
	if len(journals) != 1 {
		t.Fatalf("journals: %v", journals)
	}
	id := strings.TrimSuffix(filepath.Base(journals[0]), ".journal")
	watch := startTmux(t, b.dir, 100, 30, "watch", id, "--state-dir", b.state)
	watch.waitFor("watching (read-only)", "AT GATE 1", "read-only: the engineer running the rollout answers this gate")

	tt.answer("y", "Gate 2 · test passed", "/web-test-1 +test +✓ done/")
	tt.answer("y", "Gate 3 · standby passed", "Next: swap")
	tt.answer("y", "Gate 4 · swap passed", "/⇄ swap +swap +✓ done/")
	tt.answer("y", "Gate 5 · canary passed", "Next: fleet batch 1/2 · 1 host: web-01")
	tt.answer("y", "Gate 6 · fleet batch 1/2 passed", "Next: fleet batch 2/2 · 3 hosts: web-[02:04]")
	tt.answer("y", "RUNNING", "fleet ● 2/2", "/web-02 +fleet +. applying/")
	tt.send("p")
	tt.waitFor("PAUSED", "paused by")
	// Paused: the hosts in flight finish, the last one does not start.
	s = tt.waitFor("/web-02 +fleet +✓ done/", "/web-03 +fleet +✓ done/")
	if !screenHas(s, "PAUSED", "/web-04 +fleet +· pending/") {
		t.Fatalf("web-04 started while paused:\n%s", s)
	}
	tt.send("p")
	s = tt.waitFor("SUCCEEDED", "Rollout succeeded", "fleet    4 done")
	if !strings.Contains(s, "rollout show "+id) {
		t.Errorf("the summary does not say how to see the rollout again:\n%s", s)
	}
	watch.waitFor("Rollout succeeded", "SUCCEEDED")
	tt.send("q")
	s = tt.waitFor("EXIT=0", "Rollout succeeded", "journal  ")
	for _, h := range localHosts {
		if b.version(h) != "2" || b.applied(h) != 1 {
			t.Errorf("%s: version %q, applied %d times", h, b.version(h), b.applied(h))
		}
	}
	watch.send("q")
	watch.waitFor("EXIT=0")
}

func TestConsoleInTmuxRollbackFromTheCanaryGate(t *testing.T) {
	b := newLocalBed(t)
	if err := os.MkdirAll(filepath.Join(b.dir, "fail"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "fail", "web-c1"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tt := startTmux(t, b.dir, 100, 30, "run", "--state-dir", b.state)
	tt.waitFor("Gate 1 · preflight done")
	tt.answer("y", "Gate 2 · test passed")
	tt.answer("y", "Gate 3 · standby passed")
	tt.answer("y", "Gate 4 · swap passed")
	s := tt.answer("y", "CANARY FAILED · GATE 5", "web-c1 failed after", "t retry failed")
	if strings.Contains(s, "y proceed") {
		t.Fatalf("the failed gate offers proceed:\n%s", s)
	}
	// y and enter at a failed gate do nothing; ? then shows the keys were read.
	tt.send("y", "Enter", "?")
	s = tt.waitFor("CANARY FAILED · GATE 5", "look around")
	if strings.Contains(s, "Roll back?") || strings.Contains(s, "RUNNING") {
		t.Fatalf("y at a failed gate did something:\n%s", s)
	}
	tt.send("?")
	// R alone only asks.
	s = tt.answer("R", "Roll back?", "4 hosts in all.", "y roll back 4 hosts")
	for _, want := range []string{"1. canary   web-c1 (1 host)", "2. swap     web-a (1 host)", "3. swap back on local: web-a takes the traffic again",
		"4. standby  web-b (1 host)", "5. test     web-test-1 (1 host)"} {
		if !strings.Contains(s, want) {
			t.Errorf("the rollback question lacks %q:\n%s", want, s)
		}
	}
	for _, h := range []string{"web-test-1", "web-b", "web-a"} {
		if b.version(h) != "2" {
			t.Fatalf("%s was rolled back before the rollback was confirmed", h)
		}
	}
	tt.answer("y", "ROLLED BACK", "Rollout rolled back", "4/4 rolled back")
	tt.send("q")
	tt.waitFor("EXIT=1", "Rollout rolled back")
	for _, h := range []string{"web-test-1", "web-b", "web-a", "web-c1"} {
		if b.version(h) != "1" {
			t.Errorf("%s version %q after rollback, want 1", h, b.version(h))
		}
	}
	for _, h := range []string{"web-01", "web-02", "web-03", "web-04"} {
		if b.applied(h) != 0 {
			t.Errorf("fleet host %s was touched after the canary failed", h)
		}
	}
}

func TestConsoleInTmuxDetachThenResume(t *testing.T) {
	b := newLocalBed(t)
	tt := startTmux(t, b.dir, 100, 30, "run", "--state-dir", b.state)
	tt.waitFor("Gate 1 · preflight done")
	tt.answer("y", "Gate 2 · test passed")
	tt.send("q")
	tt.waitFor("Leave the console?", "d detach", "rollout resume ")
	tt.send("d")
	s := tt.waitFor("EXIT=1", "Rollout interrupted (resumable)")
	if !strings.Contains(s, "go on with: rollout resume") {
		t.Errorf("no way on after a detach:\n%s", s)
	}
	if b.applied("web-test-1") != 1 || b.applied("web-b") != 0 {
		t.Fatalf("applied: web-test-1 %d, web-b %d", b.applied("web-test-1"), b.applied("web-b"))
	}
	// The resumed console starts where the journal left off: the test host
	// done, with its output, not every host pending.
	tt2 := startTmux(t, b.dir, 100, 30, "resume", "--state-dir", b.state)
	s = tt2.waitFor("resumed from the journal", "/web-test-1 +test +✓ done +1 +\\S+ applied on web-test-1/", "test ✓ → standby ○")
	if !strings.Contains(s, "Gate 3 · resumed from the journal") {
		t.Fatalf("the resume gate is not gate 3 (gates 1 and 2 were answered before):\n%s", s)
	}
	tt2.answer("y", "Gate 4 · standby passed")
	tt2.answer("y", "Gate 5 · swap passed")
	tt2.answer("y", "Gate 6 · canary passed")
	tt2.answer("y", "Gate 7 · fleet batch 1/2 passed")
	tt2.answer("y", "SUCCEEDED")
	tt2.waitFor("SUCCEEDED", "Rollout succeeded")
	tt2.send("q")
	tt2.waitFor("EXIT=0")
	for _, h := range localHosts {
		if b.version(h) != "2" || b.applied(h) != 1 {
			t.Errorf("%s: version %q, applied %d times", h, b.version(h), b.applied(h))
		}
	}
}

func TestConsoleInTmuxSigtermRestoresTheTerminal(t *testing.T) {
	b := newLocalBed(t)
	tt := startTmux(t, b.dir, 100, 30, "run", "--state-dir", b.state)
	tt.waitFor("Gate 1 · preflight done")
	tt.answer("y", "Gate 2 · test passed")
	data, err := os.ReadFile(filepath.Join(b.state, "locks", "web.lock"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct{ PID int }
	if err := json.Unmarshal(data, &lock); err != nil || lock.PID == 0 {
		t.Fatalf("lock %q: %v", data, err)
	}
	if err := syscall.Kill(lock.PID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The console leaves the alternate screen: the summary and the shell's
	// line are on the normal screen, the panel is gone.
	s := tt.waitFor("EXIT=1", "Rollout interrupted (resumable)", "go on with: rollout resume")
	if strings.Contains(s, "╭─") || strings.Contains(s, "HOST       PHASE") {
		t.Fatalf("the console's screen is still up after it exited:\n%s", s)
	}
}
