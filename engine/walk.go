package engine

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"

	"github.com/rolloutconsole/rollout/inventory"
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
// non-nil only when the engine could not record what it did.
func (e *Engine) Run(ctx context.Context) (outcome Outcome, err error) {
	e.journal.start(e.opts.Now, e.sink)
	e.preCtx, e.preCancel = context.WithCancel(ctx)
	defer func() {
		if p := recover(); p != nil {
			outcome, err = OutcomeInterrupted, fmt.Errorf("internal error: %v", p)
		}
		e.closeConns()
		close(e.done)
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
	if err := e.record(RolloutFinished{Outcome: outcome, Error: msg}); err != nil {
		return outcome, err
	}
	return outcome, nil
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
	steps := e.steps()
	kind := GateStart
	if resumed {
		kind = GateResume
	}
	var prev *step
	for i := range steps {
		s := &steps[i]
		todo, passed := e.todo(s)
		if !passed && len(todo) == 0 && !e.overBudget(s, todo) {
			// Every host of the step finished before the console stopped (a
			// resume re-verified the last ones): the step passed.
			if err := e.record(PhaseFinished{Phase: s.phase, Batch: s.batch, Passed: len(s.hosts), OK: true}); err != nil {
				return OutcomeInterrupted, err.Error()
			}
			passed = true
		}
		if passed {
			prev = s
			continue
		}
		if prev != nil && kind != GateResume {
			kind = GatePhase
			if prev.phase == s.phase {
				kind = GateBatch
			}
		}
		g := GateReached{Kind: kind, Phase: s.phase, Batch: s.batch, Next: todo, Options: []Decision{Proceed, Rollback, Abort}}
		if kind == GateStart {
			// Nothing has been touched: there is nothing to roll back.
			g.Options = []Decision{Proceed, Abort}
		}
		if prev != nil {
			e.summarise(&g, prev.hosts)
		}
		if resumed && kind == GateResume && e.overBudget(s, todo) {
			g.Kind, g.Options = GateFailed, []Decision{Retry, Rollback, Abort}
			e.summarise(&g, s.hosts)
		}
		if o, msg, done := e.decide(ctx, g); done {
			return o, msg
		}
		kind = GatePhase
		for {
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
			g := GateReached{Kind: GateFailed, Phase: s.phase, Batch: s.batch, Options: []Decision{Retry, Rollback, Abort}}
			e.summarise(&g, s.hosts)
			g.Next = failedOf(g.Failing)
			if o, msg, done := e.decide(ctx, g); done {
				return o, msg
			}
			todo, _ = e.todo(s)
		}
		prev = s
	}
	return OutcomeSucceeded, ""
}

// decide opens a gate and acts on the answer. done is true when the rollout
// ends here (abort, rollback, interrupt); a Proceed or Retry returns done false.
func (e *Engine) decide(ctx context.Context, g GateReached) (Outcome, string, bool) {
	d, stop := e.gate(ctx, g)
	switch {
	case stop == stopInterrupt:
		return OutcomeInterrupted, "the console was stopped at a gate; resume to go on", true
	case stop == stopJournal:
		return OutcomeInterrupted, "the journal cannot be written", true
	case d == Rollback:
		o, msg := e.rollback(ctx)
		return o, msg, true
	case d == Abort:
		if g.Kind == GateFailed {
			return OutcomeFailed, fmt.Sprintf("%s failed; stopped by %s", g.Phase, e.opts.User), true
		}
		return OutcomeAborted, "aborted by " + e.opts.User + " at a gate", true
	}
	return "", "", false
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
	})
}

// gate records the gate and waits for a decision.
func (e *Engine) gate(ctx context.Context, g GateReached) (Decision, stopReason) {
	e.gateSeq++
	g.Gate = e.gateSeq
	if err := e.record(g); err != nil {
		return "", stopJournal
	}
	if e.opts.AutoConfirm && slices.Contains(g.Options, Proceed) {
		if err := e.record(GateAnswered{Gate: g.Gate, Decision: Proceed, User: e.opts.User, Auto: true}); err != nil {
			return "", stopJournal
		}
		return Proceed, stopNone
	}
	answer := func(d Decision) (Decision, stopReason) {
		if err := e.record(GateAnswered{Gate: g.Gate, Decision: d, User: e.opts.User}); err != nil {
			return "", stopJournal
		}
		return d, stopNone
	}
	for {
		select {
		case req := <-e.cmds:
			switch req.kind {
			case reqDecide:
				switch {
				case req.gate != g.Gate:
					req.reply <- fmt.Errorf("%w: gate %d is open, not gate %d", ErrStaleGate, g.Gate, req.gate)
				case !slices.Contains(g.Options, req.answer.Decision):
					req.reply <- fmt.Errorf("%w: %s is not offered at this gate", ErrNotAllowed, req.answer.Decision)
				default:
					d, stop := answer(req.answer.Decision)
					req.reply <- e.journalErr()
					return d, stop
				}
			case reqAbort:
				d, stop := answer(Abort)
				req.reply <- e.journalErr()
				return d, stop
			case reqRollback:
				if !slices.Contains(g.Options, Rollback) {
					req.reply <- fmt.Errorf("%w: nothing has been changed yet", ErrNotAllowed)
					continue
				}
				d, stop := answer(Rollback)
				req.reply <- e.journalErr()
				return d, stop
			default:
				e.handleRunning(req)
			}
		case <-ctx.Done():
			return "", stopInterrupt
		}
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
