package engine

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
)

// step is one gated unit of the plan: a phase, or one batch of the fleet.
type step struct {
	phase   Phase
	batch   int // 1-based
	batches int
	hosts   []string
	plan    *PhasePlan
}

func (s step) key() StepKey { return StepKey{s.phase, s.batch} }

// steps lists the plan's steps in order, skipped phases left out.
func (e *Engine) steps() []step {
	var out []step
	for i := range e.plan.Phases {
		pp := &e.plan.Phases[i]
		if pp.Skipped != "" {
			continue
		}
		for b, hosts := range pp.Batches {
			out = append(out, step{phase: pp.Phase, batch: b + 1, batches: len(pp.Batches), hosts: hosts, plan: pp})
		}
	}
	return out
}

func (e *Engine) layout() []PhaseLayout {
	out := make([]PhaseLayout, len(e.plan.Phases))
	for i, pp := range e.plan.Phases {
		out[i] = PhaseLayout{Phase: pp.Phase, Batches: pp.Batches, Skipped: pp.Skipped, SwapHost: pp.SwapHost, Promote: pp.Promote, Demote: pp.Demote}
	}
	return out
}

// Run runs the rollout until it ends and returns how it ended. It returns
// early, leaving a resumable journal, when ctx ends (after the grace period
// for hosts in flight) or when the journal cannot be written. The error is
// non-nil when the engine could not record what it did, or (wrapping
// ErrRemoteLocked) when preflight found another rollout's lock on a host.
func (e *Engine) Run(ctx context.Context) (outcome Outcome, err error) {
	e.journal.start(e.opts.Now, e.sink)
	e.preCtx, e.preCancel = context.WithCancel(ctx)
	defer func() {
		if p := recover(); p != nil {
			outcome, err = OutcomeInterrupted, fmt.Errorf("internal error: %v", p)
		}
		e.closeConns()
		close(e.done)
		// Hooks journal their result: they end (or are killed at their
		// timeout) before the journal closes.
		e.hookWG.Wait()
		if cerr := e.journal.Close(); cerr != nil && err == nil {
			err = cerr
		}
		e.mu.Lock()
		for _, s := range e.subs {
			s.close()
		}
		e.mu.Unlock()
	}()
	for _, r := range e.replayRecords() {
		if g, ok := r.Event.(GateReached); ok && g.Gate > e.gateSeq {
			e.gateSeq = g.Gate
		}
	}
	start := RolloutStarted{ID: e.opts.ID, Change: e.plan.Change.Name, Digest: e.plan.Change.Digest, Service: e.plan.Service,
		Inventory: e.plan.InventoryFile, ChangeFile: e.plan.Change.File, User: e.opts.User, PID: os.Getpid(),
		Resumed: e.replay != nil, Phases: e.layout()}
	if err := e.record(start); err != nil {
		return OutcomeInterrupted, err
	}
	if e.replay != nil && e.replay.Damage != nil {
		e.note("journal damaged at " + e.replay.Damage.Error() + "; the damaged tail was cut off")
	}
	outcome, msg := e.walk(ctx)
	if jerr := e.journalErr(); jerr != nil {
		return OutcomeInterrupted, fmt.Errorf("stopped: cannot record to the journal, so no further step was taken: %w", jerr)
	}
	if outcome != OutcomeInterrupted {
		// Nothing will resume this run: the hosts are free for the next.
		e.releaseLocks(context.WithoutCancel(ctx))
	}
	if err := e.record(RolloutFinished{Outcome: outcome, Error: msg}); err != nil {
		return outcome, err
	}
	return outcome, e.lockErr
}

func (e *Engine) replayRecords() []Record {
	if e.replay == nil {
		return nil
	}
	return e.replay.Records
}

