package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/engine"
)

// hooksOn are the change's on: hooks. The gate hook keeps each event it is
// given and fails at gate 2 as a pager webhook that is down would; the
// finished hook keeps its event.
const hooksOn = `on:
  gate: |
    line=$(cat)
    printf '%s\n' "$line" >> HOOKS/gates.jsonl
    echo "$ROLLOUT_EVENT $ROLLOUT_ID $ROLLOUT_SERVICE" >> HOOKS/env
    case "$line" in *'"data":{"gate":2,'*) echo "pager: 503 from the webhook" >&2; exit 1;; esac
  finished: cat > HOOKS/finished.json
`

// The change's hooks run on this machine with each event as JSON on stdin:
// the gate hook gets every gate, the finished hook the rollout's end, each
// the very record the journal holds. A hook that fails is journaled with
// its error and shown, and the rollout goes on and succeeds.
func TestHooksGetEventsAndAFailingHookIsOnlyShown(t *testing.T) {
	b := newLocalBed(t)
	hooks := filepath.Join(b.dir, "hooks")
	if err := os.Mkdir(hooks, 0o700); err != nil {
		t.Fatal(err)
	}
	ch := filepath.Join(b.dir, "change.yaml")
	data, err := os.ReadFile(ch)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data) + strings.ReplaceAll(hooksOn, "HOOKS", "'"+hooks+"'")
	if err := os.WriteFile(ch, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := b.run("", "run", "--plain", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	recs := journalIn(t, out)
	st := engine.Fold(recs)
	if st.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("outcome %s", st.Outcome)
	}
	bySeq := map[int64]engine.Record{}
	var gateSeqs []int64
	for _, r := range recs {
		bySeq[r.Seq] = r
		if _, ok := r.Event.(engine.GateReached); ok {
			gateSeqs = append(gateSeqs, r.Seq)
		}
	}

	// gates.jsonl: one line per gate, each the journal's record.
	lines := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(hooks, "gates.jsonl"))), "\n")
	var seen []int64
	for _, l := range lines {
		var r engine.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("the gate hook got %q: %v", l, err)
		}
		g, ok := r.Event.(engine.GateReached)
		if want := bySeq[r.Seq]; !ok || want.Event == nil || !sameJSON(t, want, r) {
			t.Errorf("the gate hook got %s, the journal has %+v at seq %d", l, want.Event, r.Seq)
		} else if g.Gate == 0 {
			t.Errorf("a gate without a number: %s", l)
		}
		seen = append(seen, r.Seq)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, gateSeqs) {
		t.Errorf("the gate hook got seqs %v, the journal's gates are %v", seen, gateSeqs)
	}
	env := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(hooks, "env"))), "\n")
	if len(env) != len(gateSeqs) || env[0] != "gate "+st.ID+" web" {
		t.Errorf("the hooks' environment: %q, want %d lines of %q", env, len(gateSeqs), "gate "+st.ID+" web")
	}

	// finished.json: the rollout's last record.
	var fin engine.Record
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(hooks, "finished.json"))), &fin); err != nil {
		t.Fatal(err)
	}
	if f, ok := fin.Event.(engine.RolloutFinished); !ok || f.Outcome != engine.OutcomeSucceeded || !sameJSON(t, bySeq[fin.Seq], fin) {
		t.Errorf("the finished hook got %+v (seq %d)", fin.Event, fin.Seq)
	}

	// Every hook's run is journaled; the failing one with its error.
	var gateRuns, finished int
	var failures []engine.HookRan
	for _, h := range eventsOf[engine.HookRan](recs) {
		switch h.On {
		case "gate":
			gateRuns++
		case "finished":
			finished++
		}
		if h.Error != "" {
			failures = append(failures, h)
		}
	}
	if gateRuns != len(gateSeqs) || finished != 1 {
		t.Errorf("%d gate hooks and %d finished hooks journaled, want %d and 1", gateRuns, finished, len(gateSeqs))
	}
	if len(failures) != 1 || failures[0].On != "gate" || !strings.Contains(failures[0].Error, "exit status 1") ||
		!strings.Contains(failures[0].Error, "pager: 503 from the webhook") {
		t.Errorf("hook failures %+v, want the gate hook's at gate 2 with its exit status and last line", failures)
	}
	if !strings.Contains(out, "pager: 503 from the webhook") || !strings.Contains(out, "rollout SUCCEEDED") {
		t.Errorf("the output does not show the hook's failure and the success:\n%s", out)
	}
	for _, h := range localHosts {
		if b.version(h) != "2" || b.applied(h) != 1 {
			t.Errorf("%s: version %q, applied %d times", h, b.version(h), b.applied(h))
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// sameJSON reports whether two records encode the same.
func sameJSON(t *testing.T, a, b engine.Record) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}
