// Package outgroup groups hosts by identical output while it streams, as
// `dshbak -c` does once the output is all in: hosts that printed the same
// lines, in the same order, fall in one group, so a console can say "38
// hosts: nginx version: nginx/1.25.3 · 2 hosts: different" at any moment.
//
// It is built for 10,000 hosts printing many lines. A host keeps no copy of
// its output, only a running hash of each stream and a line count (the
// key), and the last few lines to show. Hosts with equal keys are one
// group; the groups and their sizes are kept as output arrives, so Add
// costs what hashing its lines costs, and Groups costs the number of
// groups, not of hosts or lines.
//
// The hashes are seeded per Grouper (hash/maphash): output a host controls
// cannot be crafted to collide with another host's and hide in its group.
package outgroup

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/rolloutconsole/rollout/engine"
)

// The streams a host prints on. Each is compared on its own, so two hosts
// whose stdout and stderr lines interleaved differently (which timing
// decides) but that printed the same on each still group together.
const (
	Stdout = 0
	Stderr = 1
)

// DefaultTail is how many last lines a group shows when Options.Tail is 0.
const DefaultTail = 3

// Options configure a Grouper.
type Options struct {
	// Tail is how many last lines each host keeps to show; DefaultTail when
	// zero.
	Tail int
	// MaskHostNames compares lines with the host's own name (and its first
	// label, web-07 of web-07.example.com) taken out, as whole words: hosts
	// that each print their own name ("Setting up nginx on web-07") still
	// group. It can only split a group, never join output that differs
	// otherwise: a host naming another host is not masked.
	MaskHostNames bool
}

// key is what a host's output is compared by: a chained hash of each
// stream's lines, and how many lines it printed.
type key struct {
	sum   [2]uint64
	lines int
}

// host is one host's running account, and its place in its group's list.
type host struct {
	name       string
	short      string // the first label of name, when masking; "" when none
	key        key
	grp        *group
	prev, next *host
	tail       []string // a ring of the last lines
	tailAt     int      // where the next line goes once the ring is full
}

// group is the hosts with one key, in the order they reached it.
type group struct {
	key        key
	n          int
	head, last *host
	at         int // its index in Grouper.list
}

// Grouper groups hosts by their output. It is not safe for concurrent use.
type Grouper struct {
	seed    maphash.Seed
	opts    Options
	hosts   map[string]*host
	groups  map[key]*group
	list    []*group // every group, in no order: what Top walks
	free    []*group // groups emptied, for reuse: a host printing output of its own empties one group as it makes another
	version uint64
	buf     [16]byte
}

// New returns an empty Grouper.
func New(opts Options) *Grouper {
	if opts.Tail <= 0 {
		opts.Tail = DefaultTail
	}
	return &Grouper{seed: maphash.MakeSeed(), opts: opts, hosts: map[string]*host{}, groups: map[key]*group{}}
}

// Add appends lines a host printed on stdout. A host not seen before joins
// with no output before these lines.
func (g *Grouper) Add(host string, lines ...string) { g.AddStream(host, Stdout, lines...) }

// AddStream appends lines a host printed on stream s (Stdout or Stderr;
// anything else counts as Stderr).
func (g *Grouper) AddStream(host string, s int, lines ...string) {
	h := g.host(host)
	if len(lines) == 0 {
		return
	}
	if s != Stdout {
		s = Stderr
	}
	k := h.key
	for _, l := range lines {
		k.sum[s] = g.chain(k.sum[s], g.masked(h, l))
		h.keep(l, g.opts.Tail)
	}
	k.lines += len(lines)
	g.move(h, k)
}

// AddHostOutput adds the lines of an engine output event on their stream,
// if the host is one being grouped, and returns that stream and whether it
// was: the consoles feed the engine's events straight in.
func (g *Grouper) AddHostOutput(e engine.HostOutput) (stream int, ok bool) {
	if !g.Has(e.Host) {
		return 0, false
	}
	stream = Stdout
	if e.Stream == engine.Stderr {
		stream = Stderr
	}
	g.AddStream(e.Host, stream, e.Lines...)
	return stream, true
}

