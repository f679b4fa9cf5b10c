package tui

import (
	"time"

	"github.com/rolloutconsole/rollout/engine"
)

// swapRow is the table row (and log) of the swap command. No host name has
// parentheses, so it cannot collide with one.
const swapRow = "(swap)"

// swapRun is what the table shows of the swap: the engine's state keeps
// where it runs and how it ended; the console adds its timing and output.
type swapRun struct {
	cur     engine.HostState // the swap's, or the swap back's, latest state
	back    bool
	started time.Time
	ended   time.Time
	last    string
}

// changed folds a swap event.
func (s *swapRun) changed(e engine.SwapChanged, t time.Time) {
	if e.Back != s.back || (e.State.InFlight() && !s.cur.InFlight()) {
		s.started, s.ended = t, time.Time{}
	}
	s.cur, s.back = e.State, e.Back
	if !e.State.InFlight() {
		s.ended = t
	}
}

// state is the swap's state as a host state; the swap back shows as
// rolling back and rolled back.
func (s swapRun) state() engine.HostState {
	if !s.back {
		return s.cur
	}
	switch s.cur {
	case engine.StateDone:
		return engine.StateRolledBack
	case engine.StateFailed, engine.StateUnknown:
		return engine.StateRollbackFailed
	case "":
		return ""
	}
	return engine.StateRollingBack
}

// duration is how long the swap has run, or ran.
func (s swapRun) duration(now time.Time) time.Duration {
	switch {
	case s.started.IsZero():
		return 0
	case s.ended.IsZero():
		return now.Sub(s.started)
	}
	return s.ended.Sub(s.started)
}

// swapLine is the swap's log line for an event.
func swapLine(e engine.SwapChanged) string {
	verb := "swap"
	if e.Back {
		verb = "swap back"
	}
	line := verb + " " + string(e.State) + ": promote " + e.Promote + ", demote " + e.Demote
	if e.Error != "" {
		line += ": " + cleanLine(e.Error)
	}
	return line
}
