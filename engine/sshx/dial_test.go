package sshx

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

// A port with nothing listening is ErrUnreachable, at once, with the
// address in the message.
func TestUnreachable(t *testing.T) {
	s := needSSHD(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	h := s.host("web-1", knownHosts(t))
	h.Port = port
	start := time.Now()
	err = dialErr(t, newTransport(t, Options{}), h)
	if !errors.Is(err, engine.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	want := "dial web-1 (127.0.0.1:" + strconv.Itoa(port) + "): connection refused"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s", took)
	}
}

// listen serves a TCP port on loopback with serve, for servers that
// misbehave on purpose.
func listen(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// A server that accepts but never speaks SSH: ErrUnreachable once
// ConnectTimeout has passed, not a hang.
func TestHandshakeTimeout(t *testing.T) {
	s := needSSHD(t)
	hold := make(chan struct{})
	defer close(hold)
	port := listen(t, func(c net.Conn) { <-hold; c.Close() })
	h := s.host("web-1", knownHosts(t))
	h.Port = port
	start := time.Now()
	err := dialErr(t, newTransport(t, Options{ConnectTimeout: 300 * time.Millisecond}), h)
	if !errors.Is(err, engine.ErrUnreachable) || !strings.HasPrefix(err.Error(), "handshake web-1 (127.0.0.1:") ||
		!strings.Contains(err.Error(), "no answer to the SSH handshake within 300ms") {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s", took)
	}
}

// A server that hangs up at once (as sshd does past MaxStartups):
// ErrUnreachable, saying so.
func TestHandshakeHangUp(t *testing.T) {
	s := needSSHD(t)
	port := listen(t, func(c net.Conn) { c.Close() })
	h := s.host("web-1", knownHosts(t))
	h.Port = port
	err := dialErr(t, newTransport(t, Options{}), h)
	if !errors.Is(err, engine.ErrUnreachable) || !strings.Contains(err.Error(), "closed the connection before the key exchange") {
		t.Fatalf("err = %v", err)
	}
}

// The caller's deadline ending a slow handshake is the caller's: the error
// says unreachable and matches context.DeadlineExceeded.
func TestDialDeadline(t *testing.T) {
	s := needSSHD(t)
	hold := make(chan struct{})
	defer close(hold)
	port := listen(t, func(c net.Conn) { <-hold; c.Close() })
	h := s.host("web-1", knownHosts(t))
	h.Port = port
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := newTransport(t, Options{}).Dial(ctx, h)
	if !errors.Is(err, engine.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

// A cancelled Dial returns promptly with the context's error.
func TestDialCancelled(t *testing.T) {
	s := needSSHD(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newTransport(t, Options{}).Dial(ctx, s.host("web-1", knownHosts(t)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