// walk goes through the plan's steps, gate by gate.
func (e *Engine) walk(ctx context.Context) (Outcome, string) {
	resumed := e.replay != nil
	if resumed {
		var rollingBack bool
		e.read(func(s *State) { rollingBack = s.RollingBack })
		if rollingBack || e.opts.RollbackNow {
			return e.rollback(ctx)
		}
		if o, msg, stop := e.reverify(ctx); stop {
			return o, msg
		}
	}
	var pre *PreflightReport
	if !resumed && e.opts.Preflight {
		var o Outcome
		var msg string
		if pre, o, msg = e.preflight(ctx); pre == nil {
			return o, msg
		}
		if e.preflightOnly {
			e.preflightResult = pre
			return OutcomeAborted, "preflight only"
		}
	}
	steps := e.steps()
	kind := GateStart
	switch {
	case resumed:
		kind = GateResume
	case pre != nil:
		kind = GatePreflight
	}
	var prev *step
	for i := 0; i < len(steps); i++ {
		s := &steps[i]
		if e.finishNow && s.phase == PhaseFleet && s.batch < s.batches {
			if err := e.relayout(s, 0, e.emergencyReason); err != nil {
				return OutcomeInterrupted, err.Error()
			}
			steps = e.steps()
			s = &steps[i]
		}
		todo, passed := e.todo(s)
		if !passed && len(todo) == 0 && !e.overBudget(s, todo) {
			// Every host of the step finished before the console stopped (a
			// resume re-verified the last ones), or every one was excluded:
			// the step passed. A test phase never passes without a host.
			if err := e.record(PhaseFinished{Phase: s.phase, Batch: s.batch, Passed: len(s.hosts), OK: true}); err != nil {
				return OutcomeInterrupted, err.Error()
			}
			passed = true
		}
		if passed {
			prev = s
			continue
		}
		if prev != nil && kind != GateResume && kind != GatePreflight {
			kind = GatePhase
			if prev.phase == s.phase {
				kind = GateBatch
			}
		}
		for {
			g := e.stepGate(kind, s, prev, todo, resumed)
			if kind == GatePreflight {
				g.Preflight = pre
				g.Options = []Decision{Proceed, Exclude, Abort}
				if pre.Blocking != "" {
					g.Options = []Decision{Exclude, Abort}
				}
			}
			a, o, msg, done := e.decide(ctx, g)
			if done {
				return o, msg
			}
			if kind == GatePreflight && a.Decision == Proceed {
				if err := e.excludePreflightFailures(); err != nil {
					return OutcomeInterrupted, err.Error()
				}
			}
			again, o, msg, done := e.act(ctx, s, a)
			if done {
				return o, msg
			}
			if kind == GatePreflight && a.Decision == Exclude {
				pre = e.preflightReport()
			}
			if a.Decision == FinishNow && s.phase == PhaseFleet && s.batch < s.batches {
				if err := e.relayout(s, 0, a.Reason); err != nil {
					return OutcomeInterrupted, err.Error()
				}
			}
			steps = e.steps()
			s = &steps[i]
			todo, _ = e.todo(s)
			if !again {
				break
			}
		}
		kind = GatePhase
		for {
			if i+1 < len(steps) {
				e.dialNextStep(&steps[i+1])
			}
			res := e.runStep(ctx, s, todo)
			switch res.stop {
			case stopAbort:
				return OutcomeAborted, "aborted by " + e.opts.User
			case stopRollback:
				return e.rollback(ctx)
			case stopInterrupt:
				return OutcomeInterrupted, "the console was stopped; resume to go on"
			case stopJournal:
				return OutcomeInterrupted, "the journal cannot be written"
			}
			ok := !res.over
			if err := e.record(PhaseFinished{Phase: s.phase, Batch: s.batch, Passed: res.passed, Failed: res.failed, OK: ok}); err != nil {
				return OutcomeInterrupted, err.Error()
			}
			if ok {
				break
			}
			if o, msg, done := e.failedGate(ctx, s); done {
				return o, msg
			}
			todo, _ = e.todo(s)
			if len(todo) == 0 && !e.overBudget(s, nil) {
				// Retried or excluded back within budget at the gate.
				if err := e.record(PhaseFinished{Phase: s.phase, Batch: s.batch, Passed: len(s.hosts), OK: true}); err != nil {
					return OutcomeInterrupted, err.Error()
				}
				break
			}
		}
		prev = s
	}
	return OutcomeSucceeded, ""
}

