package sshx

import (
	"context"
	"crypto/rand"
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

	// terminator ends a command sent to a warm session (random, so no
	// command line is ever taken for it).
	terminator string
	wmu        sync.Mutex
	warm       *warmSession // the session prepared for the next command
	closed     bool         // under wmu: Close has run, warm no more
}

// warmSession is a session whose wrapper (wrapperChain) is running on the
// host, waiting on stdin for the line to run: one started ahead of its
// command by Warm, or one kept after a command with More. It holds one of
// the connection's session slots from the start.
type warmSession struct {
	ready chan struct{} // closed once s or err is set
	s     *session
	err   error
}

// session is an open session with its pipes.
type session struct {
	*ssh.Session
	stdin          io.WriteCloser
	stdout, stderr io.Reader
	// ended, for a warm session, is closed once it has ended (endErr is
	// Wait's result): one whose shell went while it waited is not used.
	ended  chan struct{}
	endErr error
	// outF and errF, for a warm session, read stdout and stderr a command
	// at a time, up to the frames the wrapper writes after a command that
	// keeps the session.
	outF, errF *frameReader
}

// warmPipes attaches the pipes of a session that runs wrapperChain, and
// its frame readers.
func warmPipes(sess *ssh.Session, terminator string) (*session, error) {
	ss, err := pipes(sess)
	if err != nil {
		return nil, err
	}
	ss.outF = newFrameReader(ss.stdout, terminator+":")
	ss.errF = newFrameReader(ss.stderr, terminator+":")
	return ss, nil
}

// watchEnd waits for the session's end in the background, for ended.
func (s *session) watchEnd() {
	s.ended = make(chan struct{})
	go func() {
		s.endErr = s.Session.Wait()
		close(s.ended)
	}()
}

// wait is Wait, or what watchEnd got from it.
func (s *session) wait() error {
	if s.ended == nil {
		return s.Session.Wait()
	}
	<-s.ended
	return s.endErr
}

// hasEnded reports whether a watched session has ended.
func (s *session) hasEnded() bool {
	if s.ended == nil {
		return false
	}
	select {
	case <-s.ended:
		return true
	default:
		return false
	}
}

func newConn(t *Transport, host string, cl *client, via *sharedClient, forwardAgent bool) *conn {
	c := &conn{t: t, host: host, cl: cl, via: via, sessions: make(chan struct{}, t.MaxSessionsPerConn), terminator: "rollout-" + rand.Text()}
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
		c.wmu.Lock()
		c.closed = true
		c.wmu.Unlock()
		c.dropWarm() // closing the client ends it anyway; this frees its slot
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

// Run runs cmd under the wrapper that makes it killable (see the package
// doc), streaming stdout and stderr line by line: in the warm session if
// there is one it can use, else in a new session. With cmd.More the
// session is kept for the next command once cmd succeeds (a command sent
// on stdin; see wrapperChain), or, for one that cannot be (a PTY, a very
// long line), a session is warmed for it while cmd runs (see Warm). If cmd
// fails, the session is dropped: nothing may follow then.
func (c *conn) Run(ctx context.Context, cmd engine.Command, out engine.OutputFunc) (int, error) {
	code, err := c.runCommand(ctx, cmd, out)
	if cmd.More && (err != nil || code != 0) {
		c.dropWarm()
	}
	return code, err
}

// runCommand runs cmd in the warm session if there is one it can use, else
// in a new session.
func (c *conn) runCommand(ctx context.Context, cmd engine.Command, out engine.OutputFunc) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	if c.cl.dead() {
		return -1, c.lost()
	}
	if !cmd.PTY {
		if ss, in := c.takeWarm(ctx, cmd); ss != nil {
			code, sent, keep, err := c.runWarm(ctx, ss, in, cmd.More, out)
			c.keepOrRelease(ss, keep)
			if sent || ctx.Err() != nil || c.cl.dead() {
				return code, err
			}
			// The warm session was gone before the line reached it (its
			// shell killed on the host while it waited): nothing ran, so
			// run it in a new one.
		}
		if err := ctx.Err(); err != nil {
			return -1, err
		}
	}
	select {
	case c.sessions <- struct{}{}:
	case <-ctx.Done():
		return -1, ctx.Err()
	case <-c.cl.done:
		return -1, c.lost()
	}
	sess, err := c.openSession(ctx)
	if err != nil {
		<-c.sessions
		return -1, err
	}
	if in, ok := c.chainInput(cmd); ok {
		ss, err := warmPipes(sess, c.terminator)
		if err != nil {
			sess.Close()
			<-c.sessions
			return -1, c.setupError(ctx, "session", err)
		}
		code, keep, err := c.runChained(ctx, ss, in, out)
		c.keepOrRelease(ss, keep)
		return code, err
	}
	defer func() { <-c.sessions }()
	defer sess.Close()
	return c.run(ctx, sess, cmd, out)
}

