package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.journal")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const header = `{"format":1,"id":"r1","change":"c","digest":"d","service":"web","created":"2026-11-26T00:00:00Z","user":"u"}` + "\n"

func line(seq int, typ, data string) string {
	return `{"seq":` + itoa(seq) + `,"time":"2026-11-26T00:00:01Z","type":"` + typ + `","data":` + data + "}\n"
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestReadJournalDamage(t *testing.T) {
	good := header + line(1, "note", `{"msg":"a"}`) + line(2, "note", `{"msg":"b"}`)
	cases := []struct {
		name    string
		content string
		records int
		line    int
		torn    bool
		msg     string
	}{
		{"clean", good, 2, 0, false, ""},
		{"torn last line", good + `{"seq":3,"time":"2026-11-2`, 2, 4, true, "cut short"},
		{"garbage in the middle", header + line(1, "note", `{"msg":"a"}`) + "not json\n" + line(3, "note", `{}`), 1, 3, false, "cannot read the record"},
		{"edited sequence", header + line(1, "note", `{}`) + line(5, "note", `{}`), 1, 3, false, "event 5 where event 2 was expected"},
		{"unknown type", header + line(1, "bogus", `{}`), 0, 2, false, `unknown event type "bogus"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rp, err := engine.ReadJournal(writeFile(t, c.content))
			if err != nil {
				t.Fatal(err)
			}
			if len(rp.Records) != c.records {
				t.Errorf("%d records, want %d", len(rp.Records), c.records)
			}
			if c.line == 0 {
				if rp.Damage != nil {
					t.Errorf("damage %v in a clean journal", rp.Damage)
				}
				return
			}
			if rp.Damage == nil {
				t.Fatalf("no damage reported")
			}
			if rp.Damage.Line != c.line || rp.Damage.Torn != c.torn || !strings.Contains(rp.Damage.Error(), c.msg) {
				t.Errorf("damage %+v (%s), want line %d torn %v containing %q", rp.Damage, rp.Damage.Error(), c.line, c.torn, c.msg)
			}
		})
	}
}

func TestReadJournalRefusesNonJournalsAndNewerFormats(t *testing.T) {
	if _, err := engine.ReadJournal(writeFile(t, "hello\n")); !errors.Is(err, engine.ErrNotJournal) {
		t.Errorf("plain text: %v", err)
	}
	if _, err := engine.ReadJournal(writeFile(t, `{"format":99,"id":"x"}`+"\n")); err == nil || !strings.Contains(err.Error(), "upgrade rollout") {
		t.Errorf("newer format: %v", err)
	}
}

func TestAppendJournalCutsTheDamagedTail(t *testing.T) {
	p := writeFile(t, header+line(1, "note", `{"msg":"a"}`)+`{"seq":2,"ti`)
	j, rp, err := engine.AppendJournal(p)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Damage == nil || !rp.Damage.Torn {
		t.Fatalf("damage %v", rp.Damage)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if string(data) != header+line(1, "note", `{"msg":"a"}`) {
		t.Errorf("after cut:\n%s", data)
	}
}

func TestJournalFileModeIs0600(t *testing.T) {
	spec := defaultSpec()
	spec.fleet = 1
	dir := t.TempDir()
	r := start(t, spec.plan(t), fake.New(), dir, proceedAll)
	r.wait()
	fi, err := os.Stat(filepath.Join(dir, r.eng.ID()+".journal"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestLockRefusesASecondHolderAndNamesTheFirst(t *testing.T) {
	dir := t.TempDir()
	first, err := engine.AcquireLock(dir, "web", engine.LockInfo{User: "alice", PID: 42, ID: "r-1", Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.AcquireLock(dir, "web", engine.LockInfo{User: "bob", PID: 43})
	var le *engine.LockedError
	if !errors.As(err, &le) || !errors.Is(err, engine.ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	if le.Holder.User != "alice" || le.Holder.PID != 42 || !strings.Contains(err.Error(), "r-1") {
		t.Errorf("holder %+v: %v", le.Holder, err)
	}
	other, err := engine.AcquireLock(dir, "api", engine.LockInfo{User: "bob"})
	if err != nil {
		t.Fatalf("another service is not locked: %v", err)
	}
	other.Release()
	fi, _ := os.Stat(filepath.Join(dir, "locks", "web.lock"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("lock mode %v", fi.Mode().Perm())
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := engine.AcquireLock(dir, "web", engine.LockInfo{User: "bob"})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Release()
}

func TestGroupCommitSharesFsyncs(t *testing.T) {
	// Many concurrent appends: each returns only after its events are durable,
	// and together they need far fewer fsyncs than events.
	spec := defaultSpec()
	spec.test, spec.fleet, spec.canary, spec.standby = 2, 400, 0, false
	spec.batches, spec.parallel = "[100%]", 50
	dir := t.TempDir()
	ft := fake.New()
	e, err := engine.New(spec.plan(t), engine.Options{Transport: ft, Local: ft, StateDir: dir, AutoConfirm: true})
	if err != nil {
		t.Fatal(err)
	}
	r := drive(t, e, ft, dir, func(engine.GateReached) engine.Decision { return ignore })
	if r.wait() != engine.OutcomeSucceeded {
		t.Fatal(r.dump())
	}
	st := e.JournalStats()
	if st.Syncs*4 > st.Events {
		t.Errorf("%d fsyncs for %d events: appends that arrive together should share one", st.Syncs, st.Events)
	}
}