// stepGate builds the gate before step s: what comes next, what just
// happened (prev), and what may be decided.
func (e *Engine) stepGate(kind GateKind, s, prev *step, todo []string, resumed bool) GateReached {
	g := GateReached{Kind: kind, Phase: s.phase, Batch: s.batch, Next: todo, Options: []Decision{Proceed, Rollback, Abort}}
	if kind == GateStart {
		// Nothing has been touched: there is nothing to roll back.
		g.Options = []Decision{Proceed, Abort}
	}
	if prev != nil {
		e.summarise(&g, prev.hosts)
		if len(g.Failing) > 0 {
			g.Options = append(g.Options, RetryHost)
		}
	}
	if resumed && kind == GateResume && e.overBudget(s, todo) {
		g.Kind, g.Options = GateFailed, []Decision{Retry, RetryHost, Exclude, Rollback, Abort}
		e.summarise(&g, s.hosts)
		return g
	}
	if len(todo) > 0 {
		g.Options = append(g.Options, Exclude)
	}
	if s.phase == PhaseFleet && len(todo) > 0 {
		g.Options = append(g.Options, Resize)
		g.ResizeMax = e.fleetLeft()
	}
	e.offerEmergency(&g)
	if e.finishNow && g.Kind != GateFailed {
		g.Options = []Decision{Proceed, Rollback, Abort}
	}
	return g
}

// offerEmergency adds finish-now and the fast rollback where they make
// sense: after the test phase passed, when something may be rolled back.
func (e *Engine) offerEmergency(g *GateReached) {
	if !e.testPassed() || e.rollingBack || !slices.Contains(g.Options, Rollback) {
		return
	}
	g.Emergency = true
	if g.Kind != GateFailed && !e.finishNow {
		g.Options = append(g.Options, FinishNow)
	}
	g.Options = append(g.Options, FastRollback)
}

// failedGate stops at a step that went over its failure budget and acts on
// the answers until one lets the walk go on (done false: retry the step) or
// ends it.
func (e *Engine) failedGate(ctx context.Context, s *step) (Outcome, string, bool) {
	for {
		g := GateReached{Kind: GateFailed, Phase: s.phase, Batch: s.batch, Options: []Decision{Retry, RetryHost, Exclude, Rollback, Abort}}
		e.summarise(&g, s.hosts)
		g.Next = failedOf(g.Failing)
		e.offerEmergency(&g)
		a, o, msg, done := e.decide(ctx, g)
		if done {
			return o, msg, true
		}
		if a.Decision == Retry {
			return "", "", false
		}
		again, o, msg, done := e.act(ctx, s, a)
		if done {
			return o, msg, true
		}
		if !again || !e.overBudget(s, nil) {
			return "", "", false
		}
	}
}

// act carries out a gate answer that is not simply proceed or retry:
// excluding or retrying one host, resizing the next batch, finishing now.
// again is true when the gate should open again to show the effect.
func (e *Engine) act(ctx context.Context, s *step, a Answer) (again bool, o Outcome, msg string, done bool) {
	switch a.Decision {
	case Exclude:
		if err := e.exclude(a.Host, a.Reason); err != nil {
			return false, OutcomeInterrupted, err.Error(), true
		}
		return true, "", "", false
	case Resize:
		if err := e.relayout(s, a.Size, a.Reason); err != nil {
			return false, OutcomeInterrupted, err.Error(), true
		}
		return true, "", "", false
	case RetryHost:
		res := e.runHosts(ctx, []string{a.Host}, 1, -1, e.hostJob(e.applyJob(e.phaseOf(a.Host))))
		switch res.stop {
		case stopAbort:
			return false, OutcomeAborted, "aborted by " + e.opts.User, true
		case stopRollback:
			o, msg := e.rollback(ctx)
			return false, o, msg, true
		case stopInterrupt, stopJournal:
			return false, OutcomeInterrupted, "the console was stopped; resume to go on", true
		}
		return true, "", "", false
	case FinishNow:
		if err := e.startFinishNow(a.Reason); err != nil {
			return false, OutcomeInterrupted, err.Error(), true
		}
	}
	return false, "", "", false
}

