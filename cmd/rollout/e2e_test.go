package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the rollout binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rollout-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "rollout")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

// localBed is a working directory with the local example: every host is a
// directory under hosts/.
type localBed struct {
	t     *testing.T
	dir   string
	state string
}

func newLocalBed(t *testing.T) *localBed {
	dir := t.TempDir()
	for _, f := range []string{"inventory.yaml", "change.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "local", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &localBed{t: t, dir: dir, state: filepath.Join(dir, "state")}
}

// run runs the binary in the bed with stdin and returns output and exit code.
func (b *localBed) run(stdin string, args ...string) (string, string, int) {
	b.t.Helper()
	cmd := exec.Command(binary(b.t), append(args, "--state-dir", b.state)...)
	cmd.Dir = b.dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		b.t.Fatalf("rollout %v did not finish\n%s", args, out.String())
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

func (b *localBed) version(host string) string {
	data, _ := os.ReadFile(filepath.Join(b.dir, "hosts", host, "version"))
	return strings.TrimSpace(string(data))
}

func (b *localBed) applied(host string) int {
	data, _ := os.ReadFile(filepath.Join(b.dir, "hosts", host, "applied"))
	return strings.Count(string(data), "x")
}

var localHosts = []string{"web-test-1", "web-b", "web-a", "web-c1", "web-01", "web-02", "web-03", "web-04"}

func TestPlainRunThroughStdin(t *testing.T) {
	b := newLocalBed(t)
	// One answer per gate: start, standby, swap, canary, fleet, fleet batch 2.
	out, errOut, code := b.run("y\ny\ny\ny\ny\ny\n", "run", "--plain")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, h := range localHosts {
		if b.version(h) != "2" || b.applied(h) != 1 {
			t.Errorf("%s: version %q, applied %d times", h, b.version(h), b.applied(h))
		}
	}
	for _, want := range []string{"gate 1: ready to start with test: web-test-1", "swap on this machine: promote web-b, demote web-a", "fleet batch 2/2 started: web-[02:04] (3 hosts)", "rollout SUCCEEDED"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	hist, _, code := b.run("", "history")
	if code != 0 || !strings.Contains(hist, "succeeded") {
		t.Errorf("history (exit %d):\n%s", code, hist)
	}
}

func TestPlainFailedCanaryThenRollback(t *testing.T) {
	b := newLocalBed(t)
	if err := os.MkdirAll(filepath.Join(b.dir, "fail"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "fail", "web-c1"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Four gates pass; at the failed canary gate, "y" is refused, then "r" rolls back.
	out, errOut, code := b.run("y\ny\ny\ny\ny\nr\n", "run", "--plain")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"canary FAILED", "web-c1 failed", `"y" is not an answer here`, "ROLLBACK by", "swap back on this machine: promote web-a, demote web-b", "rollout ROLLED-BACK"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	for _, h := range []string{"web-test-1", "web-b", "web-a", "web-c1"} {
		if b.version(h) != "1" {
			t.Errorf("%s version %q after rollback, want 1", h, b.version(h))
		}
	}
	for _, h := range []string{"web-01", "web-02"} {
		if b.applied(h) != 0 {
			t.Errorf("fleet host %s was touched after the canary failed", h)
		}
	}
	if !strings.Contains(errOut, "rollout show") {
		t.Errorf("stderr does not say what to do next: %s", errOut)
	}
}

func TestPlainPauseAndResumeFromStdin(t *testing.T) {
	b := newLocalBed(t)
	// --yes answers passing gates; "p" pauses, the second "p" resumes.
	out, errOut, code := b.run("p\np\n", "run", "--plain", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "paused by") || !strings.Contains(out, "resumed by") {
		t.Errorf("no pause and resume in\n%s", out)
	}
}

func TestSecondConsoleOnTheSameServiceExits3(t *testing.T) {
	b := newLocalBed(t)
	lock, err := engine.AcquireLock(b.state, "web", engine.LockInfo{User: "alice", PID: 4242, ID: "20261126-000000-web-abcdef", Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	out, errOut, code := b.run("y\n", "run", "--plain")
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"service web is locked", "alice", "pid 4242", "20261126-000000-web-abcdef"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q: %s", want, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(b.dir, "hosts")); err == nil {
		t.Errorf("a host was touched while the service was locked")
	}
}

func TestPlainAbortAtGateThenResumeByID(t *testing.T) {
	b := newLocalBed(t)
	// Two gates answered, then the input ends at the swap gate: abort.
	out, _, code := b.run("y\ny\n", "run", "--plain")
	if code != 1 || !strings.Contains(out, "input closed at an open gate: aborting") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	hist, _, _ := b.run("", "history", "--json")
	id := between(hist, `"id":"`, `"`)
	if id == "" {
		t.Fatalf("no id in history: %s", hist)
	}
	out, errOut, code := b.run("y\ny\ny\ny\n", "resume", id, "--plain")
	if code != 0 {
		t.Fatalf("resume exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "resuming "+id) || !strings.Contains(out, "resumed; next swap") {
		t.Errorf("resume output:\n%s", out)
	}
	for _, h := range localHosts {
		if b.version(h) != "2" || b.applied(h) != 1 {
			t.Errorf("%s: version %q, applied %d times", h, b.version(h), b.applied(h))
		}
	}
	show, _, _ := b.run("", "show", id)
	for _, want := range []string{"outcome: succeeded", "web-04", "proceed at the preflight gate before test by", "abort"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q\n%s", want, show)
		}
	}
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

func TestSigtermAtAGateThenResumeWithoutID(t *testing.T) {
	b := newLocalBed(t)
	cmd, stdin, out := startPlainRun(t, b.dir, b.state)
	waitOutput(t, out, "== gate 1")
	stdin.Write([]byte("y\n"))
	waitOutput(t, out, "== gate 2")
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d (%v)\n%s", code, err, out.String())
	}
	if !strings.Contains(out.String(), "interrupted; go on with: rollout resume") {
		t.Errorf("output:\n%s", out.String())
	}
	res, errOut, code := b.run("y\ny\ny\ny\ny\n", "resume", "--plain")
	if code != 0 {
		t.Fatalf("resume exit %d\n%s\n%s", code, res, errOut)
	}
	for _, h := range localHosts {
		if b.version(h) != "2" || b.applied(h) != 1 {
			t.Errorf("%s: version %q, applied %d times", h, b.version(h), b.applied(h))
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitOutput polls until out holds want.
func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", want, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
