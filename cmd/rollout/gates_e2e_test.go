package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/demo"
)

// A rollback returns each host to the version it had, not to one version
// for all: the demo's capture keeps each host's version just before its
// deploy, and its rollback deploys {{.Captured.version}}. canary-1 starts
// on 0.9.7 and fleet-05 on 1.0.1, the rest on 1.0; fleet-07 fails in the
// second fleet batch and r at the failed gate rolls back every host
// touched. Each ends on its own old version, each captured exactly once
// before its apply, and the hosts never reached are neither captured nor
// touched.
func TestCapturedRollbackReturnsEachHostToItsVersion(t *testing.T) {
	out, code, dir := demoRun(t, "r\n", "--yes", "--fail", "fleet-07")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	recs := journalIn(t, out)
	st := engine.Fold(recs)
	if st.Outcome != engine.OutcomeRolledBack {
		t.Fatalf("outcome %s, want rolled-back\n%s", st.Outcome, out)
	}
	if demo.StartVersion("canary-1") == demo.OldVersion || demo.StartVersion("fleet-05") == demo.OldVersion {
		t.Fatal("the demo no longer starts canary-1 and fleet-05 on versions of their own; this test proves nothing")
	}

	captured := map[string]int{}
	for _, c := range eventsOf[engine.HostCaptured](recs) {
		captured[c.Host]++
		if got, want := c.Values["version"], demo.StartVersion(c.Host); got != want || len(c.Values) != 1 {
			t.Errorf("%s captured %v, want version=%s", c.Host, c.Values, want)
		}
	}
	var applied []string
	for _, name := range st.Order {
		if st.Hosts[name].Applied {
			applied = append(applied, name)
		}
	}
	// 2 test, standby, primary, 2 canaries, fleet-01 and fleet-[02:07].
	if len(applied) != 13 {
		t.Errorf("%d hosts applied, want 13: %v", len(applied), applied)
	}
	for _, h := range applied {
		if captured[h] != 1 {
			t.Errorf("%s applied but captured %d times, want once", h, captured[h])
		}
		if hs := st.Hosts[h]; hs.State != engine.StateRolledBack || hs.Captured["version"] != demo.StartVersion(h) {
			t.Errorf("%s ended %s with captured %v", h, hs.State, hs.Captured)
		}
	}
	if rb := st.Rollback; rb == nil || len(rb.Hosts) != len(applied) {
		t.Errorf("rollback %+v, want the %d applied hosts", rb, len(applied))
	}

	// On the hosts: each on the version it started on; those applied
	// deployed the new version, then their own old one back.
	for _, h := range demoHosts(dir) {
		want := demo.StartVersion(h)
		if v := demoVersion(t, dir, h); v != want {
			t.Errorf("%s on %s after the rollback, want %s, the version it had", h, v, want)
		}
		deploys := strings.Fields(strings.ReplaceAll(demoFile(dir, h, "deploys"), "\n", ","))
		if !slices.Contains(applied, h) {
			if len(deploys) != 0 || captured[h] != 0 {
				t.Errorf("%s was never reached but deployed %q, captured %d times", h, deploys, captured[h])
			}
			continue
		}
		if got, wantLog := demoFile(dir, h, "deploys"), fmt.Sprintf("start %s\ndone %s\nstart %s\ndone %s\n", demo.NewVersion, demo.NewVersion, want, want); got != wantLog {
			t.Errorf("%s deploy log %q, want %q", h, got, wantLog)
		}
	}
	for _, want := range []string{"fleet-05 captured: version=1.0.1", "canary-1 captured: version=0.9.7", "ROLLBACK by", "rollout ROLLED-BACK",
		"1 on demo-service 1.0.1 (fleet-05)", "1 on demo-service 0.9.7 (canary-1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}

// Hosts whose output differs from the rest of their batch are picked out
// at the next gate: fleet-03 and fleet-11 reload another front-proxy
// version. With 40 fleet hosts the second batch (25%: fleet-[02:11]) holds
// both, so the gate after it groups 8 identical hosts apart from those 2.
func TestOutputGroupsPickOutOddHosts(t *testing.T) {
	out, code, dir := demoRun(t, "", "--yes", "--hosts", "40", "--odd", "fleet-03,fleet-11")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	recs := journalIn(t, out)
	var batch2 engine.PhaseStarted
	for _, p := range eventsOf[engine.PhaseStarted](recs) {
		if p.Phase == engine.PhaseFleet && p.Batch == 2 {
			batch2 = p
		}
	}
	if !slices.Contains(batch2.Hosts, "fleet-03") || !slices.Contains(batch2.Hosts, "fleet-11") || len(batch2.Hosts) != 10 {
		t.Fatalf("fleet batch 2 is %v; the test needs fleet-03 and fleet-11 in one batch of 10", batch2.Hosts)
	}
	// What the odd hosts printed, from the journal: the proxy line differs.
	proxy := map[string]string{}
	for _, o := range eventsOf[engine.HostOutput](recs) {
		for _, l := range o.Lines {
			if strings.HasPrefix(l, "reloaded the front proxy: ") {
				proxy[o.Host] = l
			}
		}
	}
	for _, h := range batch2.Hosts {
		odd := h == "fleet-03" || h == "fleet-11"
		if got := strings.Contains(proxy[h], "nginx/1.22.1"); got != odd {
			t.Errorf("%s printed %q", h, proxy[h])
		}
	}

	gate := -1
	for _, g := range eventsOf[engine.GateReached](recs) {
		if g.Phase == engine.PhaseFleet && g.Batch == 3 {
			gate = g.Gate
		}
	}
	block := gateBlock(t, out, gate)
	groups := lineWith(block, "output:")
	if !strings.Contains(groups, "8 hosts identical") || !strings.Contains(groups, "2 differ: fleet-03, fleet-11") {
		t.Errorf("the gate after batch 2 does not pick out fleet-03 and fleet-11: %q\n%s", groups, block)
	}
	if lineWith(block, "2 hosts (fleet-03, fleet-11)") == "" || lineWith(block, "8 hosts (") == "" {
		t.Errorf("the gate does not list the two groups:\n%s", block)
	}
	for _, h := range demoHosts(dir) {
		if v := demoVersion(t, dir, h); v != demo.NewVersion {
			t.Errorf("%s on %s, want %s", h, v, demo.NewVersion)
		}
	}
}

// "resize 5" at the gate before the second fleet batch lays the fleet's
// batches out anew: the change is journaled (BatchesChanged, with who
// decided), the gate opens again for the new batch, the batch that starts
// has exactly 5 hosts, the last takes the rest, and the rollout finishes.
func TestResizeABatchAtAGate(t *testing.T) {
	// 12 fleet hosts: batches 1, 3, 8. Gates: preflight, standby, swap,
	// canary, fleet 1, fleet 2 (resized, then opened again), fleet 3.
	out, code, dir := demoRun(t, "y\ny\ny\ny\ny\nresize 5\ny\ny\n", "--hosts", "12")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	recs := journalIn(t, out)
	me := osUser(t)
	changes := eventsOf[engine.BatchesChanged](recs)
	if len(changes) != 1 {
		t.Fatalf("%d BatchesChanged, want 1\n%s", len(changes), out)
	}
	bc := changes[0]
	var sizes []int
	for _, b := range bc.Batches {
		sizes = append(sizes, len(b))
	}
	if bc.Phase != engine.PhaseFleet || fmt.Sprint(sizes) != "[1 5 6]" || bc.User != me {
		t.Errorf("batches changed to %v (phase %s, by %q), want [1 5 6] of the fleet by %s", sizes, bc.Phase, bc.User, me)
	}

	var resized *engine.GateAnswered
	for _, a := range eventsOf[engine.GateAnswered](recs) {
		if a.Decision == engine.Resize {
			resized = &a
		}
	}
	if resized == nil || resized.Size != 5 || resized.User != me {
		t.Fatalf("resize answer %+v, want size 5 by %s", resized, me)
	}
	g, _ := gateNumbered(t, recs, resized.Gate)
	again, answers := gateNumbered(t, recs, resized.Gate+1)
	if g.Phase != engine.PhaseFleet || g.Batch != 2 || again.Phase != engine.PhaseFleet || again.Batch != 2 || len(again.Next) != 5 {
		t.Errorf("resized at %s batch %d; the next gate is %s batch %d with next %v, want fleet batch 2 with its 5 hosts", g.Phase, g.Batch, again.Phase, again.Batch, again.Next)
	}
	if len(answers) != 1 || answers[0].Decision != engine.Proceed {
		t.Errorf("the reopened gate was answered %+v", answers)
	}
	started := map[int][]string{}
	for _, p := range eventsOf[engine.PhaseStarted](recs) {
		if p.Phase == engine.PhaseFleet {
			started[p.Batch] = p.Hosts
		}
	}
	if want := []string{"fleet-02", "fleet-03", "fleet-04", "fleet-05", "fleet-06"}; !slices.Equal(started[2], want) || len(started[3]) != 6 {
		t.Errorf("fleet batches started: %v; want batch 2 = %v and batch 3 the other 6", started, want)
	}
	if !strings.Contains(out, "batches now 1, 5, 6") {
		t.Errorf("the output does not say the batches changed:\n%s", out)
	}
	if st := engine.Fold(recs); st.Outcome != engine.OutcomeSucceeded {
		t.Errorf("outcome %s", st.Outcome)
	}
	for _, h := range demoHosts(dir) {
		if v := demoVersion(t, dir, h); v != demo.NewVersion {
			t.Errorf("%s on %s, want %s", h, v, demo.NewVersion)
		}
	}
}
