// Package shell quotes values for POSIX sh and expands the {{.Name}}
// placeholders of the commands in a change file.
//
// Placeholders are deliberately not Go templates: a template language can
// slice, print or concatenate a quoted value and so undo its quoting. Here the
// only thing a placeholder can do is insert one value, always single-quoted,
// so no value — whatever quotes, $(), backticks or newlines it holds — can run
// as a command.
//
// The same placeholders appear in strings no shell reads (a check's URL, a
// host:port, a PromQL query); Expand fills those in verbatim.
package shell

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Quote returns s as one single-quoted POSIX sh word, for example
//
//	web-1     ->  'web-1'
//	it's      ->  'it'\''s'
//	(empty)   ->  ''
//
// Every value is quoted, even one that would be safe bare, so what a
// placeholder inserts is always one literal word: the shell expands nothing
// inside single quotes, and a single quote in s ends the quoting only to
// insert an escaped quote (\') and start it again.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Template is a command with {{.Name}} placeholders, parsed once.
type Template struct {
	text  string
	parts []part
}

type part struct {
	literal string
	field   string // set for a placeholder
}

var placeholder = regexp.MustCompile(`\{\{\s*\.([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_][A-Za-z0-9_.-]*)?)\s*\}\}`)

// Error is a placeholder problem at a byte offset into the command.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Parse parses a command. Anything that opens with {{ but is not a plain
// {{.Name}} placeholder is an error: there are no functions or pipelines.
func Parse(text string) (*Template, error) {
	t := &Template{text: text}
	rest, off := text, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if j := strings.Index(rest, "}}"); j >= 0 {
				return nil, &Error{Offset: off + j, Msg: "}} without a matching {{"}
			}
			if rest != "" {
				t.parts = append(t.parts, part{literal: rest})
			}
			return t, nil
		}
		if j := strings.Index(rest[:i], "}}"); j >= 0 {
			return nil, &Error{Offset: off + j, Msg: "}} without a matching {{"}
		}
		loc := placeholder.FindStringSubmatchIndex(rest[i:])
		if loc == nil || loc[0] != 0 {
			end := strings.Index(rest[i:], "}}")
			shown := rest[i:]
			if end >= 0 {
				shown = rest[i : i+end+2]
			}
			return nil, &Error{Offset: off + i, Msg: fmt.Sprintf("%q is not a placeholder: write {{.Name}}, such as {{.Host}}", shorten(shown))}
		}
		if i > 0 {
			t.parts = append(t.parts, part{literal: rest[:i]})
		}
		t.parts = append(t.parts, part{field: rest[i+loc[2] : i+loc[3]]})
		rest, off = rest[i+loc[1]:], off+i+loc[1]
	}
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Fields lists the placeholders in the order they appear, each as written
// after its dot: {{.Host}} is "Host", and a dotted placeholder is one name,
// so {{.Captured.version}} is "Captured.version".
func (t *Template) Fields() []string {
	var out []string
	for _, p := range t.parts {
		if p.field != "" {
			out = append(out, p.field)
		}
	}
	return out
}

// String is the command as written.
func (t *Template) String() string { return t.text }

// Render substitutes every placeholder with its value from lookup, quoted.
// A placeholder lookup does not know is an error naming it.
func (t *Template) Render(lookup func(name string) (string, bool)) (string, error) {
	return t.fill(lookup, Quote)
}

// Expand substitutes every placeholder with its value from lookup verbatim:
// nothing is quoted. It is for strings that no shell reads — a URL, a
// host:port address, a PromQL query — where quotes would be part of the
// value. Never pass its result to a shell: a command is built with Render,
// which quotes every value. A placeholder lookup does not know is an error
// naming it.
func (t *Template) Expand(lookup func(name string) (string, bool)) (string, error) {
	return t.fill(lookup, func(v string) string { return v })
}

// fill writes the template with each placeholder's value passed through put.
func (t *Template) fill(lookup func(name string) (string, bool), put func(string) string) (string, error) {
	var b strings.Builder
	b.Grow(len(t.text) + 16)
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.literal)
			continue
		}
		v, ok := lookup(p.field)
		if !ok {
			return "", fmt.Errorf("{{.%s}} has no value here", p.field)
		}
		b.WriteString(put(v))
	}
	return b.String(), nil
}

// MarshalJSON renders the template as the command text it was parsed from.
func (t *Template) MarshalJSON() ([]byte, error) { return json.Marshal(t.text) }
