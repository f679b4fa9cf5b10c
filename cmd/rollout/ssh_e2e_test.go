//go:build linux

package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/sshx/sshdtest"
)

// The tests in this file run the built binary in plain mode against a real
// OpenSSH sshd on loopback (engine/sshx/sshdtest). Every inventory host is an
// alias of 127.0.0.1:PORT; what a host's commands did is left in a file
// named after it under the bed's marks/ directory.

// sshBed is a localBed whose hosts are reached over SSH.
type sshBed struct {
	*localBed
	srv   *sshdtest.Server
	kh    string // the inventory's known_hosts file
	marks string
}

// sshInventory is the inventory every test starts from: 2 test hosts,
// 1 canary, 4 fleet hosts, all aliases of the server.
const sshInventory = `defaults:
  address: 127.0.0.1
  port: {{PORT}}
  user: {{USER}}
  identity_file: {{KEY}}
  known_hosts: {{KH}}
services:
  web:
    test: ["t-[1:2]"]
    canary: c-1
    fleet: ["f-[1:4]"]
`

// sshApply appends the connection the command came in on to the host's mark
// file.
const sshApply = `echo "x $SSH_CONNECTION" >> {{MARKS}}/{{.Host}} && echo applied on {{.Host}}`

// sshChange is a change with apply as its apply (YAML); verify checks the
// host's mark file is there.
func sshChange(apply string) string {
	return "name: touch\napply: " + apply + `
verify: test -s {{MARKS}}/{{.Host}}
rollback: rm -f {{MARKS}}/{{.Host}}
fleet: {batches: [2, 100%], parallel: 4}
timeouts: {connect: 10s, apply: 20s, verify: 10s, rollback: 10s}
`
}

var sshHosts = []string{"t-1", "t-2", "c-1", "f-1", "f-2", "f-3", "f-4"}

// newSSHBed starts a server and writes the inventory and change (with
// {{PORT}}, {{USER}}, {{KEY}}, {{WRONG}}, {{KH}} and {{MARKS}} filled in) in
// a bed. The binary sees a HOME of its own and no agent, so nothing of this
// machine's ~/.ssh or SSH_AUTH_SOCK takes part. known_hosts is not written.
func newSSHBed(t *testing.T, inventory, change string) *sshBed {
	t.Helper()
	srv := sshdtest.Start(t)
	binary(t) // built before HOME changes: go build finds its caches through it
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SSH_AUTH_SOCK", "")
	dir := t.TempDir()
	b := &sshBed{
		localBed: &localBed{t: t, dir: dir, state: filepath.Join(dir, "state")},
		srv:      srv,
		kh:       filepath.Join(dir, "known_hosts"),
		marks:    filepath.Join(dir, "marks"),
	}
	if err := os.Mkdir(b.marks, 0o700); err != nil {
		t.Fatal(err)
	}
	fill := strings.NewReplacer("{{PORT}}", strconv.Itoa(srv.Port), "{{USER}}", srv.User, "{{KEY}}", srv.Key, "{{WRONG}}", srv.Wrong,
		"{{KH}}", b.kh, "{{MARKS}}", "'"+b.marks+"'")
	for name, text := range map[string]string{"inventory.yaml": inventory, "change.yaml": change} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(fill.Replace(text)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// trust writes known_hosts with the server's key for hosts.
func (b *sshBed) trust(hosts ...string) {
	b.t.Helper()
	if err := b.srv.WriteKnownHosts(b.kh, hosts...); err != nil {
		b.t.Fatal(err)
	}
}

// marked returns the lines host's commands left in its mark file.
func (b *sshBed) marked(host string) []string {
	data, err := os.ReadFile(filepath.Join(b.marks, host))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

// untouched fails the test for every host of hosts that has a mark.
func (b *sshBed) untouched(hosts ...string) {
	b.t.Helper()
	for _, h := range hosts {
		if m := b.marked(h); m != nil {
			b.t.Errorf("%s was touched: %q", h, m)
		}
	}
}

// runSSH runs the binary and fails the test, with the output and the sshd
// log, unless it exits with want.
func (b *sshBed) runSSH(want int, stdin string, args ...string) string {
	b.t.Helper()
	out, errOut, code := b.run(stdin, args...)
	if code != want {
		b.t.Fatalf("rollout %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nsshd log:\n%s", args, code, want, out, errOut, b.srv.Log())
	}
	return out + errOut
}

// sshProc is the binary running in the background.
type sshProc struct {
	cmd  *exec.Cmd
	out  syncBuffer // stdout and stderr
	done chan struct{}
}

// start runs the binary in the background with stdin (a file, so that
// the binary's exit does not wait for the input to end); it is killed if the
// test ends first.
func (b *sshBed) start(stdin *os.File, args ...string) *sshProc {
	b.t.Helper()
	p := &sshProc{cmd: exec.Command(binary(b.t), append(args, "--state-dir", b.state)...), done: make(chan struct{})}
	p.cmd.Dir = b.dir
	p.cmd.Stdin = stdin
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	b.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// exit waits for the binary to exit and returns its exit code.
func (p *sshProc) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatalf("rollout did not exit\n%s", p.out.String())
		return -1
	}
}

// sshStates reads the journal the output names and returns each host's last
// state change.
func sshStates(t *testing.T, out string) map[string]engine.HostChanged {
	t.Helper()
	last := map[string]engine.HostChanged{}
	for _, r := range journalIn(t, out) {
		if h, ok := r.Event.(engine.HostChanged); ok {
			last[h.Host] = h
		}
	}
	return last
}

// sshWantState fails the test unless each of hosts ended in st with kind.
func sshWantState(t *testing.T, last map[string]engine.HostChanged, st engine.HostState, kind string, hosts ...string) {
	t.Helper()
	for _, h := range hosts {
		if got := last[h]; got.State != st || got.Kind != kind {
			t.Errorf("%s ended %s (kind %q, %q), want %s (kind %q)", h, got.State, got.Kind, got.Error, st, kind)
		}
	}
}

// sshContains fails the test for every want out lacks.
func sshContains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q\n%s", w, out)
		}
	}
}

