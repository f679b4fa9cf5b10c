package netcheck

import (
	"context"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// blackhole returns a loopback address whose listener never accepts and
// whose accept queue is full, so a new connection's SYN is dropped and
// connect hangs, as it does for a firewalled port. Go's net.Listen cannot
// choose the backlog, hence the raw socket with listen(fd, 0).
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// Fill the accept queue until a connect no longer completes.
	for range 16 {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		cancel()
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill the listener's accept queue; this kernel accepts past the backlog")
	return ""
}

// TestTCPBlackhole: a port that never answers is given up on at the
// context's deadline, and the error says it was a timeout.
func TestTCPBlackhole(t *testing.T) {
	addr := blackhole(t)
	start := time.Now()
	err := TCP{Address: addr}.Check(ctxFor(t, 300*time.Millisecond), nil)
	wantTimeout(t, err, "connect "+addr+": ", 300*time.Millisecond)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("check took %v with a 300ms deadline", d)
	}
}
