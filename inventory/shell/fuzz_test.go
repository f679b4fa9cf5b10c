package shell

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// unquote reads a word made only of single-quoted parts and \' escapes, the
// two forms Quote writes, and reports whether the whole word was of that form.
// Anything else outside quotes (a bare character, $, a backquote, a space)
// would be read by the shell and fails the check.
func unquote(word string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(word); {
		switch {
		case word[i] == '\'':
			end := strings.IndexByte(word[i+1:], '\'')
			if end < 0 {
				return "", false
			}
			b.WriteString(word[i+1 : i+1+end])
			i += end + 2
		case strings.HasPrefix(word[i:], `\'`):
			b.WriteByte('\'')
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), word != ""
}

// FuzzParseRender checks Quote and templates with any text and any value:
// Quote's output is one word the POSIX rules read back as the value, a
// template with one placeholder renders to exactly its text around the quoted
// value, and Parse either accepts text or says where it stopped.
func FuzzParseRender(f *testing.F) {
	for _, v := range hostile {
		f.Add("echo {{.Host}}", "printf %s ", "; echo done", v)
	}
	f.Add("{{printf .Host}}", "", "", "")
	f.Add("{{.Host | printf}} }} {{", "'", "'", "it's")
	f.Add("a }} {{.Host}}", "\"", "\"", "$(id)")
	f.Add("{{ .Host }}{{.Service}}{{.X.Y}}", "x", "y", "\n")
	f.Add("rollback {{.Captured.version}} {{.Captured}} {{.Captured.a.b-c}}", "http://", ":8080/", "10.0.0.5")
	f.Fuzz(func(t *testing.T, text, before, after, value string) {
		q := Quote(value)
		if got, ok := unquote(q); !ok || got != value {
			t.Fatalf("Quote(%q) = %s reads back as %q (form ok: %v)", value, q, got, ok)
		}

		// One placeholder between two literals without braces: the value
		// appears only as the quoted word, and nowhere else.
		before = strings.NewReplacer("{", "", "}", "").Replace(before)
		after = strings.NewReplacer("{", "", "}", "").Replace(after)
		tmpl, err := Parse(before + "{{.Host}}" + after)
		if err != nil {
			t.Fatalf("Parse(%q): %v", before+"{{.Host}}"+after, err)
		}
		if got := tmpl.Fields(); !slices.Equal(got, []string{"Host"}) {
			t.Fatalf("fields %q", got)
		}
		out, err := tmpl.Render(func(name string) (string, bool) { return value, name == "Host" })
		if err != nil {
			t.Fatal(err)
		}
		if out != before+q+after {
			t.Fatalf("Render = %q, want %q", out, before+q+after)
		}
		// Expand inserts the value as it is, and nothing else.
		out, err = tmpl.Expand(func(name string) (string, bool) { return value, name == "Host" })
		if err != nil || out != before+value+after {
			t.Fatalf("Expand = %q, %v; want %q", out, err, before+value+after)
		}

		// Any text: parsed or refused with an offset into it.
		tmpl, err = Parse(text)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Offset < 0 || e.Offset >= len(text) || !strings.Contains(text, "{{") && !strings.Contains(text, "}}") {
				t.Fatalf("Parse(%q): %#v", text, err)
			}
			return
		}
		if tmpl.String() != text {
			t.Fatalf("String() = %q, want %q", tmpl.String(), text)
		}
		fields := tmpl.Fields()
		if len(fields) == 0 {
			if out, err := tmpl.Render(nil); err != nil || out != text {
				t.Fatalf("Render without placeholders = %q, %v", out, err)
			}
			return
		}
		out, err = tmpl.Render(func(string) (string, bool) { return value, true })
		if err != nil {
			t.Fatal(err)
		}
		if want := len(text) + len(fields)*len(q); len(out) > want {
			t.Fatalf("Render of %q is %d bytes, more than the text and %d quoted values", text, len(out), len(fields))
		}
		if _, err := tmpl.Render(func(string) (string, bool) { return "", false }); err == nil {
			t.Fatal("Render with no values did not fail")
		}
		if _, err := tmpl.Expand(func(string) (string, bool) { return "", false }); err == nil {
			t.Fatal("Expand with no values did not fail")
		}
		// With the fields' own names as values, Expand gives back a string
		// holding no more placeholders than the text had braces.
		out, err = tmpl.Expand(func(name string) (string, bool) { return name, true })
		if err != nil || len(out) > len(text) {
			t.Fatalf("Expand with names = %q, %v: longer than %q", out, err, text)
		}
	})
}
