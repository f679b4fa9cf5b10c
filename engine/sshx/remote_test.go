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

// chainWrapper is wrapperChain running locally, as sshd would run it, with
// its stdin held open and its stdout and stderr read a command at a time
// through frame readers, as the client reads them.
type chainWrapper struct {
	x         *exec.Cmd
	stdin     io.WriteCloser
	term      string
	out, errs *frameReader
}

func startChain(t *testing.T, leader bool) *chainWrapper {
	t.Helper()
	term := "rollout-" + marker(t)
	x := exec.Command("sh", "-c", warmCommand(term, time.Second))
	x.SysProcAttr = &syscall.SysProcAttr{Setsid: leader}
	stdin, err := x.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := x.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := x.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = x.Process.Kill(); _, _ = x.Process.Wait() })
	return &chainWrapper{x: x, stdin: stdin, term: term,
		out: newFrameReader(stdout, term+":"), errs: newFrameReader(stderr, term+":")}
}

// send writes a command to the wrapper, as warmInput makes it.
func (w *chainWrapper) send(t *testing.T, line string, more bool) {
	t.Helper()
	in, ok := warmInput(line, w.term, more)
	if !ok {
		t.Fatalf("%q cannot be sent", line)
	}
	if _, err := io.WriteString(w.stdin, in); err != nil {
		t.Fatal(err)
	}
}

// result reads one command's stdout and stderr, to their frames or to
// their end, and the status in the frame; framed says both frames came.
func (w *chainWrapper) result(t *testing.T) (stdout, stderr string, status int, framed bool) {
	t.Helper()
	var o, e strings.Builder
	w.out.next()
	w.errs.next()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(&o, w.out); done <- struct{}{} }()
	go func() { _, _ = io.Copy(&e, w.errs); done <- struct{}{} }()
	for range 2 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("no end of the command's output within 10s")
		}
	}
	st, ok := w.out.status()
	return o.String(), e.String(), st, ok && w.errs.framed
}

// The chain wrapper runs each command it reads, with the command's output
// and status framed, and the next command after it, in both of the
// wrapper's forms; a command without "+", or one that fails, ends the
// wrapper with its status.
func TestChainWrapperRunsCommandsInTurn(t *testing.T) {
	for _, last := range []struct {
		line   string
		more   bool
		out    string
		status int
	}{
		{"echo last", false, "last\n", 0},
		{"echo failed; exit 3", true, "failed\n", 3},
		{"kill -s TERM $$", true, "", 128 + 15},
	} {
		for _, leader := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/leader=%v", last.line, leader), func(t *testing.T) {
				w := startChain(t, leader)
				for _, step := range []struct {
					line      string
					more      bool
					out, errs string
				}{
					{"echo out; echo err >&2; printf 'no newline'", true, "out\nno newline", "err\n"},
					{"true", true, "", ""},
					{last.line, last.more, last.out, ""},
				} {
					w.send(t, step.line, step.more)
					o, e, st, framed := w.result(t)
					want := step.line != last.line
					if o != step.out || e != step.errs || framed != want || (framed && st != 0) {
						t.Fatalf("%q: stdout %q stderr %q status %d framed %v; want %q %q 0 %v", step.line, o, e, st, framed, step.out, step.errs, want)
					}
				}
				if code := exitCode(t, w.x); code != last.status {
					t.Fatalf("exit %d, want the last command's %d", code, last.status)
				}
			})
		}
	}
}

// "TERM" on stdin stops the command that is running, and the wrapper ends
// with its status: nothing follows a command stopped. End of file where a
// command is awaited ends the wrapper quietly, running nothing.
func TestChainWrapperStopsTheRunningCommand(t *testing.T) {
	for _, leader := range []bool{true, false} {
		t.Run(fmt.Sprintf("leader=%v", leader), func(t *testing.T) {
			w := startChain(t, leader)
			w.send(t, "echo first", true)
			if o, _, st, framed := w.result(t); o != "first\n" || st != 0 || !framed {
				t.Fatalf("first: stdout %q status %d framed %v", o, st, framed)
			}
			m := marker(t)
			w.send(t, "sleep "+m+"; echo never", true)
			waitFor(t, "the command to start", 5*time.Second, func() bool { return len(processes("sleep "+m)) > 0 })
			io.WriteString(w.stdin, stdinTerm)
			if o, _, _, framed := w.result(t); framed || strings.Contains(o, "never") {
				t.Fatalf("stopped: stdout %q framed %v; want neither", o, framed)
			}
			if code := exitCode(t, w.x); code < 128 {
				t.Fatalf("exit %d, want the stopped command's death by signal (128+n)", code)
			}
			waitGone(t, "sleep "+m, 3*time.Second)

			w = startChain(t, leader)
			w.stdin.Close()
			if code := exitCode(t, w.x); code != 0 {
				t.Fatalf("exit %d at end of file, want 0", code)
			}
		})
	}
}

// A command with "+" that leaves processes running is not framed: the
// wrapper exits with its status, so its output is read to its end — the
// end of every process that holds it — as a session of its own would be,
// and what it left runs on.
func TestChainWrapperEndsWhereACommandLeavesProcesses(t *testing.T) {
	for _, leader := range []bool{true, false} {
		t.Run(fmt.Sprintf("leader=%v", leader), func(t *testing.T) {
			left := marker(t) + "1"
			t.Cleanup(func() { _ = exec.Command("pkill", "-f", "sleep "+left).Run() })
			w := startChain(t, leader)
			w.send(t, "echo a; (sleep 0.3; echo late) & sleep "+left+" >/dev/null 2>&1 &", true)
			o, _, _, framed := w.result(t)
			if framed || o != "a\nlate\n" {
				t.Fatalf("stdout %q, framed %v; want a and late, unframed", o, framed)
			}
			if code := exitCode(t, w.x); code != 0 {
				t.Fatalf("exit %d, want the command's 0", code)
			}
			if len(processes("sleep "+left)) == 0 {
				t.Fatal("what the command left running was stopped")
			}
		})
	}
}

// A line that holds either terminator as a line of its own, or is too
// long, is not sent to a warm session: it would end the command early, or
// be slow to read. Elsewhere the terminator may appear.
func TestWarmInput(t *testing.T) {
	const term = "rollout-T"
	for _, tc := range []struct {
		line string
		more bool
		want string // "" for refused
	}{
		{"echo a", false, "echo a\n" + term + "\n"},
		{"echo a", true, "echo a\n" + term + "+\n"},
		{"echo " + term + "+", true, "echo " + term + "+\n" + term + "+\n"},
		{"cat <<E\n" + term + "\nE", false, ""},
		{"cat <<E\n" + term + "+\nE", true, ""},
		{term + "+", false, ""},
		{strings.Repeat("x", maxWarmLine+1), false, ""},
	} {
		got, ok := warmInput(tc.line, term, tc.more)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("warmInput(%.40q, %v) = %q, %v; want %q", tc.line, tc.more, got, ok, tc.want)
		}
	}
}
