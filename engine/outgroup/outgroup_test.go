package outgroup

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func fleet(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("fleet-%02d", i+1)
	}
	return out
}

// describe writes groups as "count×lines[hosts]{tail}" for comparing.
func describe(gs []Group) string {
	var parts []string
	for _, g := range gs {
		parts = append(parts, fmt.Sprintf("%d×%d%v{%s}", g.Count, g.Lines, g.Hosts, strings.Join(g.Tail, "|")))
	}
	return strings.Join(parts, " ")
}

func TestThirtyHostsTwoDiverge(t *testing.T) {
	g := New(Options{})
	for _, h := range fleet(30) {
		g.Reset(h)
	}
	for _, h := range fleet(30) {
		g.Add(h, "Reading package lists...", "Setting up nginx (1.25.3-1) ...")
		version := "nginx version: nginx/1.25.3"
		if h == "fleet-07" || h == "fleet-19" {
			version = "nginx version: nginx/1.24.0"
		}
		g.AddStream(h, Stderr, version)
	}
	gs := g.Groups(3)
	if len(gs) != 2 || g.NumGroups() != 2 || g.Len() != 30 {
		t.Fatalf("groups: %s", describe(gs))
	}
	big, odd := gs[0], gs[1]
	if big.Count != 28 || big.Lines != 3 || len(big.Hosts) != 3 || big.Tail[2] != "nginx version: nginx/1.25.3" {
		t.Errorf("largest group %+v", big)
	}
	if odd.Count != 2 || !slices.Equal(odd.Hosts, []string{"fleet-07", "fleet-19"}) || odd.Tail[2] != "nginx version: nginx/1.24.0" {
		t.Errorf("outliers %+v", odd)
	}
	if g.SizeOf("fleet-07") != 2 || g.SizeOf("fleet-01") != 28 || g.SizeOf("nope") != 0 {
		t.Errorf("sizes %d %d", g.SizeOf("fleet-07"), g.SizeOf("fleet-01"))
	}
}

func TestHostsWithNoOutputYetAreAGroup(t *testing.T) {
	g := New(Options{})
	for _, h := range fleet(5) {
		g.Reset(h)
	}
	g.Add("fleet-02", "done")
	gs := g.Groups(10)
	if got := describe(gs); got != "4×0[fleet-01 fleet-03 fleet-04 fleet-05]{} 1×1[fleet-02]{done}" {
		t.Fatalf("groups %s", got)
	}
	// A new attempt starts the host's output again.
	g.Reset("fleet-02")
	if got := describe(g.Groups(10)); got != "5×0[fleet-01 fleet-02 fleet-03 fleet-04 fleet-05]{}" {
		t.Fatalf("after reset: %s", got)
	}
}

func TestBatchingDoesNotMatterButOrderAndBoundariesDo(t *testing.T) {
	g := New(Options{})
	g.Add("a", "one", "two", "three")
	g.Add("b", "one")
	g.Add("b", "two", "three")
	g.Add("c", "one", "three", "two") // order
	g.Add("d", "onetwo", "three")     // boundaries, and one line less
	g.Add("e", "on", "etwo", "three") // boundaries, same count
	gs := g.Groups(5)
	if got := describe(gs); got != "2×3[a b]{one|two|three} 1×3[c]{one|three|two} 1×2[d]{onetwo|three} 1×3[e]{on|etwo|three}" {
		t.Fatalf("groups %s", got)
	}
}

func TestStreamsAreComparedApart(t *testing.T) {
	g := New(Options{})
	g.AddStream("a", Stdout, "out 1")
	g.AddStream("a", Stderr, "warning")
	g.AddStream("a", Stdout, "out 2")
	g.AddStream("b", Stdout, "out 1", "out 2")
	g.AddStream("b", Stderr, "warning")
	g.AddStream("c", Stdout, "out 1", "out 2", "warning") // the same text, on the other stream
	if got := describe(g.Groups(5)); got != "2×3[a b]{out 1|warning|out 2} 1×3[c]{out 1|out 2|warning}" {
		t.Fatalf("groups %s", got)
	}
}

