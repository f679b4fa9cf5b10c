package plain

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rolloutconsole/rollout/engine"
)

// An input line is a command word and what it needs:
//
//	y [REASON…]            proceed (also yes, proceed); a reason is kept in the audit
//	t                      retry the failed hosts (also retry)
//	t HOST                 retry one failed host
//	x HOST REASON…         exclude a host (also exclude)
//	resize N               the next batch takes N hosts
//	finish REASON…         finish now: the rest of the fleet in one batch
//	fast-rollback REASON…  roll every changed host back at once
//	r [REASON…]            roll back (also rollback)
//	a [REASON…]            abort (also abort)
//	p                      pause, or resume (also pause, resume)
//
// A line is read by its first word, not its first letter: "resize 5" is
// not an r, and a word that is none of these is refused, never guessed.

// command is one input line, read.
type command struct {
	line     string
	decision engine.Decision // "" for pause
	host     string
	size     int
	reason   string
}

// usage is what the console says to a line it cannot read.
const usage = "answers: y [REASON], t, t HOST, x HOST REASON, resize N, finish REASON, fast-rollback REASON, r [REASON], a [REASON]; p pauses or resumes"

// parse reads one input line.
func parse(line string) (command, error) {
	word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	rest = strings.TrimSpace(rest)
	c := command{line: line}
	switch strings.ToLower(word) {
	case "y", "yes", "proceed":
		c.decision = engine.Proceed
	case "t", "retry":
		c.decision = engine.Retry
		if rest != "" {
			c.decision, c.host = engine.RetryHost, rest
			if strings.ContainsAny(rest, " \t") {
				return c, fmt.Errorf("t takes one host: t HOST")
			}
		}
		return c, nil
	case "r", "rollback":
		c.decision = engine.Rollback
	case "a", "abort":
		c.decision = engine.Abort
	case "p", "pause", "resume":
	case "x", "exclude":
		c.decision = engine.Exclude
		host, reason, _ := strings.Cut(rest, " ")
		c.host, c.reason = host, strings.TrimSpace(reason)
		switch {
		case c.host == "":
			return c, errors.New("x needs a host and a reason: x HOST REASON…")
		case c.reason == "":
			return c, fmt.Errorf("a reason is required: x %s REASON…", c.host)
		}
		return c, nil
	case "resize":
		c.decision = engine.Resize
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 {
			return c, errors.New("resize needs a number of hosts, at least 1: resize N")
		}
		c.size = n
		return c, nil
	case "finish", "finish-now":
		c.decision, c.reason = engine.FinishNow, rest
	case "fast-rollback":
		c.decision, c.reason = engine.FastRollback, rest
	default:
		return c, fmt.Errorf("%q is not a command; %s", line, usage)
	}
	if c.decision.NeedsReason() && c.reason == "" {
		return c, fmt.Errorf("a reason is required: %s REASON…", word)
	}
	switch {
	case rest == "" || c.decision.NeedsReason():
	case c.decision == engine.Proceed || c.decision == engine.Rollback || c.decision == engine.Abort:
		// An optional reason, journaled with the decision: why drift was
		// acceptable, why the rollout was stopped.
		c.reason = rest
	default:
		return c, fmt.Errorf("%s takes nothing more; %s", word, usage)
	}
	return c, nil
}

// answersGate reports whether the command is an answer for a gate: kept
// for the next gate when a script gives it early.
func (c command) answersGate() bool { return c.decision != "" }

// emergency reports whether the command is an emergency path: possible
// between gates too.
func (c command) emergency() bool {
	return c.decision == engine.FinishNow || c.decision == engine.FastRollback
}

// answer is the command as an engine answer.
func (c command) answer() engine.Answer {
	return engine.Answer{Decision: c.decision, Host: c.host, Size: c.size, Reason: c.reason}
}

// offers reports whether a gate offers a decision; the fast rollback also
// when the gate says an emergency path is possible. Finish-now only where
// the gate lists it: at a failed gate the engine offers the fast rollback
// alone, though Emergency is set.
func offers(g *engine.GateReached, d engine.Decision) bool {
	if slices.Contains(g.Options, d) {
		return true
	}
	return g.Emergency && d == engine.FastRollback
}

// optionText is how the prompt names each answer, with what it needs.
var optionText = map[engine.Decision]string{
	engine.Proceed:      "[y] proceed",
	engine.Retry:        "[t] retry failed hosts",
	engine.RetryHost:    "[t HOST] retry one host",
	engine.Exclude:      "[x HOST REASON] exclude a host",
	engine.Resize:       "[resize N] size of the next batch",
	engine.FinishNow:    "[finish REASON] finish now",
	engine.FastRollback: "[fast-rollback REASON] roll back at once",
	engine.Rollback:     "[r] roll back",
	engine.Abort:        "[a] abort",
}

// promptOrder is the order the prompt lists answers in.
var promptOrder = []engine.Decision{engine.Proceed, engine.Retry, engine.RetryHost, engine.Exclude, engine.Resize,
	engine.Rollback, engine.Abort, engine.FinishNow, engine.FastRollback}

func (c *Console) prompt() {
	var parts []string
	for _, d := range promptOrder {
		if offers(c.gate, d) {
			parts = append(parts, optionText[d])
		}
	}
	c.printf("   %s > \n", strings.Join(parts, "  "))
}
