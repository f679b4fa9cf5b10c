package sshx

import (
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

// startWrapped runs cmd under the no-PTY wrapper locally, as sshd would run
// it (a login shell given the exec request), with its stdin held open. With
// leader, in a session of its own, as OpenSSH starts it (the wrapper's
// group form); without, in the test's process group, as a server that
// does not call setsid would (the setsid form).
func startWrapped(t *testing.T, line string, grace time.Duration, leader bool) (*exec.Cmd, io.WriteCloser, *strings.Builder) {
	t.Helper()
	x := exec.Command("sh", "-c", remoteCommand(engine.Command{Line: line}, grace))
	x.SysProcAttr = &syscall.SysProcAttr{Setsid: leader}
	stdin, err := x.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	x.Stdout = &out
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = x.Process.Kill(); _, _ = x.Process.Wait() })
	return x, stdin, &out
}

func exitCode(t *testing.T, x *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- x.Wait() }()
	select {
	case <-done:
		return x.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatal("the wrapper did not exit")
		return -1
	}
}

// The wrapper passes the command's output and exit status through, and
// leaves nothing behind.
func TestWrapperPassesThrough(t *testing.T) {
	for _, leader := range []bool{true, false} {
		x, _, out := startWrapped(t, "echo hello; exit 7", time.Second, leader)
		if code := exitCode(t, x); code != 7 {
			t.Fatalf("leader %v: exit %d, want 7", leader, code)
		}
		if out.String() != "hello\n" {
			t.Fatalf("leader %v: stdout %q", leader, out.String())
		}
	}
}

// "TERM" on stdin stops the whole process group, pipelines and subshells
// included; "KILL" ends what ignores TERM; the end of stdin (the connection
// went away) stops it too.
func TestWrapperStopsProcessGroup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		line  string
		steer func(w io.WriteCloser)
	}{
		{"TERM", "sleep %s | cat; echo never", func(w io.WriteCloser) { io.WriteString(w, stdinTerm) }},
		{"KILL", "trap '' TERM; (sleep %s); echo never", func(w io.WriteCloser) {
			io.WriteString(w, stdinTerm)
			time.Sleep(300 * time.Millisecond)
			io.WriteString(w, stdinKill)
		}},
		{"EOF", "sleep %s; echo never", func(w io.WriteCloser) { w.Close() }},
	} {
		for _, leader := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/leader=%v", tc.name, leader), func(t *testing.T) {
				m := marker(t)
				x, stdin, out := startWrapped(t, strings.ReplaceAll(tc.line, "%s", m), time.Second, leader)
				waitFor(t, "the command to start", 5*time.Second, func() bool {
					for _, p := range processes("sleep " + m) {
						if f := strings.Fields(p); len(f) == 3 && f[1] == "sleep" {
							return true // sleep itself, not just the shells around it
						}
					}
					return false
				})
				tc.steer(stdin)
				// The command's death by signal: its status 128+n, or with
				// KILL in the group form the wrapper's own death by it.
				if code := exitCode(t, x); code < 128 && !(code == -1 && leader && tc.name == "KILL") {
					t.Errorf("exit %d, want death by signal (128+n)", code)
				}
				if strings.Contains(out.String(), "never") {
					t.Errorf("the command ran on: %q", out.String())
				}
				waitGone(t, "sleep "+m, 3*time.Second)
			})
		}
	}
}

// Jump hops take what they do not say from the inventory, then the target.
func TestHopEndpoint(t *testing.T) {
	tr := New(Options{HomeDir: "/home/u", Getenv: func(string) string { return "local" },
		ResolveJump: func(name string) *inventory.Host {
			if name == "bastion" {
				return &inventory.Host{Name: name, Settings: inventory.Settings{Address: "10.0.0.1", Port: 2200, User: "ops", KnownHosts: "/kh"}}
			}
			return nil
		}})
	target := &inventory.Host{Name: "web-1", Settings: inventory.Settings{User: "deploy", IdentityFile: []string{"~/.ssh/id"}}}
	for _, tc := range []struct {
		spec string
		want endpoint
	}{
		{"bastion", endpoint{name: "bastion", addr: "10.0.0.1", port: 2200, user: "ops", identities: []string{"~/.ssh/id"}, knownHosts: "/kh"}},
		{"me@bastion:22", endpoint{name: "bastion", addr: "10.0.0.1", port: 22, user: "me", identities: []string{"~/.ssh/id"}, knownHosts: "/kh"}},
		{"jump.example.com", endpoint{name: "jump.example.com", addr: "jump.example.com", port: 22, user: "deploy", identities: []string{"~/.ssh/id"}}},
		{"j:2222", endpoint{name: "j", addr: "j", port: 2222, user: "deploy", identities: []string{"~/.ssh/id"}}},
	} {
		got := tr.hopEndpoint(tc.spec, target)
		if got.name != tc.want.name || got.addr != tc.want.addr || got.port != tc.want.port || got.user != tc.want.user ||
			strings.Join(got.identities, ",") != strings.Join(tc.want.identities, ",") || got.knownHosts != tc.want.knownHosts {
			t.Errorf("%s: got %+v, want %+v", tc.spec, got, tc.want)
		}
	}
	if got := tr.identity(tr.endpointFor(target)).write; got != "/home/u/.ssh/known_hosts" {
		t.Errorf("fallback known_hosts %q", got)
	}
}
