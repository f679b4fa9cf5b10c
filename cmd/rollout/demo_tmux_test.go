package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// demoScreen is a tmux session running the built binary, read as a person
// would read it: capture-pane, polled until the expected text shows.
type demoScreen struct {
	t    *testing.T
	name string
}

func startDemoScreen(t *testing.T, w, h int, args ...string) *demoScreen {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed: the console test needs a real terminal")
	}
	s := &demoScreen{t: t, name: fmt.Sprintf("rollout-demo-test-%d", os.Getpid())}
	cmdline := binary(t) + " " + strings.Join(args, " ") + "; echo EXIT=$?; sleep 600"
	cmd := exec.Command("tmux", "new-session", "-d", "-s", s.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "env", "TERM=xterm-256color", "sh", "-c", cmdline)
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", s.name).Run() })
	return s
}

func (s *demoScreen) capture() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-t", s.name).Output()
	return string(out)
}

// waitFor polls the screen until it shows want, and returns how long it took.
func (s *demoScreen) waitFor(want string, limit time.Duration) time.Duration {
	s.t.Helper()
	start := time.Now()
	for {
		screen := s.capture()
		if strings.Contains(screen, want) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			s.t.Fatalf("after %s the screen does not show %q:\n%s", limit, want, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *demoScreen) keys(k ...string) {
	s.t.Helper()
	if out, err := exec.Command("tmux", append([]string{"send-keys", "-t", s.name}, k...)...).CombinedOutput(); err != nil {
		s.t.Fatalf("send-keys: %v: %s", err, out)
	}
}

// confirm presses y at the open gate until the console takes it: a y
// pressed in the instant a gate opens is refused on purpose ("press y
// again"), so a key meant for the previous screen cannot approve this one.
func (s *demoScreen) confirm(gate int) {
	s.t.Helper()
	open := fmt.Sprintf("Gate %d ", gate)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.keys("y")
		for i := 0; i < 20; i++ {
			screen := s.capture()
			if !strings.Contains(screen, open) {
				return
			}
			if strings.Contains(screen, "press y again") {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
	}
	s.t.Fatalf("gate %d never took y:\n%s", gate, s.capture())
}

// TestDemoConsoleInTmux runs `rollout demo` in a real terminal: the first
// gate must be on screen within seconds, and pressing y at every gate must
// carry the rollout through to the end.
func TestDemoConsoleInTmux(t *testing.T) {
	s := startDemoScreen(t, 100, 30, "demo", "--speed", "10")
	took := s.waitFor("Gate 1", 15*time.Second)
	t.Logf("first gate on screen %s after start", took.Round(time.Millisecond))
	// start, standby, swap, canary, then three fleet batches (1, 6, 17 hosts).
	for gate := 1; gate <= 7; gate++ {
		s.waitFor(fmt.Sprintf("Gate %d ", gate), 30*time.Second)
		s.confirm(gate)
	}
	s.waitFor("SUCCEEDED", 30*time.Second)
	screen := s.capture()
	for _, want := range []string{"fleet ✓", "30 done", "rollout show"} {
		if !strings.Contains(screen, want) {
			t.Errorf("summary lacks %q:\n%s", want, screen)
		}
	}
	s.keys("q")
	s.waitFor("EXIT=0", 15*time.Second)
	if !strings.Contains(s.capture(), "demo fleet: 30 on demo-service 2.0") {
		t.Errorf("after quitting:\n%s", s.capture())
	}
}
