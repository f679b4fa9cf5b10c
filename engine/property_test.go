package engine_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/fake"
)

// TestInvariantsProperty runs random rollouts — random services, batch lists,
// parallel limits, failure budgets, host faults and gate decisions, with
// aborts and rollbacks fired mid-phase — and checks the engine's promises on
// each:
//   - no production host is touched before the test phase passed;
//   - never more hosts in flight than parallel;
//   - no phase starts without its gate confirmed;
//   - a rollback touches exactly the hosts that reached applying;
//   - the journal alone reproduces the final state the engine reached.
func TestInvariantsProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		spec := fleetSpec{
			test:     rapid.IntRange(1, 3).Draw(rt, "test"),
			standby:  rapid.Bool().Draw(rt, "standby"),
			canary:   rapid.IntRange(0, 3).Draw(rt, "canary"),
			fleet:    rapid.IntRange(0, 12).Draw(rt, "fleet"),
			parallel: rapid.IntRange(1, 4).Draw(rt, "parallel"),
			retries:  rapid.IntRange(0, 2).Draw(rt, "retries"),
			soak:     rapid.SampledFrom([]string{"0s", "10ms"}).Draw(rt, "soak"),
		}
		spec.maxFailures = fmt.Sprint(rapid.IntRange(0, 2).Draw(rt, "maxFailures"))
		batches := rapid.SliceOfN(rapid.SampledFrom([]string{"1", "2", "25%", "50%"}), 0, 3).Draw(rt, "batches")
		spec.batches = "[" + strings.Join(append(batches, "100%"), ", ") + "]"
		plan := spec.plan(t)

		ft := fake.New()
		var hosts []string
		for i := range plan.Phases {
			hosts = append(hosts, plan.Phases[i].Hosts()...)
		}
		hang := map[string]engine.Decision{}
		for _, h := range hosts {
			switch rapid.IntRange(0, 19).Draw(rt, "fault "+h) {
			case 0:
				ft.Script(h, fake.Script{ApplyExit: 2})
			case 1:
				ft.Script(h, fake.Script{VerifyFails: rapid.IntRange(1, 3).Draw(rt, "verifyFails "+h)})
			case 2:
				ft.Script(h, fake.Script{Drop: true})
			case 3:
				ft.Script(h, fake.Script{Hang: true})
				hang[h] = rapid.SampledFrom([]engine.Decision{engine.Abort, engine.Rollback}).Draw(rt, "hang "+h)
			}
		}
		var mu sync.Mutex
		decisions := map[int]engine.Decision{}
		pick := func(g engine.GateReached) engine.Decision {
			mu.Lock()
			defer mu.Unlock()
			if d, ok := decisions[g.Gate]; ok {
				return d
			}
			weights := map[engine.Decision]int{engine.Proceed: 12, engine.Retry: 6, engine.Rollback: 2, engine.Abort: 1}
			var options []engine.Decision
			for _, o := range g.Options {
				for range weights[o] {
					options = append(options, o)
				}
			}
			d := rapid.SampledFrom(options).Draw(rt, fmt.Sprintf("gate %d", g.Gate))
			decisions[g.Gate] = d
			return d
		}

		dir := t.TempDir()
		e, err := engine.New(plan, engine.Options{Transport: ft, Local: ft, StateDir: dir, User: "prop", Grace: 1})
		if err != nil {
			rt.Fatal(err)
		}
		var violations []string
		testHosts := plan.Phase(engine.PhaseTest).Hosts()
		ft.OnRun = func(host, verb string) {
			if !slices.Contains(testHosts, host) && verb == "apply" {
				s := e.Snapshot()
				if !s.Passed[engine.StepKey{Phase: engine.PhaseTest, Batch: 1}] {
					mu.Lock()
					violations = append(violations, "production host "+host+" applied before the test phase passed")
					mu.Unlock()
				}
			}
			if d, ok := hang[host]; ok && verb == "apply" {
				go func() {
					if d == engine.Abort {
						_ = e.Abort()
					} else {
						_ = e.Rollback()
					}
				}()
			}
		}
		r := drive(t, e, ft, dir, pick)
		outcome := r.wait()
		if len(violations) > 0 {
			rt.Fatalf("%v", violations)
		}
		if m := ft.MaxInFlight(); m > spec.parallel {
			rt.Fatalf("%d commands in flight, parallel is %d", m, spec.parallel)
		}
		checkGates(rt, r.events())
		checkRollbackSet(rt, r.events(), ft, outcome)
		rp, err := engine.ReadJournal(filepath.Join(dir, e.ID()+".journal"))
		if err != nil || rp.Damage != nil {
			rt.Fatalf("journal: %v %v", err, rp.Damage)
		}
		fromJournal, fromEngine := engine.Fold(rp.Records), e.Snapshot()
		if fromJournal.Outcome != outcome || fromEngine.Outcome != outcome {
			rt.Fatalf("outcome %s, journal %s, engine %s", outcome, fromJournal.Outcome, fromEngine.Outcome)
		}
		for name, h := range fromEngine.Hosts {
			j := fromJournal.Hosts[name]
			if j == nil || j.State != h.State || j.Applied != h.Applied {
				rt.Fatalf("host %s: engine %+v, journal %+v", name, h, j)
			}
		}
	})
}

// checkGates asserts every PhaseStarted follows a gate answered proceed or
// retry, with no other phase started in between.
func checkGates(rt *rapid.T, recs []engine.Record) {
	confirmed := false
	for _, rec := range recs {
		switch e := rec.Event.(type) {
		case engine.GateAnswered:
			confirmed = e.Decision == engine.Proceed || e.Decision == engine.Retry
		case engine.PhaseStarted:
			if !confirmed {
				rt.Fatalf("phase %s batch %d started without a confirmed gate", e.Phase, e.Batch)
			}
			confirmed = false
		}
	}
}

// checkRollbackSet asserts a rollback touched exactly the hosts that reached applying.
func checkRollbackSet(rt *rapid.T, recs []engine.Record, ft *fake.Transport, outcome engine.Outcome) {
	st := engine.NewState()
	var want []string
	rolled := false
	for _, rec := range recs {
		if rb, ok := rec.Event.(engine.RollbackStarted); ok {
			for _, name := range st.Order {
				if st.Hosts[name].Applied {
					want = append(want, name)
				}
			}
			got := slices.Clone(rb.Hosts)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				rt.Fatalf("rollback of %v, but %v reached applying", got, want)
			}
			rolled = true
		}
		st.Apply(rec)
	}
	if !rolled {
		for _, c := range ft.Calls() {
			if c.Verb == "rollback" {
				rt.Fatalf("rollback ran on %s without a rollback", c.Host)
			}
		}
		return
	}
	var touched []string
	for _, c := range ft.Calls() {
		if c.Verb == "rollback" && !slices.Contains(touched, c.Host) {
			touched = append(touched, c.Host)
		}
	}
	slices.Sort(touched)
	if outcome == engine.OutcomeRolledBack && !slices.Equal(touched, want) {
		rt.Fatalf("rollback ran on %v, want %v", touched, want)
	}
}
