package plain

import (
	"fmt"
	"strings"

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
	if !o.g.Has(e.Host) {
		return
	}
	s := outgroup.Stdout
	if e.Stream == engine.Stderr {
		s = outgroup.Stderr
	}
	o.g.AddStream(e.Host, s, e.Lines...)
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
			if maskHost(la[i], base) != maskHost(lb[i], other) {
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

// maskHost takes a host's own name (and its first label, web-07 of
// web-07.example.com) out of a line, as whole words: what outgroup does
// with MaskHostNames, so two hosts' lines compare as outgroup grouped them.
func maskHost(line, host string) string {
	line = maskWord(line, host)
	if short := shortName(host); short != "" {
		line = maskWord(line, short)
	}
	return line
}

// maskWord replaces every whole-word occurrence of name in s with a NUL,
// which cleaned output never holds. A word is bounded by anything but a
// letter, a digit, - or _ (outgroup's rule).
func maskWord(s, name string) string {
	if name == "" || !strings.Contains(s, name) {
		return s
	}
	var b strings.Builder
	from, last, matched := 0, 0, false
	for from < len(s) {
		j := strings.Index(s[from:], name)
		if j < 0 {
			break
		}
		i, end := from+j, from+j+len(name)
		if (i > 0 && wordByte(s[i-1])) || (end < len(s) && wordByte(s[end])) {
			from = i + 1
			continue
		}
		b.WriteString(s[last:i])
		b.WriteByte(0)
		last, from, matched = end, end, true
	}
	if !matched {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80
}

// shortName is the first label of a dotted host name when it reads as a
// name, not a number.
func shortName(name string) string {
	i := strings.IndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	label := name[:i]
	if strings.Trim(label, "0123456789") == "" {
		return ""
	}
	return label
}
