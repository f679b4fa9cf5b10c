package outgroup

import (
	"fmt"
	"testing"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("fleet-%05d.prod.example.com", i+1)
	}
	return out
}

// BenchmarkAdd is one 60-byte output line of one of 10,000 hosts, added
// as the console adds it: one line per call (the worst batching). With
// same, every host prints the same lines and joins a group that exists;
// otherwise each host's output is its own, and every line makes a group.
func BenchmarkAdd(b *testing.B) {
	for _, same := range []bool{true, false} {
		for _, mask := range []bool{false, true} {
			b.Run(fmt.Sprintf("same=%v/mask=%v", same, mask), func(b *testing.B) {
				hosts := names(10000)
				g := New(Options{MaskHostNames: mask})
				for _, h := range hosts {
					g.Reset(h)
				}
				line := "Unpacking nginx-common (1.25.3-1) over (1.24.0-1) on fleet"
				if !same {
					for _, h := range hosts {
						g.Add(h, h+"x") // a line of its own, that masking keeps
					}
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(line)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					g.Add(hosts[i%len(hosts)], line)
				}
			})
		}
	}
}

// BenchmarkGroups is one call of Groups (every group) and of Top (the 20
// largest, what a console shows) over 10,000 hosts, naming up to three
// hosts a group: when the fleet agrees but for a few outliers, and when
// every host printed something of its own.
func BenchmarkGroups(b *testing.B) {
	for _, tc := range []struct {
		name     string
		distinct func(i int) bool
	}{
		{"3groups", func(i int) bool { return i%1000 == 7 || i%1000 == 19 }},
		{"10000groups", func(int) bool { return true }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g := New(Options{})
			for i, h := range names(10000) {
				g.Add(h, "Setting up nginx (1.25.3-1) ...")
				v := "nginx version: nginx/1.25.3"
				if tc.distinct(i) {
					v = "nginx version: nginx/1.24.0"
					if tc.name == "10000groups" {
						v = h
					}
				}
				g.Add(h, v)
			}
			b.Run("all", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					_ = g.Groups(3)
				}
			})
			b.Run("top20", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					_ = g.Top(20, 3)
				}
			})
		})
	}
}
