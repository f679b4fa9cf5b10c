package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/demo"
)

// chaosFleet is a demo fleet served from the test process, so it outlives
// the console the test kills.
type chaosFleet struct {
	t     *testing.T
	fleet *demo.Fleet
	work  string // the console's working directory (swap: local runs here)
	state string
}

func newChaosFleet(t *testing.T, hosts int) *chaosFleet {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "fleet"), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := demo.Start(demo.Options{Fleet: hosts, Speed: 20, Dir: filepath.Join(dir, "fleet")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		t.Fatal(err)
	}
	return &chaosFleet{t: t, fleet: f, work: work, state: filepath.Join(dir, "state")}
}

func (c *chaosFleet) command(stdin string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary(c.t), append(args, "--state-dir", c.state)...)
	cmd.Dir = c.work
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

func (c *chaosFleet) runArgs() []string {
	return []string{"run", "--plain", "--yes", "-i", c.fleet.Inventory, "-c", c.fleet.Change, "--ssh-config", ""}
}

// runUntil starts a rollout and SIGKILLs it once kill returns true for an
// output line. It returns the output up to the kill and whether it was killed
// (false: the rollout ended first).
func (c *chaosFleet) runUntil(kill func(n int, line string) bool) (string, bool) {
	c.t.Helper()
	cmd := c.command("", c.runArgs()...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var out strings.Builder
	killed := false
	sc := bufio.NewScanner(pipe)
	for n := 1; sc.Scan(); n++ {
		out.WriteString(sc.Text() + "\n")
		if !killed && kill(n, sc.Text()) {
			cmd.Process.Kill() // SIGKILL: no handler, no cleanup, the lock's flock dies with it
			killed = true
		}
	}
	cmd.Wait()
	return out.String(), killed
}

func (c *chaosFleet) journal() *engine.Replay {
	c.t.Helper()
	paths, _ := filepath.Glob(filepath.Join(c.state, "*.journal"))
	if len(paths) != 1 {
		c.t.Fatalf("%d journals in %s, want 1", len(paths), c.state)
	}
	rp, err := engine.ReadJournal(paths[0])
	if err != nil {
		c.t.Fatal(err)
	}
	return rp
}

func replayState(rp *engine.Replay) *engine.State {
	s := engine.NewState()
	for _, r := range rp.Records {
		s.Apply(r)
	}
	return s
}

// deploys counts a host's started and finished deploys of v.
func (c *chaosFleet) deploys(host, v string) (started, finished int) {
	data, _ := os.ReadFile(filepath.Join(c.fleet.Dir, "hosts", host, "deploys"))
	for _, l := range strings.Split(string(data), "\n") {
		switch l {
		case "start " + v:
			started++
		case "done " + v:
			finished++
		}
	}
	return
}

var hostLine = regexp.MustCompile(`^\d\d:\d\d:\d\d    (\S+) (connecting|applying|verifying|soaking|done|failed|unknown|pending)\b`)

// phaseAt names the phase the console was in when its output stopped.
func phaseAt(out string) string {
	phase := "start"
	for _, l := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(l, " -- "); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				phase = f[0]
			}
		}
		if strings.Contains(l, "swap on this machine") {
			phase = "swap"
		}
	}
	return phase
}

