package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine/demo"
)

// The lock tests drive the built binary against the embedded demo fleet,
// served from the test process: every host a real SSH server on loopback
// with its own host key, running commands with sh -c in its sandbox, which
// is its login directory, so the lock lands in hosts/NAME/.rollout/locks/demo.

type lockBed struct {
	t     *testing.T
	fleet *demo.Fleet
	dir   string
	home  string
	state string
}

func newLockBed(t *testing.T) *lockBed {
	t.Helper()
	binary(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "fleet"), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := demo.Start(demo.Options{Fleet: 3, Speed: 20, Dir: filepath.Join(dir, "fleet")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	b := &lockBed{t: t, fleet: f, dir: dir, home: filepath.Join(dir, "home"), state: filepath.Join(dir, "state")}
	if err := os.Mkdir(b.home, 0o700); err != nil {
		t.Fatal(err)
	}
	return b
}

var lockDemoHosts = []string{"test-1", "test-2", "standby", "primary", "canary-1", "canary-2", "fleet-01", "fleet-02", "fleet-03"}

// lock runs `rollout lock ARGS` as alice, with the fleet's files, and fails
// the test unless it exits with want.
func (b *lockBed) lock(want int, args ...string) string {
	b.t.Helper()
	full := append([]string{"lock"}, args...)
	full = append(full, "-i", b.fleet.Inventory, "-c", b.fleet.Change, "--ssh-config", "")
	if !strings.Contains(strings.Join(args, " "), "--state-dir") {
		full = append(full, "--state-dir", b.state)
	}
	cmd := exec.Command(binary(b.t), full...)
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "HOME="+b.home, "USER=alice", "SSH_AUTH_SOCK=")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		b.t.Fatalf("rollout %v did not finish\n%s", full, out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != want {
		b.t.Fatalf("rollout %v: exit %d, want %d\n%s", full, code, want, out.String())
	}
	return out.String()
}

// info is the lock's info file on host, "" when there is no lock.
func (b *lockBed) info(host string) string {
	data, err := os.ReadFile(filepath.Join(b.fleet.Dir, "hosts", host, ".rollout", "locks", "demo", "info"))
	if err != nil {
		return ""
	}
	return string(data)
}

func (b *lockBed) locked(host string) bool {
	_, err := os.Stat(filepath.Join(b.fleet.Dir, "hosts", host, ".rollout", "locks", "demo"))
	return err == nil
}

func contains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestLockStatusAcquireReleaseOverSSH(t *testing.T) {
	b := newLockBed(t)
	out := b.lock(0, "status")
	contains(t, out, "lock .rollout/locks/demo of service demo on 9 hosts", "9 free, 0 held, 0 errors")
	for _, h := range lockDemoHosts {
		contains(t, out, h+" ")
	}

	b.lock(2, "acquire") // -m is required
	reason := `incident 4711: db failover, don't "deploy" $(date)`
	out = b.lock(0, "acquire", "-m", reason)
	contains(t, out, "held demo on 9 hosts as manual-alice-")
	for _, h := range lockDemoHosts {
		info := b.info(h)
		if !strings.Contains(info, "owner=alice@") || !strings.Contains(info, "reason="+reason+"\n") || !strings.Contains(info, "id=manual-alice-") {
			t.Errorf("%s info:\n%s", h, info)
		}
	}

	out = b.lock(3, "status")
	contains(t, out, "held by alice@", "for rollout manual-alice-", fmt.Sprintf("%q", reason), "ago", "0 free, 9 held, 0 errors")
	var rep lockReport
	if err := json.Unmarshal([]byte(b.lock(3, "status", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Held != 9 || rep.Free != 0 || len(rep.Hosts) != 9 || rep.Hosts[0].Holder == nil || rep.Hosts[0].Holder.Reason != reason ||
		!strings.HasPrefix(rep.Hosts[0].Holder.Owner, "alice@") || rep.Path != ".rollout/locks/demo" {
		t.Errorf("json: %+v", rep)
	}

	// Another id is refused, and every lock left as it was.
	out = b.lock(3, "release", "--id", "20261126-100405-demo-ab12")
	contains(t, out, "left test-1: held by alice@", "0 released", "9 held by another")
	for _, h := range lockDemoHosts {
		if !b.locked(h) {
			t.Errorf("%s lost its lock to a release by another id", h)
		}
	}

	// Another engineer's console (no record of the hold) forces it, and is
	// told whose lock it broke on every host.
	out = b.lock(0, "release", "--force", "--state-dir", filepath.Join(b.dir, "bob-state"))
	contains(t, out, "released fleet-03: was held by alice@", "for rollout manual-alice-", "9 released")
	for _, h := range lockDemoHosts {
		if b.locked(h) {
			t.Errorf("%s still locked after --force", h)
		}
	}
	contains(t, b.lock(0, "status"), "9 free, 0 held")

	// Alice's own hold is released by a plain release, found in her state dir.
	b.lock(0, "acquire", "-m", "again")
	out = b.lock(0, "release")
	contains(t, out, "released test-1\n", "9 released")
	if _, err := os.Stat(holdFile(b.state, "demo")); !os.IsNotExist(err) {
		t.Errorf("the hold record outlived the hold: %v", err)
	}
	contains(t, b.lock(0, "status"), "9 free")
}

func TestLockAcquireIsAllOrNothing(t *testing.T) {
	b := newLockBed(t)
	bob := filepath.Join(b.fleet.Dir, "hosts", "fleet-02", ".rollout", "locks", "demo")
	if err := os.MkdirAll(bob, 0o700); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-41 * time.Minute).UTC().Format(time.RFC3339)
	info := "owner=bob@jump2\nid=20261126-100405-demo-ab12\nreason=demo-service 2.0\nsince=" + since + "\npid=77\n"
	if err := os.WriteFile(filepath.Join(bob, "info"), []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	out := b.lock(3, "acquire", "-m", "incident")
	contains(t, out, "fleet-02", "held by bob@jump2 for rollout 20261126-100405-demo-ab12", "(41m ago)", `"demo-service 2.0"`,
		"took no lock: released the 8 hosts it had taken")
	for _, h := range lockDemoHosts {
		if h != "fleet-02" && b.locked(h) {
			t.Errorf("%s kept a lock after a failed acquire", h)
		}
	}
	if b.info("fleet-02") != info {
		t.Errorf("bob's lock changed:\n%s", b.info("fleet-02"))
	}
	if _, err := os.Stat(holdFile(b.state, "demo")); !os.IsNotExist(err) {
		t.Errorf("a failed acquire recorded a hold: %v", err)
	}
	// Nothing recorded to release, and no id given.
	contains(t, b.lock(2, "release"), "no manual hold of service demo")
	out = b.lock(3, "status")
	contains(t, out, "8 free, 1 held, 0 errors", "held by bob@jump2 (rollout 20261126-100405-demo-ab12) on 1 host")
	// Bob's own id releases it.
	b.lock(0, "release", "--id", "20261126-100405-demo-ab12")
	contains(t, b.lock(0, "status"), "9 free")
}

// An unreachable host: status prints what it could and exits 1.
func TestLockStatusUnreachableHost(t *testing.T) {
	b := newLockBed(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	port := func(name string) int {
		h, err := b.fleet.Host(name)
		if err != nil {
			t.Fatal(err)
		}
		return h.Port
	}
	inv := fmt.Sprintf(`defaults:
  user: demo
  address: 127.0.0.1
  identity_file: %s
  known_hosts: %s
services:
  demo:
    test: [test-1]
    fleet: [fleet-01, ghost]
hosts:
  test-1: {port: %d}
  fleet-01: {port: %d}
  ghost: {port: %d}
`, b.fleet.ClientKey, b.fleet.KnownHosts, port("test-1"), port("fleet-01"), closed)
	b.fleet.Inventory = filepath.Join(b.dir, "inventory.yaml")
	if err := os.WriteFile(b.fleet.Inventory, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	out := b.lock(1, "status")
	contains(t, out, "test-1    free", "fleet-01  free", "ghost     error: ", "2 free, 0 held, 1 error")
	out = b.lock(1, "acquire", "-m", "incident")
	contains(t, out, "ghost", "1 host could not be reached", "took no lock: released the 2 hosts it had taken")
	for _, h := range []string{"test-1", "fleet-01"} {
		if b.locked(h) {
			t.Errorf("%s kept a lock after a failed acquire", h)
		}
	}
}
