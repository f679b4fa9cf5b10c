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
// itself. Errors name the whole pattern and say what is wrong with the range as
// the user wrote it.
func Expand(pattern string) ([]string, error) {
	// The pattern alternates literal text and ranges: lits[i] comes before
	// ranges[i], and lits has one more entry, the text after the last range.
	var lits []string
	var ranges []span
	total := 1
	for rest := pattern; ; {
		open := strings.IndexByte(rest, '[')
		lit := rest
		if open >= 0 {
			lit = rest[:open]
		}
		if strings.IndexByte(lit, ']') >= 0 {
			return nil, fmt.Errorf("%q has a ] without a matching [", pattern)
		}
		lits = append(lits, lit)
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], ']')
		if end < 0 {
			return nil, fmt.Errorf("%q has a [ without a matching ]", pattern)
		}
		spec := rest[open+1 : open+end]
		r, err := parseRange(spec)
		if err != nil {
			return nil, fmt.Errorf("range [%s] in %q: %w", spec, pattern, err)
		}
		// Each factor is at most maxExpansion, so this cannot overflow
		// before it is caught.
		if total *= r.n; total > maxExpansion {
			return nil, fmt.Errorf("%q expands to more than %d hosts, the most one pattern may hold", pattern, maxExpansion)
		}
		ranges = append(ranges, r)
		rest = rest[open+end+1:]
	}
	if len(ranges) == 0 {
		return []string{pattern}, nil
	}

	// Every name is written into one buffer and sliced out of it: two
	// allocations for the whole pattern rather than one or more per name.
	size := 0 // the longest a name can be: the literals and the widest items
	for i, r := range ranges {
		size += len(lits[i]) + r.maxLen()
	}
	size += len(lits[len(ranges)])
	var b strings.Builder
	b.Grow(total * size)
	ends := make([]int, 0, total)
	// Count through the ranges like an odometer, the last range fastest.
	idx := make([]int, len(ranges))
	var item [64]byte
	for {
		for i, r := range ranges {
			b.WriteString(lits[i])
			b.Write(r.appendItem(item[:0], idx[i]))
		}
		b.WriteString(lits[len(ranges)])
		ends = append(ends, b.Len())
		i := len(ranges) - 1
		for ; i >= 0; i-- {
			if idx[i]++; idx[i] < ranges[i].n {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			break
		}
	}
	all := b.String()
	out := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		out[i] = all[start:end]
		start = end
	}
	return out, nil
}

// span is one range of a pattern: n items, item k being first+k*step,
// written as a number zero-padded to width, or as a letter.
type span struct {
	first, step, n, width int
	letters               bool
}

// appendItem appends item k of the range to dst.
func (r span) appendItem(dst []byte, k int) []byte {
	v := r.first + k*r.step
	if r.letters {
		return append(dst, byte(v))
	}
	var num [20]byte
	digits := strconv.AppendInt(num[:0], int64(v), 10)
	for range r.width - len(digits) {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}

// maxLen is the length of the range's longest item.
func (r span) maxLen() int {
	if r.letters {
		return 1
	}
	var num [20]byte
	return max(r.width, len(strconv.AppendInt(num[:0], int64(r.first+(r.n-1)*r.step), 10)))
}

// parseRange reads the inside of one pair of brackets.
func parseRange(spec string) (span, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return span{}, fmt.Errorf("write it as [start:end] or [start:end:step]")
	}
	lo, hi := parts[0], parts[1]
	if lo == "" || hi == "" {
		return span{}, fmt.Errorf("the range is empty: give both a start and an end")
	}
	step := 1
	if len(parts) == 3 {
		s, err := strconv.Atoi(parts[2])
		if err != nil || s < 1 {
			return span{}, fmt.Errorf("the step %q must be a whole number of 1 or more", parts[2])
		}
		step = s
	}
	if isLetter(lo) && isLetter(hi) {
		// Between Z and a come [ \ ] ^ _ and `, which no host name holds.
		if isUpper(lo[0]) != isUpper(hi[0]) {
			return span{}, fmt.Errorf("the letters %s and %s differ in case: write [a:f] or [A:F]", lo, hi)
		}
		if lo[0] > hi[0] {
			return span{}, fmt.Errorf("the range is inverted: %s comes after %s", lo, hi)
		}
		// Items are counted, not stepped through: c += step would wrap
		// around for a huge step.
		return span{first: int(lo[0]), step: step, n: int(hi[0]-lo[0])/step + 1, letters: true}, nil
	}
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	if errA != nil || errB != nil || a < 0 || b < 0 || !isDigits(lo) || !isDigits(hi) {
		return span{}, fmt.Errorf("start and end must both be numbers (01:40) or both single letters (a:f)")
	}
	if a > b {
		return span{}, fmt.Errorf("the range is inverted: %s is greater than %s", lo, hi)
	}
	// (b-a)/step+1 would overflow for [0:9223372036854775807]; compare
	// without the +1.
	if (b-a)/step >= maxExpansion {
		return span{}, fmt.Errorf("it holds more than %d hosts, the most one range may hold", maxExpansion)
	}
	width := 0
	if len(lo) > 1 && lo[0] == '0' {
		width = len(lo)
	}
	return span{first: a, step: step, n: (b-a)/step + 1, width: width}, nil
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

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