// chainInput is what a new session for cmd reads on stdin when cmd is to
// run under wrapperChain, so that the session can be kept for the next
// command (cmd.More, no PTY, a line short enough).
func (c *conn) chainInput(cmd engine.Command) (string, bool) {
	if !cmd.More || cmd.PTY {
		return "", false
	}
	return warmInput(engine.WithEnv(cmd), c.terminator, true)
}

// keepOrRelease keeps a warm session for the next command, holding its
// slot, or closes it and frees the slot: when keep is false, or when there
// is no room for it (the connection closed, or another session warmed).
func (c *conn) keepOrRelease(ss *session, keep bool) {
	if keep && !ss.hasEnded() {
		c.wmu.Lock()
		if !c.closed && c.warm == nil && !c.cl.dead() {
			w := &warmSession{ready: make(chan struct{}), s: ss}
			close(w.ready)
			c.warm = w
			c.wmu.Unlock()
			return
		}
		c.wmu.Unlock()
	}
	ss.Close()
	<-c.sessions
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

// pipes attaches the session's stdin, stdout and stderr. They are local:
// they cannot block or fail on the network.
func pipes(sess *ssh.Session) (*session, error) {
	ss := &session{Session: sess}
	var err error
	if ss.stdin, err = sess.StdinPipe(); err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	if ss.stdout, err = sess.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("stdout: %w", err)
	}
	if ss.stderr, err = sess.StderrPipe(); err != nil {
		return nil, fmt.Errorf("stderr: %w", err)
	}
	return ss, nil
}

func (c *conn) run(ctx context.Context, sess *ssh.Session, cmd engine.Command, out engine.OutputFunc) (int, error) {
	ss, err := pipes(sess)
	if err != nil {
		return -1, c.setupError(ctx, "session", err)
	}

	// From here on a cancel stops the command, or, should the peer not
	// even answer the requests that set the session up, the connection.
	finished := make(chan struct{})
	defer close(finished)
	stop := context.AfterFunc(ctx, func() { c.cancel(sess, ss.stdin, cmd.PTY, finished) })
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
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	if err := sess.Start(remoteCommand(cmd, c.t.Grace)); err != nil {
		return -1, c.setupError(ctx, "start", err)
	}
	if cmd.More {
		c.Warm()
	}
	code, _, err := c.collect(ctx, ss, false, out)
	return code, err
}

// runChained runs a command with More in a new session under
// wrapperChain, sending in, its warmInput, on stdin: the session can then
// be kept for the next command (keep), with no new session, shell and
// wrapper for it on the host.
func (c *conn) runChained(ctx context.Context, ss *session, in string, out engine.OutputFunc) (code int, keep bool, err error) {
	if stage, err := c.startWarm(ctx, ss); err != nil {
		return -1, false, c.setupError(ctx, stage, err)
	}
	code, _, keep, err = c.runWarm(ctx, ss, in, true, out)
	return code, keep, err
}

// startWarm starts wrapperChain in a session with warm pipes: agent
// forwarding first, where the connection forwards, then the exec request.
// stage names the request that failed. A cancel meanwhile escalates as
// for a running command (see cancel), but writes nothing to stdin: no
// command has been sent, and a "TERM" there would be read as the first
// line of the one about to be; the caller's runWarm sends none once ctx
// has ended.
func (c *conn) startWarm(ctx context.Context, ss *session) (stage string, err error) {
	finished := make(chan struct{})
	defer close(finished)
	stop := context.AfterFunc(ctx, func() { c.cancel(ss.Session, noInput{}, false, finished) })
	defer stop()
	if c.forward {
		if err := agent.RequestAgentForwarding(ss.Session); err != nil {
			return "request agent forwarding", err
		}
	}
	if err := ss.Start(warmCommand(c.terminator, c.t.Grace)); err != nil {
		return "start", err
	}
	ss.watchEnd()
	return "", nil
}

// noInput is a session's stdin as a cancel sees it before a command has
// been sent: it takes nothing.
type noInput struct{}

func (noInput) Write(p []byte) (int, error) { return len(p), nil }
func (noInput) Close() error                { return nil }

// runWarm runs a command in a warm session: its wrapper is already running
// and only waits for in, the command's warmInput, on stdin. sent is false
// when in could not be written: nothing ran. more is the command's More,
// which in says too; keep says the session may run the next command: more,
// and the command succeeded.
func (c *conn) runWarm(ctx context.Context, ss *session, in string, more bool, out engine.OutputFunc) (code int, sent, keep bool, err error) {
	if err := ctx.Err(); err != nil {
		return -1, false, false, err // the wrapper reads end of file and exits
	}
	finished := make(chan struct{})
	defer close(finished)
	// The line goes before any cancel can write to the same stdin. It is a
	// few bytes into a fresh channel's window: the write does not wait on
	// the peer, and a closed channel or a dead connection fails it.
	if _, err := io.WriteString(ss.stdin, in); err != nil {
		return -1, false, false, c.setupError(ctx, "send the command", err)
	}
	stop := context.AfterFunc(ctx, func() { c.cancel(ss.Session, ss.stdin, false, finished) })
	defer stop()
	code, framed, err := c.collect(ctx, ss, more, out)
	return code, true, more && framed && err == nil && code == 0, err
}