func TestTailKeepsTheLastLines(t *testing.T) {
	g := New(Options{Tail: 2})
	for i := 1; i <= 5; i++ {
		g.Add("a", fmt.Sprint(i))
	}
	if got := g.Groups(1)[0].Tail; !slices.Equal(got, []string{"4", "5"}) {
		t.Fatalf("tail %q", got)
	}
}

func TestRemoveAndClear(t *testing.T) {
	g := New(Options{})
	g.Add("a", "x")
	g.Add("b", "x")
	g.Add("c", "y")
	v := g.Version()
	g.Remove("c")
	g.Remove("nope")
	if g.Version() == v || g.Has("c") || describe(g.Groups(5)) != "2×1[a b]{x}" {
		t.Fatalf("after remove: %s", describe(g.Groups(5)))
	}
	g.Clear()
	if g.Len() != 0 || g.NumGroups() != 0 || len(g.Groups(5)) != 0 {
		t.Fatal("clear left hosts")
	}
	g.Add("a", "x")
	if describe(g.Groups(5)) != "1×1[a]{x}" {
		t.Fatalf("after clear: %s", describe(g.Groups(5)))
	}
}

func TestAGroupNamesItsFirstHostsWhenLarge(t *testing.T) {
	g := New(Options{})
	hosts := fleet(20)
	for i := len(hosts) - 1; i >= 0; i-- { // reach the output in reverse
		g.Add(hosts[i], "same")
	}
	gs := g.Groups(3)
	if !slices.Equal(gs[0].Hosts, []string{"fleet-18", "fleet-19", "fleet-20"}) || gs[0].Count != 20 {
		t.Fatalf("hosts %v of %d", gs[0].Hosts, gs[0].Count)
	}
	if got := g.Groups(0)[0].Hosts; len(got) != 1 {
		t.Fatalf("names 0 gives %v, want one", got)
	}
}

func TestMaskHostNames(t *testing.T) {
	g := New(Options{MaskHostNames: true})
	for _, h := range []string{"web-07.prod.example.com", "web-08.prod.example.com", "web-09.prod.example.com", "10.0.0.7", "10.0.0.8"} {
		short, _, _ := strings.Cut(h, ".")
		g.Add(h, "Setting up nginx on "+short+" ("+h+")")
	}
	// web-070 is not web-07; a host naming another is not masked.
	g.Add("web-070.prod.example.com", "Setting up nginx on web-07 (web-07.prod.example.com)")
	gs := g.Groups(5)
	if gs[0].Count != 3 || gs[0].Hosts[0] != "web-07.prod.example.com" || gs[0].Tail[0] != "Setting up nginx on web-07 (web-07.prod.example.com)" {
		t.Fatalf("masked group %+v", gs[0])
	}
	if len(gs) != 3 || gs[1].Count != 2 || gs[2].Hosts[0] != "web-070.prod.example.com" {
		t.Fatalf("groups %s", describe(gs))
	}
	// Numbers are not names: "10" of 10.0.0.7 is kept.
	if got := maskWord("10 packages on 10.0.0.7", "10.0.0.7"); got != "10 packages on "+placeholder {
		t.Fatalf("mask %q", got)
	}
	if shortName("10.0.0.7") != "" || shortName("web-1.example.com") != "web-1" || shortName("web") != "" {
		t.Fatal("shortName")
	}
	for _, tc := range []struct{ s, name, want string }{
		{"web-07", "web-07", placeholder},
		{"web-070 web-07,web-07.", "web-07", "web-070 " + placeholder + "," + placeholder + "."},
		{"xweb-07 web-07x", "web-07", "xweb-07 web-07x"},
		{"anything", "", "anything"},
	} {
		if got := maskWord(tc.s, tc.name); got != tc.want {
			t.Errorf("maskWord(%q, %q) = %q, want %q", tc.s, tc.name, got, tc.want)
		}
	}
}
