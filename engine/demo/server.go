package demo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// server is one virtual host: an SSH server on its own loopback port with
// its own host key, accepting only the demo's client key, running each exec
// request as sh -c in the host's sandbox directory.
type server struct {
	host     *Host
	ln       net.Listener
	config   *ssh.ServerConfig
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
	closed   bool
	baseEnv  []string
	dropOnce sync.Once
}

func newServer(h *Host, hostKey ssh.Signer, clientKey ssh.PublicKey, env []string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for %s: %w", h.Name, err)
	}
	want := clientKey.Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(want) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
		ServerVersion: "SSH-2.0-rollout-demo",
	}
	cfg.AddHostKey(hostKey)
	s := &server{host: h, ln: ln, config: cfg, conns: map[net.Conn]bool{}, baseEnv: env}
	h.Port = ln.Addr().(*net.TCPAddr).Port
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { recover() }() // a misbehaving client never takes the demo down
			s.handle(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// close stops accepting, drops every connection and waits for handlers.
func (s *server) close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

func (s *server) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	defer sc.Close()
	go func() {
		for r := range reqs { // keepalives and anything else global
			if r.WantReply {
				_ = r.Reply(r.Type == "keepalive@openssh.com", nil)
			}
		}
	}()
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(c, ch, creqs)
		}()
	}
	wg.Wait()
}

// session serves one session channel: pty-req is accepted (output is not a
// terminal, which the demo does not need), env is refused as most sshd
// configs do, exec runs the command, signal forwards to its process group.
func (s *server) session(conn net.Conn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var proc *os.Process
	var procMu sync.Mutex
	done := make(chan struct{})
	started := false
	for {
		select {
		case r, ok := <-reqs:
			if !ok {
				// The client closed the session: the command goes too.
				procMu.Lock()
				if proc != nil {
					signalGroup(proc, "KILL")
				}
				procMu.Unlock()
				if started {
					<-done
				}
				return
			}
			switch r.Type {
			case "exec":
				if started {
					_ = r.Reply(false, nil)
					continue
				}
				var p struct{ Command string }
				if err := ssh.Unmarshal(r.Payload, &p); err != nil {
					_ = r.Reply(false, nil)
					continue
				}
				started = true
				_ = r.Reply(true, nil)
				go func() {
					defer close(done)
					s.exec(conn, ch, p.Command, func(pr *os.Process) {
						procMu.Lock()
						proc = pr
						procMu.Unlock()
					})
				}()
			case "pty-req":
				_ = r.Reply(true, nil)
			case "signal":
				var p struct{ Signal string }
				_ = ssh.Unmarshal(r.Payload, &p)
				procMu.Lock()
				if proc != nil {
					signalGroup(proc, p.Signal)
				}
				procMu.Unlock()
				if r.WantReply {
					_ = r.Reply(true, nil)
				}
			default:
				if r.WantReply {
					_ = r.Reply(false, nil)
				}
			}
		case <-done:
			return
		}
	}
}

// exec runs one command in the host's sandbox and reports its exit status.
func (s *server) exec(conn net.Conn, ch ssh.Channel, command string, started func(*os.Process)) {
	h := s.host
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = h.Sandbox
	cmd.Env = append(append([]string(nil), s.baseEnv...), "DEMO_HOST="+h.Name, "HOME="+h.Sandbox)
	ownGroup(cmd)
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	cmd.Cancel = func() error { signalGroup(cmd.Process, "KILL"); return nil }
	// The session's stdin reaches the command, as with sshd: the SSH
	// transport steers cancels through it. It is copied by hand, not through
	// cmd.Stdin, so Wait does not wait for the client to close its side.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "demo: %v\n", err)
		sendExit(ch, 127)
		return
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(ch.Stderr(), "demo: %v\n", err)
		sendExit(ch, 127)
		return
	}
	started(cmd.Process)
	// The deploy is in the exec request, or, in a session the transport
	// started ahead of it (a warm one), on stdin.
	drop := func() {
		s.dropOnce.Do(func() {
			// Let the deploy get going, then lose the connection, as a
			// host whose network drops mid-command would.
			time.AfterFunc(h.scale(400*time.Millisecond), func() { conn.Close() })
		})
	}
	var in io.Reader = ch
	if h.Fault == FaultDrop {
		if strings.Contains(command, deployCommand) {
			drop()
		} else {
			in = &watchReader{r: ch, needle: deployCommand, hit: drop}
		}
	}
	go func() {
		_, _ = io.Copy(stdin, in)
		stdin.Close()
	}()
	err = cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if code < 0 {
			code = 137 // killed
		}
	} else if err != nil {
		code = 127
	}
	sendExit(ch, code)
}

// deployCommand is what the demo change's apply runs, where --drop strikes.
const deployCommand = "service deploy"

// watchReader calls hit once it has read needle, across reads.
type watchReader struct {
	r      io.Reader
	needle string
	tail   []byte
	hit    func()
}

func (w *watchReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 && w.hit != nil {
		w.tail = append(w.tail, p[:n]...)
		if strings.Contains(string(w.tail), w.needle) {
			w.hit()
			w.hit, w.tail = nil, nil
		} else if keep := len(w.needle) - 1; len(w.tail) > keep {
			w.tail = append(w.tail[:0], w.tail[len(w.tail)-keep:]...)
		}
	}
	return n, err
}

func sendExit(ch ssh.Channel, code int) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	_, _ = ch.SendRequest("exit-status", false, b[:])
	_ = ch.CloseWrite()
	_, _ = io.Copy(io.Discard, io.LimitReader(ch, 0))
}
