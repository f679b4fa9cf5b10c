package sshx

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/sshx/sshdtest"
)

// warmed waits until the connection's warm session is ready and says
// whether there is one that started.
func warmed(t *testing.T, c *conn) bool {
	t.Helper()
	c.wmu.Lock()
	w := c.warm
	c.wmu.Unlock()
	if w == nil {
		return false
	}
	select {
	case <-w.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the warm session was not ready within 10s")
	}
	return w.err == nil && w.s != nil
}

// warmOnHost dials a host and warms a session on it, returning once the
// session's shell is running there.
func warmOnHost(t *testing.T) *conn {
	t.Helper()
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	c.Warm()
	if !warmed(t, c) {
		t.Fatal("no warm session")
	}
	sshdtest.WaitFor(t, "the warm session's shell on the host", 5*time.Second, func() bool {
		return len(sshdtest.Processes(c.terminator)) > 0
	})
	return c
}

func hasWarm(c *conn) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.warm != nil
}

// A command sent to a warm session reaches sh exactly as one sent as an
// argument does: lines, blank lines, leading and trailing blanks,
// backslashes, quotes, a trailing newline, the environment. Each Run takes
// the session Warm or the previous command's More prepared.
func TestWarmSessionRunsCommandsExactly(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	env := []engine.EnvVar{{Name: "V", Value: "it's \"v\" \\ $HOME\nline two"}}
	lines := []string{
		`echo one`,
		"echo 'a  b'\n\n  printf '%s\\n' \"  lead\" 'back\\slash' \"$V\"\nexit 3",
		"printf '%s|' \"$1\" x\necho\n",
		`_rc=kept; _rl=kept; echo "${_rc}${_rl}" "${_rn-unset}"`,
		"echo " + c.terminator + "x", // the terminator, not on a line of its own
	}
	c.Warm()
	for i, line := range lines {
		if !warmed(t, c) {
			t.Fatalf("command %d: no warm session ready", i)
		}
		cmd := engine.Command{Line: line, Env: env, More: true}
		wc, wo, werr := runCmd(t, c, cmd)
		if hasWarm(c) != (wc == 0) {
			t.Fatalf("command %d: exit %d, and a session warming is %v: More warms one only after success", i, wc, hasWarm(c))
		}
		c.dropWarm()
		cc, co, cerr := runCmd(t, c, cmd) // cold: no warm session now
		if werr != nil || cerr != nil || wc != cc {
			t.Fatalf("command %d: warm: code %d err %v; cold: code %d err %v", i, wc, werr, cc, cerr)
		}
		for _, st := range []engine.Stream{engine.Stdout, engine.Stderr} {
			if got, want := wo.lines(st), co.lines(st); !reflect.DeepEqual(got, want) {
				t.Errorf("command %d stream %d: warm %q, cold %q", i, st, got, want)
			}
		}
		c.Warm()
	}
	// A command that holds the terminator as a line of its own is sent as
	// an argument, and the warm session is left for the next one.
	code, o, err := runCmd(t, c, engine.Command{Line: "cat <<EOF\n" + c.terminator + "\nEOF"})
	if err != nil || code != 0 || !reflect.DeepEqual(o.lines(engine.Stdout), []string{c.terminator}) {
		t.Fatalf("terminator line: code %d err %v out %q", code, err, o.lines(engine.Stdout))
	}
	if !warmed(t, c) {
		t.Fatal("a command that could not use the warm session took it")
	}
}

// A command that fails, with More, drops the session it warmed: nothing
// follows a failed step, and the host is left with no idle shell.
func TestWarmSessionDroppedOnFailure(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	if code, _, err := runCmd(t, c, engine.Command{Line: "exit 4", More: true}); err != nil || code != 4 {
		t.Fatalf("code %d, err %v", code, err)
	}
	if hasWarm(c) {
		t.Fatal("a failed command with More left a warm session")
	}
	if code, _, err := runCmd(t, c, engine.Command{Line: "true"}); err != nil || code != 0 {
		t.Fatalf("after: code %d, err %v", code, err)
	}
}

