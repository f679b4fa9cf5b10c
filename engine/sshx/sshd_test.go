package sshx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/sshx/sshdtest"
	"github.com/rolloutconsole/rollout/inventory"
)

// sshd is the package's real OpenSSH server on loopback (see sshdtest),
// shared by its tests, with helpers that speak this package's types.
type sshd struct{ *sshdtest.Server }

// srv is the package's server; nil when sshd is not installed.
var srv *sshd

func TestMain(m *testing.M) {
	if !sshdtest.Available() {
		os.Exit(m.Run()) // every test that needs sshd skips
	}
	s, err := sshdtest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sshx tests: cannot start sshd:", err)
		os.Exit(1)
	}
	srv = &sshd{s}
	code := m.Run()
	s.Stop()
	if code == 0 {
		// Sessions end asynchronously (x/crypto's DialContext leaves a
		// goroutine behind a cancelled dial until the dial returns).
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "sshx tests: leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// needSSHD returns the server, or skips the test when sshd is not installed.
func needSSHD(t *testing.T) *sshd {
	t.Helper()
	if srv == nil {
		t.Skip(sshdtest.Path + " is not installed (apt-get install openssh-server); the SSH transport tests need a real sshd")
	}
	return srv
}

var (
	processes = sshdtest.Processes
	waitGone  = sshdtest.WaitGone
	waitFor   = sshdtest.WaitFor
	freePort  = sshdtest.FreePort
)

// hostPort is the server's known_hosts name for addr.
func (s *sshd) hostPort(addr string) string { return s.HostPort(addr) }

// line is a known_hosts line for names with the server's key of typ.
func (s *sshd) line(typ string, names ...string) string { return s.Line(typ, names...) }

func (s *sshd) logText() string { return s.Log() }

// knownHosts writes a known_hosts file with lines.
func knownHosts(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// host is an inventory host named name that reaches the server.
func (s *sshd) host(name, knownHostsFile string) *inventory.Host {
	return &inventory.Host{Name: name, Settings: inventory.Settings{
		Address:      "127.0.0.1",
		Port:         s.Port,
		User:         s.User,
		IdentityFile: []string{s.Key},
		KnownHosts:   knownHostsFile,
	}}
}

// newTransport returns a transport isolated from the developer's own
// ~/.ssh, agent and /etc/ssh/ssh_known_hosts.
func newTransport(t *testing.T, opts Options) *Transport {
	t.Helper()
	if opts.HomeDir == "" {
		opts.HomeDir = t.TempDir()
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.GlobalKnownHosts == nil {
		opts.GlobalKnownHosts = []string{}
	}
	if opts.Grace == 0 {
		opts.Grace = time.Second
	}
	return New(opts)
}

// dial connects or fails the test.
func dial(t *testing.T, tr *Transport, h *inventory.Host) *conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tr.Dial(ctx, h)
	if err != nil {
		t.Fatalf("dial %s: %v\nsshd log:\n%s", h.Name, err, srv.logText())
	}
	t.Cleanup(func() { c.Close() })
	return c.(*conn)
}

// output is what a command printed, by stream.
type output struct {
	mu     sync.Mutex
	stdout []string
	stderr []string
}

func (o *output) add(s engine.Stream, line []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s == engine.Stdout {
		o.stdout = append(o.stdout, string(line))
	} else {
		o.stderr = append(o.stderr, string(line))
	}
}

func (o *output) lines(s engine.Stream) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s == engine.Stdout {
		return append([]string(nil), o.stdout...)
	}
	return append([]string(nil), o.stderr...)
}
