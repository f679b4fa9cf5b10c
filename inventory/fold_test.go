package inventory

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestFold(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"web-1", "web-2"}, []string{"web-[1:2]"}},
		{[]string{"web-03.example.com", "web-04.example.com", "web-05.example.com"}, []string{"web-[03:05].example.com"}},
		{[]string{"web-9", "web-10", "web-11"}, []string{"web-[9:11]"}},
		{[]string{"web-08", "web-09", "web-10"}, []string{"web-[08:10]"}},
		// A change of padding ends a run: [098:100] would expand to 098, 099, 100
		// but 99 → 100 without padding is a different run.
		{[]string{"web-98", "web-99", "web-100"}, []string{"web-[98:100]"}},
		{[]string{"web-98", "web-099"}, []string{"web-98", "web-099"}},
		{[]string{"web-09", "web-10", "web-011"}, []string{"web-[09:10]", "web-011"}},
		{[]string{"web-99", "web-0100"}, []string{"web-99", "web-0100"}},
		// Gaps, order and duplicates are kept.
		{[]string{"web-1", "web-2", "web-4", "web-5"}, []string{"web-[1:2]", "web-[4:5]"}},
		{[]string{"web-2", "web-1"}, []string{"web-2", "web-1"}},
		{[]string{"web-1", "web-1"}, []string{"web-1", "web-1"}},
		// The last number folds; the prefix and suffix must match.
		{[]string{"r1-web-1", "r1-web-2", "r2-web-3"}, []string{"r1-web-[1:2]", "r2-web-3"}},
		{[]string{"web-1a", "web-2a", "web-3b"}, []string{"web-[1:2]a", "web-3b"}},
		{[]string{"1", "2", "3"}, []string{"[1:3]"}},
		// Names without numbers, and numbers too long to be a counter, stay.
		{[]string{"alpha", "beta"}, []string{"alpha", "beta"}},
		{[]string{"h1234567890", "h1234567891"}, []string{"h1234567890", "h1234567891"}},
		{[]string{"lb", "web-1", "web-2", "db"}, []string{"lb", "web-[1:2]", "db"}},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFoldExpandRoundTrip checks Expand(Fold(x)) == x on generated lists of
// host names: runs with and without padding, across digit-count boundaries,
// with gaps, repeats, reversals and names without numbers.
func TestFoldExpandRoundTrip(t *testing.T) {
	r := newRand(1)
	for i := range 5000 {
		names := genNames(r)
		folded := Fold(names)
		var back []string
		for _, f := range folded {
			e, err := Expand(f)
			if err != nil {
				t.Fatalf("case %d: Expand(%q) from Fold(%q): %v", i, f, names, err)
			}
			back = append(back, e...)
		}
		if !slices.Equal(back, names) {
			t.Fatalf("case %d: Expand(Fold(x)) != x\n    x = %q\nFold = %q\n back = %q", i, names, folded, back)
		}
		if len(folded) > len(names) {
			t.Fatalf("Fold made the list longer: %q -> %q", names, folded)
		}
	}
}

// rng is a small deterministic generator (splitmix64), so failures replay.
type rng struct{ s uint64 }

func newRand(seed uint64) *rng { return &rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// genNames builds a list of valid host names from a few runs.
func genNames(r *rng) []string {
	prefixes := []string{"web-", "db", "r1-web-", "", "a.b-", "x_"}
	suffixes := []string{"", ".example.com", "a", "-2"}
	var out []string
	for range 1 + r.intn(4) {
		pre, suf := prefixes[r.intn(len(prefixes))], suffixes[r.intn(len(suffixes))]
		width := 0
		if r.intn(2) == 0 {
			width = 1 + r.intn(4)
		}
		start := []int{0, 1, 7, 8, 9, 98, 99, 998, 12345}[r.intn(9)]
		n := 1 + r.intn(15)
		step := 1
		switch r.intn(6) {
		case 0:
			step = -1 // counting down does not fold
		case 1:
			step = 2 // nor does a gap
		case 2:
			step = 0 // nor a repeat
		}
		for k := range n {
			v := start + k*step
			if v < 0 {
				break
			}
			if r.intn(6) == 0 {
				width = r.intn(5) // padding that changes within a run
			}
			out = append(out, fmt.Sprintf("%s%0*d%s", pre, width, v, suf))
		}
		if r.intn(5) == 0 {
			out = append(out, strings.TrimSuffix(pre, "-")+"lb")
		}
	}
	return out
}
