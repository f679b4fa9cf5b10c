package inventory

import (
	"fmt"
	"slices"
	"testing"
)

func TestExpand(t *testing.T) {
	seq := func(format string, from, to, step int) []string {
		var out []string
		for i := from; i <= to; i += step {
			out = append(out, fmt.Sprintf(format, i))
		}
		return out
	}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"web-1.example.com", []string{"web-1.example.com"}},
		{"web-[1:3]", []string{"web-1", "web-2", "web-3"}},
		{"web-[01:40].example.com", seq("web-%02d.example.com", 1, 40, 1)},
		{"web-[001:003]", []string{"web-001", "web-002", "web-003"}},
		{"web-[08:11]", []string{"web-08", "web-09", "web-10", "web-11"}},
		{"web-[98:101]", []string{"web-98", "web-99", "web-100", "web-101"}},
		{"web-[098:101]", []string{"web-098", "web-099", "web-100", "web-101"}},
		{"web-[0:2]", []string{"web-0", "web-1", "web-2"}},
		{"web-[7:7]", []string{"web-7"}},
		{"web-[1:9:2]", []string{"web-1", "web-3", "web-5", "web-7", "web-9"}},
		{"web-[1:10:4]", []string{"web-1", "web-5", "web-9"}},
		{"web-[00:20:10]", []string{"web-00", "web-10", "web-20"}},
		{"w[0000000000000000000000000008:10]", []string{"w0000000000000000000000000008", "w0000000000000000000000000009", "w0000000000000000000000000010"}},
		{"rack-[a:d]", []string{"rack-a", "rack-b", "rack-c", "rack-d"}},
		{"rack-[A:C]", []string{"rack-A", "rack-B", "rack-C"}},
		{"rack-[a:g:3]", []string{"rack-a", "rack-d", "rack-g"}},
		{"rack-[a:z:9223372036854775807]", []string{"rack-a"}},
		{"rack-[a:a]", []string{"rack-a"}},
		{"r[1:2]-[a:b]", []string{"r1-a", "r1-b", "r2-a", "r2-b"}},
		{"[1:2][1:2][1:2]", []string{"111", "112", "121", "122", "211", "212", "221", "222"}},
		{"dc[1:2].web-[01:03]", []string{"dc1.web-01", "dc1.web-02", "dc1.web-03", "dc2.web-01", "dc2.web-02", "dc2.web-03"}},
		{"web-[1:100000]", seq("web-%d", 1, 100000, 1)},
		// Near the largest int, counting up must not wrap around.
		{"x[9223372036854775806:9223372036854775807]", []string{"x9223372036854775806", "x9223372036854775807"}},
		{"x[9223372036854775800:9223372036854775807:5]", []string{"x9223372036854775800", "x9223372036854775805"}},
	}
	for _, tt := range tests {
		got, err := Expand(tt.pattern)
		if err != nil {
			t.Errorf("Expand(%q): %v", tt.pattern, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Expand(%q) = %s, want %s", tt.pattern, short(got), short(tt.want))
		}
	}
}

func short(s []string) string {
	if len(s) > 8 {
		return fmt.Sprintf("%q … %q (%d names)", s[:3], s[len(s)-3:], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func TestExpandErrors(t *testing.T) {
	tests := []struct {
		pattern, want string
	}{
		{"web-[:]", `range [:] in "web-[:]": the range is empty: give both a start and an end`},
		{"web-[1:]", `range [1:] in "web-[1:]": the range is empty: give both a start and an end`},
		{"web-[:5]", `range [:5] in "web-[:5]": the range is empty: give both a start and an end`},
		{"web-[]", `range [] in "web-[]": write it as [start:end] or [start:end:step]`},
		{"web-[5]", `range [5] in "web-[5]": write it as [start:end] or [start:end:step]`},
		{"web-[1:2:3:4]", `range [1:2:3:4] in "web-[1:2:3:4]": write it as [start:end] or [start:end:step]`},
		{"web-[5:1]", `range [5:1] in "web-[5:1]": the range is inverted: 5 is greater than 1`},
		{"web-[10:09]", `range [10:09] in "web-[10:09]": the range is inverted: 10 is greater than 09`},
		{"web-[z:a]", `range [z:a] in "web-[z:a]": the range is inverted: z comes after a`},
		{"web-[1:5:0]", `range [1:5:0] in "web-[1:5:0]": the step "0" must be a whole number of 1 or more`},
		{"web-[1:5:-1]", `range [1:5:-1] in "web-[1:5:-1]": the step "-1" must be a whole number of 1 or more`},
		{"web-[1:5:x]", `range [1:5:x] in "web-[1:5:x]": the step "x" must be a whole number of 1 or more`},
		{"web-[1:e]", `range [1:e] in "web-[1:e]": start and end must both be numbers (01:40) or both single letters (a:f)`},
		{"web-[-1:5]", `range [-1:5] in "web-[-1:5]": start and end must both be numbers (01:40) or both single letters (a:f)`},
		{"web-[+1:5]", `range [+1:5] in "web-[+1:5]": start and end must both be numbers (01:40) or both single letters (a:f)`},
		{"web-[aa:bb]", `range [aa:bb] in "web-[aa:bb]": start and end must both be numbers (01:40) or both single letters (a:f)`},
		{"web-[1:99999999999999999999]", `range [1:99999999999999999999] in "web-[1:99999999999999999999]": start and end must both be numbers (01:40) or both single letters (a:f)`},
		{"web-[A:z]", `range [A:z] in "web-[A:z]": the letters A and z differ in case: write [a:f] or [A:F]`},
		{"web-[a:Z]", `range [a:Z] in "web-[a:Z]": the letters a and Z differ in case: write [a:f] or [A:F]`},
		{"web-[1:5", `"web-[1:5" has a [ without a matching ]`},
		{"a]b[1:2]", `"a]b[1:2]" has a ] without a matching [`},
		{"x[1:2]a]b[1:2]", `"x[1:2]a]b[1:2]" has a ] without a matching [`},
		{"r[1:2]-[x:a]", `range [x:a] in "r[1:2]-[x:a]": the range is inverted: x comes after a`},
		{"r[1:2]-[1:2", `"r[1:2]-[1:2" has a [ without a matching ]`},
		{"web-1:5]", `"web-1:5]" has a ] without a matching [`},
		{"a[1:2]b]", `"a[1:2]b]" has a ] without a matching [`},
		{"web-[0:100000]", `range [0:100000] in "web-[0:100000]": it holds more than 100000 hosts, the most one range may hold`},
		{"[0:9223372036854775807]", `range [0:9223372036854775807] in "[0:9223372036854775807]": it holds more than 100000 hosts, the most one range may hold`},
		{"[0:09223372036854775807]", `range [0:09223372036854775807] in "[0:09223372036854775807]": it holds more than 100000 hosts, the most one range may hold`},
		{"web-[1:1000]-[1:1000]", `"web-[1:1000]-[1:1000]" expands to more than 100000 hosts, the most one pattern may hold`},
		{"[0:99999][0:99999][0:99999][0:99999][0:99999]", `"[0:99999][0:99999][0:99999][0:99999][0:99999]" expands to more than 100000 hosts, the most one pattern may hold`},
	}
	for _, tt := range tests {
		got, err := Expand(tt.pattern)
		if err == nil {
			t.Errorf("Expand(%q) = %s, want error %q", tt.pattern, short(got), tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Expand(%q) error\n got %s\nwant %s", tt.pattern, err, tt.want)
		}
		if got != nil {
			t.Errorf("Expand(%q) returned names with its error", tt.pattern)
		}
	}
}
