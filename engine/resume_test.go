package engine_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
)

// TestResumeAfterCutAtEveryLine runs a whole rollout, then for every prefix of
// its journal (cut at a line end, and cut mid-line) resumes from that prefix
// as if the console had died there, and checks that no host is applied twice,
// that hosts in flight are re-verified before anything else, and that the
// rollout then completes.
func TestResumeAfterCutAtEveryLine(t *testing.T) {
	spec := defaultSpec()
	spec.fleet = 4
	spec.batches = "[1, 100%]"
	dir := t.TempDir()
	r := start(t, spec.plan(t), fake.New(), dir, proceedAll)
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s", got)
	}
	full, err := os.ReadFile(filepath.Join(dir, r.eng.ID()+".journal"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(full, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty piece after the last newline
	for k := 2; k < len(lines); k++ {
		for _, torn := range []bool{false, true} {
			prefix := bytes.Join(lines[:k], nil)
			if torn {
				prefix = append(prefix, lines[k][:len(lines[k])/2]...)
			}
			resumeFrom(t, spec, prefix, k, torn)
		}
	}
}

func resumeFrom(t *testing.T, spec fleetSpec, prefix []byte, k int, torn bool) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "cut.journal")
	if err := os.WriteFile(path, prefix, 0o600); err != nil {
		t.Fatal(err)
	}
	rp, err := engine.ReadJournal(path)
	if err != nil {
		t.Fatalf("line %d: read: %v", k, err)
	}
	if torn != (rp.Damage != nil) {
		t.Fatalf("line %d torn=%v: damage %v", k, torn, rp.Damage)
	}
	before := engine.Fold(rp.Records)
	// The world as the journal prefix left it: a host that reached applying
	// may have been changed.
	ft := fake.New()
	appliedBefore := map[string]int{}
	for name, h := range before.Hosts {
		if h.Applied {
			appliedBefore[name] = 1
			ft.SetVersion(name, "new")
		}
	}
	swapsBefore := 0
	for _, rec := range rp.Records {
		if s, ok := rec.Event.(engine.SwapChanged); ok && s.State == engine.StateApplying && !s.Back {
			swapsBefore++
		}
	}
	var inFlight []string
	for _, name := range before.Order {
		if st := before.Hosts[name].State; (st.InFlight() && st != engine.StateConnecting) || st == engine.StateUnknown {
			inFlight = append(inFlight, name)
		}
	}
	if os.Getenv("DEBUG_RESUME") != "" {
		t.Logf("line %d torn=%v in flight %v applied %v", k, torn, inFlight, appliedBefore)
	}
	e, err := engine.Resume(path, spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: dir})
	if err != nil {
		t.Fatalf("line %d torn=%v: resume: %v", k, torn, err)
	}
	r := drive(t, e, ft, dir, proceedAll)
	if got := r.wait(); got != engine.OutcomeSucceeded {
		t.Fatalf("line %d torn=%v: outcome %s\n%s", k, torn, got, r.dump())
	}
	for _, name := range before.Order {
		if n := appliedBefore[name] + ft.Applied()[name]; n != 1 {
			t.Errorf("line %d torn=%v: %s applied %d times in all", k, torn, name, n)
		}
	}
	swapsAfter := 0
	for _, s := range r.swaps() {
		if s == "sb>pr" {
			swapsAfter++
		}
	}
	if swapsBefore+swapsAfter != 1 {
		t.Errorf("line %d: swap ran %d+%d times", k, swapsBefore, swapsAfter)
	}
	// Hosts in flight at the cut are re-verified before any apply.
	calls := ft.Calls()
	verified := map[string]bool{}
	for _, c := range calls {
		if c.Verb == "apply" {
			break
		}
		if c.Verb == "verify" {
			verified[c.Host] = true
		}
	}
	for _, h := range inFlight {
		if !verified[h] {
			t.Errorf("line %d: %s was in flight but not re-verified first; calls %v", k, h, calls)
		}
	}
	// The journal alone reproduces the state the engine reached.
	rp2, err := engine.ReadJournal(path)
	if err != nil || rp2.Damage != nil {
		t.Fatalf("line %d: journal after resume: %v %v", k, err, rp2.Damage)
	}
	assertSameState(t, engine.Fold(rp2.Records), e.Snapshot())
	if torn {
		found := false
		for _, n := range r.state().Notes {
			found = found || strings.Contains(n, "cut short")
		}
		if !found {
			t.Errorf("line %d: the torn line was not reported", k)
		}
	}
}

func assertSameState(t *testing.T, a, b *engine.State) {
	t.Helper()
	if a.Outcome != b.Outcome || len(a.Hosts) != len(b.Hosts) || a.Swap != b.Swap {
		t.Fatalf("journal state differs: outcome %s/%s hosts %d/%d swap %+v/%+v", a.Outcome, b.Outcome, len(a.Hosts), len(b.Hosts), a.Swap, b.Swap)
	}
	for name, h := range a.Hosts {
		o := b.Hosts[name]
		if o == nil || o.State != h.State || o.Applied != h.Applied || o.Attempt != h.Attempt {
			t.Errorf("host %s: journal says %+v, engine %+v", name, h, o)
		}
	}
}