// TestChaosKillNineThenResume kills the console with SIGKILL at points spread
// over every phase (the swap included), resumes, and checks the rollout
// finishes with every host on the new version, no host's deploy finished
// twice, only hosts in flight at the kill were deployed again, and those were
// re-verified before anything was applied.
func TestChaosKillNineThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	binary(t)
	// A reference run gives the number of output lines.
	ref := newChaosFleet(t, 6)
	refOut, killed := ref.runUntil(func(int, string) bool { return false })
	if killed || !strings.Contains(refOut, "rollout SUCCEEDED") {
		t.Fatalf("reference run:\n%s", refOut)
	}
	total := strings.Count(refOut, "\n")
	type point struct {
		name string
		kill func(n int, line string) bool
	}
	var points []point
	// Kill points at named moments, so every phase and the swap are hit.
	for _, pat := range []string{"test-1 applying", "test-2 | installing", "standby applying", "standby verifying",
		"swap on this machine", "swap: verifying", "swap done", "primary applying", "primary | installing",
		"canary-1 applying", "soaking", "fleet-01 applying", "fleet-03 | installing", "fleet-06 verifying"} {
		points = append(points, point{"at " + pat, func(_ int, l string) bool { return strings.Contains(l, pat) }})
	}
	// And after N lines, N drawn across the whole run.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))
	// Up to 90% of the reference run: a run may print a few lines fewer.
	span := total * 9 / 10
	for i := range 8 {
		lo, hi := 3+i*(span-3)/8, 3+(i+1)*(span-3)/8
		n := lo + rng.IntN(max(1, hi-lo))
		points = append(points, point{fmt.Sprintf("after %d lines", n), func(k int, _ string) bool { return k >= n }})
	}
	sem := make(chan struct{}, 6)
	var mu sync.Mutex
	phases := map[string]int{}
	t.Cleanup(func() { t.Logf("kill points by phase: %v", phases) })
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			c := newChaosFleet(t, 6)
			out, killed := c.runUntil(p.kill)
			if !killed {
				t.Fatalf("the rollout ended before the kill point:\n%s", out)
			}
			mu.Lock()
			phases[phaseAt(out)]++
			mu.Unlock()
			before := replayState(c.journal())
			inFlight := map[string]bool{}
			for name, h := range before.Hosts {
				if (h.State.InFlight() || h.State == engine.StateUnknown) && (h.State != engine.StateConnecting || h.Applied) {
					inFlight[name] = true
				}
			}
			// Answers only failed gates (--yes takes the rest): a host cut
			// mid-deploy fails its re-verify and is retried.
			cmd := c.command(strings.Repeat("t\n", 8), "resume", "--plain", "--yes")
			res, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("resume: %v\n--- killed run:\n%s\n--- resume:\n%s", err, out, res)
			}
			if !strings.Contains(string(res), "rollout SUCCEEDED") {
				t.Fatalf("resume did not succeed:\n%s", res)
			}
			for _, h := range c.fleet.Hosts {
				if v, _ := c.fleet.Version(h.Name); v != demo.NewVersion {
					t.Errorf("%s on %q, want %s", h.Name, v, demo.NewVersion)
				}
				started, finished := c.deploys(h.Name, demo.NewVersion)
				if finished != 1 {
					t.Errorf("%s: deploy of %s finished %d times, want 1", h.Name, demo.NewVersion, finished)
				}
				if started > 1 && !inFlight[h.Name] {
					t.Errorf("%s: deployed %d times but was not in flight at the kill (state %v)", h.Name, started, before.Hosts[h.Name])
				}
				if started > 2 {
					t.Errorf("%s: deploy started %d times", h.Name, started)
				}
			}
			// In-flight hosts are re-verified before anything is applied.
			seen := map[string]string{}
			for _, l := range strings.Split(string(res), "\n") {
				m := hostLine.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				if m[2] == "applying" {
					break
				}
				seen[m[1]] += m[2] + " "
			}
			for h := range inFlight {
				if !strings.Contains(seen[h], "verifying") {
					t.Errorf("%s was in flight at the kill but not re-verified before the first apply (saw %q)\n%s", h, seen[h], res)
				}
			}
			if t.Failed() {
				t.Logf("killed run:\n%s\nresume:\n%s", out, res)
			}
		})
	}
}

// TestChaosFleetGoesDownMidPhase stops every demo SSH server while the
// canaries are applying: the hosts in flight end unknown (connection lost),
// nothing further starts, the failed gate is never waved through by --yes,
// and the rollout ends resumable.
func TestChaosFleetGoesDownMidPhase(t *testing.T) {
	c := newChaosFleet(t, 6)
	cmd := c.command("", c.runArgs()...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	waitOutput(t, &out, "canary-1 | fetching")
	c.fleet.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the console did not stop after the fleet went down:\n%s", out.String())
	}
	got := out.String()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, got)
	}
	for _, want := range []string{"canary-1 unknown", "connection lost", "canary FAILED"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q\n%s", want, got)
		}
	}
	if strings.Contains(got, "fleet-01 connecting") {
		t.Errorf("the fleet started after the canaries lost their connection\n%s", got)
	}
	for _, h := range []string{"fleet-01", "fleet-06"} {
		if started, _ := c.deploys(h, demo.NewVersion); started != 0 {
			t.Errorf("%s deployed", h)
		}
	}
	st := replayState(c.journal())
	if st.Outcome == engine.OutcomeSucceeded {
		t.Errorf("outcome %s", st.Outcome)
	}
}
