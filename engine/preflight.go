package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/change"
)

// ErrRemoteLocked is returned by Run when preflight found the service's lock
// held on some host by another rollout: the rollout took nothing and stopped,
// as the local lock does for a second console on the same machine.
var ErrRemoteLocked = errors.New("the service is locked on some hosts by another rollout")

// preflightKeep bounds how many connections preflight leaves open for the
// hosts whose turn comes first (the test hosts, the first batches), so their
// turn starts without a handshake; the others are closed and dialled again
// in turn, so a 10,000-host fleet does not hold 10,000 idle sessions. An
// idle connection costs this side some 25–50 KB and each host one sshd
// session; 512 of them keep most fleets to one handshake per host for the
// rollout (bench/peers.sh: rollout-guarded at 500 hosts went from 2.9
// handshakes a host to 2, the second being the lock's release).
const preflightKeep = 512

// preflight reaches every host of the plan before anything changes: it
// connects (host keys verified), takes the remote lock, runs the change's
// preflight checks and fingerprint commands, and journals each host's
// result. It returns the report for the first gate, or nil with how the
// rollout ended when it cannot go on (stopped, or locked by another).
func (e *Engine) preflight(ctx context.Context) (*PreflightReport, Outcome, string) {
	hosts := e.preflightHosts()
	keep := make(map[string]bool)
	for _, h := range hosts {
		if len(keep) >= preflightKeep {
			break
		}
		keep[h] = true
	}
	par := e.opts.PreflightParallel
	if par <= 0 {
		par = DefaultPreflightParallel
	}
	lockPath := ""
	if !e.plan.Change.Lock.Disabled {
		lockPath = LockPath(e.plan.Change.Lock.Path, e.plan.Service)
	}
	e.note(fmt.Sprintf("preflight: reaching %d hosts, %d at a time", len(hosts), par))
	var mu sync.Mutex
	var locked []string
	took := 0
	res := e.runHosts(ctx, hosts, par, -1, func(ctx context.Context, name string) HostState {
		r, gotLock := e.preflightHost(ctx, name, lockPath)
		mu.Lock()
		if gotLock {
			took++
		}
		if r.Problem == "locked" {
			locked = append(locked, r.Error)
		}
		mu.Unlock()
		if hr := e.hostRun(name); hr.conn != nil && (!keep[name] || !r.OK) {
			hr.conn.Close()
			hr.conn = nil
		}
		if err := e.recordPreflight(name, r); err != nil {
			return StateUnknown
		}
		if !r.OK {
			return StateFailed
		}
		return StateDone
	})
	if lockPath != "" && took > 0 {
		if err := e.record(LockChanged{Path: lockPath, Taken: true, Hosts: took}); err != nil {
			return nil, OutcomeInterrupted, err.Error()
		}
	}
	switch res.stop {
	case stopAbort, stopRollback:
		return nil, OutcomeAborted, "aborted by " + e.opts.User + " during preflight"
	case stopInterrupt:
		return nil, OutcomeInterrupted, "the console was stopped during preflight; resume to go on"
	case stopJournal:
		return nil, OutcomeInterrupted, "the journal cannot be written"
	}
	if len(locked) > 0 && !e.preflightOnly {
		sort.Strings(locked)
		e.lockErr = fmt.Errorf("%w: %s", ErrRemoteLocked, locked[0])
		msg := "locked: " + locked[0]
		if len(locked) > 1 {
			msg += fmt.Sprintf(" (and %d more hosts)", len(locked)-1)
		}
		return nil, OutcomeAborted, msg
	}
	return e.preflightReport(), "", ""
}

// preflightHosts is every host preflight reaches, in plan order, the swap
// host included when it is not this machine.
func (e *Engine) preflightHosts() []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range planHosts(e.plan) {
		if h == inventory.SwapLocal || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
	}
	return out
}

