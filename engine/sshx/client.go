package sshx

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// client is one SSH connection, with a keepalive that closes it when the
// peer stops answering, and the reason it ended.
type client struct {
	*ssh.Client
	name string
	done chan struct{} // closed when the connection has ended
	// ending is set as fail or Close closes the connection, before done
	// is: a session that ended because of it (its readers see end of file
	// first) must find the connection dead, not alive.
	ending atomic.Bool

	mu     sync.Mutex
	reason string // why it ended, when known better than the transport's error
	stop   chan struct{}
	closed bool
}

func newClient(c *ssh.Client, name string) *client {
	cl := &client{Client: c, name: name, done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		err := c.Wait()
		cl.mu.Lock()
		if cl.reason == "" {
			if cl.closed {
				cl.reason = "the connection was closed"
			} else if err != nil {
				cl.reason = "the connection ended: " + err.Error()
			} else {
				cl.reason = "the server closed the connection"
			}
		}
		cl.mu.Unlock()
		close(cl.done)
	}()
	return cl
}

// fail closes the connection, recording why, unless it already ended.
func (c *client) fail(reason string) {
	c.mu.Lock()
	if c.reason == "" {
		c.reason = reason
	}
	c.mu.Unlock()
	c.ending.Store(true)
	c.Client.Close()
}

// Close closes the connection and stops its keepalive.
func (c *client) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	if first {
		close(c.stop)
	}
	c.ending.Store(true)
	return c.Client.Close()
}

// dead reports whether the connection has ended, or is being closed.
func (c *client) dead() bool {
	select {
	case <-c.done:
		return true
	default:
		return c.ending.Load()
	}
}

// lostReason says why the connection ended.
func (c *client) lostReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason == "" {
		return "the connection ended"
	}
	return c.reason
}

// startKeepalive probes the peer every interval with a request that needs a
// reply (OpenSSH's keepalive@openssh.com; any reply, even a refusal, is a
// sign of life). A probe still unanswered at the next tick is a miss; after
// maxMissed misses in a row the connection is closed, which ends every
// session on it at once. A peer that dies is so noticed within
// (maxMissed+1)×interval. Negative interval: no keepalive.
func (c *client) startKeepalive(interval time.Duration, maxMissed int) {
	if interval < 0 {
		return
	}
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		var pending chan struct{}
		missed := 0
		for {
			select {
			case <-c.stop:
				return
			case <-c.done:
				return
			case <-tick.C:
			}
			if pending != nil {
				select {
				case <-pending:
					pending, missed = nil, 0
				default:
					missed++
					if missed >= maxMissed {
						c.fail(fmt.Sprintf("no answer to a keepalive within %s", time.Duration(missed)*interval))
						return
					}
					continue
				}
			}
			pending = make(chan struct{})
			go func(p chan struct{}) {
				_, _, _ = c.SendRequest("keepalive@openssh.com", true, nil)
				close(p)
			}(pending)
		}
	}()
}