// A command in a warm session is killable like any other: on cancel every
// process of it is gone, and the connection still works.
func TestWarmSessionCancel(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{Grace: time.Second}), s.host("web-1", kh))
	c.Warm()
	if !warmed(t, c) {
		t.Fatal("no warm session")
	}
	m := marker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var o output
	code, err := c.Run(ctx, engine.Command{Line: fmt.Sprintf("sleep %s | cat; echo never", m)}, o.add)
	if !errors.Is(err, context.DeadlineExceeded) || code != -1 {
		t.Fatalf("code %d, err %v; want -1, context.DeadlineExceeded", code, err)
	}
	waitGone(t, "sleep "+m, 5*time.Second)
	if code, _, err := runCmd(t, c, engine.Command{Line: "echo again"}); err != nil || code != 0 {
		t.Fatalf("the connection is unusable after a cancel: code %d, err %v", code, err)
	}
}

// A warm session never used leaves nothing behind on the host once the
// connection closes: its shell reads end of file and exits, running nothing.
func TestWarmSessionUnusedEnds(t *testing.T) {
	c := warmOnHost(t)
	c.Close()
	waitGone(t, c.terminator, 5*time.Second)
}

// With one session per connection, Warm finds no free slot while a command
// runs and does nothing, and nothing waits on a slot it holds.
func TestWarmSessionOneSlot(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{MaxSessionsPerConn: 1}), s.host("web-1", kh))
	for i := 0; i < 3; i++ {
		code, o, err := runCmd(t, c, engine.Command{Line: "echo " + fmt.Sprint(i), More: true})
		if err != nil || code != 0 || strings.Join(o.lines(engine.Stdout), "") != fmt.Sprint(i) {
			t.Fatalf("run %d: code %d, err %v, out %q", i, code, err, o.lines(engine.Stdout))
		}
	}
	c.Warm() // idle now: this one gets the slot, and the next Run uses it
	if !warmed(t, c) {
		t.Fatal("no warm session with the slot free")
	}
	if code, _, err := runCmd(t, c, engine.Command{Line: "true"}); err != nil || code != 0 {
		t.Fatalf("code %d, err %v", code, err)
	}
}

// A warm session whose shell was killed on the host while it waited is
// not used: the command runs in a new session, as if none had been warmed.
// So too a session kept after a command with More. (Killed in the instant
// before its line is sent, before sshd's close of the channel arrives, the
// command is reported killed though it never ran: the host fails,
// untouched, and a retry runs it.)
func TestWarmSessionKilledWhileWaiting(t *testing.T) {
	for _, kept := range []bool{false, true} {
		t.Run(fmt.Sprintf("kept=%v", kept), func(t *testing.T) {
			var c *conn
			if kept {
				s := needSSHD(t)
				kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
				c = dial(t, newTransport(t, Options{}), s.host("web-1", kh))
				if code, _, err := runCmd(t, c, engine.Command{Line: "true", More: true}); err != nil || code != 0 || !warmed(t, c) {
					t.Fatalf("code %d, err %v, kept %v", code, err, hasWarm(c))
				}
			} else {
				c = warmOnHost(t)
			}
			if err := exec.Command("pkill", "-KILL", "-f", c.terminator).Run(); err != nil {
				t.Fatalf("pkill: %v", err)
			}
			waitGone(t, c.terminator, 5*time.Second)
			c.wmu.Lock()
			w := c.warm
			c.wmu.Unlock()
			sshdtest.WaitFor(t, "the warm session to end", 5*time.Second, w.s.hasEnded)
			code, o, err := runCmd(t, c, engine.Command{Line: "echo fresh"})
			if err != nil || code != 0 || !reflect.DeepEqual(o.lines(engine.Stdout), []string{"fresh"}) {
				t.Fatalf("code %d, err %v, out %q", code, err, o.lines(engine.Stdout))
			}
		})
	}
}

