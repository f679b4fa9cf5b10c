package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// maxExpansion bounds how many names one pattern may produce, so a typo such as
// web-[1:9999999] is an error rather than a machine that runs out of memory.
const maxExpansion = 100_000

// Expand turns a host pattern into names. Each bracketed part is a range:
// numeric "[01:40]" (the width of the start is kept, so 01..40 stay two digits),
// numeric with a step "[1:9:2]", or letters "[a:f]". Several ranges multiply out
// in order: "r[1:2]-[a:b]" is r1-a, r1-b, r2-a, r2-b. A name without brackets is
// itself. Errors say what is wrong with the range as the user wrote it.
func Expand(pattern string) ([]string, error) {
	open := strings.IndexByte(pattern, '[')
	if open < 0 {
		if strings.IndexByte(pattern, ']') >= 0 {
			return nil, fmt.Errorf("%q has a ] without a matching [", pattern)
		}
		return []string{pattern}, nil
	}
	end := strings.IndexByte(pattern[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf("%q has a [ without a matching ]", pattern)
	}
	end += open
	items, err := expandRange(pattern[open+1 : end])
	if err != nil {
		return nil, fmt.Errorf("range [%s] in %q: %w", pattern[open+1:end], pattern, err)
	}
	rest, err := Expand(pattern[end+1:])
	if err != nil {
		return nil, err
	}
	if len(items)*len(rest) > maxExpansion {
		return nil, fmt.Errorf("%q expands to %d hosts, more than the %d one pattern may hold", pattern, len(items)*len(rest), maxExpansion)
	}
	prefix := pattern[:open]
	out := make([]string, 0, len(items)*len(rest))
	for _, it := range items {
		for _, r := range rest {
			out = append(out, prefix+it+r)
		}
	}
	return out, nil
}

// expandRange expands the inside of one pair of brackets.
func expandRange(spec string) ([]string, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, fmt.Errorf("write it as [start:end] or [start:end:step]")
	}
	lo, hi := parts[0], parts[1]
	if lo == "" || hi == "" {
		return nil, fmt.Errorf("the range is empty: give both a start and an end")
	}
	step := 1
	if len(parts) == 3 {
		s, err := strconv.Atoi(parts[2])
		if err != nil || s < 1 {
			return nil, fmt.Errorf("the step %q must be a whole number of 1 or more", parts[2])
		}
		step = s
	}
	if isLetter(lo) && isLetter(hi) {
		if lo[0] > hi[0] {
			return nil, fmt.Errorf("the range is inverted: %s comes after %s", lo, hi)
		}
		var out []string
		for c := int(lo[0]); c <= int(hi[0]); c += step {
			out = append(out, string(rune(c)))
		}
		return out, nil
	}
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	if errA != nil || errB != nil || a < 0 || b < 0 || !isDigits(lo) || !isDigits(hi) {
		return nil, fmt.Errorf("start and end must both be numbers (01:40) or both single letters (a:f)")
	}
	if a > b {
		return nil, fmt.Errorf("the range is inverted: %s is greater than %s", lo, hi)
	}
	if (b-a)/step+1 > maxExpansion {
		return nil, fmt.Errorf("it holds %d hosts, more than the %d one range may hold", (b-a)/step+1, maxExpansion)
	}
	width := 0
	if len(lo) > 1 && lo[0] == '0' {
		width = len(lo)
	}
	// Count rather than compare i with b: near the largest int, i += step
	// would wrap around and never pass b.
	n := (b-a)/step + 1
	out := make([]string, 0, n)
	for k := range n {
		s := strconv.Itoa(a + k*step)
		if len(s) < width {
			s = strings.Repeat("0", width-len(s)) + s
		}
		out = append(out, s)
	}
	return out, nil
}

func isLetter(s string) bool {
	return len(s) == 1 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
