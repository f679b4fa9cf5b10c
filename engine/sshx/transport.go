package sshx

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

// Defaults for the zero values in Options.
const (
	DefaultConnectTimeout          = 10 * time.Second
	DefaultKeepaliveInterval       = 10 * time.Second
	DefaultKeepaliveMaxMissed      = 1
	DefaultMaxConcurrentHandshakes = 16
	DefaultMaxSessionsPerConn      = 10 // OpenSSH's MaxSessions
	DefaultGrace                   = 5 * time.Second
)

// Options configure a Transport. A zero value means the default, and a nil
// GlobalKnownHosts the system file (an empty, non-nil slice reads none).
type Options struct {
	// KnownHostsFallback is the known_hosts file for hosts whose inventory
	// entry names none; ~/.ssh/known_hosts when empty.
	KnownHostsFallback string
	// GlobalKnownHosts are read as well, never written; OpenSSH's
	// /etc/ssh/ssh_known_hosts when nil. Missing files are skipped.
	GlobalKnownHosts []string
	// AcceptNewHostKeys records the key of a host that known_hosts does not
	// know yet, like OpenSSH's StrictHostKeyChecking=accept-new. A key that
	// differs from a recorded one is refused all the same.
	AcceptNewHostKeys bool
	// ConnectTimeout bounds the TCP connect and the SSH handshake of each
	// hop; DefaultConnectTimeout when zero. The Dial context may end it sooner.
	ConnectTimeout time.Duration
	// KeepaliveInterval is how often an idle or busy connection is probed;
	// a peer that misses KeepaliveMaxMissed probes in a row is taken for dead
	// and its connection closed, so pending commands fail with
	// engine.ErrConnectionLost within (KeepaliveMaxMissed+1)×KeepaliveInterval.
	// Negative turns keepalives off.
	KeepaliveInterval  time.Duration
	KeepaliveMaxMissed int
	// MaxConcurrentHandshakes bounds the connections being set up at once
	// (TCP connect to authenticated) across every host this Transport dials,
	// so a large fleet does not trip MaxStartups on a shared bastion or
	// load balancer.
	MaxConcurrentHandshakes int
	// MaxSessionsPerConn bounds the commands running at once on one host.
	MaxSessionsPerConn int
	// Grace is the time a cancelled command has between SIGTERM and SIGKILL.
	Grace time.Duration
	// AgentSocket is the ssh-agent socket; $SSH_AUTH_SOCK when empty. With
	// neither, only identity files are offered.
	AgentSocket string
	// ResolveJump, when set, gives the inventory entry for a jump host named
	// in a host's Jump list, for its address, port, user, identity files and
	// known_hosts. A hop it does not know is dialled by name on port 22 (or
	// the port in the hop), as the target's user.
	ResolveJump func(name string) *inventory.Host
	// HomeDir is the home used for "~" and the default files; the user's
	// home directory when empty.
	HomeDir string
	// Getenv reads the environment; os.Getenv when nil. For tests.
	Getenv func(string) string
}

// Transport is an engine.Transport over SSH. Create it with New, or as a
// struct literal (the zero value works too); it is safe for concurrent use.
type Transport struct {
	Options

	once     sync.Once
	handsh   chan struct{} // handshake slots
	hostKeys hostKeys
	keys     keyFiles
	jumps    jumpPool
}

// New returns a Transport with opts.
func New(opts Options) *Transport {
	t := &Transport{Options: opts}
	t.init()
	return t
}

var _ engine.Transport = (*Transport)(nil)

func (t *Transport) init() {
	t.once.Do(func() {
		if t.Getenv == nil {
			t.Getenv = os.Getenv
		}
		if t.HomeDir == "" {
			t.HomeDir, _ = os.UserHomeDir()
		}
		if t.KnownHostsFallback == "" {
			t.KnownHostsFallback = "~/.ssh/known_hosts"
		}
		if t.GlobalKnownHosts == nil {
			t.GlobalKnownHosts = []string{"/etc/ssh/ssh_known_hosts"}
		}
		if t.ConnectTimeout <= 0 {
			t.ConnectTimeout = DefaultConnectTimeout
		}
		if t.KeepaliveInterval == 0 {
			t.KeepaliveInterval = DefaultKeepaliveInterval
		}
		if t.KeepaliveMaxMissed <= 0 {
			t.KeepaliveMaxMissed = DefaultKeepaliveMaxMissed
		}
		if t.MaxConcurrentHandshakes <= 0 {
			t.MaxConcurrentHandshakes = DefaultMaxConcurrentHandshakes
		}
		if t.MaxSessionsPerConn <= 0 {
			t.MaxSessionsPerConn = DefaultMaxSessionsPerConn
		}
		if t.Grace <= 0 {
			t.Grace = DefaultGrace
		}
		t.handsh = make(chan struct{}, t.MaxConcurrentHandshakes)
	})
}

func (t *Transport) getenv(k string) string {
	t.init()
	return t.Getenv(k)
}

// expand resolves a leading "~/" against HomeDir.
func (t *Transport) expand(p string) string {
	if p == "~" {
		return t.HomeDir
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(t.HomeDir, p[2:])
	}
	return p
}

// Dial connects to host, through its jump hosts if it has any, verifying
// every host key on the way, and returns a connection that runs commands.
// Errors name the stage and the host ("dial web-1 (10.0.0.5:22): connection
// refused") and match engine.ErrUnreachable, ErrAuth, ErrHostKeyUnknown or
// ErrHostKeyMismatch where one applies.
func (t *Transport) Dial(ctx context.Context, host *inventory.Host) (engine.Conn, error) {
	return t.dial(ctx, host, 0)
}

var _ engine.DialTimeouter = (*Transport)(nil)

// DialTimeout is Dial with timeout in place of Options.ConnectTimeout for
// each hop's TCP connect and handshake. The engine calls it with the
// change's timeouts.connect and a ctx that only cancels: a dial waiting for
// one of the MaxConcurrentHandshakes slots (a fleet at parallel 1000 queues
// most of its dials there) is not timed out for it, since the host has not
// been asked anything yet. Before, the engine's deadline covered the queue:
// 1000 hosts at parallel 1000 on the bench bed failed 151 hosts with
// "connect: no answer within 10s", none of which had been dialled.
func (t *Transport) DialTimeout(ctx context.Context, host *inventory.Host, timeout time.Duration) (engine.Conn, error) {
	return t.dial(ctx, host, timeout)
}

func (t *Transport) dial(ctx context.Context, host *inventory.Host, timeout time.Duration) (engine.Conn, error) {
	t.init()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	target := t.endpointFor(host)
	target.timeout = timeout
	var via *sharedClient
	if len(host.Jump) > 0 {
		hops := make([]endpoint, len(host.Jump))
		for i, j := range host.Jump {
			hops[i] = t.hopEndpoint(j, host)
			hops[i].timeout = timeout
		}
		var err error
		if via, err = t.jumps.acquire(ctx, t, hops); err != nil {
			return nil, err
		}
	}
	var parent *client
	if via != nil {
		parent = via.client
	}
	cl, err := t.connect(ctx, target, parent)
	if err != nil {
		if via != nil {
			t.jumps.release(via)
		}
		return nil, err
	}
	return newConn(t, host.Name, cl, via, host.ForwardAgent), nil
}
