package plain

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/tui/internal/gates"
)

// gateOpened prints a gate: what just happened (counts, each verify
// check, the step's output grouped across hosts, the slowest and failing
// hosts) or the preflight's account, what comes next, and the answers.
func (c *Console) gateOpened(ts string, g engine.GateReached) {
	c.gate = &g
	switch g.Kind {
	case engine.GateFailed:
		c.printf("%s == gate %d: %s FAILED (%d passed, %d failed)\n", ts, g.Gate, g.Phase, g.Passed, g.Failed)
		for _, h := range g.Failing {
			c.printf("      %s %s: %s\n", h.Host, h.State, h.Error)
		}
	case engine.GateStart:
		c.printf("%s == gate %d: ready to start with %s: %s\n", ts, g.Gate, g.Phase, hostsText(g.Next))
	case engine.GatePreflight:
		c.printf("%s == gate %d: ready to start with %s: %s; preflight done, nothing changed yet\n", ts, g.Gate, g.Phase, hostsText(g.Next))
	case engine.GateResume:
		c.printf("%s == gate %d: resumed; next %s batch %d: %s\n", ts, g.Gate, g.Phase, g.Batch, hostsText(g.Next))
	default:
		c.printf("%s == gate %d: %d passed, %d failed; next %s", ts, g.Gate, g.Passed, g.Failed, g.Phase)
		if g.Kind == engine.GateBatch {
			c.printf(" batch %d", g.Batch)
		}
		c.printf(": %s\n", hostsText(g.Next))
	}
	c.preflight(g.Preflight)
	for _, ch := range g.Checks {
		verdict := fmt.Sprintf("%d passed", ch.Passed)
		if ch.Failed > 0 {
			verdict += fmt.Sprintf(", %d FAILED", ch.Failed)
		}
		c.printf("      verify %d %s: %s\n", ch.Check, ch.Name, verdict)
	}
	if g.Kind != engine.GateStart && g.Kind != engine.GatePreflight {
		c.outputGroups()
	}
	if len(g.Slowest) > 0 && g.Kind != engine.GateFailed {
		s := g.Slowest[0]
		c.printf("      slowest: %s %s\n", s.Host, s.Duration.Round(time.Millisecond))
	}
	if g.Kind != engine.GateFailed {
		for _, h := range g.Failing {
			c.printf("      failed within the budget: %s %s: %s\n", h.Host, h.State, h.Error)
		}
	}
	c.selfAnswered = gates.EngineAnswers(&g, c.auto || c.finishingNow())
	if c.selfAnswered {
		return // the engine answers it: nothing to ask, nothing to take from a script
	}
	c.prompt()
	c.nextQueued()
}

// finishingNow reports whether finish-now was taken: from then on the
// engine answers the gates that --yes would.
func (c *Console) finishingNow() bool {
	return c.state.Emergency != nil && c.state.Emergency.Decision == engine.FinishNow
}

// preflight prints the preflight's account: counts, the hosts left out and
// why, what blocks proceeding, the fingerprints and the drift.
func (c *Console) preflight(pf *engine.PreflightReport) {
	if pf == nil {
		return
	}
	c.printf("      preflight: %d checked, %d ok, %d unreachable, %d failing, %d locked\n",
		pf.Checked, pf.OK, len(pf.Unreachable), len(pf.Failing), len(pf.Locked))
	for _, l := range []struct {
		hs   []engine.HostSummary
		what string
	}{{pf.Unreachable, "unreachable"}, {pf.Failing, "failing"}, {pf.Locked, "locked"}} {
		for _, h := range l.hs {
			c.printf("      %s %s: %s (left out if you proceed)\n", l.what, h.Host, h.Error)
		}
	}
	if pf.Blocking != "" {
		c.printf("      CANNOT PROCEED: %s\n", pf.Blocking)
	}
	var differ, mixed []string
	for _, r := range pf.Fingerprints {
		mark := ""
		switch {
		case r.Differs:
			// Drift: a test host has a value no production host has.
			mark, differ = "  DIFFERS", append(differ, r.Name)
		case r.Mixed:
			// Production is not uniform: worth a look, not drift.
			mark, mixed = "  (mixed in production)", append(mixed, r.Name)
		}
		c.printf("      fingerprint %s: test %s | production %s%s\n", r.Name, valueGroups(r.Test), valueGroups(r.Production), mark)
	}
	if pf.Drift {
		which := ""
		if len(differ) > 0 {
			which = " (" + strings.Join(differ, ", ") + ")"
		}
		n := max(1, len(differ))
		c.printf("      DRIFT: the test hosts differ from production in %d %s%s; proceeding acknowledges it, --yes never does\n",
			n, map[bool]string{true: "fingerprint", false: "fingerprints"}[n == 1], which)
	}
	if len(mixed) > 0 {
		c.printf("      mixed in production: %s (production's own hosts differ; not drift)\n", strings.Join(mixed, ", "))
	}
}

