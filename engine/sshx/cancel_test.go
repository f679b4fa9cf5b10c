package sshx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/sshx/sshdtest"
)

// marker is unique to one test, for finding its remote processes.
func marker(t *testing.T) string {
	return fmt.Sprintf("%d", 300000+time.Now().UnixNano()%100000)
}

// A command that outlives its context is stopped: Run returns ctx.Err()
// promptly, every remote process of it is gone soon after (the wrapper kills
// the process group, not just the shell), and the connection still works.
func TestCancelKillsRemoteProcesses(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	for _, tc := range []struct {
		name string
		pty  bool
		line string
	}{
		{"sh", false, "sleep %s; echo never"},
		{"pty", true, "sleep %s; echo never"},
		// TERM is ignored all the way down: SIGKILL after the grace period.
		{"ignores TERM", false, "trap '' TERM; sleep %s; echo never"},
		{"pipeline", false, "sleep %s | cat; echo never"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, newTransport(t, Options{Grace: time.Second}), s.host("web-1", kh))
			m := marker(t)
			ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
			defer cancel()
			start := time.Now()
			var o output
			code, err := c.Run(ctx, engine.Command{Line: fmt.Sprintf(tc.line, m), PTY: tc.pty}, o.add)
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) || code != -1 {
				t.Fatalf("code %d, err %v; want -1, context.DeadlineExceeded", code, err)
			}
			if took > 4*time.Second {
				t.Errorf("Run took %s to return after a 700ms timeout", took)
			}
			waitGone(t, "sleep "+m, 5*time.Second)
			if code, _, err := runCmd(t, c, engine.Command{Line: "echo again"}); err != nil || code != 0 {
				t.Fatalf("the connection is unusable after a cancel: code %d, err %v", code, err)
			}
		})
	}
}

// sshdChild prints the pid of the sshd process that serves the command's
// connection.
const sshdChild = sshdtest.SessionPIDScript

// Killing the server's per-connection process mid-command fails the
// command with ErrConnectionLost at once, not a hang, and the orphaned remote
// command is killed too (its stdin ended).
func TestConnectionLostMidCommand(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{KeepaliveInterval: -1, Grace: time.Second}), s.host("web-1", kh))
	m := marker(t)
	pids := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, engine.Command{Line: sshdChild + "; sleep " + m}, func(st engine.Stream, line []byte) {
			if n, err := strconv.Atoi(strings.TrimSpace(string(line))); err == nil && st == engine.Stdout {
				pids <- n
			}
		})
		done <- err
	}()
	var pid int
	select {
	case pid = <-pids:
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no pid printed")
	}
	if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); !strings.HasPrefix(string(b), "sshd") {
		t.Fatalf("pid %d is %q, not an sshd process", pid, b)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, engine.ErrConnectionLost) {
			t.Fatalf("err = %v, want ErrConnectionLost", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still waiting 5s after the server process died")
	}
	waitGone(t, "sleep "+m, 5*time.Second)
	if _, _, err := runCmd(t, c, engine.Command{Line: "true"}); !errors.Is(err, engine.ErrConnectionLost) {
		t.Fatalf("next Run: err = %v, want ErrConnectionLost", err)
	}
}

// A peer that stops answering (its sshd process stopped, the TCP connection
// still open) is found dead by keepalives within about two intervals: the
// pending Run fails with ErrConnectionLost.
func TestKeepaliveDetectsDeadPeer(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	const interval = 300 * time.Millisecond
	c := dial(t, newTransport(t, Options{KeepaliveInterval: interval, Grace: time.Second}), s.host("web-1", kh))
	m := marker(t)
	pids := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), engine.Command{Line: sshdChild + "; sleep " + m}, func(st engine.Stream, line []byte) {
			if n, err := strconv.Atoi(strings.TrimSpace(string(line))); err == nil {
				pids <- n
			}
		})
		done <- err
	}()
	var pid int
	select {
	case pid = <-pids:
	case <-time.After(10 * time.Second):
		t.Fatal("no pid printed")
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Let it go: it finds its connection closed and exits, and the
		// remote command's stdin ends with it.
		_ = syscall.Kill(pid, syscall.SIGCONT)
		waitGone(t, "sleep "+m, 10*time.Second)
	}()
	stopped := time.Now()
	select {
	case err := <-done:
		took := time.Since(stopped)
		if !errors.Is(err, engine.ErrConnectionLost) || !strings.Contains(err.Error(), "keepalive") {
			t.Fatalf("err = %v, want ErrConnectionLost from keepalives", err)
		}
		// Two intervals, and one more for scheduling on a loaded machine.
		if took > 3*interval+500*time.Millisecond {
			t.Errorf("dead peer found after %s, want about %s", took, 2*interval)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still waiting 10s after the peer stopped")
	}
}

// A cancel against a peer that stopped answering still returns within about
// two grace periods: the connection is given up.
func TestCancelAgainstStoppedPeer(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{KeepaliveInterval: -1, Grace: 500 * time.Millisecond}), s.host("web-1", kh))
	m := marker(t)
	pids := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, engine.Command{Line: sshdChild + "; sleep " + m}, func(st engine.Stream, line []byte) {
			if n, err := strconv.Atoi(strings.TrimSpace(string(line))); err == nil {
				pids <- n
			}
		})
		done <- err
	}()
	pid := <-pids
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(pid, syscall.SIGCONT)
		waitGone(t, "sleep "+m, 10*time.Second)
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still waiting 5s after cancel")
	}
	if _, _, err := runCmd(t, c, engine.Command{Line: "true"}); !errors.Is(err, engine.ErrConnectionLost) {
		t.Fatalf("next Run: err = %v, want ErrConnectionLost", err)
	}
}
