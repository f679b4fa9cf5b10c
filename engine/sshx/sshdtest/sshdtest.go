// Package sshdtest runs a real OpenSSH sshd on loopback for tests: its own
// config in a temporary directory, its own host keys (ed25519, ecdsa, rsa),
// client keys it does and does not authorize, a user CA, and helpers to find
// and wait out the remote processes a test started (through /proc, so procps
// is not needed).
//
// The server runs as the current user (root in CI) and authorizes that user
// with Key and Unlocked. sshd is taken from /usr/sbin/sshd; Start skips the
// test when it is not installed, and only then.
package sshdtest

import (
	"bytes"
	"errors"
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

	"golang.org/x/crypto/ssh"
)

// Path is the sshd binary the server runs.
const Path = "/usr/sbin/sshd"

// Available reports whether sshd is installed.
func Available() bool {
	_, err := os.Stat(Path)
	return err == nil
}

// Server is one running sshd on 127.0.0.1:Port. Its log is in Log().
type Server struct {
	Dir  string // config, keys, authorized_keys; removed by Stop
	Port int
	User string // the user it authorizes: the current one
	// HostKeys are the server's public host keys by ssh-keygen type:
	// "ed25519", "ecdsa", "rsa". HostKeyPub is the ed25519 one, the key an
	// OpenSSH-like client picks first.
	HostKeys   map[string]ssh.PublicKey
	HostKeyPub ssh.PublicKey
	// Client keys (paths of private keys, each with KEY.pub beside it).
	// Key is authorized. Wrong is not. Locked is authorized and
	// passphrase-protected (passphrase "secret"); Unlocked is its plain twin,
	// for ssh-add. Certified is not authorized itself but has a certificate
	// (Certified-cert.pub) from a CA the server trusts.
	Key, Wrong, Locked, Unlocked, Certified string

	cmd    *exec.Cmd
	exited chan struct{}
	log    lockedBuffer
	once   sync.Once
}

// Start starts a server for the test and stops it when the test ends. It
// skips the test when sshd is not installed, and fails it when sshd is there
// but cannot be started.
func Start(t testing.TB) *Server {
	t.Helper()
	if !Available() {
		t.Skip(Path + " is not installed (apt-get install openssh-server); this test needs a real sshd")
	}
	s, err := New()
	if err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// New starts a server; the caller stops it. For TestMain, where there is no
// testing.TB; tests use Start.
func New() (*Server, error) {
	keys, err := material()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sshdtest-")
	if err != nil {
		return nil, err
	}
	s, err := start(dir, keys)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// keySet is the key material every server of the process shares: generating
// an RSA host key takes half a second, which is not worth paying per test.
type keySet struct {
	files    map[string][]byte // file name → contents
	hostKeys map[string]ssh.PublicKey
	user     string
}

var (
	keysOnce sync.Once
	keys     *keySet
	keysErr  error
)

func material() (*keySet, error) {
	keysOnce.Do(func() { keys, keysErr = generate() })
	return keys, keysErr
}

func generate() (*keySet, error) {
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sshdtest-keys-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ks := &keySet{files: map[string][]byte{}, hostKeys: map[string]ssh.PublicKey{}, user: u.Username}
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		if err := keygen(p("host_"+typ), typ, ""); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"id_ed25519", "id_wrong", "id_agent", "user_ca", "id_certified"} {
		if err := keygen(p(k), "ed25519", ""); err != nil {
			return nil, err
		}
	}
	// The locked key is the agent key's twin, passphrase-protected.
	for _, ext := range []string{"", ".pub"} {
		b, err := os.ReadFile(p("id_agent" + ext))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(p("id_locked"+ext), b, 0o600); err != nil {
			return nil, err
		}
	}
	if err := run("ssh-keygen", "-q", "-p", "-P", "", "-N", "secret", "-f", p("id_locked")); err != nil {
		return nil, err
	}
	if err := run("ssh-keygen", "-q", "-s", p("user_ca"), "-I", "sshdtest", "-n", ks.user, "-V", "-5m:+12h", p("id_certified.pub")); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := os.ReadFile(p(e.Name()))
		if err != nil {
			return nil, err
		}
		ks.files[e.Name()] = b
	}
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		k, _, _, _, err := ssh.ParseAuthorizedKey(ks.files["host_"+typ+".pub"])
		if err != nil {
			return nil, err
		}
		ks.hostKeys[typ] = k
	}
	return ks, nil
}

func start(dir string, ks *keySet) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s, err := prepare(dir, ks, "127.0.0.1", port)
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// sshd insists on its privilege separation directory.
		_ = os.MkdirAll("/run/sshd", 0o755)
	}
	return s.run(exec.Command(Path, "-D", "-e", "-f", filepath.Join(dir, "sshd_config")), "127.0.0.1")
}

// prepare writes the key set, authorized_keys and an sshd_config for a
// server listening on addr:port into dir, and returns the server, not yet
// started.
func prepare(dir string, ks *keySet, addr string, port int) (*Server, error) {
	for name, b := range ks.files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	s := &Server{
		Dir: dir, User: ks.user, HostKeys: ks.hostKeys, HostKeyPub: ks.hostKeys["ed25519"],
		Key: p("id_ed25519"), Wrong: p("id_wrong"), Locked: p("id_locked"), Unlocked: p("id_agent"), Certified: p("id_certified"),
		Port: port, exited: make(chan struct{}),
	}
	auth := append(append([]byte(nil), ks.files["id_ed25519.pub"]...), ks.files["id_agent.pub"]...)
	if err := os.WriteFile(p("authorized_keys"), auth, 0o600); err != nil {
		return nil, err
	}
	if err := s.writeConfig(addr); err != nil {
		return nil, err
	}
	return s, nil
}