// sshMarker is a number no other process on the machine has in its command
// line: sleep for it is days, and finds the remote command in /proc.
func sshMarker(t *testing.T) string {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(90000))
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(310000+n.Int64(), 10)
}

// A rollout over seven aliases of one sshd, its four gates answered by a
// script, goes through every phase; every host got the change exactly once,
// over SSH to that server.
func TestSSHRolloutOverAliases(t *testing.T) {
	b := newSSHBed(t, sshInventory, sshChange(sshApply))
	b.trust("127.0.0.1") // by address: every alias is vouched for
	out := b.runSSH(0, "y\ny\ny\ny\n", "run", "--plain")
	sshContains(t, out, "gate 1: ready to start with test: t-[1:2] (2 hosts)", "fleet batch 2/2 started: f-[3:4] (2 hosts)",
		"t-1 | applied on t-1", "f-4 | applied on f-4", "rollout SUCCEEDED")
	for _, h := range sshHosts {
		m := b.marked(h)
		if len(m) != 1 || !strings.HasPrefix(m[0], "x 127.0.0.1 ") || !strings.HasSuffix(m[0], " 127.0.0.1 "+strconv.Itoa(b.srv.Port)) {
			t.Errorf("%s: marks %q, want one apply over SSH to port %d", h, m, b.srv.Port)
		}
	}
	sshWantState(t, sshStates(t, out), engine.StateDone, "", sshHosts...)
}

// An unknown host key is refused with its SHA256 fingerprint and how to
// record it; nothing runs and known_hosts is not created.
func TestSSHUnknownHostKeyRefused(t *testing.T) {
	b := newSSHBed(t, sshInventory, sshChange(sshApply))
	out := b.runSSH(1, "a\n", "run", "--plain", "--yes", "--no-preflight")
	sshContains(t, out, "t-1 failed", "unknown host key for t-1 (127.0.0.1:"+strconv.Itoa(b.srv.Port)+")",
		ssh.FingerprintSHA256(b.srv.HostKeyPub), "--accept-new-host-keys", "test FAILED", "rollout FAILED")
	sshWantState(t, sshStates(t, out), engine.StateFailed, "host key", "t-1", "t-2")
	b.untouched(sshHosts...)
	if _, err := os.Stat(b.kh); !os.IsNotExist(err) {
		t.Errorf("known_hosts was written without --accept-new-host-keys")
	}
}