// Commands with More run one after another in one session: its wrapper
// runs each (the same parent for all of them) and frames it, with no new
// session, shell and wrapper on the host for the next. Each command's
// output is its own, to the byte (a last line without a newline, more
// than a channel's window in all, stderr apart), and so is its status. A
// command without More ends the session; one that fails drops it.
func TestChainRunsCommandsInOneSession(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	const parent = `echo "parent $PPID"`
	steps := []struct {
		line  string
		more  bool
		code  int
		out   []string
		errs  []string
		count int // lines of stdout, when out is not given
	}{
		{line: parent + "; echo err >&2; printf 'no newline'", more: true, out: []string{"parent", "no newline"}, errs: []string{"err"}},
		{line: parent + "; seq 1 400000", more: true, count: 400001},
		{line: parent + "; echo last", out: []string{"parent", "last"}},
		{line: parent, more: true, out: []string{"parent"}},
		{line: parent + "; exit 5", more: true, code: 5, out: []string{"parent"}},
		{line: parent, out: []string{"parent"}},
	}
	var parents []string
	for i, step := range steps {
		code, o, err := runCmd(t, c, engine.Command{Line: step.line, More: step.more})
		if err != nil || code != step.code {
			t.Fatalf("command %d: code %d, err %v; want %d", i, code, err, step.code)
		}
		out := o.lines(engine.Stdout)
		if len(out) == 0 || !strings.HasPrefix(out[0], "parent ") {
			t.Fatalf("command %d: stdout %.200q", i, out)
		}
		parents = append(parents, strings.TrimPrefix(out[0], "parent "))
		out[0] = "parent"
		switch {
		case step.out == nil && (len(out) != step.count || out[len(out)-1] != fmt.Sprint(step.count-1)):
			t.Fatalf("command %d: %d lines of stdout, the last %q; want %d", i, len(out), out[len(out)-1], step.count)
		case step.out != nil && !reflect.DeepEqual(out, step.out):
			t.Fatalf("command %d: stdout %q, want %q", i, out, step.out)
		case !reflect.DeepEqual(o.lines(engine.Stderr), step.errs):
			t.Fatalf("command %d: stderr %q, want %q", i, o.lines(engine.Stderr), step.errs)
		}
		if hasWarm(c) != (step.more && step.code == 0) {
			t.Fatalf("command %d: a session kept is %v", i, hasWarm(c))
		}
	}
	if parents[0] != parents[1] || parents[1] != parents[2] || parents[3] != parents[4] {
		t.Errorf("parents %q: want the first three commands in one session, the next two in another", parents)
	}
	if parents[2] == parents[3] || parents[4] == parents[5] {
		t.Errorf("parents %q: a session ran on after a command without More, or a failed one", parents)
	}
}

// A command with More that leaves processes running ends its session, as
// if it were its last: its output is read to the end of every process
// holding it, as for a session of its own, and the next command runs in a
// new session. A cancel of that one stops it alone: what the first left
// running lives on. The connection goes on working.
func TestChainEndsWhereACommandLeavesProcesses(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{Grace: time.Second}), s.host("web-1", kh))
	left, m := marker(t)+"1", marker(t)+"2"
	t.Cleanup(func() { _ = exec.Command("pkill", "-f", "sleep "+left).Run() })
	code, o, err := runCmd(t, c, engine.Command{Line: "echo a; (sleep 0.3; echo late) & sleep " + left + " >/dev/null 2>&1 &", More: true})
	if err != nil || code != 0 || !reflect.DeepEqual(o.lines(engine.Stdout), []string{"a", "late"}) {
		t.Fatalf("code %d, err %v, stdout %q; want a and late", code, err, o.lines(engine.Stdout))
	}
	if hasWarm(c) {
		t.Fatal("a session was kept after a command that left processes running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var v output
	code, err = c.Run(ctx, engine.Command{Line: "sleep " + m + "; echo never", More: true}, v.add)
	if !errors.Is(err, context.DeadlineExceeded) || code != -1 {
		t.Fatalf("code %d, err %v; want -1, context.DeadlineExceeded", code, err)
	}
	waitGone(t, "sleep "+m, 5*time.Second)
	if len(sshdtest.Processes("sleep "+left)) == 0 {
		t.Fatal("the cancel stopped what the command before left running")
	}
	if hasWarm(c) {
		t.Fatal("a session was kept after a cancel")
	}
	if code, _, err := runCmd(t, c, engine.Command{Line: "echo again"}); err != nil || code != 0 {
		t.Fatalf("the connection is unusable after a cancel: code %d, err %v", code, err)
	}
}
