package demo

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFleetAnswersOpenSSH starts a small fleet and runs a command on one
// host with OpenSSH's own client, host key checked against the fleet's
// known_hosts: the demo is a real SSH fleet, not a mock.
func TestFleetAnswersOpenSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("OpenSSH client not installed")
	}
	f, err := Start(Options{Fleet: 2, Speed: 50, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, _ := f.Host("fleet-01")
	run := func(cmd string) (string, int) {
		c := exec.Command("ssh", "-i", f.ClientKey, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile="+f.KnownHosts,
			"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", strconv.Itoa(h.Port), "demo@127.0.0.1", cmd)
		out, _ := c.CombinedOutput()
		return string(out), c.ProcessState.ExitCode()
	}
	out, code := run("./service health")
	if code != 0 || !strings.Contains(out, "200 OK (demo-service 1.0)") {
		t.Fatalf("health: exit %d: %s", code, out)
	}
	out, code = run("./service deploy 2.0")
	if code != 0 || !strings.Contains(out, "restarted demo-service 2.0") {
		t.Fatalf("deploy: exit %d: %s", code, out)
	}
	if v, _ := f.Version("fleet-01"); v != "2.0" {
		t.Errorf("version %q", v)
	}
	if _, code := run("exit 7"); code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
}

// TestFleetQuirks checks what --down, --drift and --odd and the starting
// versions leave on the fleet: a down host's port refuses connections (its
// key still known), a drifted host has another os-release, an odd host's
// front proxy is another version, and a couple of hosts start on versions
// of their own.
func TestFleetQuirks(t *testing.T) {
	f, err := Start(Options{Fleet: 6, Speed: 50, Dir: t.TempDir(), Down: []string{"fleet-03"}, Drift: []string{"test-1"}, Odd: []string{"fleet-02"}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	down, _ := f.Host("fleet-03")
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(down.Port), 2*time.Second); err == nil {
		c.Close()
		t.Errorf("the down host's port %d accepts connections", down.Port)
	}
	if kh, _ := os.ReadFile(f.KnownHosts); !strings.Contains(string(kh), "[127.0.0.1]:"+strconv.Itoa(down.Port)+" ") {
		t.Errorf("the down host's key is not in known_hosts:\n%s", kh)
	}
	read := func(host, file string) string {
		b, err := os.ReadFile(filepath.Join(f.Dir, "hosts", host, file))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if a, b := read("test-1", "os-release"), read("test-2", "os-release"); a == b || !strings.Contains(a, "VERSION_ID=\"13\"") {
		t.Errorf("test-1 does not drift from test-2:\n%s\n%s", a, b)
	}
	if a, b := read("fleet-02", "proxy"), read("fleet-01", "proxy"); a == b {
		t.Errorf("fleet-02's proxy is fleet-01's: %s", a)
	}
	for host, want := range map[string]string{"fleet-05": "1.0.1", "canary-1": "0.9.7", "fleet-01": OldVersion} {
		if v, _ := f.Version(host); v != want || StartVersion(host) != want {
			t.Errorf("%s starts on %q (StartVersion %q), want %s", host, v, StartVersion(host), want)
		}
	}
	if _, err := Start(Options{Fleet: 2, Dir: t.TempDir(), Odd: []string{"fleet-09"}}); err == nil || !strings.Contains(err.Error(), `no demo host "fleet-09"`) {
		t.Errorf("an unknown --odd host: %v", err)
	}
}
