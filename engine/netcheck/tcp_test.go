package netcheck

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestTCPOpenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if err := (TCP{Address: ln.Addr().String()}).Check(ctxFor(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
}

func TestTCPClosedPort(t *testing.T) {
	addr := closedPort(t)
	err := TCP{Address: addr}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, "connect "+addr+": connection refused")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(%v, ECONNREFUSED) = false", err)
	}
}

func TestTCPBadAddress(t *testing.T) {
	err := TCP{Address: "db-1.example.com"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, `connect "db-1.example.com": bad address: missing port in address, want host:port`)
}

// TestTCPDialFunc: the check dials through the DialFunc with the address
// as given, as the SSH direct-tcpip path needs.
func TestTCPDialFunc(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	d := newRedirectDial(ln.Addr().String())
	if err := (TCP{Address: "db-1:5432"}).Check(ctxFor(t, 5*time.Second), d.dial); err != nil {
		t.Fatal(err)
	}
	if got := <-d.asked; got != "tcp db-1:5432" {
		t.Errorf("dial asked for %q", got)
	}

	// The DialFunc's own error is reported for the address asked.
	refuse := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, errors.New("ssh: rejected: connect failed (Connection refused)")
	}
	err = TCP{Address: "db-1:5432"}.Check(ctxFor(t, 5*time.Second), refuse)
	wantErr(t, err, "connect db-1:5432: ssh: rejected: connect failed (Connection refused)")
}
