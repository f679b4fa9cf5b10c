package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine/demo"
)

// demoRun runs `rollout demo` with --keep in a fresh directory and returns
// its output, exit code and the fleet's directory.
func demoRun(t *testing.T, stdin string, args ...string) (string, int, string) {
	t.Helper()
	b := newLocalBed(t)
	out, errOut, code := b.run(stdin, append([]string{"demo", "--plain", "--keep", "--speed", "20"}, args...)...)
	dir := between(errOut, "demo fleet kept in ", " (")
	if dir == "" {
		t.Fatalf("no fleet dir in stderr (exit %d):\n%s\n%s", code, errOut, out)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return out + errOut, code, dir
}

func demoVersion(t *testing.T, dir, host string) string {
	data, err := os.ReadFile(filepath.Join(dir, "hosts", host, "version"))
	if err != nil {
		t.Fatalf("%s: %v", host, err)
	}
	return strings.TrimSpace(string(data))
}

func demoHosts(dir string) []string {
	entries, _ := os.ReadDir(filepath.Join(dir, "hosts"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestDemoPlainYesUpgradesEveryHost(t *testing.T) {
	out, code, dir := demoRun(t, "", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	hosts := demoHosts(dir)
	if len(hosts) != 30 {
		t.Fatalf("%d hosts, want 30 (2 test, standby, primary, 2 canaries, 24 fleet)", len(hosts))
	}
	for _, h := range hosts {
		if v := demoVersion(t, dir, h); v != "2.0" {
			t.Errorf("%s on %s, want 2.0", h, v)
		}
	}
	if !strings.Contains(out, "demo fleet: 30 on demo-service 2.0") {
		t.Errorf("no closing line:\n%s", out)
	}
}

func TestDemoFailStopsAtTheFleetGateAndRollsBack(t *testing.T) {
	out, code, dir := demoRun(t, "r\n", "--yes", "--fail", "fleet-07")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	// fleet-07 is in the second fleet batch (1, then 25% of 24 = 6 hosts).
	for _, want := range []string{"fleet-07 failed", "gate 7: fleet FAILED", "ROLLBACK by", "rollout ROLLED-BACK"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	for _, h := range demoHosts(dir) {
		if v, want := demoVersion(t, dir, h), demo.StartVersion(h); v != want {
			t.Errorf("%s on %s after the rollback, want %s, the version it started on", h, v, want)
		}
	}
	if strings.Contains(out, "fleet-08 connecting") && strings.Contains(out, "fleet batch 3/3 started") {
		t.Errorf("the third fleet batch started after the second failed")
	}
}

func TestDemoDropLeavesTheHostUnknownThenRetryFinishes(t *testing.T) {
	out, code, dir := demoRun(t, "t\n", "--yes", "--drop", "canary-2")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{"canary-2 unknown", "connection lost", "canary FAILED", "gate 5: retry"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	for _, h := range demoHosts(dir) {
		if v := demoVersion(t, dir, h); v != "2.0" {
			t.Errorf("%s on %s, want 2.0", h, v)
		}
	}
}
