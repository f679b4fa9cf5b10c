package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/rolloutconsole/rollout/engine"
)

// conn is the engine's connection to one host: one SSH client, reused for
// every command, with at most MaxSessionsPerConn sessions at once.
type conn struct {
	t        *Transport
	host     string
	cl       *client
	via      *sharedClient // jump chain, released on Close
	sessions chan struct{}
	forward  bool
	once     sync.Once
}

func newConn(t *Transport, host string, cl *client, via *sharedClient, forwardAgent bool) *conn {
	c := &conn{t: t, host: host, cl: cl, via: via, sessions: make(chan struct{}, t.MaxSessionsPerConn)}
	if forwardAgent {
		if sock := t.agentSocket(); sock != "" {
			// Each forwarded request dials the agent afresh, so nothing
			// here outlives the connection.
			c.forward = agent.ForwardToRemote(cl.Client, sock) == nil
		}
	}
	return c
}

// Close closes the connection, and the jump connections it alone used.
func (c *conn) Close() error {
	var err error
	c.once.Do(func() {
		lost := c.cl.dead()
		err = c.cl.Close()
		if c.via != nil {
			c.t.jumps.release(c.via)
		}
		if lost || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			err = nil // already gone: Run said so
		}
	})
	return err
}

// lost is the error for a command whose connection ended under it.
func (c *conn) lost() error { return lostError(c.host, c.cl.lostReason()) }

// Run runs cmd in a session of its own, under the wrapper that makes it
// killable (see the package doc), streaming stdout and stderr line by line.
func (c *conn) Run(ctx context.Context, cmd engine.Command, out engine.OutputFunc) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	if c.cl.dead() {
		return -1, c.lost()
	}
	select {
	case c.sessions <- struct{}{}:
	case <-ctx.Done():
		return -1, ctx.Err()
	case <-c.cl.done:
		return -1, c.lost()
	}
	defer func() { <-c.sessions }()

	sess, err := c.openSession(ctx)
	if err != nil {
		return -1, err
	}
	defer sess.Close()
	return c.run(ctx, sess, cmd, out)
}

