// Package diag holds the positioned errors that every parser of a user's file
// reports: file, line, column, what is wrong and, where it helps, what to do.
//
// Parsers collect every problem they find into a List rather than stopping at
// the first, so an engineer fixes a file in one pass instead of one error per run.
package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a user's file, at a 1-based line and column.
// Line and Col are 0 when the problem concerns the whole file (it is missing,
// or it is a directory).
type Error struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
	Msg  string `json:"message"`
	Hint string `json:"hint,omitempty"`
}

// Error renders the problem the way compilers do, so editors can jump to it:
// "file:line:col: message" followed by an indented hint line when there is one.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("\n\thint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Pos is a place in a file.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// String renders the position as "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// List is every problem found in one or more files. A nil or empty List is no
// error; use Err to turn a List into an error value.
type List []*Error

// Add records a problem at pos in file.
func (l *List) Add(file string, pos Pos, hint, format string, args ...any) {
	*l = append(*l, &Error{File: file, Line: pos.Line, Col: pos.Col, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// Error renders every problem, one per line, in file order.
func (l List) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Sort orders the problems by file, line and column, dropping exact duplicates,
// so reports read top to bottom like the file.
func (l *List) Sort() {
	slices.SortStableFunc(*l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	*l = slices.CompactFunc(*l, func(a, b *Error) bool { return *a == *b })
}

// Err returns the sorted List as an error, or nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}
