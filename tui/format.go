package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/rolloutconsole/rollout/inventory"
)

// ellipsis ends text cut to fit.
const ellipsis = "…"

// isASCII reports whether s is printable ASCII, one column per byte.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// width is how many columns s takes on screen, escape sequences excluded.
func width(s string) int {
	if isASCII(s) {
		return len(s)
	}
	return ansi.StringWidth(s)
}

// truncate cuts s to at most w columns, ending it with … when cut.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if isASCII(s) {
		if len(s) <= w {
			return s
		}
		return s[:w-1] + ellipsis
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, ellipsis)
}

// fit returns s cut or padded with spaces to exactly w columns.
func fit(s string, w int) string {
	s = truncate(s, w)
	if pad := w - width(s); pad > 0 {
		return s + strings.Repeat(" ", pad)
	}
	return s
}

// fitRight returns s cut or padded on the left to exactly w columns.
func fitRight(s string, w int) string {
	s = truncate(s, w)
	if pad := w - width(s); pad > 0 {
		return strings.Repeat(" ", pad) + s
	}
	return s
}

// spread puts left and right on one line of exactly w columns, right
// aligned to the edge; left is cut first when both do not fit.
func spread(left, right string, w int) string {
	rw := width(right)
	if rw >= w {
		return fit(right, w)
	}
	left = truncate(left, w-rw-1)
	return left + strings.Repeat(" ", w-width(left)-rw) + right
}

// dur writes a host's duration short: 850ms, 4.2s, 2m13s, 1h04m.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// clock writes an elapsed time as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// plural writes "1 host", "3 hosts".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "ch") || strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// hostList names hosts compactly in at most w columns: runs folded into
// ranges (web-[01:40]), a list too long for the space cut with ", …".
// Callers say how many hosts there are.
func hostList(hosts []string, w int) string {
	var b strings.Builder
	for i, h := range inventory.Fold(hosts) {
		sep := ", "
		if i == 0 {
			sep = ""
		}
		if i > 0 && width(b.String())+len(sep)+width(h)+3 > w {
			b.WriteString(", …")
			break
		}
		b.WriteString(sep + h)
	}
	return truncate(b.String(), w)
}
