package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/rolloutconsole/rollout/inventory/change"
)

// hookOutputMax bounds how much of a failing hook's output is shown.
const hookOutputMax = 200

// hookFor says which of the change's on: hooks a committed record fires, if
// any: gate (a gate opened), failed (a phase went over its failure budget),
// rolled_back (the rollout ended rolled back), finished (it ended any other
// way that will not be resumed).
func hookFor(hooks change.Hooks, ev Event) (string, *change.Hook) {
	switch v := ev.(type) {
	case GateReached:
		return "gate", hooks.Gate
	case PhaseFinished:
		if !v.OK {
			return "failed", hooks.Failed
		}
	case RolloutFinished:
		switch v.Outcome {
		case OutcomeInterrupted:
		case OutcomeRolledBack:
			return "rolled_back", hooks.RolledBack
		default:
			return "finished", hooks.Finished
		}
	}
	return "", nil
}

// fireHooks starts the hooks the committed records fire. Each runs in its
// own goroutine, so a slow or hanging hook never holds up the rollout; its
// result is journaled as a HookRan when it ends (or its timeout kills it).
func (e *Engine) fireHooks(recs []Record) {
	if !e.opts.Hooks {
		return
	}
	for _, r := range recs {
		on, h := hookFor(e.plan.Change.On, r.Event)
		if h == nil {
			continue
		}
		line, err := r.MarshalJSON()
		if err != nil {
			continue
		}
		e.hookWG.Add(1)
		go func() {
			defer e.hookWG.Done()
			start := time.Now()
			err := e.runHook(on, h, line)
			ev := HookRan{On: on, Duration: time.Since(start)}
			if err != nil {
				ev.Error = err.Error()
			}
			_ = e.record(ev)
		}()
	}
}

// runHook runs one hook with sh -c, the event as one JSON line on stdin and
// the rollout named in its environment.
func (e *Engine) runHook(on string, h *change.Hook, event []byte) error {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = change.DefaultHookTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", h.Run)
	cmd.Stdin = bytes.NewReader(append(event, '\n'))
	cmd.Env = append(os.Environ(), "ROLLOUT_ID="+e.opts.ID, "ROLLOUT_SERVICE="+e.plan.Service,
		"ROLLOUT_EVENT="+on, "ROLLOUT_JOURNAL="+e.journal.Path())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("killed after %s", timeout)
	}
	msg := strings.TrimSpace(e.clean(lastLine(out.Bytes())))
	if len(msg) > hookOutputMax {
		msg = msg[:hookOutputMax]
	}
	if msg != "" {
		return fmt.Errorf("on %s hook: %w: %s", on, err, msg)
	}
	return fmt.Errorf("on %s hook: %w", on, err)
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}