// exclude takes a host out of the rollout: the exclusion with its reason
// (for the audit), and the host's new state, as any state change is told.
func (e *Engine) exclude(host, reason string) error {
	return e.record(HostExcluded{Host: host, User: e.opts.User, Reason: reason},
		HostChanged{Host: host, Phase: e.phaseOf(host), State: StateSkipped, Error: "excluded: " + reason, Kind: "excluded"})
}

// startFinishNow records the emergency path and takes it: no more soak, no
// more batch gates, the rest of the fleet in one batch.
func (e *Engine) startFinishNow(reason string) error {
	if err := e.record(EmergencyStarted{Decision: FinishNow, User: e.opts.User, Reason: reason}); err != nil {
		return err
	}
	e.finishNow, e.emergencyReason = true, reason
	return nil
}

// relayout lays the remaining batches of the fleet out anew from step s on:
// the next batch takes size hosts (all of them when size is 0, finish-now)
// and the batches after it keep their sizes, the last taking the rest.
// Excluded hosts leave the layout; batches already passed keep their numbers.
func (e *Engine) relayout(s *step, size int, reason string) error {
	pp := s.plan
	var rest []string
	var sizes []int
	e.read(func(st *State) {
		for i, b := range pp.Batches[s.batch-1:] {
			if i > 0 {
				sizes = append(sizes, len(b))
			}
			for _, h := range b {
				if hs := st.Hosts[h]; hs == nil || hs.State != StateSkipped {
					rest = append(rest, h)
				}
			}
		}
	})
	if size <= 0 || size > len(rest) {
		size = len(rest)
	}
	batches := slices.Clone(pp.Batches[:s.batch-1])
	if len(rest) > 0 {
		batches = append(batches, rest[:size])
		rest = rest[size:]
	}
	for i, n := range sizes {
		if len(rest) == 0 {
			break
		}
		if i == len(sizes)-1 || n > len(rest) {
			n = len(rest)
		}
		batches = append(batches, rest[:n])
		rest = rest[n:]
	}
	if len(rest) > 0 {
		batches = append(batches, rest)
	}
	if err := e.record(BatchesChanged{Phase: s.phase, Batches: batches, User: e.opts.User, Reason: reason}); err != nil {
		return err
	}
	pp.Batches = batches
	return nil
}

// decide opens a gate and acts on the answer. done is true when the rollout
// ends here (abort, rollback, interrupt); any other answer returns done false.
func (e *Engine) decide(ctx context.Context, g GateReached) (Answer, Outcome, string, bool) {
	a, stop := e.gate(ctx, g)
	switch {
	case stop == stopInterrupt:
		return a, OutcomeInterrupted, "the console was stopped at a gate; resume to go on", true
	case stop == stopJournal:
		return a, OutcomeInterrupted, "the journal cannot be written", true
	case a.Decision == Rollback || a.Decision == FastRollback:
		o, msg := e.rollback(ctx)
		return a, o, msg, true
	case a.Decision == Abort:
		if g.Kind == GateFailed {
			return a, OutcomeFailed, fmt.Sprintf("%s failed; stopped by %s", g.Phase, e.opts.User), true
		}
		return a, OutcomeAborted, "aborted by " + e.opts.User + " at a gate", true
	}
	return a, "", "", false
}

func failedOf(hs []HostSummary) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Host
	}
	return out
}

// todo lists the step's hosts that still need the change (neither done nor
// skipped), and whether the step already passed.
func (e *Engine) todo(s *step) ([]string, bool) {
	var todo []string
	var passed bool
	e.read(func(st *State) {
		passed = st.Passed[s.key()]
		for _, h := range s.hosts {
			hs := st.Hosts[h]
			if hs == nil || (hs.State != StateDone && hs.State != StateSkipped) {
				todo = append(todo, h)
			}
		}
		if s.phase == PhaseSwap && st.Swap.State != StateDone && len(todo) == 0 {
			todo = s.hosts
		}
	})
	return todo, passed
}

