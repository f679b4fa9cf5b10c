package tui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

// DefaultPoll is how often Follow looks for new journal lines.
const DefaultPoll = 100 * time.Millisecond

// Follow reads the journal at path and then follows it as it grows, like
// tail -f, for rollout watch. A last line without its newline is a write
// in progress: it is read again once complete. The channel closes when the
// rollout ends for good (an interrupted rollout may be resumed, so it is
// followed on), when ctx ends, or at a line that cannot be read, which is
// reported as a Note first.
func Follow(ctx context.Context, path string, poll time.Duration) (<-chan engine.Record, error) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	line, err := br.ReadBytes('\n')
	var h engine.Header
	if err != nil || json.Unmarshal(line, &h) != nil || h.ID == "" {
		f.Close()
		return nil, fmt.Errorf("watch %s: %w", path, engine.ErrNotJournal)
	}
	ch := make(chan engine.Record, 256)
	go follow(ctx, f, br, poll, ch)
	return ch, nil
}

// follow is Follow's reader goroutine.
func follow(ctx context.Context, f *os.File, br *bufio.Reader, poll time.Duration, ch chan<- engine.Record) {
	defer close(ch)
	defer f.Close()
	send := func(r engine.Record) bool {
		select {
		case ch <- r:
			return true
		case <-ctx.Done():
			return false
		}
	}
	note := func(msg string) { send(engine.Record{Time: time.Now(), Event: engine.Note{Msg: msg}}) }
	defer func() {
		if p := recover(); p != nil {
			note(fmt.Sprintf("watch stopped: internal error: %v", p))
		}
	}()
	var pending []byte
	for lineNo := 2; ; {
		chunk, err := br.ReadBytes('\n')
		pending = append(pending, chunk...)
		if errors.Is(err, io.EOF) {
			select {
			case <-time.After(poll): // the line is still being written, or nothing new yet
				continue
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			note("watch stopped: " + err.Error())
			return
		}
		var rec engine.Record
		if err := json.Unmarshal(pending, &rec); err != nil {
			note(fmt.Sprintf("watch stopped: journal line %d cannot be read: %v", lineNo, err))
			return
		}
		pending, lineNo = pending[:0], lineNo+1
		if !send(rec) {
			return
		}
		if e, ok := rec.Event.(engine.RolloutFinished); ok && e.Outcome != engine.OutcomeInterrupted {
			return
		}
	}
}
