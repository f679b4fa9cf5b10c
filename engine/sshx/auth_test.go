package sshx

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/sshx/sshdtest"
)

// A key the server does not accept fails with ErrAuth, saying which keys
// were offered.
func TestAuthWrongKey(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	h := s.host("web-1", kh)
	h.IdentityFile = []string{s.Wrong}
	err := dialErr(t, newTransport(t, Options{}), h)
	if !errors.Is(err, engine.ErrAuth) || !strings.HasPrefix(err.Error(), "auth web-1 (") {
		t.Fatalf("err = %v, want 'auth web-1 (...' ErrAuth", err)
	}
	if !strings.Contains(err.Error(), "SHA256:") {
		t.Errorf("message does not name the key offered: %v", err)
	}
}

// No key at all: ErrAuth before anything is dialled.
func TestAuthNoKey(t *testing.T) {
	s := needSSHD(t)
	h := s.host("web-1", knownHosts(t))
	h.IdentityFile = nil // and the home has no ~/.ssh, nor is there an agent
	err := dialErr(t, newTransport(t, Options{}), h)
	if !errors.Is(err, engine.ErrAuth) || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Fatalf("err = %v, want ErrAuth mentioning the missing agent", err)
	}
}

// A passphrase-protected key with no agent to hold it fails at once with
// what to do, never prompting or hanging.
func TestAuthLockedKeyWithoutAgent(t *testing.T) {
	s := needSSHD(t)
	h := s.host("web-1", knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1"))))
	h.IdentityFile = []string{s.Locked}
	start := time.Now()
	err := dialErr(t, newTransport(t, Options{}), h)
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
	if !errors.Is(err, engine.ErrAuth) || !strings.Contains(err.Error(), "passphrase") || !strings.Contains(err.Error(), "ssh-add "+s.Locked) {
		t.Fatalf("err = %v, want ErrAuth telling to ssh-add %s", err, s.Locked)
	}
}

var startAgent = sshdtest.StartAgent

// The agent authenticates, whether the host names the (locked) key file it
// holds, or names nothing and the agent's keys are offered; the agent's
// socket comes from SSH_AUTH_SOCK.
func TestAuthAgent(t *testing.T) {
	s := needSSHD(t)
	sock := startAgent(t, s.Unlocked)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	env := func(k string) string {
		if k == "SSH_AUTH_SOCK" {
			return sock
		}
		return ""
	}
	for _, files := range [][]string{{s.Locked}, nil, {s.Wrong, s.Locked}} {
		h := s.host("web-1", kh)
		h.IdentityFile = files
		c := dial(t, newTransport(t, Options{Getenv: env}), h)
		if code, _, err := runCmd(t, c, engine.Command{Line: "true"}); err != nil || code != 0 {
			t.Fatalf("files %v: code %d, err %v", files, code, err)
		}
	}
}

// With ForwardAgent the remote command sees the agent, and can use it.
func TestAuthAgentForwarding(t *testing.T) {
	s := needSSHD(t)
	sock := startAgent(t, s.Unlocked)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	for _, forward := range []bool{false, true} {
		h := s.host("web-1", kh)
		h.ForwardAgent = forward
		c := dial(t, newTransport(t, Options{AgentSocket: sock}), h)
		code, o, err := runCmd(t, c, engine.Command{Line: `ssh-add -l >/dev/null 2>&1; echo $?`})
		if err != nil || code != 0 {
			t.Fatalf("code %d, err %v", code, err)
		}
		want := "2" // cannot reach an agent
		if forward {
			want = "0"
		}
		if got := o.lines(engine.Stdout); len(got) != 1 || got[0] != want {
			t.Errorf("forward=%v: ssh-add -l exited %q, want %s", forward, got, want)
		}
	}
}

// An agent socket that is gone is no reason to fail while a key file works.
func TestAuthDeadAgentFallsBackToFiles(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	tr := newTransport(t, Options{AgentSocket: filepath.Join(t.TempDir(), "gone.sock")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx, s.host("web-1", kh))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// A user certificate works, from the agent or from KEY-cert.pub beside an
// identity file, for a key the server only trusts through its CA.
func TestAuthCertificate(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))
	h := s.host("web-1", kh)
	h.IdentityFile = []string{s.Certified}
	dial(t, newTransport(t, Options{}), h)

	sock := startAgent(t, s.Certified)
	h.IdentityFile = nil
	dial(t, newTransport(t, Options{AgentSocket: sock}), h)
}

// An agent that never answers fails the dial with ErrAuth in ConnectTimeout,
// naming the agent, rather than hanging it.
func TestAuthHungAgent(t *testing.T) {
	s := needSSHD(t)
	sock := filepath.Join(t.TempDir(), "hung.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	hold := make(chan struct{})
	defer close(hold)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { <-hold; c.Close() }()
		}
	}()
	start := time.Now()
	err = dialErr(t, newTransport(t, Options{AgentSocket: sock, ConnectTimeout: 300 * time.Millisecond}),
		s.host("web-1", knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")))))
	if !errors.Is(err, engine.ErrAuth) || !strings.Contains(err.Error(), sock+" did not answer") {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s", took)
	}
}