// overBudget reports whether the step's failures already exceed its budget
// (a resumed rollout that stopped at a failed gate).
func (e *Engine) overBudget(s *step, todo []string) bool {
	failed := 0
	e.read(func(st *State) {
		for _, h := range s.plan.Hosts() {
			if hs := st.Hosts[h]; hs != nil && (hs.State == StateFailed || hs.State == StateUnknown) {
				failed++
			}
		}
		if s.phase == PhaseSwap && st.Swap.State == StateFailed {
			failed++
		}
	})
	return failed > s.plan.MaxFailures
}

// summarise fills a gate's account of hosts: counts, the slowest, the failing.
func (e *Engine) summarise(g *GateReached, hosts []string) {
	e.read(func(st *State) {
		now := e.opts.Now()
		var all []HostSummary
		for _, h := range hosts {
			hs := st.Hosts[h]
			if hs == nil {
				continue
			}
			sum := HostSummary{Host: h, State: hs.State, Duration: hs.Duration(now), Error: hs.Error}
			switch hs.State {
			case StateDone:
				g.Passed++
			case StateFailed, StateUnknown:
				g.Failed++
				g.Failing = append(g.Failing, sum)
			}
			all = append(all, sum)
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].Duration > all[j].Duration })
		g.Slowest = all[:min(3, len(all))]
		g.Checks = tallyChecks(st, hosts, e.plan.Change.Verify)
	})
}

// tallyChecks counts, for each verify check, the hosts that passed and
// failed it. Checks run in order and stop at the first that fails, so a
// verified host passed them all, and a host that failed check k passed
// those before it and never ran those after.
func tallyChecks(st *State, hosts []string, checks []change.Check) []CheckTally {
	if len(checks) == 0 {
		return nil
	}
	out := make([]CheckTally, len(checks))
	for i := range checks {
		out[i] = CheckTally{Check: i + 1, Name: CheckName(checks[i])}
	}
	for _, h := range hosts {
		hs := st.Hosts[h]
		if hs == nil {
			continue
		}
		switch {
		case hs.State == StateDone:
			for i := range out {
				out[i].Passed++
			}
		case (hs.State == StateFailed || hs.State == StateUnknown) && hs.FailedCheck > 0 && hs.FailedCheck <= len(out):
			for i := 0; i < hs.FailedCheck-1; i++ {
				out[i].Passed++
			}
			out[hs.FailedCheck-1].Failed++
		}
	}
	return out
}

// CheckName is how a check is named at a gate: its name, or its kind and
// what it checks.
func CheckName(c change.Check) string {
	if c.Name != "" {
		return c.Name
	}
	var what string
	switch {
	case c.HTTP != nil && c.HTTP.URL != nil:
		what = "http " + c.HTTP.URL.String()
	case c.TCP != nil && c.TCP.Address != nil:
		what = "tcp " + c.TCP.Address.String()
	case c.Prometheus != nil && c.Prometheus.Query != nil:
		what = "prometheus " + c.Prometheus.Query.String()
	case c.Run != nil:
		what = c.Run.String()
	}
	if len(what) > 60 {
		what = what[:57] + "..."
	}
	return what
}