// openSession opens a session. sshd refuses one beyond its MaxSessions, and
// counts a session closed only once it has read our close, a moment after
// the last command returned; so a refusal is retried for a little while.
func (c *conn) openSession(ctx context.Context) (*ssh.Session, error) {
	delay := 10 * time.Millisecond
	deadline := time.Now().Add(3 * time.Second)
	for {
		s, err := c.openSessionOnce(ctx)
		var openErr *ssh.OpenChannelError
		if err == nil || !errors.As(err, &openErr) || time.Now().After(deadline) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.cl.done:
			return nil, c.lost()
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// openSessionOnce opens a session without outliving ctx: a peer that stopped
// answering never confirms the channel.
func (c *conn) openSessionOnce(ctx context.Context) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := c.cl.NewSession()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			if c.cl.dead() || connectionClosed(r.err) {
				return nil, c.lost()
			}
			return nil, fmt.Errorf("%s: open session: %w", c.host, r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

func (c *conn) run(ctx context.Context, sess *ssh.Session, cmd engine.Command, out engine.OutputFunc) (int, error) {
	// The pipes are local: they cannot block or fail on the network.
	stdin, err := sess.StdinPipe()
	if err != nil {
		return -1, c.setupError(ctx, "stdin", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return -1, c.setupError(ctx, "stdout", err)
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return -1, c.setupError(ctx, "stderr", err)
	}

	// From here on a cancel stops the command, or, should the peer not
	// even answer the requests that set the session up, the connection.
	finished := make(chan struct{})
	defer close(finished)
	stop := context.AfterFunc(ctx, func() { c.cancel(sess, stdin, cmd.PTY, finished) })
	defer stop()

	if c.forward {
		if err := agent.RequestAgentForwarding(sess); err != nil {
			return -1, c.setupError(ctx, "request agent forwarding", err)
		}
	}
	if cmd.PTY {
		modes := ssh.TerminalModes{ssh.ECHO: 0, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty("dumb", 50, 200, modes); err != nil {
			return -1, c.setupError(ctx, "request pty", err)
		}
	}

	// out is called from two readers, and never once Run has returned.
	var mu sync.Mutex
	returned := false
	emit := func(s engine.Stream, line []byte) {
		mu.Lock()
		defer mu.Unlock()
		if !returned {
			out(s, line)
		}
	}
	defer func() {
		mu.Lock()
		returned = true
		mu.Unlock()
	}()

	if err := ctx.Err(); err != nil {
		return -1, err
	}
	if err := sess.Start(remoteCommand(cmd, c.t.Grace)); err != nil {
		return -1, c.setupError(ctx, "start", err)
	}

	var wg sync.WaitGroup
	wg.Add(2)
	read := func(r io.Reader, s engine.Stream) {
		defer wg.Done()
		_ = engine.ScanLines(r, s, emit)
		// Keep the channel's window open if the scanner stopped early.
		_, _ = io.Copy(io.Discard, r)
	}
	go read(stdout, engine.Stdout)
	go read(stderr, engine.Stderr)
	wg.Wait()
	werr := sess.Wait()

	if err := ctx.Err(); err != nil {
		if c.cl.dead() {
			// The cancel never reached the host (a dead link): the
			// connection was closed under the command, which may still be
			// running there. Its outcome is unknown, not stopped.
			return -1, fmt.Errorf("%w (after %w)", c.lost(), err)
		}
		return -1, err
	}
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case werr == nil:
		return 0, nil
	case errors.As(werr, &exitErr):
		return exitErr.ExitStatus(), nil
	case errors.As(werr, &missing), c.cl.dead(), connectionClosed(werr):
		// The session usually ended because the connection did: give the
		// connection a moment to report that, for the better reason.
		select {
		case <-c.cl.done:
			return -1, c.lost()
		case <-time.After(200 * time.Millisecond):
			return -1, lostError(c.host, "the session ended without an exit status")
		}
	}
	return -1, fmt.Errorf("%s: wait: %w", c.host, werr)
}

func (c *conn) setupError(ctx context.Context, stage string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if c.cl.dead() || connectionClosed(err) {
		return c.lost()
	}
	return fmt.Errorf("%s: %s: %w", c.host, stage, err)
}

// cancel stops a running command: SIGTERM (the "signal" request, and "TERM"
// on stdin, or with a PTY the interrupt character, which the wrapper turns
// into SIGTERM for its group), then after the grace period SIGKILL, closing stdin
// and the session. If the session is still not closed after a further grace
// period, the peer is not answering: the whole connection is closed so that
// Run returns.
func (c *conn) cancel(sess *ssh.Session, stdin io.WriteCloser, pty bool, finished <-chan struct{}) {
	grace := c.t.Grace
	// Writes can block on a stalled peer; none of them may hold up the rest.
	go func() {
		_ = sess.Signal(ssh.SIGTERM)
		if pty {
			// sshd refuses "signal" for root (no privilege separation
			// after login) and before 7.9; the terminal's interrupt
			// character reaches the foreground group whatever the server.
			_, _ = io.WriteString(stdin, ptyInterrupt)
		} else {
			_, _ = io.WriteString(stdin, stdinTerm)
		}
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-finished:
		return
	case <-timer.C:
	}
	go func() {
		if !pty {
			_, _ = io.WriteString(stdin, stdinKill)
		}
		_ = stdin.Close()
		_ = sess.Close()
	}()
	timer.Reset(grace)
	select {
	case <-finished:
	case <-timer.C:
		c.cl.fail(fmt.Sprintf("the session did not end within %s of a cancel", 2*grace))
	}
}

// DialContext opens a TCP connection from the host, through the SSH
// connection (a direct-tcpip channel, as ssh -L does), for network checks
// that say from: host. The server must allow TCP forwarding.
func (c *conn) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nc, err := c.cl.DialContext(ctx, network, addr)
	if err != nil {
		if c.cl.dead() {
			return nil, c.lost()
		}
		return nil, fmt.Errorf("connect %s from %s (over SSH; the server may forbid TCP forwarding): %w", addr, c.host, err)
	}
	return nc, nil
}

// Alive reports whether the connection is still up, so the engine dials
// again rather than use one that died while it waited at a gate.
func (c *conn) Alive() bool { return !c.cl.dead() }
