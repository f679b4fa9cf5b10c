package demo

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
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