// collect streams a started command's output to out and returns its exit
// status, or why there is none. With framed (a command sent to
// wrapperChain with "+") the output ends at the wrapper's frames, which
// hold the status, and the session goes on (framed comes back true once
// both frames were read); without, at the end of the session.
func (c *conn) collect(ctx context.Context, ss *session, framed bool, out engine.OutputFunc) (int, bool, error) {
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

	var wg sync.WaitGroup
	wg.Add(2)
	read := func(r io.Reader, s engine.Stream) {
		defer wg.Done()
		_ = engine.ScanLines(r, s, emit)
		// Keep the channel's window open if the scanner stopped early.
		_, _ = io.Copy(io.Discard, r)
	}
	stdout, stderr := ss.stdout, ss.stderr
	if ss.outF != nil {
		// A warm session's streams are read through its frame readers,
		// which hold what may be the start of a frame, even when this
		// command ends with the session.
		ss.outF.next()
		ss.errF.next()
		stdout, stderr = ss.outF, ss.errF
	}
	go read(stdout, engine.Stdout)
	go read(stderr, engine.Stderr)
	wg.Wait()
	if framed {
		if code, ok := ss.outF.status(); ok {
			if err := ctx.Err(); err != nil {
				return -1, false, err // stopped: the status is the signal's
			}
			// Kept only with both frames read: else the wrapper is gone.
			return code, ss.errF.framed, nil
		}
	}
	werr := ss.wait()

	if err := ctx.Err(); err != nil {
		if c.cl.dead() {
			// The cancel never reached the host (a dead link): the
			// connection was closed under the command, which may still be
			// running there. Its outcome is unknown, not stopped.
			return -1, false, fmt.Errorf("%w (after %w)", c.lost(), err)
		}
		return -1, false, err
	}
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case werr == nil:
		return 0, false, nil
	case errors.As(werr, &exitErr):
		return exitErr.ExitStatus(), false, nil
	case errors.As(werr, &missing), c.cl.dead(), connectionClosed(werr):
		// The session usually ended because the connection did: give the
		// connection a moment to report that, for the better reason.
		select {
		case <-c.cl.done:
			return -1, false, c.lost()
		case <-time.After(200 * time.Millisecond):
			return -1, false, lostError(c.host, "the session ended without an exit status")
		}
	}
	return -1, false, fmt.Errorf("%s: wait: %w", c.host, werr)
}

// Warm starts a session for the next command, unless one is ready or being
// started, a free session slot is lacking, or the connection is closed. It
// returns at once: the session opens and its wrapper starts in the
// background, and Run takes it for the next command without a PTY. An
// unused one ends when the connection closes (its wrapper reads end of
// file and exits without running anything).
func (c *conn) Warm() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed || c.warm != nil || c.cl.dead() {
		return
	}
	select {
	case c.sessions <- struct{}{}:
	default:
		return
	}
	w := &warmSession{ready: make(chan struct{})}
	c.warm = w
	go func() {
		defer close(w.ready)
		// Bounded like a handshake: a peer that stops answering here is
		// noticed by keepalives, and Run falls back to a session of its own.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sess, err := c.openSession(ctx)
		if err != nil {
			w.err = err
			return
		}
		ss, err := warmPipes(sess, c.terminator)
		if err == nil {
			_, err = c.startWarm(ctx, ss)
		}
		if err != nil {
			sess.Close()
			w.err = err
			return
		}
		w.s = ss
	}()
}

// takeWarm hands Run the warm session, with its slot, and what to write to
// it, if there is one and cmd can be sent to it, waiting for it to be
// ready; nil means open a session as usual (none, it failed, or ctx ended
// meanwhile: Run checks).
func (c *conn) takeWarm(ctx context.Context, cmd engine.Command) (*session, string) {
	c.wmu.Lock()
	w := c.warm
	if w == nil {
		c.wmu.Unlock()
		return nil, ""
	}
	in, ok := warmInput(engine.WithEnv(cmd), c.terminator, cmd.More)
	if !ok {
		c.wmu.Unlock()
		return nil, "" // left for a later command
	}
	c.warm = nil
	c.wmu.Unlock()
	select {
	case <-w.ready:
	case <-ctx.Done():
		go c.release(w)
		return nil, ""
	}
	if w.err != nil || w.s.hasEnded() {
		// It failed to start, or its shell went while it waited (killed
		// on the host): nothing can run in it.
		c.release(w)
		return nil, ""
	}
	return w.s, in
}

// dropWarm closes the warm session, if any, freeing its slot.
func (c *conn) dropWarm() {
	c.wmu.Lock()
	w := c.warm
	c.warm = nil
	c.wmu.Unlock()
	if w != nil {
		go c.release(w)
	}
}

// release closes a warm session once it is ready, and frees its slot.
func (c *conn) release(w *warmSession) {
	<-w.ready
	if w.s != nil {
		w.s.Close()
	}
	<-c.sessions
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
