package outgroup

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// model is the obvious grouping: every host's whole output kept, per
// stream, and hosts grouped by all of it at once.
type model struct {
	out  map[string]*[2][]string
	seen map[string][]string // every line in arrival order, for the tail
}

func newModel() *model { return &model{out: map[string]*[2][]string{}, seen: map[string][]string{}} }

func (m *model) add(host string, s int, lines []string) {
	o := m.out[host]
	if o == nil {
		o = &[2][]string{}
		m.out[host] = o
	}
	if len(lines) == 0 {
		return
	}
	o[s] = append(o[s], lines...)
	m.seen[host] = append(m.seen[host], lines...)
}

func (m *model) reset(host string) {
	m.out[host] = &[2][]string{}
	m.seen[host] = nil
}

// full is a host's whole output as one string, each line length-prefixed
// so that no two different outputs read the same.
func full(o *[2][]string) string {
	var b strings.Builder
	for s, lines := range o {
		b.WriteString(strconv.Itoa(s) + ":")
		for _, l := range lines {
			b.WriteString(strconv.Itoa(len(l)) + "/" + l)
		}
	}
	return b.String()
}

// check compares the Grouper with the model: the same partition of hosts,
// the same sizes and line counts, the largest first, each tail the last
// lines of the group's first host.
func (m *model) check(t interface {
	Fatalf(string, ...any)
}, g *Grouper, tail int) {
	byOut := map[string][]string{}
	for h, o := range m.out {
		k := full(o)
		byOut[k] = append(byOut[k], h)
	}
	want := map[string]bool{}
	for _, hs := range byOut {
		slices.Sort(hs)
		want[strings.Join(hs, ",")] = true
	}
	gs := g.Groups(1 << 30)
	if len(gs) != len(byOut) || g.NumGroups() != len(byOut) || g.Len() != len(m.out) {
		t.Fatalf("%d groups (%d hosts), want %d (%d hosts): %s", len(gs), g.Len(), len(byOut), len(m.out), describe(gs))
	}
	for i, gr := range gs {
		if !want[strings.Join(gr.Hosts, ",")] || gr.Count != len(gr.Hosts) {
			t.Fatalf("group %v is not one of the model's: %v", gr.Hosts, want)
		}
		if i > 0 && gs[i-1].Count < gr.Count {
			t.Fatalf("groups out of order: %s", describe(gs))
		}
		o := m.out[gr.Hosts[0]]
		if gr.Lines != len(o[0])+len(o[1]) {
			t.Fatalf("group %v: %d lines, want %d", gr.Hosts, gr.Lines, len(o[0])+len(o[1]))
		}
		seen := m.seen[gr.Hosts[0]]
		if wantTail := seen[max(0, len(seen)-tail):]; !slices.Equal(gr.Tail, wantTail) && len(gr.Tail)+len(wantTail) > 0 {
			t.Fatalf("group %v: tail %q, want %q", gr.Hosts, gr.Tail, wantTail)
		}
	}
}

// TestGroupingEqualsGroupingByTheWholeOutput: any sequence of adds (in any
// batching, on either stream) and resets groups hosts as grouping their
// whole output would.
func TestGroupingEqualsGroupingByTheWholeOutput(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		tail := rapid.IntRange(1, 4).Draw(rt, "tail")
		g, m := New(Options{Tail: tail}), newModel()
		hosts := rapid.IntRange(1, 8).Draw(rt, "hosts")
		// A small alphabet of lines, so that hosts often print the same.
		line := rapid.SampledFrom([]string{"", "a", "b", "ab", "nginx 1.25.3", "nginx 1.24.0"})
		ops := rapid.IntRange(0, 60).Draw(rt, "ops")
		for i := 0; i < ops; i++ {
			h := fmt.Sprintf("h%d", rapid.IntRange(0, hosts-1).Draw(rt, "host"))
			if rapid.IntRange(0, 9).Draw(rt, "op") == 0 {
				g.Reset(h)
				m.reset(h)
				continue
			}
			s := rapid.IntRange(0, 1).Draw(rt, "stream")
			lines := rapid.SliceOfN(line, 0, 3).Draw(rt, "lines")
			g.AddStream(h, s, lines...)
			m.add(h, s, lines)
		}
		m.check(rt, g, tail)
		// Top is the head of Groups.
		n := rapid.IntRange(0, 10).Draw(rt, "top")
		if got, want := describe(g.Top(n, 2)), describe(g.Groups(2)[:min(n, g.NumGroups())]); got != want {
			rt.Fatalf("Top(%d) = %s, want %s", n, got, want)
		}
	})
}

// FuzzGroupingEqualsGroupingByTheWholeOutput reads operations from bytes:
// per operation a byte for the host (and whether it is a reset), one for
// the stream and line count, then the lines' bytes.
func FuzzGroupingEqualsGroupingByTheWholeOutput(f *testing.F) {
	f.Add([]byte("\x00\x01a\x01\x01a\x02\x01b"))
	f.Add([]byte("\x00\x02ab\x01\x01a\x01\x01b\x80\x00\x00\x01a"))
	f.Add([]byte("\x03\x13abc\x04\x03abc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, m := New(Options{Tail: 2}), newModel()
		for len(data) >= 2 {
			op, sc := data[0], data[1]
			data = data[2:]
			h := fmt.Sprintf("h%d", op&7)
			if op&0x80 != 0 {
				g.Reset(h)
				m.reset(h)
				continue
			}
			s, n := int(sc>>4)&1, int(sc&3)
			var lines []string
			for j := 0; j < n && len(data) > 0; j++ {
				l := min(int(data[0]&3), len(data)-1)
				lines = append(lines, string(data[1:1+l]))
				data = data[1+l:]
			}
			g.AddStream(h, s, lines...)
			m.add(h, s, lines)
		}
		m.check(t, g, 2)
	})
}
