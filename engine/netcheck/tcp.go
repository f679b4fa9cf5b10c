package netcheck

import (
	"context"
	"fmt"
	"net"
	"time"
)

// TCP is a check that passes when a TCP connection to Address opens: the
// cheapest proof that something listens, for ports that speak no HTTP
// (databases, queues).
type TCP struct {
	// Address is host:port, as net.Dial takes it.
	Address string
}

// Check opens a connection to Address through dial and closes it at once.
func (c TCP) Check(ctx context.Context, dial DialFunc) error {
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		why := err.Error()
		if ae, ok := err.(*net.AddrError); ok {
			why = ae.Err // without the address, said once already
		}
		return fmt.Errorf("connect %s: bad address: %s, want host:port", quoted(c.Address, 200), why)
	}
	start := time.Now()
	conn, err := orDefault(dial)(ctx, "tcp", c.Address)
	if err != nil {
		return fmt.Errorf("connect %s: %w", c.Address, reason(ctx, start, err))
	}
	conn.Close()
	return nil
}