// valueGroups writes "1.24.0 ×29, fleet-07 1.25.3", or the one value
// alone: a value only one host gave is shown with that host.
func valueGroups(vgs []engine.ValueGroup) string {
	var parts []string
	for _, v := range vgs {
		text := fmt.Sprintf("%q", v.Value)
		switch {
		case len(vgs) > 1 && v.Count == 1 && len(v.Hosts) == 1:
			text = v.Hosts[0] + " " + text
		case len(vgs) > 1 || v.Count > 1:
			text += fmt.Sprintf(" ×%d", v.Count)
		}
		parts = append(parts, text)
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

// outputGroups prints the step's hosts grouped by their output: the
// largest group first, each with a few of its hosts; the largest with its
// last line, each smaller one with the first line where it differs from
// the largest (its last line when that is past what the console kept).
func (c *Console) outputGroups() {
	g := c.groups.g
	if g.Len() < 2 {
		return
	}
	gs := g.Top(5, 3)
	if len(gs) == 1 {
		if gs[0].Lines > 0 {
			c.printf("      output: identical on all %d hosts\n", g.Len())
		}
		return
	}
	var odd []string
	for _, gr := range gs[1:] {
		odd = append(odd, gr.Hosts...)
	}
	sort.Strings(odd)
	c.printf("      output: %d hosts identical; %d differ: %s\n", gs[0].Count, g.Len()-gs[0].Count, strings.Join(odd, ", "))
	for i, gr := range gs {
		names := strings.Join(gr.Hosts, ", ")
		if gr.Count > len(gr.Hosts) {
			names += ", …"
		}
		if i > 0 {
			if where, text, ok := c.groups.firstDiff(gs[0].Hosts[0], gr.Hosts[0]); ok {
				c.printf("        %d hosts (%s), from %s: %s\n", gr.Count, names, where, text)
				continue
			}
		}
		last := "(no output)"
		if n := len(gr.Tail); n > 0 {
			last = gr.Tail[n-1]
		}
		c.printf("        %d hosts (%s): %s\n", gr.Count, names, last)
	}
	if more := g.NumGroups() - len(gs); more > 0 {
		c.printf("        … %d more groups\n", more)
	}
}

// printMore writes the events of preflight, exclusions, captures, re-laid
// batches, emergency paths, the remote lock and hooks.
func (c *Console) printMore(ts string, ev engine.Event) {
	switch e := ev.(type) {
	case engine.PreflightHost:
		if e.OK {
			// The gate counts the hosts that passed; a line each would bury
			// the few that did not under thousands that did.
			return
		}
		c.printf("%s    %s preflight %s: %s\n", ts, e.Host, e.Problem, e.Error)
	case engine.HostExcluded:
		c.printf("%s    %s EXCLUDED by %s: %s\n", ts, e.Host, e.User, e.Reason)
		c.groups.remove(e.Host)
	case engine.HostCaptured:
		names := make([]string, 0, len(e.Values))
		for k := range e.Values {
			names = append(names, k)
		}
		slices.Sort(names)
		for i, k := range names {
			names[i] = k + "=" + e.Values[k]
		}
		c.printf("%s    %s captured: %s\n", ts, e.Host, strings.Join(names, " "))
	case engine.BatchesChanged:
		sizes := make([]string, len(e.Batches))
		for i, b := range e.Batches {
			sizes[i] = fmt.Sprint(len(b))
		}
		c.printf("%s %s batches now %s (by %s)%s\n", ts, e.Phase, strings.Join(sizes, ", "), e.User, because(e.Reason))
	case engine.EmergencyStarted:
		what := "FINISH NOW"
		if e.Decision == engine.FastRollback {
			what = "FAST ROLLBACK"
		}
		c.printf("%s %s by %s: %s\n", ts, what, e.User, e.Reason)
	case engine.LockChanged:
		verb := "released from"
		if e.Taken {
			verb = "taken on"
		}
		c.printf("%s remote lock %s %s %d hosts\n", ts, e.Path, verb, e.Hosts)
		for _, f := range e.Failures {
			c.printf("      not released: %s\n", f)
		}
	case engine.HookRan:
		if e.Error != "" {
			c.printf("%s note: the %s hook failed: %s (the rollout goes on)\n", ts, e.On, e.Error)
			return
		}
		c.printf("%s    %s hook ran (%s)\n", ts, e.On, e.Duration.Round(time.Millisecond))
	}
}

// because writes ": the reason", or nothing.
func because(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}
