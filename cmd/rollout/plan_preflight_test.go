package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
)

// TestPlanPreflight reaches every host (local transport: the commands really
// run) and prints what the first gate of a rollout would: a host failing a
// preflight check, a test host whose fingerprint differs from production's,
// and a lock another rollout holds, which it reads and never takes.
func TestPlanPreflight(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, "locks", "web")
	files := map[string]string{
		"inventory.yaml": "defaults: {transport: local}\nservices:\n  web:\n    test: [t1]\n    fleet: [f1, f2, f3]\n",
		"change.yaml": `name: preflighted
apply: touch applied-{{.Host}}
verify: 'true'
rollback: 'true'
lock: {path: '` + lock + `'}
preflight:
  - name: not f2
    run: test {{.Host}} != f2
fingerprint:
  os: 'if [ {{.Host}} = t1 ]; then echo debian 11; else echo debian 12; fi'
  pkg: echo nginx 1.24
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(dir, "state")
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(binary(t), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		_ = cmd.Run()
		return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
	}
	out, errOut, code := run("plan", "--preflight")
	if code != 1 || !strings.Contains(errOut, "need attention") {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"4 hosts reached and checked, 3 ok",
		"failing  f2  preflight (not f2): exit status 1",
		`≠ os   t1 "debian 11"   | f1,f3 "debian 12"`,
		`pkg  t1 "nginx 1.24"  | f1,f3 "nginx 1.24"`,
		"drift: the test hosts differ from production",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "applied-*")); len(matches) > 0 {
		t.Errorf("preflight applied the change: %v", matches)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("preflight took the lock: %v", err)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("preflight wrote to the state dir: %v", err)
	}

	// Someone holds the lock: --preflight says who, as JSON too.
	if err := os.MkdirAll(lock, 0o700); err != nil {
		t.Fatal(err)
	}
	info := "owner=alice@jump1\nid=manual-alice\nreason=db migration\nsince=2026-11-26T10:00:00Z\npid=7\n"
	if err := os.WriteFile(filepath.Join(lock, "info"), []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code = run("plan", "--preflight", "--json")
	var got struct {
		Report engine.PreflightReport `json:"report"`
		Hosts  []engine.PreflightHost `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 1 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	// Local hosts share one lock directory: every host reads it held.
	if len(got.Report.Locked) != 3 || !strings.Contains(got.Report.Locked[0].Error, `locked by alice@jump1 for rollout manual-alice`) {
		t.Errorf("locked %+v", got.Report.Locked)
	}
	if len(got.Hosts) != 4 || got.Hosts[0].Host != "t1" || got.Hosts[0].Fingerprint["os"] != "debian 11" || got.Hosts[2].Problem != "failed" {
		t.Errorf("hosts %+v", got.Hosts)
	}
	if data, _ := os.ReadFile(filepath.Join(lock, "info")); string(data) != info {
		t.Errorf("the holder's lock was touched: %q", data)
	}
}
