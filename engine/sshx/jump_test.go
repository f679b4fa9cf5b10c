package sshx

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

// jumpHost reaches the target through the same sshd as a bastion: the hop
// is "user@127.0.0.1:port", the target is addressed as localhost, so that
// known_hosts needs an entry for each, and checks each.
func (s *sshd) jumpHost(name, kh string) *inventory.Host {
	h := s.host(name, kh)
	h.Address = "localhost"
	h.Jump = []string{s.User + "@127.0.0.1:" + strconv.Itoa(s.Port)}
	return h
}

// Commands run through a jump host, both host keys verified; hosts behind
// one bastion share one connection to it, closed with the last of them.
func TestJumpHost(t *testing.T) {
	s := needSSHD(t)
	kh := knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1")), s.line("ed25519", s.hostPort("web-1"), s.hostPort("web-2")))
	tr := newTransport(t, Options{})
	c1 := dial(t, tr, s.jumpHost("web-1", kh))
	c2 := dial(t, tr, s.jumpHost("web-2", kh))
	for _, c := range []*conn{c1, c2} {
		code, o, err := runCmd(t, c, engine.Command{Line: `echo "via $SSH_CONNECTION"`})
		if err != nil || code != 0 {
			t.Fatalf("code %d, err %v", code, err)
		}
		// The target saw the bastion's side of the tunnel, not us.
		if got := o.lines(engine.Stdout); len(got) != 1 || !strings.HasPrefix(got[0], "via ") {
			t.Fatalf("stdout = %q", got)
		}
	}
	tr.jumps.mu.Lock()
	n := len(tr.jumps.m)
	var refs int
	for _, sc := range tr.jumps.m {
		refs = sc.refs
	}
	tr.jumps.mu.Unlock()
	if n != 1 || refs != 2 {
		t.Fatalf("%d jump connections with %d users, want 1 shared by 2", n, refs)
	}
	c1.Close()
	c2.Close()
	tr.jumps.mu.Lock()
	n = len(tr.jumps.m)
	tr.jumps.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d jump connections left open after their hosts closed", n)
	}
}

// The target's key is checked behind the bastion, and the bastion's too.
func TestJumpHostKeysChecked(t *testing.T) {
	s := needSSHD(t)
	for _, tc := range []struct {
		name   string
		kh     []string
		prefix string
	}{
		{"target unknown", []string{s.line("ed25519", s.hostPort("127.0.0.1"))}, "handshake web-1: unknown host key for web-1 (localhost:"},
		{"bastion unknown", []string{s.line("ed25519", s.hostPort("web-1"))}, "jump handshake 127.0.0.1: unknown host key for 127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dialErr(t, newTransport(t, Options{}), s.jumpHost("web-1", knownHosts(t, tc.kh...)))
			if !errors.Is(err, engine.ErrHostKeyUnknown) || !strings.HasPrefix(err.Error(), tc.prefix) {
				t.Fatalf("err = %v, want ErrHostKeyUnknown starting %q", err, tc.prefix)
			}
		})
	}
}

// A target the bastion cannot reach is ErrUnreachable, said as such.
func TestJumpTargetUnreachable(t *testing.T) {
	s := needSSHD(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	h := s.jumpHost("web-1", knownHosts(t, s.line("ed25519", s.hostPort("127.0.0.1"))))
	h.Port = port
	err = dialErr(t, newTransport(t, Options{}), h)
	if !errors.Is(err, engine.ErrUnreachable) || !strings.HasPrefix(err.Error(), "dial web-1 (localhost:") {
		t.Fatalf("err = %v, want ErrUnreachable for web-1", err)
	}
}
