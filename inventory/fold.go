package inventory

import (
	"strconv"
	"strings"
)

// Fold is the inverse of Expand for display: runs of names that differ only
// in their last number, counting up by one, become one range, so
// web-03 … web-40 reads "web-[03:40]". Order is kept; names that do not fold
// stay as they are.
func Fold(names []string) []string {
	var out []string
	for i := 0; i < len(names); {
		pre, num, suf, ok := splitNumber(names[i])
		j := i + 1
		if ok {
			n, _ := strconv.Atoi(num)
			for j < len(names) {
				p2, num2, s2, ok2 := splitNumber(names[j])
				n2, _ := strconv.Atoi(num2)
				if !ok2 || p2 != pre || s2 != suf || n2 != n+(j-i) || !sameWidth(num, num2) {
					break
				}
				j++
			}
		}
		if j-i >= 2 {
			_, last, _, _ := splitNumber(names[j-1])
			out = append(out, pre+"["+num+":"+last+"]"+suf)
		} else {
			out = append(out, names[i])
		}
		i = j
	}
	return out
}

// sameWidth reports whether two numbers were written with the same padding.
func sameWidth(a, b string) bool {
	padded := func(s string) bool { return len(s) > 1 && s[0] == '0' }
	if padded(a) || padded(b) {
		return len(a) == len(b)
	}
	return true
}

// splitNumber splits a name around its last run of digits.
func splitNumber(name string) (prefix, num, suffix string, ok bool) {
	end := strings.LastIndexAny(name, "0123456789")
	if end < 0 {
		return "", "", "", false
	}
	start := end
	for start > 0 && name[start-1] >= '0' && name[start-1] <= '9' {
		start--
	}
	if end-start > 8 {
		return "", "", "", false
	}
	return name[:start], name[start : end+1], name[end+1:], true
}
