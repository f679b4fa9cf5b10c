package plain

import (
	"fmt"

	"github.com/rolloutconsole/rollout/engine"
	"github.com/rolloutconsole/rollout/engine/outgroup"
)

// groups groups the current step's hosts by their output as the console
// sees it (engine/outgroup), host names masked: the hosts of the step
// running or last run, or of the rollback; a host's output starts again
// with each attempt.
//
// outgroup keeps only hashes and the last lines, so the console keeps the
// first lines of each host (a bounded sample) to say where a smaller group
// first differs from the largest.
type groups struct {
	g     *outgroup.Grouper
	key   engine.StepKey
	first map[string]*sample
}

// The sample's bounds: at most sampleMax lines of a host's stream, and
// fewer when the step has many hosts, so that all of them hold at most
// sampleBudget lines (25 a stream at 10,000 hosts), never fewer than
// sampleMin.
const (
	sampleMax    = 64
	sampleMin    = 4
	sampleBudget = 500_000
)

// sample is the first lines a host printed on each stream in this step.
type sample struct {
	lines [2][]string
	more  [2]bool // it printed more than it kept
}

func newGroups() *groups {
	return &groups{g: outgroup.New(outgroup.Options{MaskHostNames: true}), first: map[string]*sample{}}
}

// startStep groups a step's hosts; a step run again keeps the hosts not
// run again.
func (o *groups) startStep(e engine.PhaseStarted) {
	if k := (engine.StepKey{Phase: e.Phase, Batch: e.Batch}); k != o.key {
		o.g.Clear()
		clear(o.first)
		o.key = k
	}
	for _, h := range e.Hosts {
		o.reset(h)
	}
}

func (o *groups) startRollback(hosts []string) {
	o.g.Clear()
	clear(o.first)
	o.key = engine.StepKey{}
	for _, h := range hosts {
		o.reset(h)
	}
}

func (o *groups) reset(host string) {
	o.g.Reset(host)
	delete(o.first, host)
}

func (o *groups) remove(host string) {
	o.g.Remove(host)
	delete(o.first, host)
}

func (o *groups) output(e engine.HostOutput) {
	s, ok := o.g.AddHostOutput(e)
	if !ok {
		return
	}
	sm := o.first[e.Host]
	if sm == nil {
		sm = &sample{}
		o.first[e.Host] = sm
	}
	limit := max(sampleMin, min(sampleMax, sampleBudget/(2*max(1, o.g.Len()))))
	take := min(len(e.Lines), max(0, limit-len(sm.lines[s])))
	sm.lines[s] = append(sm.lines[s], e.Lines[:take]...)
	if take < len(e.Lines) {
		sm.more[s] = true
	}
}

func (o *groups) hostChanged(e engine.HostChanged) {
	if e.State == engine.StateConnecting && o.g.Has(e.Host) {
		o.reset(e.Host)
	}
}

// firstDiff finds where other's output first differs from base's, lines
// compared as outgroup compares them (each host's own name masked): where
// ("line 4", "stderr line 2") and other's line there, or "(no more
// output)" where other stopped. ok is false when the samples do not tell:
// the difference is past the lines kept.
func (o *groups) firstDiff(base, other string) (where, text string, ok bool) {
	a, b := o.first[base], o.first[other]
	if a == nil {
		a = &sample{}
	}
	if b == nil {
		b = &sample{}
	}
	for s, name := range []string{"line", "stderr line"} {
		la, lb := a.lines[s], b.lines[s]
		n := min(len(la), len(lb))
		for i := range n {
			if outgroup.MaskHost(la[i], base) != outgroup.MaskHost(lb[i], other) {
				return fmt.Sprintf("%s %d", name, i+1), lb[i], true
			}
		}
		switch {
		case len(lb) > n && !a.more[s]:
			return fmt.Sprintf("%s %d", name, n+1), lb[n], true // base stopped; other went on
		case len(la) > n && !b.more[s]:
			return fmt.Sprintf("%s %d", name, n+1), "(no more output)", true
		}
	}
	return "", "", false
}