// chain folds one line into a stream's running hash. The line's own hash
// and the running one are hashed together, so order counts and line
// boundaries count: a, bc differs from ab, c.
func (g *Grouper) chain(sum uint64, line string) uint64 {
	binary.LittleEndian.PutUint64(g.buf[:8], sum)
	binary.LittleEndian.PutUint64(g.buf[8:], maphash.String(g.seed, line))
	return maphash.Bytes(g.seed, g.buf[:])
}

// Reset starts a host's output again (a new step, a new attempt): it joins
// the hosts that printed nothing yet. A host not seen before joins too.
func (g *Grouper) Reset(host string) {
	h := g.host(host)
	clear(h.tail)
	h.tail, h.tailAt = h.tail[:0], 0
	g.move(h, key{})
}

// Remove forgets a host: it is in no group any more.
func (g *Grouper) Remove(host string) {
	h := g.hosts[host]
	if h == nil {
		return
	}
	g.unlink(h)
	delete(g.hosts, host)
	g.version++
}

// Clear forgets every host.
func (g *Grouper) Clear() {
	clear(g.hosts)
	clear(g.groups)
	clear(g.list)
	g.list = g.list[:0]
	g.version++
}

// Has reports whether a host is grouped.
func (g *Grouper) Has(host string) bool { return g.hosts[host] != nil }

// Len is how many hosts are grouped.
func (g *Grouper) Len() int { return len(g.hosts) }

// NumGroups is how many groups there are.
func (g *Grouper) NumGroups() int { return len(g.groups) }

// Version changes whenever a host joins, leaves or changes group: a caller
// that keeps Groups' result can tell when to ask again.
func (g *Grouper) Version() uint64 { return g.version }

// SizeOf is the size of the group a host is in, 0 when it is not grouped.
func (g *Grouper) SizeOf(host string) int {
	if h := g.hosts[host]; h != nil {
		return h.grp.n
	}
	return 0
}

// Group is hosts whose output so far is the same.
type Group struct {
	// Count is how many hosts are in it.
	Count int
	// Lines is how many lines each of them printed.
	Lines int
	// Hosts names up to the number asked for, sorted: every host of the
	// group when it has no more, else the first to reach this output.
	Hosts []string
	// Tail is the last lines Hosts[0] printed, oldest first: what the group
	// printed last (with masking, as that host wrote its own name).
	Tail []string
}

// Groups returns every group, the largest first, each naming up to names
// hosts (at least one). See Top.
func (g *Grouper) Groups(names int) []Group { return g.Top(len(g.list), names) }

// Top returns the n largest groups, the largest first, each naming up to
// names hosts (at least one). Groups of equal size come in the order of the
// name of the host that reached their output first. It costs the number of
// groups (times log n), not of hosts or lines: a console can ask for the
// few it shows on every frame.
func (g *Grouper) Top(n, names int) []Group {
	names = max(1, names)
	top := g.largest(max(0, n))
	out := make([]Group, len(top))
	size := 0
	for _, gr := range top {
		size += min(names, gr.n) + g.opts.Tail
	}
	// Every group's names and tail, in one allocation.
	buf := make([]string, 0, size)
	for i, gr := range top {
		start := len(buf)
		for h := gr.head; h != nil && len(buf)-start < names; h = h.next {
			buf = append(buf, h.name)
		}
		hs := buf[start:len(buf):len(buf)]
		slices.Sort(hs)
		rep := g.hosts[hs[0]]
		start = len(buf)
		buf = append(append(buf, rep.tail[rep.tailAt:]...), rep.tail[:rep.tailAt]...)
		out[i] = Group{Count: gr.n, Lines: gr.key.lines, Hosts: hs, Tail: buf[start:len(buf):len(buf)]}
	}
	return out
}

// before orders groups: larger first, then by their first host's name.
func before(a, b *group) bool {
	return a.n > b.n || a.n == b.n && a.head.name < b.head.name
}

