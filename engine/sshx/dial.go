package sshx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

// endpoint is one SSH server to connect to: a target or a jump host.
type endpoint struct {
	name       string // for messages and known_hosts
	addr       string
	port       int
	user       string
	identities []string
	knownHosts string // as the inventory gives it; the fallback when empty
	// timeout bounds the TCP connect and the handshake (not the wait for
	// a handshake slot); Options.ConnectTimeout when zero.
	timeout time.Duration
}

func (e endpoint) connectTimeout(t *Transport) time.Duration {
	if e.timeout > 0 {
		return e.timeout
	}
	return t.ConnectTimeout
}

func (e endpoint) hostport() string { return net.JoinHostPort(e.addr, strconv.Itoa(e.port)) }

// key identifies the endpoint for sharing a jump connection.
func (e endpoint) key() string { return e.user + "@" + e.hostport() }

func (t *Transport) endpointFor(h *inventory.Host) endpoint {
	e := endpoint{
		name:       h.Name,
		addr:       h.Address,
		port:       h.Port,
		user:       h.User,
		identities: h.IdentityFile,
		knownHosts: h.KnownHosts,
	}
	if e.addr == "" {
		e.addr = h.Name
	}
	if e.port == 0 {
		e.port = 22
	}
	if e.user == "" {
		e.user = t.localUser()
	}
	return e
}

// localUser is the user ssh would log in as when nothing names one.
func (t *Transport) localUser() string {
	if u := t.getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// hopEndpoint resolves one "[user@]host[:port]" of a Jump list. What the hop
// does not say comes from its inventory entry (ResolveJump), then from the
// target: the user, identity files and known_hosts.
func (t *Transport) hopEndpoint(spec string, target *inventory.Host) endpoint {
	user, rest, hasUser := strings.Cut(spec, "@")
	if !hasUser {
		user, rest = "", spec
	}
	name, port := rest, 0
	if h, p, err := net.SplitHostPort(rest); err == nil {
		name = h
		port, _ = strconv.Atoi(p)
	}
	e := endpoint{name: name, addr: name, port: port, user: user,
		identities: target.IdentityFile, knownHosts: target.KnownHosts}
	if t.ResolveJump != nil {
		if h := t.ResolveJump(name); h != nil {
			if h.Address != "" {
				e.addr = h.Address
			}
			if e.port == 0 {
				e.port = h.Port
			}
			if e.user == "" {
				e.user = h.User
			}
			if len(h.IdentityFile) > 0 {
				e.identities = h.IdentityFile
			}
			if h.KnownHosts != "" {
				e.knownHosts = h.KnownHosts
			}
		}
	}
	if e.port == 0 {
		e.port = 22
	}
	if e.user == "" {
		e.user = target.User
	}
	if e.user == "" {
		e.user = t.localUser()
	}
	return e
}

// identity is what host key checks know of an endpoint.
func (t *Transport) identity(e endpoint) hostIdentity {
	kh := e.knownHosts
	if kh == "" {
		kh = t.KnownHostsFallback
	}
	write := t.expand(kh)
	files := []string{write}
	for _, g := range t.GlobalKnownHosts {
		if g = t.expand(g); g != write {
			files = append(files, g)
		}
	}
	return hostIdentity{name: e.name, addr: e.addr, port: e.port, files: files, write: write}
}

// keyExchanges is x/crypto's default preference with ecdh-sha2-nistp256 moved
// ahead of curve25519-sha256: the post-quantum hybrid stays first for servers
// that offer it (OpenSSH 9.9 and later). What a fleet rollout waits for is
// the servers' CPU, and OpenSSH computes curve25519 with its portable
// reference code but P-256 with OpenSSL's assembly: on the bench bed
// (bench/peers.sh, OpenSSH 9.2, 300 connections, two runs) sshd spent
// 18.7 and 19.8 ms per connection with curve25519-sha256, 16.7 and 18.9 ms
// with ecdh-sha2-nistp256. Both are in OpenSSH's own default list; Go's
// client cost for either is a few tens of microseconds.
var keyExchanges = []string{
	ssh.KeyExchangeMLKEM768X25519,
	ssh.KeyExchangeECDHP256,
	ssh.KeyExchangeCurve25519,
	ssh.KeyExchangeECDHP384,
	ssh.KeyExchangeECDHP521,
	ssh.KeyExchangeDH14SHA256,
	ssh.InsecureKeyExchangeDH14SHA1, // last, as in x/crypto's defaults: old servers
}

// connect opens an authenticated SSH connection to e, directly or through
// via, with at most the endpoint's connect timeout for the TCP connect and
// the handshake. The wait for a handshake slot is bounded by ctx alone.
func (t *Transport) connect(ctx context.Context, e endpoint, via *client) (*client, error) {
	select {
	case t.handsh <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("dial %s (%s): waiting for a handshake slot: %w", e.name, e.hostport(), ctx.Err())
	}
	defer func() { <-t.handsh }()

	hctx, cancel := context.WithTimeout(ctx, e.connectTimeout(t))
	defer cancel()
	// Credentials come first, so that a key nobody can unlock fails before
	// anything is dialled, and the agent connection lives only as long as
	// this handshake.
	creds, err := t.credentials(hctx, e.identities)
	if err != nil {
		return nil, categorize(engine.ErrAuth, err, fmt.Sprintf("auth %s: %s", e.name, err))
	}
	defer creds.close()
	ver, err := t.hostKeys.verifier(t.identity(e), t.AcceptNewHostKeys)
	if err != nil {
		return nil, fmt.Errorf("handshake %s: %w", e.name, err)
	}

	var nc net.Conn
	if via == nil {
		d := net.Dialer{KeepAlive: 15 * time.Second}
		nc, err = d.DialContext(hctx, "tcp", e.hostport())
		if err == nil {
			nc = quickAck(nc)
		}
	} else {
		nc, err = via.DialContext(hctx, "tcp", e.hostport())
	}
	if err != nil {
		return nil, t.dialError(ctx, hctx, e, err)
	}
	// The deadline bounds a TCP handshake; a tunnel has none, so the
	// watchdog, which also honours ctx, closes the connection instead.
	deadline, _ := hctx.Deadline()
	_ = nc.SetDeadline(deadline)
	watchdog := context.AfterFunc(hctx, func() { nc.Close() })

	cfg := &ssh.ClientConfig{
		Config: ssh.Config{KeyExchanges: keyExchanges},
		User:   e.user,
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			return creds.signers, nil
		})},
		HostKeyCallback:   ver.check,
		HostKeyAlgorithms: ver.algos,
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, e.hostport(), cfg)
	fired := !watchdog()
	if err == nil && fired {
		sc.Close()
		err = context.DeadlineExceeded
	}
	if err != nil {
		// The socket's deadline may beat the watchdog to it.
		timedOut := fired || hctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)
		return nil, t.handshakeError(ctx, hctx, e, ver, creds, timedOut, err)
	}
	_ = nc.SetDeadline(time.Time{})
	cl := newClient(ssh.NewClient(sc, chans, reqs), e.name)
	cl.startKeepalive(t.KeepaliveInterval, t.KeepaliveMaxMissed)
	return cl, nil
}

