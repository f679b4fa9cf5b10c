//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

// The remote lock stops a second console whichever machine, or state dir,
// it runs from: the local lock (one per state dir) cannot see it, the lock
// directory on the hosts does. Seven host aliases of one real sshd share
// one filesystem, so they share the lock directory as a fleet's hosts each
// hold their own. The lock path is under the test's directory rather than
// the default .rollout/locks/web in the sshd user's home, which is this
// machine's real home directory.
func TestRemoteLockRefusesASecondConsole(t *testing.T) {
	b := newSSHBed(t, sshInventory, sshChange(sshApply)+"lock:\n  path: {{LOCKS}}/{{.Service}}\n")
	b.trust("127.0.0.1")
	locks := filepath.Join(b.dir, "locks")
	ch := filepath.Join(b.dir, "change.yaml")
	data, _ := os.ReadFile(ch)
	if err := os.WriteFile(ch, []byte(strings.ReplaceAll(string(data), "{{LOCKS}}", locks)), 0o600); err != nil {
		t.Fatal(err)
	}
	lockDir := filepath.Join(locks, "web")

	// The first console stops at its first gate, the preflight's, holding
	// the lock on every host; nobody answers yet.
	stdin, answers, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer answers.Close()
	first := b.start(stdin, "run", "--plain")
	stdin.Close()
	waitOutput(t, &first.out, "journal: ")
	journal := between(first.out.String(), "journal: ", "\n")
	id := strings.TrimSuffix(filepath.Base(journal), ".journal")
	recs := waitJournalFile(t, journal, "the preflight gate", func(recs []engine.Record) bool {
		return len(eventsOf[engine.GateReached](recs)) > 0
	})
	taken := eventsOf[engine.LockChanged](recs)
	if len(taken) != 1 || !taken[0].Taken || taken[0].Path != lockDir || taken[0].Hosts != len(sshHosts) {
		t.Fatalf("lock events %+v, want %s taken on %d hosts", taken, lockDir, len(sshHosts))
	}
	info, err := os.ReadFile(filepath.Join(lockDir, "info"))
	if err != nil {
		t.Fatalf("the lock directory has no info: %v", err)
	}
	machine, _ := os.Hostname()
	owner := osUser(t) + "@" + machine
	if !strings.Contains(string(info), "id="+id+"\n") || !strings.Contains(string(info), "owner="+owner+"\n") {
		t.Fatalf("the lock's info does not name rollout %s by %s:\n%s", id, owner, info)
	}

	// A second console with a state dir of its own: its local lock is free,
	// the hosts' is not. It exits 3, naming the holder, and touches nothing.
	otherState := filepath.Join(b.dir, "state-b")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	second := exec.CommandContext(ctx, binary(t), "run", "--plain", "--state-dir", otherState)
	second.Dir = b.dir
	second.Stdin = strings.NewReader("y\ny\ny\ny\n")
	got, _ := second.CombinedOutput()
	if code := second.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("the second console: exit %d, want 3\n%s", code, got)
	}
	for _, want := range []string{"did not start", "locked by " + owner, "for rollout " + id, "rollout lock release --force"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the second console does not say %q:\n%s", want, got)
		}
	}
	secondRecs := journalIn(t, string(got))
	for _, p := range eventsOf[engine.PreflightHost](secondRecs) {
		if p.OK || p.Problem != "locked" || p.LockTaken || !strings.Contains(p.Error, id) {
			t.Errorf("the second console's preflight of %s: %+v, want locked by %s", p.Host, p, id)
		}
	}
	if n := len(eventsOf[engine.PreflightHost](secondRecs)); n != len(sshHosts) {
		t.Errorf("the second console reached %d hosts, want %d", n, len(sshHosts))
	}
	if hc := eventsOf[engine.HostChanged](secondRecs); len(hc) != 0 || len(eventsOf[engine.GateReached](secondRecs)) != 0 {
		t.Errorf("the second console went on: %d host changes, %d gates", len(hc), len(eventsOf[engine.GateReached](secondRecs)))
	}
	b.untouched(sshHosts...)
	if after, _ := os.ReadFile(filepath.Join(lockDir, "info")); string(after) != string(info) {
		t.Errorf("the second console changed the lock:\n%s", after)
	}

	// The first goes on to the end, each gate answered once it is open
	// (preflight, canary, two fleet batches), and releases the lock on
	// every host.
	for gate := 1; gate <= 4; gate++ {
		waitJournalFile(t, journal, fmt.Sprintf("gate %d", gate), func(recs []engine.Record) bool {
			return slices.ContainsFunc(eventsOf[engine.GateReached](recs), func(g engine.GateReached) bool { return g.Gate == gate })
		})
		if _, err := answers.WriteString("y\n"); err != nil {
			t.Fatal(err)
		}
	}
	if code := first.exit(t); code != 0 {
		t.Fatalf("the first console: exit %d\n%s", code, first.out.String())
	}
	for _, h := range sshHosts {
		if m := b.marked(h); len(m) != 1 {
			t.Errorf("%s: marks %q, want one apply", h, m)
		}
	}
	recs = journalIn(t, first.out.String())
	rel := eventsOf[engine.LockChanged](recs)
	// The aliases' releases race on their one directory, and some may
	// report a failure although the lock went (TestLockReleaseOfASharedDirectory):
	// every host is accounted for, and the directory is gone.
	if len(rel) != 2 || rel[1].Taken || rel[1].Hosts+len(rel[1].Failures) != len(sshHosts) || rel[1].Hosts == 0 {
		t.Errorf("lock events %+v, want it released from the %d hosts", rel, len(sshHosts))
	}
	if _, err := os.Stat(lockDir); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(locks)
		t.Errorf("the lock directory is still there (%v): %v", err, entries)
	}
	if st := engine.Fold(recs); st.Outcome != engine.OutcomeSucceeded || st.Lock != "" || len(st.LockHosts) != 0 {
		t.Errorf("outcome %s, lock %q on %v", st.Outcome, st.Lock, st.LockHosts)
	}
	if !strings.Contains(first.out.String(), "remote lock "+lockDir+" released from ") {
		t.Errorf("the first console does not say it released the lock:\n%s", first.out.String())
	}
}
