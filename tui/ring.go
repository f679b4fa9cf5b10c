package tui

import (
	"strings"

	"github.com/rolloutconsole/rollout/engine"
)

// DefaultScrollback is how many output lines the console keeps per host.
const DefaultScrollback = 1000

// scrollbackBudget bounds the lines kept for all hosts together (about
// 200 MB of 80-column output): a 10,000-host fleet keeps 200 lines a host,
// not 1,000, so a chatty fleet cannot exhaust the engineer's laptop. The
// journal keeps every line.
const scrollbackBudget = 2_000_000

// minScrollback is the least kept per host, whatever the fleet's size.
const minScrollback = 100

// metaPrefix marks a line the console wrote into a host's log (a state
// change, a failed check) rather than one the host printed. Host output can
// never start with it: cleanLine makes every control character visible.
const metaPrefix = "\x00"

// ring is one host's scrollback: the last max lines, oldest first. It grows
// as lines come, so a host that printed three lines costs three slots.
type ring struct {
	lines []string
	start int // index of the oldest line once the ring is full
	total int // lines ever added; line numbers are absolute
}

func (r *ring) add(line string, max int) {
	if len(r.lines) < max {
		if len(r.lines) == cap(r.lines) {
			grown := make([]string, len(r.lines), min(max, 2*cap(r.lines)+8))
			copy(grown, r.lines)
			r.lines = grown
		}
		r.lines = append(r.lines, line)
	} else {
		r.lines[r.start] = line
		r.start = (r.start + 1) % len(r.lines)
	}
	r.total++
}

// len is how many lines are kept.
func (r *ring) len() int { return len(r.lines) }

// first is the absolute number of the oldest line kept.
func (r *ring) first() int { return r.total - len(r.lines) }

// line returns the line with absolute number n, which must be kept.
func (r *ring) line(n int) string {
	return r.lines[(r.start+n-r.first())%len(r.lines)]
}

// last returns the newest line, or "".
func (r *ring) last() string {
	if r.total == 0 {
		return ""
	}
	return r.line(r.total - 1)
}

// logStore holds every host's scrollback.
type logStore struct {
	max   int
	hosts map[string]*ring
}

func newLogStore(max int) *logStore {
	if max <= 0 {
		max = DefaultScrollback
	}
	return &logStore{max: max, hosts: map[string]*ring{}}
}

// fit lowers the lines kept per host so hosts of them stay within the
// budget. It is called before output arrives (at the rollout's start); a
// ring that already grew past the new bound keeps its lines.
func (l *logStore) fit(hosts int) {
	if hosts > 0 && l.max*hosts > scrollbackBudget {
		l.max = max(minScrollback, scrollbackBudget/hosts)
	}
}

// add appends lines to a host's log.
func (l *logStore) add(host string, lines ...string) {
	r := l.hosts[host]
	if r == nil {
		r = &ring{}
		l.hosts[host] = r
	}
	for _, s := range lines {
		r.add(s, l.max)
	}
}

// get returns a host's log, or nil when it printed nothing.
func (l *logStore) get(host string) *ring { return l.hosts[host] }

// cleanLine makes a line safe to draw: control characters visible (as the
// engine does before journaling; a journal read by watch may come from
// anywhere) and tabs expanded, so widths are what they look like.
func cleanLine(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			s = engine.Printable(s)
			if strings.IndexByte(s, '\t') >= 0 {
				s = strings.ReplaceAll(s, "\t", "    ")
			}
			return s
		}
	}
	return s
}

// cleanLines cleans every line, copying the slice only when a line changes.
func cleanLines(lines []string) []string {
	var out []string
	for i, s := range lines {
		c := cleanLine(s)
		if out == nil && c != s {
			out = append(make([]string, 0, len(lines)), lines[:i]...)
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return lines
	}
	return out
}
