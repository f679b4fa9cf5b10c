package engine

import (
	"fmt"
	"time"
)

// HostStatus is what is known of one host, folded from events.
type HostStatus struct {
	Name    string    `json:"name"`
	Phase   Phase     `json:"phase"`
	State   HostState `json:"state"`
	Attempt int       `json:"attempt,omitempty"`
	Error   string    `json:"error,omitempty"`
	Kind    string    `json:"kind,omitempty"`
	// Applied is true once the host reached applying: rollback must touch it.
	Applied bool `json:"applied,omitempty"`
	// AppliedSeq orders hosts by when they first reached applying.
	AppliedSeq int64     `json:"-"`
	Started    time.Time `json:"started,omitempty"`
	Finished   time.Time `json:"finished,omitempty"`
	// LastLine is the last line of output seen from the host.
	LastLine string `json:"last_line,omitempty"`
	// FailedCheck is the 1-based verify check that failed last, 0 when none.
	FailedCheck int `json:"failed_check,omitempty"`
	// Preflight is "" until preflight ran; then "ok", "unreachable",
	// "failed" or "locked", with the error in PreflightError.
	Preflight      string `json:"preflight,omitempty"`
	PreflightError string `json:"preflight_error,omitempty"`
	// Fingerprint is the host's fingerprint from preflight, by name.
	Fingerprint map[string]string `json:"fingerprint,omitempty"`
	// Captured is what the capture commands printed before apply, by name.
	Captured map[string]string `json:"captured,omitempty"`
	// Excluded is the reason the host was taken out of the rollout.
	Excluded string `json:"excluded,omitempty"`
}

// Duration is how long the host's last run took, or has taken until now.
func (h *HostStatus) Duration(now time.Time) time.Duration {
	if h.Started.IsZero() {
		return 0
	}
	if h.State.InFlight() || h.Finished.Before(h.Started) {
		return now.Sub(h.Started)
	}
	return h.Finished.Sub(h.Started)
}