// preflightHost checks one host; gotLock is true when this rollout took
// the lock there (and so must release it).
func (e *Engine) preflightHost(ctx context.Context, name, lockPath string) (r PreflightHost, gotLock bool) {
	r.Host = name
	hr := e.hostRun(name)
	if o := e.dial(ctx, hr); !o.ok {
		r.Problem, r.Error = "unreachable", o.err
		return r, false
	}
	if lockPath != "" && e.preflightOnly {
		holder, err := ReadLock(ctx, hr.conn, lockPath)
		switch {
		case err != nil:
			r.Problem, r.Error = "failed", fmt.Sprintf("reading the lock %s: %v", lockPath, err)
			return r, false
		case holder != nil:
			// Only read, for plan --preflight: the checks still run.
			defer func() {
				if r.OK {
					held := &LockHeldError{Host: name, Path: lockPath, Holder: *holder}
					r.OK, r.Problem, r.Error = false, "locked", held.Error()
				}
			}()
		}
	} else if lockPath != "" {
		err := AcquireRemoteLock(ctx, hr.conn, lockPath, e.lockInfo())
		var held *LockHeldError
		switch {
		case errors.As(err, &held):
			held.Host = name
			r.Problem, r.Error = "locked", held.Error()
			return r, false
		case err != nil:
			r.Problem, r.Error = "failed", fmt.Sprintf("taking the lock %s: %v", lockPath, err)
			return r, false
		}
		gotLock = true
		r.LockTaken = true
	}
	lookup := e.vars(hr, nil)
	if o := e.verify(ctx, hr, e.plan.Change.Preflight, lookup, len(e.plan.Change.Fingerprint) > 0); !o.ok {
		r.Problem, r.Error = "failed", "preflight"+strings.TrimPrefix(o.err, "verify")
		if o.kind == "connection lost" || o.kind == "canceled" {
			r.Problem = "unreachable"
		}
		return r, gotLock
	}
	for i, f := range e.plan.Change.Fingerprint {
		v, o := e.capture(ctx, hr, f.Step, e.plan.Change.Timeouts.Verify, lookup, i+1 < len(e.plan.Change.Fingerprint))
		if !o.ok {
			v = "(failed: " + o.err + ")"
		}
		if r.Fingerprint == nil {
			r.Fingerprint = make(map[string]string, len(e.plan.Change.Fingerprint))
		}
		r.Fingerprint[f.Name] = v
	}
	r.OK = true
	return r, gotLock
}

// recordPreflight journals a host's preflight result. The swap host is not
// one of the rollout's hosts: a problem there is kept for the report.
func (e *Engine) recordPreflight(name string, r PreflightHost) error {
	if pp := e.plan.Phase(PhaseSwap); pp != nil && pp.SwapHost == name && !slices.Contains(planHostsOfPhases(e.plan), name) {
		if !r.OK {
			e.swapProblem = fmt.Sprintf("the swap host %s: %s", name, r.Error)
		}
	}
	return e.record(r)
}

// planHostsOfPhases is every host changed by the plan (not the swap host).
func planHostsOfPhases(p *Plan) []string {
	var out []string
	for i := range p.Phases {
		out = append(out, p.Phases[i].Hosts()...)
	}
	return out
}

// lockInfo is what this rollout writes into the lock directories.
func (e *Engine) lockInfo() RemoteLockInfo {
	machine, _ := os.Hostname()
	return RemoteLockInfo{Owner: e.opts.User + "@" + machine, ID: e.opts.ID, Reason: e.plan.Change.Name, Since: e.opts.Now(), PID: os.Getpid()}
}

// preflightReport builds the first gate's account from the journaled
// preflight results and exclusions.
func (e *Engine) preflightReport() *PreflightReport {
	r := &PreflightReport{}
	e.read(func(st *State) {
		testOK, testAll := 0, 0
		for _, h := range st.Order {
			hs := st.Hosts[h]
			if hs.Preflight == "" {
				continue
			}
			r.Checked++
			if hs.Phase == PhaseTest && hs.State != StateSkipped {
				testAll++
				if hs.Preflight == "ok" {
					testOK++
				}
			}
			if hs.Preflight == "ok" {
				r.OK++
				continue
			}
			if hs.State == StateSkipped {
				continue
			}
			sum := HostSummary{Host: h, State: hs.State, Error: hs.PreflightError}
			switch hs.Preflight {
			case "unreachable":
				r.Unreachable = append(r.Unreachable, sum)
			case "locked":
				r.Locked = append(r.Locked, sum)
			default:
				r.Failing = append(r.Failing, sum)
			}
			if hs.Phase == PhaseStandby || hs.Phase == PhaseSwap {
				r.Blocking = fmt.Sprintf("%s failed preflight (%s), and the swap needs it: fix it, or abort", h, hs.Preflight)
			}
		}
		if testAll > 0 && testOK == 0 && r.Blocking == "" {
			r.Blocking = "no test host passed preflight; the test phase could prove nothing: fix one, or abort"
		}
		r.Fingerprints = fingerprintRows(st, e.plan.Change.Fingerprint)
	})
	if e.swapProblem != "" && r.Blocking == "" {
		r.Blocking = e.swapProblem + "; fix it, or abort"
	}
	for _, row := range r.Fingerprints {
		if row.Differs {
			r.Drift = true
		}
	}
	return r
}

// clean reports whether nothing in the report needs the engineer: every
// host passed and the test hosts match production. Only then may --yes
// answer the preflight gate.
func (r *PreflightReport) clean() bool {
	return len(r.Unreachable)+len(r.Failing)+len(r.Locked) == 0 && !r.Drift && r.Blocking == ""
}

// excludePreflightFailures takes every host that failed preflight out of the
// rollout, each with its reason journaled: what proceeding at the preflight
// gate means.
func (e *Engine) excludePreflightFailures() error {
	var hosts, reasons []string
	e.read(func(st *State) {
		for _, h := range st.Order {
			hs := st.Hosts[h]
			if hs.Preflight != "" && hs.Preflight != "ok" && hs.State != StateSkipped {
				hosts = append(hosts, h)
				reasons = append(reasons, "preflight: "+hs.Preflight+": "+hs.PreflightError)
			}
		}
	})
	for i, h := range hosts {
		if err := e.exclude(h, reasons[i]); err != nil {
			return err
		}
	}
	return nil
}