// A host whose key differs from the recorded one is refused loudly, even
// with --accept-new-host-keys, and known_hosts is left as it was.
func TestSSHChangedHostKeyRefused(t *testing.T) {
	b := newSSHBed(t, sshInventory, sshChange(sshApply))
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	stale := b.srv.HostPort("127.0.0.1") + " " + string(ssh.MarshalAuthorizedKey(other))
	if err := os.WriteFile(b.kh, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	out := b.runSSH(1, "a\n", "run", "--plain", "--yes", "--accept-new-host-keys", "--no-preflight")
	sshContains(t, out, "MISMATCH", b.kh+":", ssh.FingerprintSHA256(b.srv.HostKeyPub), "rollout FAILED")
	sshWantState(t, sshStates(t, out), engine.StateFailed, "host key", "t-1", "t-2")
	b.untouched(sshHosts...)
	if after, _ := os.ReadFile(b.kh); string(after) != stale {
		t.Errorf("known_hosts changed:\n%s", after)
	}
}

// --accept-new-host-keys records the key in the inventory's known_hosts (the
// address once, for every alias), and the next run, without the flag, is
// accepted by it.
func TestSSHAcceptNewHostKeys(t *testing.T) {
	b := newSSHBed(t, sshInventory, sshChange(sshApply))
	b.runSSH(0, "", "run", "--plain", "--yes", "--accept-new-host-keys")
	recorded, err := os.ReadFile(b.kh)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(recorded), b.srv.HostPort("127.0.0.1")); n != 1 {
		t.Errorf("the address is recorded %d times, want once:\n%s", n, recorded)
	}
	if !strings.Contains(string(recorded), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(b.srv.HostKeyPub)))) {
		t.Errorf("known_hosts does not hold the server's ed25519 key:\n%s", recorded)
	}
	// OpenSSH agrees with what was written.
	if out, err := exec.Command("ssh-keygen", "-F", b.srv.HostPort("127.0.0.1"), "-f", b.kh).CombinedOutput(); err != nil || !strings.Contains(string(out), "found") {
		t.Errorf("ssh-keygen -F: %v %s", err, out)
	}
	b.runSSH(0, "", "run", "--plain", "--yes")
	if after, _ := os.ReadFile(b.kh); string(after) != string(recorded) {
		t.Errorf("the second run changed known_hosts:\n%s", after)
	}
	for _, h := range sshHosts {
		if m := b.marked(h); len(m) != 2 {
			t.Errorf("%s applied %d times over two rollouts, want 2", h, len(m))
		}
	}
}

// An identity the server does not authorize fails the host as an auth
// error, naming the key that was offered.
func TestSSHAuthFailure(t *testing.T) {
	b := newSSHBed(t, strings.Replace(sshInventory, "{{KEY}}", "{{WRONG}}", 1), sshChange(sshApply))
	b.trust("127.0.0.1")
	fp, err := sshdtest.Fingerprint(b.srv.Wrong + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	out := b.runSSH(1, "a\n", "run", "--plain", "--yes", "--no-preflight")
	sshContains(t, out, "t-1 failed", "auth t-1 (", fp, "rollout FAILED")
	sshWantState(t, sshStates(t, out), engine.StateFailed, "auth", "t-1", "t-2")
	b.untouched(sshHosts...)
}

// A port with nothing listening fails the hosts as unreachable at once, not
// after the connect timeout.
func TestSSHUnreachable(t *testing.T) {
	port, err := sshdtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	b := newSSHBed(t, strings.Replace(sshInventory, "{{PORT}}", strconv.Itoa(port), 1), sshChange(sshApply))
	start := time.Now()
	out := b.runSSH(1, "a\n", "run", "--plain", "--yes", "--no-preflight")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the rollout took %s to fail on a closed port", took)
	}
	sshContains(t, out, "t-1 failed", "dial t-1 (127.0.0.1:"+strconv.Itoa(port)+"): connection refused", "rollout FAILED")
	sshWantState(t, sshStates(t, out), engine.StateFailed, "unreachable", "t-1", "t-2")
}

// An apply that outlives its timeout fails the host as timed out, and its
// remote processes are gone afterwards.
func TestSSHApplyTimeout(t *testing.T) {
	m := sshMarker(t)
	b := newSSHBed(t, sshInventory, sshChange("{run: 'sleep "+m+"; echo never', timeout: 1s}"))
	b.trust("127.0.0.1")
	out := b.runSSH(1, "a\n", "run", "--plain", "--yes")
	sshContains(t, out, "t-1 failed", "apply: timed out after 1s", "rollout FAILED")
	if strings.Contains(out, "| never") {
		t.Errorf("the command ran on after its timeout:\n%s", out)
	}
	sshWantState(t, sshStates(t, out), engine.StateFailed, "timeout", "t-1", "t-2")
	sshdtest.WaitGone(t, "sleep "+m, 10*time.Second)
	b.untouched(sshHosts...)
}

