// Package netcheck runs the checks of a change that are not commands: an HTTP
// GET, a TCP connect and a Prometheus instant query. The engine uses them in
// verify, preflight and canary soak.
//
// The engine has already expanded the check's templates into plain strings
// and chosen where the check dials from: the console (a net.Dialer) or the
// host (a direct-tcpip channel on the host's SSH connection). This package
// receives that choice as a DialFunc and never dials any other way, so a
// check "from the host" really is seen from the host.
//
// Each Check returns nil when the check passes, or an error whose text is
// one sentence saying what was expected and what was seen, fit to show an
// on-call engineer at a gate. Timeouts come from the context only: an error
// from a deadline wraps context.DeadlineExceeded and one from a stop wraps
// context.Canceled, so the engine can tell them from a check that failed.
package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// DialFunc opens a connection as net.Dialer.DialContext does. The engine
// passes either a net.Dialer's method (checks from the console) or one that
// opens a direct-tcpip channel through the host's SSH connection (checks
// from the host): (*ssh.Client).DialContext has this very signature. A nil
// DialFunc means a plain net.Dialer.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// orDefault returns dial, or a plain net.Dialer's DialContext when dial is nil.
func orDefault(dial DialFunc) DialFunc {
	if dial != nil {
		return dial
	}
	var d net.Dialer
	return d.DialContext
}

// timeoutError reports that the context's deadline passed. It wraps
// context.DeadlineExceeded so the engine can tell a timeout from an answer.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string { return "no answer within " + e.after.String() }
func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// canceledError reports that the check was stopped (abort, quit), not that
// the target misbehaved.
type canceledError struct{ cause error }

func (e *canceledError) Error() string {
	if e.cause == nil || e.cause == context.Canceled {
		return "canceled"
	}
	return "canceled: " + plain(e.cause.Error(), 200)
}

// Unwrap gives both context.Canceled and the engine's cause, so either
// can be tested with errors.Is.
func (e *canceledError) Unwrap() []error { return []error{context.Canceled, e.cause} }

// reason turns an error from dialling or reading into its plain cause:
// "connection refused" rather than "dial tcp 10.0.0.5:5432: connect:
// connection refused", "no answer within 2s" rather than "context deadline
// exceeded". The result still wraps the original cause for errors.Is.
func reason(ctx context.Context, start time.Time, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return &timeoutError{after: waited(ctx, start)}
		}
		return &canceledError{cause: context.Cause(ctx)}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno // "connection refused", "no route to host", …
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr // "lookup web-1 on 10.0.0.2:53: no such host"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return &timeoutError{after: waited(ctx, start)}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err
	}
	return err
}

// waited is how long the check was given: from start to the context's
// deadline when there is one, else the time spent. It is rounded so that
// the engine's "2s" reads 2s, not the 1.9997s left when the check began.
func waited(ctx context.Context, start time.Time) time.Duration {
	d := time.Since(start)
	if dl, ok := ctx.Deadline(); ok && dl.After(start) {
		d = dl.Sub(start)
	}
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}

// clip shortens text that came from the network to at most n bytes, cut on
// a rune boundary, so that a hostile answer cannot flood the screen or the
// journal through an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// quoted is clip, then %q: safe to print whatever bytes the server sent.
func quoted(s string, n int) string { return fmt.Sprintf("%q", clip(s, n)) }

// plain is clip for text shown without quotes (a label name, Prometheus's
// own error message): control characters are written as escapes, so that
// an answer cannot move the cursor or recolour the console through an error.
func plain(s string, n int) string {
	s = clip(s, n)
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// redact removes the userinfo (user:password@) from a URL for messages.
// It works on the raw text, so it also cleans a URL that does not parse.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw
	}
	return scheme + "://***@" + rest[at+1:]
}
