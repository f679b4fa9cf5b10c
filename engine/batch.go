package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// stopReason says why a batch stopped before its hosts were all run.
type stopReason int

const (
	stopNone      stopReason = iota
	stopAbort                // the engineer aborted
	stopRollback             // the engineer asked for a rollback
	stopInterrupt            // the console is going away (signal, detach)
	stopJournal              // the journal cannot be written: never go on blind
)

// batchResult is what a batch of hosts did.
type batchResult struct {
	passed, failed int
	// over is true when failures went over the budget: no more hosts started.
	over bool
	stop stopReason
}

type hostResult struct {
	name  string
	state HostState
}

// job runs one unit of work (a host, or the swap) and returns its end state.
type job func(ctx context.Context, name string) HostState

// runHosts runs job on each name in order, at most parallel at once. It stops
// starting new ones when paused, when failures exceed allowed (negative:
// unlimited), on abort or rollback (in-flight work is cancelled), and when ctx
// ends (in-flight work gets the grace period, then is cancelled). The engine
// loop stays here, answering commands, until every started job returned.
func (e *Engine) runHosts(ctx context.Context, names []string, parallel, allowed int, work job) batchResult {
	return e.runHostsAhead(ctx, names, parallel, allowed, work, nil)
}

// runHostsAhead is runHosts that also calls ahead (when not nil) for each of
// the next parallel hosts after those running, in order, while hosts are
// being started (not when paused, stopping or over budget): predial opens
// their connections. On a 'sleep 1' change, 100 hosts at parallel 20 on a
// loopback sshd, each wave after the first started ~40 ms sooner.
func (e *Engine) runHostsAhead(ctx context.Context, names []string, parallel, allowed int, work job, ahead func(name string)) batchResult {
	var res batchResult
	prepared := 0 // names[:prepared] are started or prepared
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	results := make(chan hostResult, len(names))
	var wg sync.WaitGroup
	defer wg.Wait()
	next, inflight := 0, 0
	ctxDone := ctx.Done()
	var grace <-chan time.Time
	for {
		for !e.paused && res.stop == stopNone && !res.over && inflight < parallel && next < len(names) {
			name := names[next]
			next++
			inflight++
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := StateUnknown
				defer func() {
					if p := recover(); p != nil {
						e.note(fmt.Sprintf("internal error on %s: %v", name, p))
					}
					results <- hostResult{name: name, state: st}
				}()
				st = work(hctx, name)
			}()
		}
		if ahead != nil && !e.paused && res.stop == stopNone && !res.over {
			for prepared = max(prepared, next); prepared < min(len(names), next+parallel); prepared++ {
				ahead(names[prepared])
			}
		}
		if inflight == 0 && (next >= len(names) || res.stop != stopNone || res.over) {
			return res
		}
		select {
		case r := <-results:
			inflight--
			switch r.state {
			case StateDone, StateRolledBack:
				res.passed++
			case StatePending, StateSkipped:
			default:
				res.failed++
			}
			if allowed >= 0 && res.failed > allowed {
				res.over = true
			}
			if e.journalErr() != nil && res.stop == stopNone {
				res.stop = stopJournal
				cancel()
			}
		case req := <-e.cmds:
			// An abort or rollback overrides a pending interrupt: a second
			// ^C during the grace period stops the hosts in flight at once.
			if s := e.handleRunning(req); s != stopNone && (res.stop == stopNone || res.stop == stopInterrupt) {
				res.stop = s
				cancel()
			}
		case <-ctxDone:
			ctxDone = nil
			if res.stop == stopNone {
				res.stop = stopInterrupt
			}
			grace = time.After(e.opts.Grace)
			if inflight > 0 {
				e.note(fmt.Sprintf("stopping: no new host starts; %d in flight get %s to finish (abort to cancel them now)", inflight, e.opts.Grace))
			}
		case <-grace:
			cancel()
		}
	}
}

// handleRunning answers a command while hosts run (or the engine waits
// outside a gate) and says whether to stop.
func (e *Engine) handleRunning(req request) stopReason {
	switch req.kind {
	case reqDecide:
		req.reply <- ErrStaleGate
	case reqPause:
		req.reply <- e.setPaused(true)
	case reqUnpause:
		req.reply <- e.setPaused(false)
	case reqAbort:
		err := e.record(AbortRequested{User: e.opts.User})
		req.reply <- err
		return stopAbort
	case reqRollback:
		if e.rollingBack {
			req.reply <- fmt.Errorf("%w: the rollback is already running", ErrNotAllowed)
			return stopNone
		}
		if req.answer.Decision == FastRollback {
			if strings.TrimSpace(req.answer.Reason) == "" {
				req.reply <- fmt.Errorf("%w: a fast rollback needs a reason; it is kept in the journal's audit trail", ErrNotAllowed)
				return stopNone
			}
			e.fastRollback, e.emergencyReason = true, req.answer.Reason
		}
		req.reply <- nil
		return stopRollback
	case reqFinishNow:
		switch {
		case strings.TrimSpace(req.answer.Reason) == "":
			req.reply <- fmt.Errorf("%w: finish-now needs a reason; it is kept in the journal's audit trail", ErrNotAllowed)
		case e.rollingBack:
			req.reply <- fmt.Errorf("%w: the rollout is rolling back", ErrNotAllowed)
		case e.finishNow:
			req.reply <- fmt.Errorf("%w: finish-now is already under way", ErrNotAllowed)
		case !e.testPassed():
			req.reply <- fmt.Errorf("%w: the test phase has not passed; finish-now never skips it", ErrNotAllowed)
		default:
			req.reply <- e.startFinishNow(req.answer.Reason)
		}
	}
	return stopNone
}

func (e *Engine) setPaused(p bool) error {
	if e.paused == p {
		return nil
	}
	e.paused = p
	if p {
		return e.record(Paused{User: e.opts.User})
	}
	return e.record(Unpaused{User: e.opts.User})
}

// wait waits d while answering commands; it returns early on abort,
// rollback or ctx's end, and while paused it waits on past d until unpaused.
func (e *Engine) wait(ctx context.Context, d time.Duration) stopReason {
	timer := time.NewTimer(d)
	defer timer.Stop()
	elapsed := false
	for {
		if elapsed && !e.paused {
			return stopNone
		}
		select {
		case <-timer.C:
			elapsed = true
		case req := <-e.cmds:
			if s := e.handleRunning(req); s != stopNone {
				return s
			}
			if e.finishNow {
				return stopNone
			}
		case <-ctx.Done():
			return stopInterrupt
		}
	}
}
