package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// signalBed writes a one-host inventory and a change whose apply is cmd.
func signalBed(t *testing.T, apply string) (dir, state string) {
	dir = t.TempDir()
	inv := "defaults: {transport: local}\nservices:\n  web:\n    test: [t1]\n    fleet: [f1]\n"
	ch := "name: slow\napply: " + apply + "\nverify: 'true'\nrollback: 'true'\n"
	for f, c := range map[string]string{"inventory.yaml": inv, "change.yaml": ch} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, filepath.Join(dir, "state")
}

// startPlain starts a plain rollout in dir and answers its first gate.
func startPlain(t *testing.T, dir, state string) (*exec.Cmd, *syncBuffer) {
	cmd, stdin, out := startPlainRun(t, dir, state)
	waitOutput(t, out, "== gate 1")
	stdin.Write([]byte("y\n"))
	return cmd, out
}

// startPlainRun starts `rollout run --plain` in dir with its stdin a pipe
// the test writes answers to; stdin is closed and the process killed when
// the test ends.
func startPlainRun(t *testing.T, dir, state string) (*exec.Cmd, io.WriteCloser, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binary(t), "run", "--plain", "--state-dir", state)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stdin, &out
}

// TestSigtermLetsTheHostInFlightFinish: SIGTERM (or SIGHUP) stops new work;
// the host in flight finishes within the grace period, and the rollout is
// left resumable.
func TestSigtermLetsTheHostInFlightFinish(t *testing.T) {
	dir, state := signalBed(t, "sleep 1; echo finished")
	cmd, out := startPlain(t, dir, state)
	waitOutput(t, out, "t1 applying")
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	for _, want := range []string{"t1 | finished", "t1 done", "rollout INTERRUPTED", "go on with: rollout resume"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q\n%s", want, out.String())
		}
	}
}

// TestSecondInterruptAbortsAtOnce: the first ^C waits for the host in
// flight; a second one cancels it now.
func TestSecondInterruptAbortsAtOnce(t *testing.T) {
	marker := "sleep 29" + strings.TrimLeft(time.Now().Format(".000"), ".")
	dir, state := signalBed(t, marker)
	cmd, out := startPlain(t, dir, state)
	waitOutput(t, out, "t1 applying")
	cmd.Process.Signal(os.Interrupt)
	waitOutput(t, out, "in flight get")
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("a second ^C did not stop the rollout\n%s", out.String())
	}
	if !strings.Contains(out.String(), "ABORT") || !strings.Contains(out.String(), "t1 unknown") {
		t.Errorf("output:\n%s", out.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids, _ := exec.Command("pgrep", "-f", marker).Output()
		if len(strings.TrimSpace(string(pids))) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q still running", marker)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
