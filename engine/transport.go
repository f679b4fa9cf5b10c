package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rolloutconsole/rollout/inventory"
)

// Transport reaches hosts. The engine calls Dial once per host's turn and
// reuses the Conn for every step of it (apply, then verify; a canary's soak;
// a retry of a failed host), so a transport that is expensive to connect
// (SSH) pays the handshake once. A host that is done has its Conn closed
// then; a later rollback of it dials again.
type Transport interface {
	// Dial connects to host. It honours ctx for cancellation and its own
	// connect timeout. The error says which stage failed.
	Dial(ctx context.Context, host *inventory.Host) (Conn, error)
}

// DialTimeouter is a Transport that bounds each dial by a connect timeout
// of its own and can be given one per dial. The engine then calls
// DialTimeout with the change's timeouts.connect and a context that only
// cancels, instead of Dial with that timeout as the context's deadline, so
// that time a dial spends queued inside the transport (waiting for a
// handshake slot) is not taken for an unresponsive host.
type DialTimeouter interface {
	DialTimeout(ctx context.Context, host *inventory.Host, timeout time.Duration) (Conn, error)
}

// Conn is an open connection to one host.
type Conn interface {
	// Run runs cmd and calls out for each line of output, stdout and stderr
	// kept apart, as lines arrive. It returns the command's exit status. A
	// non-nil error means the command's outcome is not known: it could not be
	// started, the connection was lost (wrap ErrConnectionLost), or ctx ended
	// (the remote process is signalled, then the session closed after a grace
	// period). out is never called after Run returns.
	Run(ctx context.Context, cmd Command, out OutputFunc) (exitCode int, err error)
	// Close releases the connection.
	Close() error
}

// A Conn may also report whether it is still connected, with a method
// Alive() bool: the engine then dials again, instead of running a step on
// a connection it kept open while it waited at a gate and that has gone.

// NetDialer is a Conn that can open a TCP connection from its host (over
// SSH, a direct-tcpip channel), for network checks that say from: host: a
// port that listens only on the host's loopback can still be checked.
type NetDialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Command is one shell command to run on a host.
type Command struct {
	// Line is the command for POSIX sh, placeholders already expanded and quoted.
	Line string
	// Env is set for the command. A transport passes it safely (quoted into
	// the command line), since most sshd configs refuse SetEnv.
	Env []EnvVar
	// PTY asks for a terminal: sudo with requiretty works, and a hang-up on
	// abort reaches the whole process group.
	PTY bool
	// More says another command will run on this connection as soon as
	// this one succeeds (verify after apply, apply after capture). A
	// transport may then prepare that command's session while this one
	// runs — for SSH a session and its shell, waiting for the command — so
	// that it starts without the round trips and remote fork and exec a new
	// session costs. It is only a hint: nothing else changes.
	More bool
}

// A Conn may also be a Warmer: the engine calls Warm on a connection it
// opened ahead of its host's turn, so that the first command, too, finds
// its session ready. Warm returns at once; what it prepares is released by
// Close, or unused by a command that cannot use it (one with a PTY).
type Warmer interface {
	Warm()
}

// EnvVar is one environment variable for a Command.
type EnvVar struct {
	Name  string
	Value string
}

// Stream tells stdout from stderr.
type Stream uint8

// The output streams.
const (
	Stdout Stream = 1
	Stderr Stream = 2
)

// String names the stream for the journal and the screen.
func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// OutputFunc receives one line of a command's output, without its newline.
// The engine copies what it keeps, so a transport may reuse line's memory.
type OutputFunc func(stream Stream, line []byte)

// Sentinel errors for the categories a console shows as badges.
var (
	// ErrConnectionLost: the connection dropped while a command ran; the
	// command's outcome is unknown.
	ErrConnectionLost = errors.New("connection lost")
	// ErrUnreachable: nothing answered, or the connection was refused.
	ErrUnreachable = errors.New("unreachable")
	// ErrAuth: the host refused every credential offered.
	ErrAuth = errors.New("authentication failed")
	// ErrHostKeyUnknown: the host's key is not in known_hosts.
	ErrHostKeyUnknown = errors.New("unknown host key")
	// ErrHostKeyMismatch: the host's key differs from the one recorded.
	ErrHostKeyMismatch = errors.New("host key mismatch")
	// ErrStaleGate: a decision named a gate that is no longer open.
	ErrStaleGate = errors.New("stale gate")
	// ErrFinished: the rollout has ended and takes no more commands.
	ErrFinished = errors.New("rollout finished")
	// ErrNotAllowed: the decision is not one the open gate offers.
	ErrNotAllowed = errors.New("not allowed at this gate")
)

// maxScanLine is the longest line ScanLines hands over whole; longer lines
// arrive in pieces of this size, so memory per stream stays bounded.
const maxScanLine = 64 << 10

// scanBufSize is where a ScanLines buffer starts: most lines are short, and
// a command's output rarely fills it.
const scanBufSize = 4 << 10

// scanBufs recycles ScanLines buffers. Before, every stream of every
// command allocated (and zeroed) a 64 KiB bufio.Reader: 128 KiB per command,
// the bulk of what a fleet rollout allocated and so of its GC work.
var scanBufs = sync.Pool{New: func() any { b := make([]byte, scanBufSize); return &b }}

// ScanLines reads r to its end and calls out for each line, without its
// line ending ("\n" or "\r\n"). It is for transports; memory is bounded
// whatever the remote prints, binary output included: the buffer grows from
// 4 KiB as a line needs, up to maxScanLine, and a longer line is handed over
// in pieces of that size.
func ScanLines(r io.Reader, s Stream, out OutputFunc) error {
	bp := scanBufs.Get().(*[]byte)
	defer scanBufs.Put(bp) // the first buffer; a grown one is left to the GC
	buf := *bp
	start, end := 0, 0 // unread bytes are buf[start:end]
	empty := 0
	for {
		for {
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			line := buf[start : start+i]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			out(s, line)
			start += i + 1
		}
		if start == end {
			start, end = 0, 0
		}
		if end == len(buf) {
			switch {
			case start > 0:
				end = copy(buf, buf[start:end])
				start = 0
			case len(buf) < maxScanLine:
				nb := make([]byte, min(2*len(buf), maxScanLine))
				copy(nb, buf[:end])
				buf = nb
			default:
				out(s, buf[:end]) // a full buffer and no line end: a piece
				start, end = 0, 0
			}
		}
		n, err := r.Read(buf[end:])
		end += n
		if err != nil {
			for start < end {
				i := bytes.IndexByte(buf[start:end], '\n')
				if i < 0 {
					out(s, buf[start:end]) // the last line, without a line end
					break
				}
				line := buf[start : start+i]
				if n := len(line); n > 0 && line[n-1] == '\r' {
					line = line[:n-1]
				}
				out(s, line)
				start += i + 1
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		if n == 0 {
			if empty++; empty >= 100 {
				return io.ErrNoProgress
			}
		} else {
			empty = 0
		}
	}
}
