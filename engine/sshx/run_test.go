package sshx

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

func runCmd(t *testing.T, c engine.Conn, cmd engine.Command) (int, *output, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var o output
	code, err := c.Run(ctx, cmd, o.add)
	return code, &o, err
}

// Several inventory hosts on one address and port, recorded in known_hosts
// by address only, each run commands over its own connection: output comes
// back by stream, exit codes as they are, and a connection serves several
// commands in turn.
func TestRunOnSeveralAliases(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	tr := newTransport(t, Options{})
	var wg sync.WaitGroup
	for i := 1; i <= 4; i++ {
		name := fmt.Sprintf("web-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, tr, s.host(name, kh))
			for round := 0; round < 3; round++ {
				code, o, err := runCmd(t, c, engine.Command{
					Line: `echo "out $WHO"; echo "err $WHO" >&2; echo second; exit $CODE`,
					Env:  []engine.EnvVar{{Name: "WHO", Value: name}, {Name: "CODE", Value: fmt.Sprint(round)}},
				})
				if err != nil || code != round {
					t.Errorf("%s round %d: code %d, err %v", name, round, code, err)
					return
				}
				if got, want := o.lines(engine.Stdout), []string{"out " + name, "second"}; !reflect.DeepEqual(got, want) {
					t.Errorf("%s stdout = %q, want %q", name, got, want)
				}
				if got, want := o.lines(engine.Stderr), []string{"err " + name}; !reflect.DeepEqual(got, want) {
					t.Errorf("%s stderr = %q, want %q", name, got, want)
				}
			}
		}()
	}
	wg.Wait()
}

// Environment values reach the command exactly, whatever they hold.
func TestRunEnvQuoting(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	tricky := `it's "quoted" $(echo no) ` + "`no` \\ ; exit 9"
	code, o, err := runCmd(t, c, engine.Command{Line: `printf '%s\n' "$V"`, Env: []engine.EnvVar{{Name: "V", Value: tricky}}})
	if err != nil || code != 0 {
		t.Fatalf("code %d, err %v", code, err)
	}
	if got := o.lines(engine.Stdout); len(got) != 1 || got[0] != tricky {
		t.Fatalf("stdout = %q, want %q", got, tricky)
	}
}

// A command killed by a signal reports 128+signal, as a shell would.
func TestRunExitBySignal(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	code, _, err := runCmd(t, c, engine.Command{Line: `kill -9 $$`})
	if err != nil || code != 137 {
		t.Fatalf("code %d, err %v; want 137, nil", code, err)
	}
}

// With PTY the command has a terminal (sudo's requiretty is satisfied), and
// its output arrives on stdout.
func TestRunPTY(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	code, o, err := runCmd(t, c, engine.Command{Line: `test -t 0 && test -t 1 && echo "tty $TERM"; exit 4`, PTY: true})
	if err != nil || code != 4 {
		t.Fatalf("code %d, err %v", code, err)
	}
	if got := o.lines(engine.Stdout); !reflect.DeepEqual(got, []string{"tty dumb"}) {
		t.Fatalf("stdout = %q", got)
	}
	code, _, err = runCmd(t, c, engine.Command{Line: `test -t 0`})
	if err != nil || code != 1 {
		t.Fatalf("without PTY: code %d, err %v; want no terminal", code, err)
	}
}

// More commands at once than sshd's MaxSessions (10) all run: the
// connection queues them.
func TestRunManyConcurrentSessions(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	var wg sync.WaitGroup
	errs := make(chan error, 25)
	for i := 0; i < 25; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, o, err := runCmd(t, c, engine.Command{Line: fmt.Sprintf("sleep 0.2; echo %d", i)})
			if err != nil || code != 0 || !reflect.DeepEqual(o.lines(engine.Stdout), []string{fmt.Sprint(i)}) {
				errs <- fmt.Errorf("command %d: code %d, err %v, out %q", i, code, err, o.lines(engine.Stdout))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Long and unterminated output arrives whole and bounded.
func TestRunLongOutput(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	code, o, err := runCmd(t, c, engine.Command{Line: `seq 1 20000; printf tail`})
	if err != nil || code != 0 {
		t.Fatalf("code %d, err %v", code, err)
	}
	got := o.lines(engine.Stdout)
	if len(got) != 20001 || got[0] != "1" || got[19999] != "20000" || got[20000] != "tail" {
		t.Fatalf("got %d lines, first %q last %q", len(got), got[0], got[len(got)-1])
	}
}

// A closed connection refuses new commands with ErrConnectionLost.
func TestRunAfterClose(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	c.Close()
	waitFor(t, "the client to end", 5*time.Second, c.cl.dead)
	_, _, err := runCmd(t, c, engine.Command{Line: "true"})
	if !errors.Is(err, engine.ErrConnectionLost) || !strings.HasPrefix(err.Error(), "web-1: ") {
		t.Fatalf("err = %v, want web-1: ... ErrConnectionLost", err)
	}
}

// Under OpenSSH a session's last command runs in the wrapper's process
// group (the session's, which sshd made), not in one setsid made for it:
// the cheaper form of the wrapper is the one taken. Its shell is not its
// group's leader; the group is the session's. A command with More, after
// which the session may go on, gets a session of its own, so that what it
// leaves running can be told (and stopping a later command cannot stop it).
func TestRunInTheSessionsProcessGroup(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	c := dial(t, newTransport(t, Options{}), s.host("web-1", kh))
	const ids = `read -r _ _ _ _ g sid _ </proc/$$/stat; echo "$$ $g $sid"`
	for i, step := range []struct {
		more, own bool
	}{
		{more: true, own: true}, // a new session, kept
		{more: false},           // the kept one, its last command
		{more: false},           // a new session
	} {
		code, o, err := runCmd(t, c, engine.Command{Line: ids, More: step.more})
		if err != nil || code != 0 {
			t.Fatalf("command %d: code %d, err %v", i, code, err)
		}
		f := strings.Fields(strings.Join(o.lines(engine.Stdout), ""))
		switch {
		case len(f) != 3:
			t.Fatalf("command %d: output %q", i, f)
		case step.own && (f[0] != f[1] || f[1] != f[2]):
			t.Fatalf("command %d: pid, process group, session = %q: want a session of its own", i, f)
		case !step.own && (f[0] == f[1] || f[1] != f[2]):
			t.Fatalf("command %d: pid, process group, session = %q: want the command in the session's group, not one of its own", i, f)
		}
	}
}