// The server's process for a canary's connection, killed mid-apply: the
// canary ends unknown with "connection lost", the canary phase stops at its
// failure budget, an abort there fails the rollout, and the fleet is never
// touched. The orphaned remote command goes too.
func TestSSHConnectionLostMidApply(t *testing.T) {
	m := sshMarker(t)
	change := sshChange(`|
  echo "x $SSH_CONNECTION" >> {{MARKS}}/{{.Host}}
  if [ {{.Host}} = c-1 ]; then
    echo "session pid $(` + sshdtest.SessionPIDScript + `)"
    sleep ` + m + `
  fi`)
	b := newSSHBed(t, sshInventory, change)
	b.trust("127.0.0.1")
	stdin, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := b.start(stdin, "run", "--plain", "--yes")
	stdin.Close()
	waitOutput(t, &p.out, "c-1 | session pid ")
	pid, err := strconv.Atoi(strings.TrimSpace(between(p.out.String(), "c-1 | session pid ", "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); !strings.HasPrefix(string(cmdline), "sshd") {
		t.Fatalf("pid %d is %q, not an sshd process", pid, cmdline)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &p.out, "== gate 3: canary FAILED (0 passed, 1 failed)")
	if _, err := io.WriteString(w, "a\n"); err != nil {
		t.Fatal(err)
	}
	if code := p.exit(t); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, p.out.String())
	}
	text := p.out.String()
	sshContains(t, text, "c-1 unknown", "connection lost", "rollout FAILED")
	last := sshStates(t, text)
	sshWantState(t, last, engine.StateDone, "", "t-1", "t-2")
	sshWantState(t, last, engine.StateUnknown, "connection lost", "c-1")
	for _, h := range []string{"f-1", "f-2", "f-3", "f-4"} {
		if st, ok := last[h]; ok {
			t.Errorf("fleet host %s reached %s after the canary was lost", h, st.State)
		}
	}
	b.untouched("f-1", "f-2", "f-3", "f-4")
	sshdtest.WaitGone(t, "sleep "+m, 10*time.Second)
}

// Hosts behind a jump host named in the inventory are reached through it,
// both keys checked: with the bastion down the rollout cannot reach them, so
// the success that follows went through it.
func TestSSHJumpHost(t *testing.T) {
	inv := strings.Replace(sshInventory, "  address: 127.0.0.1\n", "  address: localhost\n  jump: bastion\n", 1) +
		"hosts:\n  bastion: {address: 127.0.0.1, port: {{BASTION}}, jump: []}\n"
	b := newSSHBed(t, inv, sshChange(sshApply))
	invPath := filepath.Join(b.dir, "inventory.yaml")
	data, _ := os.ReadFile(invPath)
	kh := b.srv.KnownHostsLine("127.0.0.1") + "\n" + b.srv.KnownHostsLine("localhost") + "\n"
	if err := os.WriteFile(b.kh, []byte(kh), 0o600); err != nil {
		t.Fatal(err)
	}
	setBastion := func(port int) {
		text := strings.Replace(string(data), "{{BASTION}}", strconv.Itoa(port), 1)
		if err := os.WriteFile(invPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	down, err := sshdtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	setBastion(down)
	out := b.runSSH(1, "a\n", "run", "--plain", "--yes", "--no-preflight")
	sshContains(t, out, "t-1 failed", "jump dial bastion (127.0.0.1:"+strconv.Itoa(down)+"): connection refused")
	sshWantState(t, sshStates(t, out), engine.StateFailed, "unreachable", "t-1", "t-2")
	b.untouched(sshHosts...)

	setBastion(b.srv.Port)
	out = b.runSSH(0, "", "run", "--plain", "--yes")
	sshContains(t, out, "rollout SUCCEEDED")
	for _, h := range sshHosts {
		if m := b.marked(h); len(m) != 1 {
			t.Errorf("%s: marks %q, want one apply", h, m)
		}
	}
	if got, _ := os.ReadFile(b.kh); string(got) != kh {
		t.Errorf("known_hosts changed:\n%s", got)
	}
}

// sshOpenPTY returns a pseudo-terminal's two ends.
func sshOpenPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	// The terminal echoes what is typed: read it so it never backs up.
	go func() { _, _ = io.Copy(io.Discard, master) }()
	return master, tty
}

// "a" typed while a remote sleep runs aborts at once: the remote command is
// killed, the hosts in flight end unknown, and nothing more starts.
//
// The answer is typed on a terminal: from a pipe, plain mode keeps an "a"
// given while no gate is open for the next gate, as a script's answer.
func TestSSHAbortWhileRemoteCommandRuns(t *testing.T) {
	m := sshMarker(t)
	change := sshChange(`echo "x $SSH_CONNECTION" >> {{MARKS}}/{{.Host}}; sleep ` + m + `; echo MARKER-` + m)
	b := newSSHBed(t, sshInventory, change)
	b.trust("127.0.0.1")
	master, tty := sshOpenPTY(t)
	p := b.start(tty, "run", "--plain", "--yes")
	tty.Close()
	waitOutput(t, &p.out, "t-1 applying")
	waitOutput(t, &p.out, "t-2 applying")
	sshdtest.WaitFor(t, "both remote sleeps to run", 10*time.Second, func() bool {
		n := 0
		for _, proc := range sshdtest.Processes("sleep " + m) {
			if f := strings.Fields(proc); len(f) == 3 && f[1] == "sleep" {
				n++
			}
		}
		return n == 2
	})
	if _, err := master.WriteString("a\n"); err != nil {
		t.Fatal(err)
	}
	if code := p.exit(t); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, p.out.String())
	}
	sshdtest.WaitGone(t, "sleep "+m, 10*time.Second)
	text := p.out.String()
	sshContains(t, text, "ABORT by", "t-1 unknown", "rollout ABORTED")
	if strings.Contains(text, "| MARKER-"+m) {
		t.Errorf("the command ran on after the abort:\n%s", text)
	}
	sshWantState(t, sshStates(t, text), engine.StateUnknown, "canceled", "t-1", "t-2")
	b.untouched("c-1", "f-1", "f-2", "f-3", "f-4")
}