// gate records the gate and waits for an answer it accepts.
func (e *Engine) gate(ctx context.Context, g GateReached) (Answer, stopReason) {
	e.gateSeq++
	g.Gate = e.gateSeq
	if err := e.record(g); err != nil {
		return Answer{}, stopJournal
	}
	auto := e.opts.AutoConfirm || e.finishNow
	if auto && slices.Contains(g.Options, Proceed) && g.Kind != GateFailed && (g.Preflight == nil || g.Preflight.clean()) {
		a := Answer{Decision: Proceed}
		if e.finishNow {
			a.Reason = "finish now: " + e.emergencyReason
		}
		if err := e.record(GateAnswered{Gate: g.Gate, Decision: Proceed, User: e.opts.User, Auto: true, Reason: a.Reason}); err != nil {
			return Answer{}, stopJournal
		}
		return a, stopNone
	}
	answer := func(a Answer) (Answer, stopReason) {
		if err := e.record(GateAnswered{Gate: g.Gate, Decision: a.Decision, User: e.opts.User, Host: a.Host, Size: a.Size, Reason: a.Reason}); err != nil {
			return Answer{}, stopJournal
		}
		if a.Decision == FastRollback {
			e.fastRollback, e.emergencyReason = true, a.Reason
		}
		return a, stopNone
	}
	for {
		select {
		case req := <-e.cmds:
			switch req.kind {
			case reqDecide:
				if req.gate != g.Gate {
					req.reply <- fmt.Errorf("%w: gate %d is open, not gate %d", ErrStaleGate, g.Gate, req.gate)
					continue
				}
				if err := e.checkAnswer(g, req.answer); err != nil {
					req.reply <- err
					continue
				}
				a, stop := answer(req.answer)
				req.reply <- e.journalErr()
				return a, stop
			case reqAbort:
				a, stop := answer(Answer{Decision: Abort, Reason: req.answer.Reason})
				req.reply <- e.journalErr()
				return a, stop
			case reqRollback, reqFinishNow:
				a := req.answer
				if a.Decision == "" {
					a.Decision = Rollback
				}
				if err := e.checkAnswer(g, a); err != nil {
					req.reply <- err
					continue
				}
				a, stop := answer(a)
				req.reply <- e.journalErr()
				return a, stop
			default:
				e.handleRunning(req)
			}
		case <-ctx.Done():
			return Answer{}, stopInterrupt
		}
	}
}

// checkAnswer refuses an answer the gate does not offer, or one missing what
// it needs, with a sentence the console can show as it is.
func (e *Engine) checkAnswer(g GateReached, a Answer) error {
	if !slices.Contains(g.Options, a.Decision) {
		if a.Decision == Rollback || a.Decision == FastRollback {
			return fmt.Errorf("%w: nothing has been changed yet", ErrNotAllowed)
		}
		return fmt.Errorf("%w: %s is not offered at this gate", ErrNotAllowed, a.Decision)
	}
	if a.Decision.NeedsReason() && strings.TrimSpace(a.Reason) == "" {
		return fmt.Errorf("%w: %s needs a reason; it is kept in the journal's audit trail", ErrNotAllowed, a.Decision)
	}
	switch a.Decision {
	case Exclude:
		return e.checkExclude(a.Host)
	case RetryHost:
		st := e.hostState(a.Host)
		if st != StateFailed && st != StateUnknown {
			return fmt.Errorf("%w: %s is not a failed host (it is %s); only a failed or unknown host can be retried", ErrNotAllowed, a.Host, orNone(st))
		}
	case Resize:
		if left := e.fleetLeft(); a.Size < 1 || a.Size > left {
			return fmt.Errorf("%w: the next batch can be 1 to %d hosts, not %d", ErrNotAllowed, left, a.Size)
		}
	}
	return nil
}

// checkExclude refuses to exclude a host the rollout cannot do without.
func (e *Engine) checkExclude(host string) error {
	if e.plan.Hosts[host] == nil {
		return fmt.Errorf("%w: %s is not a host of this rollout", ErrNotAllowed, host)
	}
	var why string
	e.read(func(st *State) { why = st.ExcludeRefusal(host) })
	if why != "" {
		return fmt.Errorf("%w: %s", ErrNotAllowed, why)
	}
	return nil
}

// ExcludeRefusal says why host cannot be taken out of the rollout now, or
// "" when it can: it is not changed and verified already, not running a
// command, not the standby or primary (the swap needs them), and not the
// last test host. The engine refuses an Exclude by this rule; a console
// offers the key by it.
func (s *State) ExcludeRefusal(host string) string {
	hs := s.Hosts[host]
	switch {
	case hs == nil:
		return host + " is not a host of this rollout"
	case hs.State == StateSkipped:
		return host + " is already excluded"
	case hs.State == StateDone:
		return host + " is already changed and verified; roll back instead"
	case hs.State.InFlight():
		return host + " is running a command"
	case hs.Phase == PhaseStandby:
		return host + " is the standby, which the swap needs"
	case hs.Phase == PhaseSwap:
		return host + " is the primary, which the swap needs"
	case hs.Phase == PhaseTest:
		for _, h := range s.Order {
			if o := s.Hosts[h]; o.Phase == PhaseTest && o.State != StateSkipped && h != host {
				return ""
			}
		}
		return host + " is the last test host; the test phase cannot prove anything without one"
	}
	return ""
}