// SwapStatus is what is known of the swap command and its reversal.
type SwapStatus struct {
	State    HostState `json:"state,omitempty"` // "" until the swap starts
	Seq      int64     `json:"-"`               // when it started, to order rollback
	Back     HostState `json:"back,omitempty"`
	Error    string    `json:"error,omitempty"`
	Where    string    `json:"where,omitempty"`
	Promote  string    `json:"promote,omitempty"`
	Demote   string    `json:"demote,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
}

// StepKey names one step of a plan: a phase and a 1-based batch.
type StepKey struct {
	Phase Phase
	Batch int
}

// State is a rollout folded from its events: what the console draws, what
// resume starts from, what show prints. Fold every record in order with Apply.
type State struct {
	ID         string
	Change     string
	Digest     string
	Service    string
	Inventory  string
	ChangeFile string
	Phases     []PhaseLayout
	Hosts      map[string]*HostStatus
	// Order is every host in plan order.
	Order []string
	Swap  SwapStatus
	// Passed records every step that finished within its budget.
	Passed map[StepKey]bool
	// Current is the step running or last run.
	Current StepKey
	// Gate is the open gate, nil when none is open.
	Gate        *GateReached
	Paused      bool
	Aborting    bool
	RollingBack bool
	Rollback    *RollbackStarted
	Outcome     Outcome
	Error       string
	Started     time.Time
	Finished    time.Time
	LastSeq     int64
	Notes       []string
	// Audit is every decision taken, by whom, when and why, in order.
	Audit []AuditEntry
	// Emergency is the emergency path taken (finish-now, fast rollback), if any.
	Emergency *EmergencyStarted
	// Lock is the remote lock's path while it is held, "" otherwise.
	Lock string
	// LockHosts are the hosts this rollout took the remote lock on.
	LockHosts []string
}

// AuditEntry is one decision in the rollout's audit trail.
type AuditEntry struct {
	Time time.Time `json:"time"`
	User string    `json:"user,omitempty"`
	// What says what was decided, e.g. "proceed at gate 3 (batch before fleet 2/4)".
	What   string `json:"what"`
	Reason string `json:"reason,omitempty"`
	Auto   bool   `json:"auto,omitempty"`
}

// NewState returns an empty state, ready to fold records into.
func NewState() *State {
	return &State{Hosts: map[string]*HostStatus{}, Passed: map[StepKey]bool{}}
}

// Fold folds records into a new State.
func Fold(records []Record) *State {
	s := NewState()
	for _, r := range records {
		s.Apply(r)
	}
	return s
}

// Apply folds one record into the state.
func (s *State) Apply(r Record) {
	s.LastSeq = r.Seq
	switch e := r.Event.(type) {
	case RolloutStarted:
		s.applyStarted(e, r.Time)
	case PhaseStarted:
		s.Current = StepKey{e.Phase, e.Batch}
		s.Gate = nil
	case PhaseFinished:
		if e.OK {
			s.Passed[StepKey{e.Phase, e.Batch}] = true
		}
	case HostChanged:
		s.applyHost(e, r)
	case HostOutput:
		if h := s.host(e.Host); h != nil && len(e.Lines) > 0 {
			h.LastLine = e.Lines[len(e.Lines)-1]
		}
	case SwapChanged:
		s.applySwap(e, r.Seq)
	case GateReached:
		g := e
		s.Gate = &g
	case CheckFailed:
		if h := s.host(e.Host); h != nil {
			h.FailedCheck = e.Check
		}
	case GateAnswered:
		s.audit(r, e.User, describeAnswer(e, s.Gate), e.Reason, e.Auto)
		s.Gate = nil
	case Paused:
		s.Paused = true
		s.audit(r, e.User, "pause", e.Reason, false)
	case Unpaused:
		s.Paused = false
		s.audit(r, e.User, "resume from pause", "", false)
	case AbortRequested:
		s.Aborting = true
		s.audit(r, e.User, "abort", e.Reason, false)
	case RollbackStarted:
		rb := e
		s.RollingBack, s.Rollback, s.Gate, s.Paused = true, &rb, nil, false
		what := "rollback started"
		if e.Fast {
			what = "fast rollback started"
		}
		s.audit(r, e.User, fmt.Sprintf("%s (%d hosts)", what, len(e.Hosts)), e.Reason, false)
	case PreflightHost:
		if e.LockTaken {
			s.LockHosts = append(s.LockHosts, e.Host)
		}
		if h := s.host(e.Host); h != nil {
			h.Preflight, h.PreflightError, h.Fingerprint = "ok", e.Error, e.Fingerprint
			if !e.OK {
				h.Preflight = e.Problem
			}
		}
	case HostExcluded:
		if h := s.host(e.Host); h != nil {
			h.State, h.Excluded, h.Finished = StateSkipped, e.Reason, r.Time
		}
		s.audit(r, e.User, "exclude "+e.Host, e.Reason, false)
	case HostCaptured:
		if h := s.host(e.Host); h != nil {
			h.Captured = e.Values
		}
	case BatchesChanged:
		for i := range s.Phases {
			if s.Phases[i].Phase == e.Phase {
				s.Phases[i].Batches = e.Batches
			}
		}
	case EmergencyStarted:
		em := e
		s.Emergency = &em
		s.audit(r, e.User, string(e.Decision), e.Reason, false)
	case LockChanged:
		s.Lock = ""
		if e.Taken {
			s.Lock = e.Path
		} else {
			s.LockHosts = nil
		}
	case Note:
		s.Notes = append(s.Notes, e.Msg)
	case RolloutFinished:
		s.Outcome, s.Error, s.Finished, s.Gate = e.Outcome, e.Error, r.Time, nil
	}
}

func (s *State) audit(r Record, user, what, reason string, auto bool) {
	s.Audit = append(s.Audit, AuditEntry{Time: r.Time, User: user, What: what, Reason: reason, Auto: auto})
}

// describeAnswer says what a gate answer decided, naming the gate it answered.
func describeAnswer(e GateAnswered, g *GateReached) string {
	what := string(e.Decision)
	switch e.Decision {
	case Exclude, RetryHost:
		what += " " + e.Host
	case Resize:
		what += fmt.Sprintf(" next batch to %d hosts", e.Size)
	}
	if g != nil && g.Gate == e.Gate {
		where := string(g.Phase)
		if g.Batch > 0 && g.Phase == PhaseFleet {
			where = fmt.Sprintf("fleet batch %d", g.Batch)
		}
		return fmt.Sprintf("%s at the %s gate before %s", what, g.Kind, where)
	}
	return fmt.Sprintf("%s at gate %d", what, e.Gate)
}

func (s *State) applyStarted(e RolloutStarted, t time.Time) {
	if !e.Resumed || s.ID == "" {
		s.ID, s.Change, s.Digest, s.Service = e.ID, e.Change, e.Digest, e.Service
		s.Inventory, s.ChangeFile, s.Phases, s.Started = e.Inventory, e.ChangeFile, e.Phases, t
		for _, ph := range e.Phases {
			for _, b := range ph.Batches {
				for _, h := range b {
					if _, ok := s.Hosts[h]; !ok {
						s.Hosts[h] = &HostStatus{Name: h, Phase: ph.Phase, State: StatePending}
						s.Order = append(s.Order, h)
					}
				}
			}
			if ph.Phase == PhaseSwap && ph.SwapHost != "" {
				s.Swap.Where, s.Swap.Promote, s.Swap.Demote = ph.SwapHost, ph.Promote, ph.Demote
			}
		}
	}
	// A new run of the console: whatever was paused, aborting or finished
	// in the previous run is over.
	s.Paused, s.Aborting, s.Outcome, s.Error, s.Gate = false, false, "", "", nil
}

func (s *State) host(name string) *HostStatus {
	return s.Hosts[name]
}

func (s *State) applyHost(e HostChanged, r Record) {
	h := s.host(e.Host)
	if h == nil {
		h = &HostStatus{Name: e.Host, Phase: e.Phase}
		s.Hosts[e.Host] = h
		s.Order = append(s.Order, e.Host)
	}
	if e.State == StateConnecting || (e.State == StateApplying && !h.State.InFlight()) ||
		(e.State == StateRollingBack && h.State != StateRollingBack) || (e.State == StateVerifying && !h.State.InFlight()) {
		h.Started = r.Time
	}
	h.State, h.Phase, h.Error, h.Kind = e.State, e.Phase, e.Error, e.Kind
	if e.Attempt > 0 {
		h.Attempt = e.Attempt
	}
	if e.State == StateConnecting || e.State == StateRollingBack {
		h.FailedCheck = 0
	}
	if e.Check > 0 {
		h.FailedCheck = e.Check
	}
	if e.State == StateApplying && !h.Applied {
		h.Applied, h.AppliedSeq = true, r.Seq
	}
	if !e.State.InFlight() {
		h.Finished = r.Time
	}
}

func (s *State) applySwap(e SwapChanged, seq int64) {
	s.Swap.Where, s.Swap.Error = e.Where, e.Error
	if e.Back {
		s.Swap.Back = e.State
		return
	}
	s.Swap.Promote, s.Swap.Demote = e.Promote, e.Demote
	if s.Swap.Seq == 0 {
		s.Swap.Seq = seq
	}
	if e.State == StateApplying {
		s.Swap.Attempts++
	}
	s.Swap.State = e.State
}

// Counts tallies hosts by state.
func (s *State) Counts() map[HostState]int {
	c := map[HostState]int{}
	for _, h := range s.Hosts {
		c[h.State]++
	}
	return c
}
