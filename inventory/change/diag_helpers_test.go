package change

import (
	"errors"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// wantErr is one expected problem. The column is given as the text it points
// at on that line (near), so each case reads as "line 3, at the word test"
// and stays right when the input is edited; col, when set, is checked as well.
type wantErr struct {
	line int
	near string // the problem's column is where this text starts on line
	col  int    // if not 0, the column, independently of near
	msg  string // the exact message
	hint string // a substring of the hint; "" means the hint is not checked
}

// diagList returns err as the diag.List every parser promises, failing the
// test when it is anything else.
func diagList(t *testing.T, err error) diag.List {
	t.Helper()
	var l diag.List
	if !errors.As(err, &l) {
		t.Fatalf("error is %T, want diag.List: %v", err, err)
	}
	return l
}

// checkErrs asserts that err holds exactly want, in order, each at its line
// and column with its message and hint.
func checkErrs(t *testing.T, file, src string, err error, want []wantErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %d", len(want))
	}
	got := diagList(t, err)
	lines := strings.Split(src, "\n")
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(want), got)
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if w.line < 1 || w.line > len(lines) {
			t.Fatalf("test case: line %d is not in the input", w.line)
		}
		col := w.col
		if w.near != "" {
			c := strings.Index(lines[w.line-1], w.near)
			if c < 0 {
				t.Fatalf("test case: %q is not on line %d: %q", w.near, w.line, lines[w.line-1])
			}
			if col != 0 && col != c+1 {
				t.Fatalf("test case: col %d disagrees with %q at col %d", col, w.near, c+1)
			}
			col = c + 1
		}
		if g.File != file || g.Line != w.line || g.Col != col || g.Msg != w.msg {
			t.Errorf("problem %d:\n got %s:%d:%d: %s\nwant %s:%d:%d: %s", i+1, g.File, g.Line, g.Col, g.Msg, file, w.line, col, w.msg)
		}
		if w.hint != "" && !strings.Contains(g.Hint, w.hint) {
			t.Errorf("problem %d (%s): hint %q does not contain %q", i+1, g.Msg, g.Hint, w.hint)
		}
	}
}
