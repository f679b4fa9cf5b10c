package netcheck

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// ctxFor returns a context that ends after d, cancelled at the test's end.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// closedPort returns a loopback address where nothing listens: a port the
// kernel just handed out and that was closed again.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// wantErr fails unless err's text is exactly want.
func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("check passed, want error %q", want)
	}
	if err.Error() != want {
		t.Fatalf("error\n got: %s\nwant: %s", err, want)
	}
}

// wantTimeout fails unless err is prefix + "no answer within D", D being
// the deadline d less what the setup before the dial took (under load,
// more than a rounding step), and err wraps context.DeadlineExceeded.
func wantTimeout(t *testing.T, err error, prefix string, d time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatalf("check passed, want a timeout")
	}
	after, ok := strings.CutPrefix(err.Error(), prefix+"no answer within ")
	got, perr := time.ParseDuration(after)
	if !ok || perr != nil || got > d || got < d-100*time.Millisecond {
		t.Fatalf("error\n got: %s\nwant: %sno answer within %v (or a little less)", err, prefix, d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, DeadlineExceeded) = false", err)
	}
}

// wantErrContains fails unless err's text contains every part.
func wantErrContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("check passed, want error containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

// redirectDial is a DialFunc standing in for the SSH direct-tcpip path:
// whatever address it is asked for, it connects to target, and records the
// addresses it was asked for.
type redirectDial struct {
	target string
	asked  chan string
}

func newRedirectDial(target string) *redirectDial {
	return &redirectDial{target: target, asked: make(chan string, 16)}
}

func (r *redirectDial) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	r.asked <- network + " " + addr
	var d net.Dialer
	return d.DialContext(ctx, "tcp", r.target)
}
