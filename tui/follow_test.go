package tui

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

func TestFollowReadsAGrowingJournalAndWaitsOutATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.journal")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return append(b, '\n')
	}
	f.Write(line(engine.Header{Format: 1, ID: "20260301-030000-web-abc123"}))
	recs := toCanaryGate(newScript(), 4)
	for _, r := range recs[:3] {
		f.Write(line(r))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Follow(ctx, path, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	next := func() engine.Record {
		t.Helper()
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatal("the follower stopped early")
			}
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no record")
		}
		return engine.Record{}
	}
	for i := 0; i < 3; i++ {
		if r := next(); r.Seq != recs[i].Seq {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
	// A line written in two parts (the engine mid-write) is read once whole.
	torn := line(recs[3])
	f.Write(torn[:10])
	select {
	case r := <-ch:
		t.Fatalf("a torn line was read: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
	f.Write(torn[10:])
	if r := next(); r.Seq != recs[3].Seq {
		t.Fatalf("the completed line has seq %d", r.Seq)
	}
	// The end of the rollout ends the stream.
	f.Write(line(engine.Record{Seq: 5, Time: t0, Event: engine.RolloutFinished{Outcome: engine.OutcomeSucceeded}}))
	if r := next(); r.Event.Type() != "rollout_finished" {
		t.Fatalf("got %s", r.Event.Type())
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("a record after the end")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not close at the rollout's end")
	}
}

func TestFollowRefusesAFileThatIsNotAJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.journal")
	os.WriteFile(path, []byte("hello\n"), 0o600)
	if _, err := Follow(context.Background(), path, 0); err == nil {
		t.Fatal("no error")
	}
}