// fleetLeft counts fleet hosts not yet done or excluded.
func (e *Engine) fleetLeft() int {
	n := 0
	e.read(func(st *State) {
		for _, h := range st.Order {
			if hs := st.Hosts[h]; hs.Phase == PhaseFleet && hs.State != StateDone && hs.State != StateSkipped {
				n++
			}
		}
	})
	return n
}

func orNone(s HostState) string {
	if s == "" {
		return "not started"
	}
	return string(s)
}

// dialNextStep, when the gate after this step will answer itself (--yes,
// finish-now), opens the connections of the next step's first hosts while
// this step runs, once its first host has started applying, so that step
// starts without waiting on handshakes. It
// only connects, as preflight does: nothing runs and nothing is journaled
// until a host's turn. A turn that never comes (a failure, an abort) has its
// connection closed at the end.
func (e *Engine) dialNextStep(next *step) {
	if !e.opts.AutoConfirm && !e.finishNow {
		return
	}
	todo, _ := e.todo(next)
	started := make(chan struct{})
	e.hmu.Lock()
	e.applying = started
	e.hmu.Unlock()
	for _, h := range todo[:min(len(todo), max(1, next.plan.Parallel))] {
		e.predialWhen(h, started)
	}
}

// startedApplying tells connections waiting to be opened ahead of the
// next step (dialNextStep) that this step's hosts are connected and at work.
func (e *Engine) startedApplying() {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	if e.applying != nil {
		close(e.applying)
		e.applying = nil
	}
}

// runStep runs one step's remaining hosts.
func (e *Engine) runStep(ctx context.Context, s *step, todo []string) batchResult {
	if s.phase != PhaseTest && !e.testPassed() {
		// The order of steps makes this impossible; refuse rather than touch
		// production if it ever is not.
		e.note("internal error: a production phase was about to start before the test phase passed; stopped")
		return batchResult{stop: stopJournal}
	}
	if err := e.record(PhaseStarted{Phase: s.phase, Batch: s.batch, Batches: s.batches, Hosts: todo}); err != nil {
		return batchResult{stop: stopJournal}
	}
	allowed := s.plan.MaxFailures - e.failedOutside(s, todo)
	switch s.phase {
	case PhaseSwap:
		var swapDone bool
		e.read(func(st *State) { swapDone = st.Swap.State == StateDone })
		if !swapDone {
			res := e.runHosts(ctx, []string{swapUnit}, 1, 0, e.swapJob(false))
			if res.stop != stopNone || res.failed > 0 {
				return res
			}
		}
		todo = slices.DeleteFunc(slices.Clone(todo), func(h string) bool { return e.hostState(h) == StateDone })
		return e.runHosts(ctx, todo, 1, allowed, e.hostJob(e.applyJob(PhaseSwap)))
	case PhaseCanary:
		res := e.runHostsAhead(ctx, todo, s.plan.Parallel, allowed, e.hostJob(e.applyJob(PhaseCanary)), e.predial)
		if res.stop != stopNone || res.over || s.plan.Soak <= 0 {
			return res
		}
		soak := e.soak(ctx, s.hosts)
		soak.passed = res.passed
		return soak
	}
	return e.runHostsAhead(ctx, todo, s.plan.Parallel, allowed, e.hostJob(e.applyJob(s.phase)), e.predial)
}

// hostJob adapts a per-host function to a job.
func (e *Engine) hostJob(fn func(context.Context, *hostRun) HostState) job {
	return func(ctx context.Context, name string) HostState {
		return fn(ctx, e.hostRun(name))
	}
}

func (e *Engine) hostState(name string) HostState {
	var st HostState
	e.read(func(s *State) {
		if h := s.Hosts[name]; h != nil {
			st = h.State
		}
	})
	return st
}

func (e *Engine) testPassed() bool {
	passed := true
	e.read(func(s *State) {
		for _, st := range e.steps() {
			if st.phase == PhaseTest && !s.Passed[st.key()] {
				passed = false
			}
		}
	})
	return passed
}

