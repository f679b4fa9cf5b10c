package sshdtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Netns is a network namespace of the test's own, joined to this one by a
// veth pair on a private /30 (10.250.x.y/30): HostAddr on HostIf here,
// NSAddr on NSIf inside. 127.0.0.1 is not routable across namespaces, so a
// server inside is reached at NSAddr, over the link the test can cut or
// slow down.
type Netns struct {
	Name             string
	HostIf, NSIf     string
	HostAddr, NSAddr string
}

// netnsMu serialises the choice of a subnet within the process; across
// processes (go test runs packages at once) the subnet is random and checked
// against the addresses already in use.
var netnsMu sync.Mutex

// NewNetns creates a namespace for the test, with its veth pair up and
// addressed, and removes it when the test ends (pass or fail): the pair is
// deleted, every process still in the namespace is killed by its pid, and
// the namespace is deleted. It skips the test, saying why, unless the test
// runs as root, ip (iproute2) is installed, and ip netns add and a veth pair
// work (they do not in an unprivileged container).
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("network namespace tests need root for ip netns add; running as uid %d", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip is not installed (apt-get install iproute2); network namespace tests need it")
	}
	suffix := randHex(3)
	n := &Netns{Name: "rollout-test-" + suffix, HostIf: "rt" + suffix + "h", NSIf: "rt" + suffix + "n"}
	if out, err := ipCmd("netns", "add", n.Name); err != nil {
		t.Skipf("cannot create a network namespace here (ip netns add: %v: %s); network namespace tests skipped", err, out)
	}
	t.Cleanup(n.remove)
	if out, err := ipCmd("link", "add", n.HostIf, "type", "veth", "peer", "name", n.NSIf, "netns", n.Name); err != nil {
		t.Skipf("cannot create a veth pair here (ip link add … type veth: %v: %s); network namespace tests skipped", err, out)
	}
	netnsMu.Lock()
	n.HostAddr, n.NSAddr = freeSubnet()
	netnsMu.Unlock()
	for _, args := range [][]string{
		{"addr", "add", n.HostAddr + "/30", "dev", n.HostIf},
		{"link", "set", n.HostIf, "up"},
		{"-n", n.Name, "addr", "add", n.NSAddr + "/30", "dev", n.NSIf},
		{"-n", n.Name, "link", "set", n.NSIf, "up"},
		{"-n", n.Name, "link", "set", "lo", "up"},
	} {
		if out, err := ipCmd(args...); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return n
}

func (n *Netns) remove() {
	// Deleting one end deletes the pair, whatever state the namespace is in.
	_, _ = ipCmd("link", "del", n.HostIf)
	// Every process in the namespace was started by the test: its sshd, the
	// sshd's sessions, the commands they ran.
	for range 3 {
		pids := n.PIDs()
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
		deadline := time.Now().Add(2 * time.Second)
		for len(n.PIDs()) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	_, _ = ipCmd("netns", "del", n.Name)
}

// PIDs are the processes running in the namespace.
func (n *Netns) PIDs() []int {
	out, err := exec.Command("ip", "netns", "pids", n.Name).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Command is name with args run inside the namespace (ip netns exec, which
// execs it: the process is the command itself).
func (n *Netns) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Cut takes the link down on this side: from then on nothing goes through
// in either direction, and neither end is told (no reset, no FIN), as when
// a cable or a switch port dies.
func (n *Netns) Cut(t testing.TB) {
	t.Helper()
	if out, err := ipCmd("link", "set", n.HostIf, "down"); err != nil {
		t.Fatalf("cut the link: %v: %s", err, out)
	}
}

// Restore brings the link back up (its address and route come back with it).
func (n *Netns) Restore(t testing.TB) {
	t.Helper()
	if out, err := ipCmd("link", "set", n.HostIf, "up"); err != nil {
		t.Fatalf("restore the link: %v: %s", err, out)
	}
}

// Netem delays every packet on the link by delay ± jitter, each way, with
// tc's netem queueing discipline on both ends. It returns an error, and
// changes nothing, where netem is not available (tc not installed, or a
// kernel built without CONFIG_NET_SCH_NETEM and no sch_netem module).
func (n *Netns) Netem(delay, jitter time.Duration) error {
	if _, err := exec.LookPath("tc"); err != nil {
		return errors.New("tc is not installed (iproute2)")
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + "ms" }
	args := []string{"qdisc", "add", "dev", n.HostIf, "root", "netem", "delay", ms(delay), ms(jitter)}
	if out, err := exec.Command("tc", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("tc %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	args[3] = n.NSIf
	if out, err := n.Command("tc", args...).CombinedOutput(); err != nil {
		_ = exec.Command("tc", "qdisc", "del", "dev", n.HostIf, "root").Run()
		return fmt.Errorf("ip netns exec %s tc %s: %v: %s", n.Name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// StartSSHD starts a server inside the namespace, listening on NSAddr, with
// the same key material as Start's (so Key authenticates and the host keys
// are the same), and stops it when the test ends. It skips the test when
// sshd is not installed.
func (n *Netns) StartSSHD(t testing.TB) *Server {
	t.Helper()
	if !Available() {
		t.Skip(Path + " is not installed (apt-get install openssh-server); this test needs a real sshd")
	}
	ks, err := material()
	if err != nil {
		t.Fatalf("sshd key material: %v", err)
	}
	dir, err := os.MkdirTemp("", "sshdtest-netns-")
	if err != nil {
		t.Fatal(err)
	}
	s, err := n.startSSHD(dir, ks)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("start sshd in %s: %v", n.Name, err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (n *Netns) startSSHD(dir string, ks *keySet) (*Server, error) {
	// Port 2222: the namespace is the test's own, nothing else listens in it.
	s, err := prepare(dir, ks, n.NSAddr, 2222)
	if err != nil {
		return nil, err
	}
	_ = os.MkdirAll("/run/sshd", 0o755) // root only here: sshd's privilege separation directory
	return s.run(n.Command(Path, "-D", "-e", "-f", filepath.Join(dir, "sshd_config")), n.NSAddr)
}

// WaitReachable polls until a TCP connection to addr succeeds (a link
// restored, a server back), and fails the test if none does within.
func WaitReachable(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	WaitFor(t, addr+" to answer", within, func() bool {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// freeSubnet picks a /30 in 10.250.0.0/16 that no interface here has an
// address in, and returns its two usable addresses.
func freeSubnet() (host, ns string) {
	used := map[string]bool{}
	if out, err := exec.Command("ip", "-4", "-o", "addr", "show").Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if ip, _, err := net.ParseCIDR(f); err == nil && ip.To4() != nil {
				b := ip.To4()
				used[fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3]&^3)] = true
			}
		}
	}
	for {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<14))
		v := n.Int64() << 2
		base := fmt.Sprintf("10.250.%d.%d", v>>8, v&0xff)
		if !used[base] {
			return fmt.Sprintf("10.250.%d.%d", v>>8, v&0xff|1), fmt.Sprintf("10.250.%d.%d", v>>8, v&0xff|2)
		}
	}
}

func ipCmd(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