// writeConfig writes the server's sshd_config, listening on addr.
func (s *Server) writeConfig(addr string) error {
	p := func(name string) string { return filepath.Join(s.Dir, name) }
	cfg := strings.Join([]string{
		"HostKey " + p("host_ed25519"),
		"HostKey " + p("host_ecdsa"),
		"HostKey " + p("host_rsa"),
		"ListenAddress " + addr,
		"Port " + strconv.Itoa(s.Port),
		"AuthorizedKeysFile " + p("authorized_keys"),
		"TrustedUserCAKeys " + p("user_ca.pub"),
		"PidFile " + p("sshd.pid"),
		"UsePAM no",
		"StrictModes no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding yes",
		"AllowAgentForwarding yes",
		"MaxStartups 100:30:200",
		// Debian's bash reads ~/.bashrc for commands run by sshd unless
		// it is a nested shell; a root .bashrc may be slow or print to
		// stderr. Tests are about the transport, not the rc files.
		"SetEnv SHLVL=1",
		"LogLevel VERBOSE",
	}, "\n") + "\n"
	return os.WriteFile(p("sshd_config"), []byte(cfg), 0o600)
}

// run starts sshd as cmd and returns once it listens on addr.
func (s *Server) run(cmd *exec.Cmd, addr string) (*Server, error) {
	s.cmd = cmd
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	// Per-connection children inherit the log pipe: once sshd itself has
	// exited, do not wait for sessions still open to end.
	s.cmd.WaitDelay = 500 * time.Millisecond
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	hostPort := net.JoinHostPort(addr, strconv.Itoa(s.Port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", hostPort, time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("sshd exited: %s", s.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("sshd did not listen on %s within 10s: %s", hostPort, s.Log())
		}
	}
}

// Stop kills the server and removes its directory. Sessions already open
// end with their connections. Stop may be called more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.stop()
		os.RemoveAll(s.Dir)
	})
}

func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Log is what sshd logged so far.
func (s *Server) Log() string { return s.log.String() }

// HostPort is the known_hosts name of host on the server's port:
// "[host]:port".
func (s *Server) HostPort(host string) string {
	return "[" + host + "]:" + strconv.Itoa(s.Port)
}

// Line is a known_hosts line for the server's key of typ ("ed25519",
// "ecdsa", "rsa"), for the patterns given as they are.
func (s *Server) Line(typ string, patterns ...string) string {
	return strings.Join(patterns, ",") + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKeys[typ])))
}

// KnownHostsLine is the known_hosts line for the server's ed25519 key under
// each of hosts on the server's port: "[a]:port,[b]:port ssh-ed25519 …".
func (s *Server) KnownHostsLine(hosts ...string) string {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = s.HostPort(h)
	}
	return s.Line("ed25519", names...)
}

// WriteKnownHosts writes path (mode 0600) with one KnownHostsLine for hosts.
func (s *Server) WriteKnownHosts(path string, hosts ...string) error {
	return os.WriteFile(path, []byte(s.KnownHostsLine(hosts...)+"\n"), 0o600)
}

// FreePort returns a loopback TCP port nothing listens on (at the time).
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SessionPIDScript is a shell snippet that prints the pid of the sshd
// process serving the command's connection, when run as (part of) a command
// on the server through engine/sshx: the parent of the wrapper that is the
// command shell's parent. Killing it drops the connection mid-command.
const SessionPIDScript = `ppid() { while read -r k v; do [ "$k" = PPid: ] && echo "$v"; done </proc/$1/status; }; ppid "$(ppid $$)"`

// Processes returns "PID COMMAND LINE" (arguments joined by spaces) for every
// running process, other than this one, whose command line contains substr,
// read from /proc: pgrep -f without needing procps.
func Processes(substr string) []string {
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

// WaitGone polls until no process's command line contains marker, and fails
// the test if some still does after within.
func WaitGone(t testing.TB, marker string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := Processes(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes with %q still running after %s:\n%s", marker, within, strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitFor polls until cond holds, and fails the test if it does not within.
func WaitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StartAgent runs a real ssh-agent (killed when the test ends) holding keys
// (ssh-add adds a key's certificate with it), and returns its socket. It
// skips the test when ssh-agent is not installed.
func StartAgent(t testing.TB, keys ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("ssh-agent is not installed")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	env := append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	// The socket file appears at bind, a moment before the agent listens.
	WaitFor(t, "the agent to listen", 5*time.Second, func() bool {
		list := exec.Command("ssh-add", "-l")
		list.Env = env
		err := list.Run()
		var exit *exec.ExitError
		return err == nil || errors.As(err, &exit) && exit.ExitCode() == 1 // 1: no identities yet
	})
	add := exec.Command("ssh-add", keys...)
	add.Env = env
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	return sock
}

// Fingerprint is the SHA256 fingerprint of the public key in path (a
// KEY.pub file), as ssh-keygen -l prints it.
func Fingerprint(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return "", err
	}
	return ssh.FingerprintSHA256(k), nil
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

// lockedBuffer is a bytes.Buffer safe for sshd's output and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