// With no identity file in the inventory (and none in ~/.ssh), the key in a
// real ssh-agent named by SSH_AUTH_SOCK authenticates.
func TestSSHAgentAuth(t *testing.T) {
	b := newSSHBed(t, strings.Replace(sshInventory, "  identity_file: {{KEY}}\n", "", 1), sshChange(sshApply))
	b.trust("127.0.0.1")
	sock := sshdtest.StartAgent(t, b.srv.Unlocked)
	t.Setenv("SSH_AUTH_SOCK", sock)
	out := b.runSSH(0, "", "run", "--plain", "--yes")
	sshContains(t, out, "rollout SUCCEEDED")
	for _, h := range sshHosts {
		if m := b.marked(h); len(m) != 1 {
			t.Errorf("%s: marks %q, want one apply", h, m)
		}
	}
	fp, err := sshdtest.Fingerprint(b.srv.Unlocked + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	var logins int
	for _, l := range strings.Split(b.srv.Log(), "\n") {
		if strings.HasPrefix(l, "Accepted publickey for "+b.srv.User+" ") {
			logins++
			if !strings.HasSuffix(strings.TrimSpace(l), " "+fp) {
				t.Errorf("a login with another key than the agent's %s: %s", fp, l)
			}
		}
	}
	// One login per host for the whole rollout (preflight's connection is
	// kept for the host's turn), and one more at the end to release the
	// remote lock.
	if logins != 2*len(sshHosts) {
		t.Errorf("%d logins, want two per host (%d):\n%s", logins, 2*len(sshHosts), b.srv.Log())
	}
}

// With preflight (the default), unreachable hosts and unknown host keys are
// found before anything runs: the first gate names each host with its
// error, proceeding is not offered since no test host can be reached, and
// answering abort ends the rollout with every host untouched.
func TestSSHPreflightFindsUnknownHostKeys(t *testing.T) {
	b := newSSHBed(t, sshInventory, sshChange(sshApply))
	out := b.runSSH(1, "a\n", "run", "--plain", "--yes")
	sshContains(t, out, "preflight unreachable", "unknown host key for t-1 (127.0.0.1:"+strconv.Itoa(b.srv.Port)+")",
		ssh.FingerprintSHA256(b.srv.HostKeyPub), "--accept-new-host-keys", "no test host passed preflight")
	st := engine.Fold(journalIn(t, out))
	for _, h := range sshHosts {
		if hs := st.Hosts[h]; hs == nil || hs.Preflight != "unreachable" || !strings.Contains(hs.PreflightError, "unknown host key") {
			t.Errorf("%s: %+v", h, hs)
		}
	}
	if st.Outcome != engine.OutcomeAborted {
		t.Errorf("outcome %s", st.Outcome)
	}
	b.untouched(sshHosts...)
	if _, err := os.Stat(b.kh); !os.IsNotExist(err) {
		t.Errorf("known_hosts was written without --accept-new-host-keys")
	}
}