// failedOutside counts the phase's failed hosts not being run again now,
// which use up its failure budget (earlier fleet batches).
func (e *Engine) failedOutside(s *step, todo []string) int {
	running := make(map[string]bool, len(todo))
	for _, h := range todo {
		running[h] = true
	}
	n := 0
	e.read(func(st *State) {
		for _, h := range s.plan.Hosts() {
			if running[h] {
				continue
			}
			if hs := st.Hosts[h]; hs != nil && (hs.State == StateFailed || hs.State == StateUnknown) {
				n++
			}
		}
	})
	return n
}

// soak repeats verify on the canaries for the soak time.
func (e *Engine) soak(ctx context.Context, hosts []string) batchResult {
	pp := e.plan.Phase(PhaseCanary)
	interval := e.plan.Change.Canary.Interval
	if err := e.record(SoakStarted{Duration: pp.Soak, Interval: interval}); err != nil {
		return batchResult{stop: stopJournal}
	}
	var res batchResult
	for soaked := interval * 0; soaked < pp.Soak; {
		d := min(interval, pp.Soak-soaked)
		if stop := e.wait(ctx, d); stop != stopNone {
			res.stop = stop
			return res
		}
		if e.finishNow {
			e.note("finish now: the canaries' soak ends here, after " + soaked.String())
			return res
		}
		soaked += d
		r := e.runHosts(ctx, hosts, pp.Parallel, 0, e.hostJob(e.verifyJob(PhaseCanary, StateSoaking, StateDone)))
		if r.stop != stopNone || r.failed > 0 {
			r.over = r.failed > 0
			return r
		}
	}
	return res
}

// reverify re-verifies, before anything else, every host whose outcome the
// journal does not know: hosts in flight when the console stopped.
func (e *Engine) reverify(ctx context.Context) (Outcome, string, bool) {
	var names, untouched []string
	var swapUnknown bool
	e.read(func(s *State) {
		for _, h := range s.Order {
			hs := s.Hosts[h]
			switch {
			case hs.State == StateConnecting && !hs.Applied:
				untouched = append(untouched, h)
			case hs.State.InFlight() || hs.State == StateUnknown:
				names = append(names, h)
			}
		}
		swapUnknown = s.Swap.State.InFlight() || s.Swap.State == StateUnknown
	})
	for _, h := range untouched {
		// Never applied: it goes back to pending, nothing to re-verify.
		if err := e.setHost(e.hostRun(h), e.phaseOf(h), StatePending, "", ""); err != nil {
			return OutcomeInterrupted, err.Error(), true
		}
	}
	if len(names) == 0 && !swapUnknown {
		return "", "", false
	}
	e.note(fmt.Sprintf("re-verifying %d hosts whose outcome the journal does not know", len(names)))
	par := max(1, e.plan.Change.Fleet.Parallel)
	res := e.runHosts(ctx, names, par, -1, func(ctx context.Context, name string) HostState {
		return e.verifyJob(e.phaseOf(name), StateVerifying, StateDone)(ctx, e.hostRun(name))
	})
	if res.stop == stopNone && swapUnknown {
		res = e.runHosts(ctx, []string{swapUnit}, 1, -1, e.swapVerifyJob())
	}
	switch res.stop {
	case stopAbort:
		return OutcomeAborted, "aborted by " + e.opts.User, true
	case stopRollback:
		o, msg := e.rollback(ctx)
		return o, msg, true
	case stopInterrupt, stopJournal:
		return OutcomeInterrupted, "stopped while re-verifying", true
	}
	return "", "", false
}

func (e *Engine) phaseOf(name string) Phase {
	var ph Phase
	e.read(func(s *State) {
		if h := s.Hosts[name]; h != nil {
			ph = h.Phase
		}
	})
	return ph
}

// swapHost is the hostRun the swap command runs on.
func (e *Engine) swapHost() *hostRun {
	pp := e.plan.Phase(PhaseSwap)
	if pp.SwapHost == inventory.SwapLocal {
		// hostRun makes a local host for a name the inventory does not hold.
		return e.hostRun(inventory.SwapLocal)
	}
	return e.hostRun(pp.SwapHost)
}
