package engine_test

import (
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
	"github.com/rolloutconsole/rollout/engine/fake"
)

// tinyDisk mounts a 256 KiB tmpfs for the test, or skips saying why.
func tinyDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for the journal (run as root to exercise a full disk)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s): skipping the full-disk test", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes to dir until the disk is full.
func fill(t *testing.T, dir string) {
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for i := 0; i < 1<<16; i++ {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("fill: %v", err)
			}
			return
		}
	}
	t.Error("the tmpfs never filled")
}

// TestJournalDiskFullStopsTheRollout fills the journal's disk mid-fleet: the
// engine must stop at its next step with an error naming the journal, must
// not apply any host whose applying it could not journal, and the journal
// must read back valid up to where the writes stopped.
func TestJournalDiskFullStopsTheRollout(t *testing.T) {
	dir := tinyDisk(t)
	spec := defaultSpec()
	spec.fleet = 20
	spec.batches = "[1, 100%]"
	spec.parallel = 2
	ft := fake.New()
	// Output makes every command journal some bulk, so the last page of the
	// journal file fills soon after the disk does.
	var lines []string
	for range 20 {
		lines = append(lines, strings.Repeat("x", 200))
	}
	for _, h := range []string{"t01", "t02", "sb", "pr", "c01", "c02"} {
		ft.Script(h, fake.Script{Output: lines})
	}
	for i := 1; i <= 20; i++ {
		ft.Script(fleetName(i), fake.Script{Output: lines, Latency: 5 * time.Millisecond})
	}
	var once sync.Once
	var mu sync.Mutex
	filled := false
	var appliedAfter []string
	ft.OnRun = func(host, verb string) {
		mu.Lock()
		defer mu.Unlock()
		if filled && verb == "apply" {
			appliedAfter = append(appliedAfter, host)
		}
		if host == "f03" && verb == "apply" {
			once.Do(func() { fill(t, dir); filled = true })
		}
	}
	r := start(t, spec.plan(t), ft, dir, proceedAll)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the rollout did not stop on a full disk:\n%s", r.dump())
	}
	if r.outcome != engine.OutcomeInterrupted {
		t.Errorf("outcome %q, want interrupted", r.outcome)
	}
	if r.err == nil || !strings.Contains(r.err.Error(), "journal") || !strings.Contains(r.err.Error(), "no space left") {
		t.Errorf("error %v: want one naming the journal and the full disk", r.err)
	}
	rp, err := engine.ReadJournal(filepath.Join(dir, r.eng.ID()+".journal"))
	if err != nil {
		t.Fatalf("read the journal back: %v", err)
	}
	if rp.Damage != nil && !rp.Damage.Torn {
		t.Errorf("damage other than a torn tail: %v", rp.Damage)
	}
	// Every apply the fake saw was journaled as applying first.
	journaled := map[string]bool{}
	for _, rec := range rp.Records {
		if h, ok := rec.Event.(engine.HostChanged); ok && h.State == engine.StateApplying {
			journaled[h.Host] = true
		}
	}
	for host, n := range ft.Applied() {
		if n > 0 && !journaled[host] {
			t.Errorf("%s was applied but its applying is not in the journal", host)
		}
	}
	// Hosts may finish the command they were in; none new may start. With
	// parallel 2, at most the two in flight when the disk filled.
	mu.Lock()
	after := appliedAfter
	mu.Unlock()
	if len(after) > 2 {
		t.Errorf("applied after the disk filled: %v", after)
	}
	if n := len(ft.Applied()); n >= 26 {
		t.Errorf("every host was applied (%d) despite the full disk", n)
	}
	t.Logf("stopped with %v; %d hosts applied; journal has %d records, damage %v", r.err, len(ft.Applied()), len(rp.Records), rp.Damage)

	// Space freed, the rollout resumes from the journal and finishes; no
	// host that finished is applied again.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	before := engine.Fold(rp.Records)
	e, err := engine.Resume(filepath.Join(dir, r.eng.ID()+".journal"), spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: dir})
	if err != nil {
		t.Fatalf("resume after freeing space: %v", err)
	}
	ft.OnRun = nil
	r2 := drive(t, e, ft, dir, proceedAll)
	if got := r2.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("resume outcome %s\n%s", got, r2.dump())
	}
	// Hosts in flight at the failure are re-verified, not re-applied (the
	// fake's verify cannot tell old from new: a real verify must); every
	// other host is applied exactly once in all.
	for _, host := range before.Order {
		hs := before.Hosts[host]
		if hs.State.InFlight() || hs.State == engine.StateUnknown {
			continue
		}
		if n := ft.Applied()[host]; n != 1 {
			t.Errorf("%s (%s before the resume) applied %d times in all", host, hs.State, n)
		}
	}
	for i := 1; i <= 20; i++ {
		if before.Hosts[fleetName(i)] == nil && ft.Applied()[fleetName(i)] != 1 {
			t.Errorf("%s, untouched before the resume, applied %d times", fleetName(i), ft.Applied()[fleetName(i)])
		}
	}
}

func fleetName(i int) string { return "f" + string(rune('0'+i/10)) + string(rune('0'+i%10)) }
