// Package diagtest checks parsers' positioned errors in tests: each expected
// problem at its line, at the column of a word on that line, with its exact
// message and a piece of its hint. The inventory and change parsers share it.
package diagtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// Want is one expected problem. The column is given as the text it points
// at on that line (near), so each case reads as "line 3, at the word test"
// and stays right when the input is edited; col, when set, is checked as well.
type Want struct {
	Line int
	Near string // the problem's column is where this text starts on line
	Col  int    // if not 0, the column, independently of near
	Msg  string // the exact message
	Hint string // a substring of the hint; "" means the hint is not checked
}

// List returns err as the diag.List every parser promises, failing the
// test when it is anything else.
func List(t *testing.T, err error) diag.List {
	t.Helper()
	var l diag.List
	if !errors.As(err, &l) {
		t.Fatalf("error is %T, want diag.List: %v", err, err)
	}
	return l
}

// Check asserts that err holds exactly want, in order, each at its line
// and column with its message and hint.
func Check(t *testing.T, file, src string, err error, want []Want) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %d", len(want))
	}
	got := List(t, err)
	lines := strings.Split(src, "\n")
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(want), got)
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if w.Line < 1 || w.Line > len(lines) {
			t.Fatalf("test case: line %d is not in the input", w.Line)
		}
		col := w.Col
		if w.Near != "" {
			c := strings.Index(lines[w.Line-1], w.Near)
			if c < 0 {
				t.Fatalf("test case: %q is not on line %d: %q", w.Near, w.Line, lines[w.Line-1])
			}
			if col != 0 && col != c+1 {
				t.Fatalf("test case: col %d disagrees with %q at col %d", col, w.Near, c+1)
			}
			col = c + 1
		}
		if g.File != file || g.Line != w.Line || g.Col != col || g.Msg != w.Msg {
			t.Errorf("problem %d:\n got %s:%d:%d: %s\nwant %s:%d:%d: %s", i+1, g.File, g.Line, g.Col, g.Msg, file, w.Line, col, w.Msg)
		}
		if w.Hint != "" && !strings.Contains(g.Hint, w.Hint) {
			t.Errorf("problem %d (%s): hint %q does not contain %q", i+1, g.Msg, g.Hint, w.Hint)
		}
	}
}