func (t *Transport) dialError(ctx, hctx context.Context, e endpoint, err error) error {
	where := fmt.Sprintf("dial %s (%s)", e.name, e.hostport())
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%s: %w", where, ctx.Err())
	case ctx.Err() != nil:
		return categorize(engine.ErrUnreachable, ctx.Err(), where+": no answer before the connect deadline")
	case hctx.Err() != nil:
		return categorize(engine.ErrUnreachable, context.DeadlineExceeded, fmt.Sprintf("%s: no answer within %s", where, e.connectTimeout(t)))
	}
	if reason, unreachable := dialReason(err); unreachable {
		return categorize(engine.ErrUnreachable, err, where+": "+reason)
	}
	return fmt.Errorf("%s: %w", where, err)
}

func (t *Transport) handshakeError(ctx, hctx context.Context, e endpoint, ver *verifier, creds *credentials, timedOut bool, err error) error {
	where := fmt.Sprintf("handshake %s (%s)", e.name, e.hostport())
	var hk *HostKeyError
	if errors.As(err, &hk) {
		return fmt.Errorf("handshake %s: %w", e.name, hk)
	}
	var neg *ssh.AlgorithmNegotiationError
	if errors.As(err, &neg) && neg.What == "host key" && len(ver.algos) > 0 {
		return categorize(engine.ErrHostKeyMismatch, err, fmt.Sprintf(
			"%s: host key MISMATCH: known_hosts holds only %s keys for %s, and the server offers none of them (%s); not connecting",
			where, strings.Join(ver.algos, ", "), e.name, strings.Join(neg.RequestedAlgorithms, ", ")))
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%s: %w", where, ctx.Err())
	case timedOut || ctx.Err() != nil:
		within := "within " + e.connectTimeout(t).String()
		cd, ok := ctx.Deadline()
		if hd, _ := hctx.Deadline(); ok && cd.Equal(hd) {
			within = "before the connect deadline" // the caller's, sooner than ours
		}
		return categorize(engine.ErrUnreachable, context.DeadlineExceeded, fmt.Sprintf("%s: no answer to the SSH handshake %s", where, within))
	}
	msg := err.Error()
	if ver.verified.Load() {
		if strings.Contains(msg, "unable to authenticate") || strings.Contains(msg, "authentication") || connectionClosed(err) {
			return categorize(engine.ErrAuth, err, fmt.Sprintf("auth %s (%s@%s): every key was refused: %s", e.name, e.user, e.hostport(), creds.describe()))
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	if connectionClosed(err) {
		return categorize(engine.ErrUnreachable, err, where+": the server closed the connection before the key exchange finished "+
			"(not an SSH server, or too many connections at once for its MaxStartups)")
	}
	return fmt.Errorf("%s: %w", where, err)
}
