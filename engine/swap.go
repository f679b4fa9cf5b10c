package engine

import (
	"context"
)

// swapJob runs the swap command where the swap runs, then its verify checks.
// Forward, it promotes the standby and demotes the primary; back (in a
// rollback), the other way round.
func (e *Engine) swapJob(back bool) job {
	return func(ctx context.Context, _ string) HostState {
		pp := e.plan.Phase(PhaseSwap)
		sw := e.plan.Change.Swap
		promote, demote := pp.Promote, pp.Demote
		if back {
			promote, demote = demote, promote
		}
		hr := e.swapHost()
		ev := SwapChanged{Back: back, Where: pp.SwapHost, Promote: promote, Demote: demote}
		set := func(st HostState, msg string) HostState {
			ev.State, ev.Error = st, msg
			if err := e.record(ev); err != nil {
				return StateUnknown
			}
			return st
		}
		fail := func(o outcome, what string) HostState {
			st := o.state
			if st == StatePending {
				st = StateFailed
			}
			return set(st, what+": "+o.err)
		}
		if o := e.dial(ctx, hr); !o.ok {
			return fail(o, "connect to "+hr.host.Name)
		}
		if set(StateApplying, "") == StateUnknown {
			return StateUnknown
		}
		e.startedApplying()
		lookup := e.swapVars(hr, promote, demote)
		if o := e.run(ctx, hr, sw.Run, e.plan.Change.Timeouts.Swap, lookup, runsCommand(sw.Verify)); !o.ok {
			return fail(o, "swap")
		}
		if set(StateVerifying, "") == StateUnknown {
			return StateUnknown
		}
		if o := e.verify(ctx, hr, sw.Verify, lookup, false); !o.ok {
			return fail(o, "swap")
		}
		return set(StateDone, "")
	}
}

// swapVerifyJob re-verifies a swap whose outcome the journal does not know.
func (e *Engine) swapVerifyJob() job {
	return func(ctx context.Context, _ string) HostState {
		pp := e.plan.Phase(PhaseSwap)
		hr := e.swapHost()
		ev := SwapChanged{Where: pp.SwapHost, Promote: pp.Promote, Demote: pp.Demote, State: StateVerifying}
		if err := e.record(ev); err != nil {
			return StateUnknown
		}
		o := e.dial(ctx, hr)
		if o.ok {
			o = e.verify(ctx, hr, e.plan.Change.Swap.Verify, e.swapVars(hr, pp.Promote, pp.Demote), false)
		}
		ev.State = StateDone
		if !o.ok {
			// Not known to have moved traffic: the swap runs again when the phase does.
			ev.State, ev.Error = StateFailed, "re-verify: "+o.err
		}
		if err := e.record(ev); err != nil {
			return StateUnknown
		}
		return ev.State
	}
}

func (e *Engine) swapVars(hr *hostRun, promote, demote string) func(string) (string, bool) {
	return e.vars(hr, map[string]string{"Promote": promote, "Demote": demote})
}