// largest returns the n groups that come first, in order: a partial
// selection when n is small, so its cost is the groups' number, not a sort
// of them.
func (g *Grouper) largest(n int) []*group {
	n = min(n, len(g.list))
	if n > 64 && n > len(g.list)/8 {
		all := slices.Clone(g.list)
		slices.SortFunc(all, func(a, b *group) int {
			if before(a, b) {
				return -1
			}
			if before(b, a) {
				return 1
			}
			return 0
		})
		return all[:n]
	}
	top := make([]*group, 0, n)
	for _, gr := range g.list {
		if len(top) == n && (n == 0 || !before(gr, top[n-1])) {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, gr, func(e, t *group) int {
			if before(t, e) {
				return 1
			}
			return -1
		})
		if len(top) < n {
			top = append(top, nil)
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = gr
	}
	return top
}

// host returns a host's account, creating it with no output.
func (g *Grouper) host(name string) *host {
	h := g.hosts[name]
	if h != nil {
		return h
	}
	h = &host{name: name}
	if g.opts.MaskHostNames {
		h.short = shortName(name)
	}
	g.hosts[name] = h
	g.link(h, key{})
	g.version++
	return h
}

// move puts a host in the group of its new key.
func (g *Grouper) move(h *host, k key) {
	if h.key == k && h.grp != nil {
		return
	}
	g.unlink(h)
	g.link(h, k)
	g.version++
}

func (g *Grouper) link(h *host, k key) {
	gr := g.groups[k]
	if gr == nil {
		if n := len(g.free); n > 0 {
			gr, g.free = g.free[n-1], g.free[:n-1]
			*gr = group{key: k, at: len(g.list)}
		} else {
			gr = &group{key: k, at: len(g.list)}
		}
		g.groups[k] = gr
		g.list = append(g.list, gr)
	}
	h.key, h.grp, h.prev, h.next = k, gr, gr.last, nil
	if gr.last != nil {
		gr.last.next = h
	} else {
		gr.head = h
	}
	gr.last = h
	gr.n++
}

func (g *Grouper) unlink(h *host) {
	gr := h.grp
	if gr == nil {
		return
	}
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		gr.head = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		gr.last = h.prev
	}
	h.grp, h.prev, h.next = nil, nil, nil
	if gr.n--; gr.n == 0 {
		delete(g.groups, gr.key)
		last := g.list[len(g.list)-1]
		last.at, g.list[gr.at] = gr.at, last
		g.list[len(g.list)-1] = nil
		g.list = g.list[:len(g.list)-1]
		if len(g.free) < 64 {
			g.free = append(g.free, gr)
		}
	}
}

// keep adds a line to the host's last lines.
func (h *host) keep(line string, n int) {
	if len(h.tail) < n {
		h.tail = append(h.tail, line)
		return
	}
	h.tail[h.tailAt] = line
	h.tailAt = (h.tailAt + 1) % n
}

// masked is the line as it is compared: with the host's names taken out
// when masking.
func (g *Grouper) masked(h *host, line string) string {
	if !g.opts.MaskHostNames {
		return line
	}
	line = maskWord(line, h.name)
	if h.short != "" {
		line = maskWord(line, h.short)
	}
	return line
}

// MaskHost takes a host's own name (and its first label, web-07 of
// web-07.example.com) out of a line, as whole words, the way a Grouper with
// MaskHostNames compares lines: a console that shows where two groups
// differ compares their lines by it too.
func MaskHost(line, host string) string {
	line = maskWord(line, host)
	if short := shortName(host); short != "" {
		line = maskWord(line, short)
	}
	return line
}

// placeholder stands for the host's own name in a masked line. It holds a
// NUL, which cleaned output never does, so it reads as no real text.
const placeholder = "\x00host\x00"

// maskWord replaces every whole-word occurrence of name in s with the
// placeholder. A word is bounded by anything but a letter, a digit, - or _,
// so web-07 is not found in web-070.
func maskWord(s, name string) string {
	if name == "" {
		return s
	}
	var b []byte // nil until the first match
	from, last := 0, 0
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
		b = append(b, s[last:i]...)
		b = append(b, placeholder...)
		last, from = end, end
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80
}

// shortName is the first label of a dotted host name, if it reads as a
// name: not a number (10 of 10.0.0.7 is no name).
func shortName(name string) string {
	i := strings.IndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	label := name[:i]
	for j := 0; j < len(label); j++ {
		if c := label[j]; c < '0' || c > '9' {
			return label
		}
	}
	return ""
}
