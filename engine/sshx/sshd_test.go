package sshx

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/inventory"
)

const sshdPath = "/usr/sbin/sshd"

// sshd is one real OpenSSH server on loopback, shared by the package's
// tests. Its log is in dir/sshd.log.
type sshd struct {
	dir      string
	port     int
	user     string
	hostKeys map[string]ssh.PublicKey // by ssh-keygen type: ed25519, ecdsa, rsa
	// Client keys: key is authorized; wrong is not; locked is authorized and
	// passphrase-protected (passphrase "secret"), unlocked its plain twin
	// for ssh-add; certified is not authorized itself, but has a
	// certificate (certified-cert.pub) from a CA the server trusts.
	key, wrong, locked, unlocked, certified string
	cmd                                     *exec.Cmd
	log                                     *bytes.Buffer
	logMu                                   *sync.Mutex
}

// srv is the package's server; nil when sshd is not installed.
var srv *sshd

func TestMain(m *testing.M) {
	if _, err := os.Stat(sshdPath); err != nil {
		os.Exit(m.Run()) // every test that needs sshd skips
	}
	s, err := startSSHD()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sshx tests: cannot start sshd:", err)
		os.Exit(1)
	}
	srv = s
	code := m.Run()
	s.stop()
	if code == 0 {
		// Sessions end asynchronously (x/crypto's DialContext leaves a
		// goroutine behind a cancelled dial until the dial returns).
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "sshx tests: leaked goroutines:", err)
			code = 1
		}
	}
	os.RemoveAll(s.dir)
	os.Exit(code)
}

// needSSHD returns the server, or skips the test when sshd is not installed.
func needSSHD(t *testing.T) *sshd {
	t.Helper()
	if srv == nil {
		t.Skip(sshdPath + " is not installed (apt-get install openssh-server); the SSH transport tests need a real sshd")
	}
	return srv
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func keygen(path, typ, pass string) error {
	return run("ssh-keygen", "-q", "-t", typ, "-N", pass, "-C", filepath.Base(path), "-f", path)
}

func readPub(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	return k, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startSSHD() (*sshd, error) {
	dir, err := os.MkdirTemp("", "sshx-sshd-")
	if err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	s := &sshd{dir: dir, user: u.Username, hostKeys: map[string]ssh.PublicKey{}, log: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	var hostKeyLines []string
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		p := filepath.Join(dir, "host_"+typ)
		if err := keygen(p, typ, ""); err != nil {
			return nil, err
		}
		if s.hostKeys[typ], err = readPub(p + ".pub"); err != nil {
			return nil, err
		}
		hostKeyLines = append(hostKeyLines, "HostKey "+p)
	}
	s.key = filepath.Join(dir, "id_ed25519")
	s.wrong = filepath.Join(dir, "id_wrong")
	s.unlocked = filepath.Join(dir, "id_agent")
	s.locked = filepath.Join(dir, "id_locked")
	for _, k := range []string{s.key, s.wrong, s.unlocked} {
		if err := keygen(k, "ed25519", ""); err != nil {
			return nil, err
		}
	}
	// The locked key is the agent key's twin, passphrase-protected.
	if err := copyFile(s.unlocked, s.locked); err != nil {
		return nil, err
	}
	if err := copyFile(s.unlocked+".pub", s.locked+".pub"); err != nil {
		return nil, err
	}
	if err := run("ssh-keygen", "-q", "-p", "-P", "", "-N", "secret", "-f", s.locked); err != nil {
		return nil, err
	}
	ca := filepath.Join(dir, "user_ca")
	s.certified = filepath.Join(dir, "id_certified")
	if err := keygen(ca, "ed25519", ""); err != nil {
		return nil, err
	}
	if err := keygen(s.certified, "ed25519", ""); err != nil {
		return nil, err
	}
	if err := run("ssh-keygen", "-q", "-s", ca, "-I", "sshx-test", "-n", s.user, "-V", "-5m:+1h", s.certified+".pub"); err != nil {
		return nil, err
	}
	var auth []byte
	for _, k := range []string{s.key, s.unlocked} {
		b, err := os.ReadFile(k + ".pub")
		if err != nil {
			return nil, err
		}
		auth = append(auth, b...)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), auth, 0o600); err != nil {
		return nil, err
	}
	if s.port, err = freePort(); err != nil {
		return nil, err
	}
	cfg := strings.Join(append(hostKeyLines,
		"ListenAddress 127.0.0.1",
		"Port "+strconv.Itoa(s.port),
		"AuthorizedKeysFile "+filepath.Join(dir, "authorized_keys"),
		"TrustedUserCAKeys "+ca+".pub",
		"PidFile "+filepath.Join(dir, "sshd.pid"),
		"UsePAM no",
		"StrictModes no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding yes",
		"AllowAgentForwarding yes",
		"MaxStartups 100:30:200",
		// Debian's bash reads ~/.bashrc for commands run by sshd unless
		// it is a nested shell; this machine's root .bashrc runs pyenv,
		// which is slow and sometimes prints to stderr. Tests are about
		// the transport, not the rc files.
		"SetEnv SHLVL=1",
		"LogLevel VERBOSE",
	), "\n") + "\n"
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// sshd insists on its privilege separation directory.
		_ = os.MkdirAll("/run/sshd", 0o755)
	}
	s.cmd = exec.Command(sshdPath, "-D", "-e", "-f", cfgPath)
	w := &lockedWriter{mu: s.logMu, b: s.log}
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("sshd exited: %s", s.logText())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("sshd did not listen within 10s: %s", s.logText())
		}
	}
}

func (s *sshd) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

func (s *sshd) logText() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// hostPort is the server's known_hosts name for addr.
func (s *sshd) hostPort(addr string) string {
	return "[" + addr + "]:" + strconv.Itoa(s.port)
}

// line is a known_hosts line for names with the server's key of typ.
func (s *sshd) line(typ string, names ...string) string {
	k := s.hostKeys[typ]
	return strings.Join(names, ",") + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

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
		Port:         s.port,
		User:         s.user,
		IdentityFile: []string{s.key},
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

// processes returns the command lines (arguments joined by spaces) of the
// running processes that contain substr, read from /proc: pgrep -f without
// needing procps.
func processes(substr string) []string {
	self := strconv.Itoa(os.Getpid())
	dirs, _ := os.ReadDir("/proc")
	var out []string
	for _, d := range dirs {
		if d.Name() == self || strings.Trim(d.Name(), "0123456789") != "" {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil || len(b) == 0 { // gone, or a zombie
			continue
		}
		if line := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " ")); strings.Contains(line, substr) {
			out = append(out, d.Name()+" "+line)
		}
	}
	return out
}

// waitGone polls until no process's command line contains marker.
func waitGone(t *testing.T, marker string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := processes(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote processes still running %s after the command returned:\n%s", within, strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
