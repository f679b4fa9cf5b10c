package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rolloutconsole/rollout/engine"
)

// defaultStateDir is $XDG_STATE_HOME/rollout, or ~/.local/state/rollout.
func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "rollout")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".rollout-state"
	}
	return filepath.Join(home, ".local", "state", "rollout")
}

// journalEntry is one journal in the state dir, folded.
type journalEntry struct {
	path   string
	replay *engine.Replay
	state  *engine.State
}

// finished reports whether the rollout ended for good (not interrupted, and
// an end was recorded).
func (j journalEntry) finished() bool {
	switch j.state.Outcome {
	case "", engine.OutcomeInterrupted:
		return false
	}
	return true
}

// listJournals reads every journal in dir, newest first. Unreadable files are
// reported in skipped, not fatal.
func listJournals(dir string) (entries []journalEntry, skipped []string, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.journal"))
	if err != nil {
		return nil, nil, err
	}
	for _, p := range paths {
		rp, err := engine.ReadJournal(p)
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		entries = append(entries, journalEntry{path: p, replay: rp, state: engine.Fold(rp.Records)})
	}
	sort.Slice(entries, func(i, k int) bool {
		return entries[i].replay.Header.Created.After(entries[k].replay.Header.Created)
	})
	return entries, skipped, nil
}

// findJournal returns the journal for id: an exact ID, a unique prefix, or a
// path. Empty id means the most recent rollout that did not finish.
func findJournal(dir, id string) (journalEntry, error) {
	if strings.HasSuffix(id, ".journal") {
		rp, err := engine.ReadJournal(id)
		if err != nil {
			return journalEntry{}, err
		}
		return journalEntry{path: id, replay: rp, state: engine.Fold(rp.Records)}, nil
	}
	entries, _, err := listJournals(dir)
	if err != nil {
		return journalEntry{}, err
	}
	if id == "" {
		for _, e := range entries {
			if !e.finished() {
				return e, nil
			}
		}
		return journalEntry{}, fmt.Errorf("no unfinished rollout in %s; see rollout history", dir)
	}
	var found []journalEntry
	for _, e := range entries {
		if e.replay.Header.ID == id {
			return e, nil
		}
		if strings.HasPrefix(e.replay.Header.ID, id) {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 0:
		return journalEntry{}, fmt.Errorf("no rollout %q in %s; see rollout history", id, dir)
	case 1:
		return found[0], nil
	}
	return journalEntry{}, errors.New("several rollouts start with " + id + "; give more of the ID")
}
