package sshx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"

	"github.com/rolloutconsole/rollout/engine"
)

// stageError carries its own message and matches, with errors.Is and
// errors.As, both a sentinel category and the error that caused it, without
// repeating either in the text.
type stageError struct {
	msg  string
	errs []error
}

func (e *stageError) Error() string   { return e.msg }
func (e *stageError) Unwrap() []error { return e.errs }

// categorize returns an error reading msg that matches category and cause.
func categorize(category, cause error, msg string) error {
	errs := []error{category}
	if cause != nil {
		errs = append(errs, cause)
	}
	return &stageError{msg: msg, errs: errs}
}

// dialReason describes why a TCP or tunnelled dial failed, and whether it
// means the host is unreachable (as opposed to, say, a bad address).
func dialReason(err error) (string, bool) {
	var dnsErr *net.DNSError
	var openErr *ssh.OpenChannelError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host", true
	case errors.Is(err, syscall.ENETUNREACH):
		return "network is unreachable", true
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset", true
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "no such host " + dnsErr.Name, true
		}
		return "cannot resolve " + dnsErr.Name + ": " + dnsErr.Err, true
	case errors.As(err, &openErr):
		// A jump host could not open the tunnel: its own dial failed.
		return "the jump host could not connect: " + strings.TrimSpace(openErr.Message), true
	case errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "no answer (timed out)", true
	}
	return err.Error(), false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// connectionClosed reports whether err means the peer closed or reset the
// connection.
func connectionClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.EPIPE)
}

// lostError is the error for a command whose connection died under it.
func lostError(host, reason string) error {
	return categorize(engine.ErrConnectionLost, nil, fmt.Sprintf("%s: connection lost: %s", host, reason))
}