// maxGroupHosts is how many host names a value group carries for display.
const maxGroupHosts = 5

// fingerprintRows sets the test hosts' fingerprints beside production's.
func fingerprintRows(st *State, names []change.Named) []FingerprintRow {
	var rows []FingerprintRow
	for _, f := range names {
		test, prod := map[string][]string{}, map[string][]string{}
		for _, h := range st.Order {
			hs := st.Hosts[h]
			if hs.Preflight != "ok" || hs.State == StateSkipped {
				continue
			}
			v, ok := hs.Fingerprint[f.Name]
			if !ok {
				continue
			}
			if hs.Phase == PhaseTest {
				test[v] = append(test[v], h)
			} else {
				prod[v] = append(prod[v], h)
			}
		}
		row := FingerprintRow{Name: f.Name, Test: valueGroups(test), Production: valueGroups(prod), Mixed: len(prod) > 1}
		if len(prod) > 0 {
			for v := range test {
				if _, ok := prod[v]; !ok {
					row.Differs = true
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// valueGroups sorts values by how many hosts gave them, most first.
func valueGroups(m map[string][]string) []ValueGroup {
	out := make([]ValueGroup, 0, len(m))
	for v, hosts := range m {
		out = append(out, ValueGroup{Value: v, Count: len(hosts), Hosts: hosts[:min(len(hosts), maxGroupHosts)]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// releaseLocks releases the remote lock on every host that preflight took it
// on, at the end of a rollout that will not be resumed. It reaches hosts
// again (their connections are closed by then), bounded, and never fails
// the rollout: a lock it could not release is reported, with where.
func (e *Engine) releaseLocks(ctx context.Context) {
	var path string
	var hosts []string
	e.read(func(st *State) {
		path, hosts = st.Lock, slices.Clone(st.LockHosts)
	})
	if path == "" || len(hosts) == 0 {
		return
	}
	var mu sync.Mutex
	var failures []string
	sem := make(chan struct{}, max(1, min(len(hosts), DefaultPreflightParallel)))
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			hr := e.hostRun(h)
			t, err := e.transportFor(hr.host)
			if err == nil {
				var conn Conn
				dctx, cancel := context.WithTimeout(ctx, e.plan.Change.Timeouts.Connect)
				conn, err = e.dialWith(ctx, dctx, t, hr.host)
				cancel()
				if err == nil {
					err = ReleaseLock(ctx, conn, path, e.opts.ID, false)
					var held *LockHeldError
					if errors.As(err, &held) && held.Holder.ID == "" {
						// Hosts sharing one lock directory (local hosts, an
						// NFS home) race: another release moved the info
						// away before its rmdir. Free now is released.
						if h, rerr := ReadLock(ctx, conn, path); rerr == nil && h == nil {
							err = nil
						}
					}
					conn.Close()
				}
			}
			if err != nil {
				mu.Lock()
				failures = append(failures, h+": "+err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Strings(failures)
	_ = e.record(LockChanged{Path: path, Taken: false, Hosts: len(hosts) - len(failures), Failures: failures})
}

// Preflight runs preflight alone, for rollout plan --preflight: it reaches
// every host of the plan, runs the change's preflight checks and
// fingerprints, and reads (never takes) the remote lock. It returns the
// report the first gate would show and each host's result, in plan order.
// Nothing changes on any host and no journal is kept: opts.StateDir is not
// used.
func Preflight(ctx context.Context, plan *Plan, opts Options) (*PreflightReport, []PreflightHost, error) {
	dir, err := os.MkdirTemp("", "rollout-preflight-")
	if err != nil {
		return nil, nil, fmt.Errorf("preflight: %w", err)
	}
	defer os.RemoveAll(dir)
	opts.StateDir, opts.Preflight, opts.AutoConfirm, opts.Hooks, opts.ID = dir, true, false, false, ""
	e, err := New(plan, opts)
	if err != nil {
		return nil, nil, err
	}
	e.preflightOnly = true
	recs := e.Subscribe()
	var hosts []PreflightHost
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range recs {
			if h, ok := r.Event.(PreflightHost); ok {
				hosts = append(hosts, h)
			}
		}
	}()
	outcome, err := e.Run(ctx)
	<-done
	if err != nil {
		return nil, nil, err
	}
	if e.preflightResult == nil {
		return nil, nil, fmt.Errorf("preflight did not finish: %s", outcome)
	}
	order := make(map[string]int, len(hosts))
	for i, h := range e.preflightHosts() {
		order[h] = i
	}
	sort.SliceStable(hosts, func(i, j int) bool { return order[hosts[i].Host] < order[hosts[j].Host] })
	return e.preflightResult, hosts, nil
}
