// Package local is the transport that runs commands on this machine with
// sh -c: for tests, demos, and swap steps that run where the console runs.
// The host's name is in the environment as ROLLOUT_HOST.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

// DefaultGrace is how long a cancelled command has between SIGTERM and SIGKILL.
const DefaultGrace = 5 * time.Second

// Transport runs commands locally.
type Transport struct {
	// Dir is the working directory for commands; the current one when empty.
	Dir string
	// Env is added to every command's environment.
	Env []string
	// Grace is the time between SIGTERM and SIGKILL on cancel; DefaultGrace when zero.
	Grace time.Duration
}

// Dial returns a connection for host; nothing is opened.
func (t *Transport) Dial(ctx context.Context, host *inventory.Host) (engine.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &conn{t: t, host: host.Name}, nil
}

type conn struct {
	t    *Transport
	host string
}

func (c *conn) Close() error { return nil }

// Run runs cmd with sh -c in its own process group, so that a cancel
// signals the whole group: SIGTERM first, SIGKILL after the grace period.
func (c *conn) Run(ctx context.Context, cmd engine.Command, out engine.OutputFunc) (int, error) {
	grace := c.t.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	x := exec.Command("sh", "-c", engine.WithEnv(cmd))
	x.Dir = c.t.Dir
	x.Env = append(append(os.Environ(), c.t.Env...), "ROLLOUT_HOST="+c.host)
	ownGroup(x)
	x.Stdin = nil
	stdout, err := x.StdoutPipe()
	if err != nil {
		return -1, fmt.Errorf("%s: %w", c.host, err)
	}
	stderr, err := x.StderrPipe()
	if err != nil {
		return -1, fmt.Errorf("%s: %w", c.host, err)
	}
	if err := x.Start(); err != nil {
		return -1, fmt.Errorf("%s: start sh: %w", c.host, err)
	}
	var mu sync.Mutex // out is called from two readers
	emit := func(s engine.Stream, line []byte) {
		mu.Lock()
		out(s, line)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(2)
	read := func(r io.Reader, s engine.Stream) {
		defer wg.Done()
		_ = engine.ScanLines(r, s, emit)
	}
	go read(stdout, engine.Stdout)
	go read(stderr, engine.Stderr)

	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		terminate(x)
		select {
		case <-done:
		case <-time.After(grace):
			kill(x)
		}
	})
	wg.Wait() // the pipes close when every process holding them exits
	err = x.Wait()
	close(done)
	stop()
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if sig, ok := signalled(ee); ok {
			return 128 + sig, nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("%s: %w", c.host, err)
	}
	return 0, nil
}

// DialContext opens a connection from this machine, which is the host, for
// network checks that say from: host.
func (c *conn) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
