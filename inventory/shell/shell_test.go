package shell

import (
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// hostile are values that would run something, split into words, expand or
// read as an option if a placeholder inserted them without quoting.
var hostile = []string{
	"",
	"web-1",
	"it's",
	"''",
	`'\''`,
	`"double"`,
	`$(reboot)`,
	"`id`",
	"$HOME ${HOME} $1 $@ $$",
	"a\nb",
	"line\n",
	"\n",
	"tab\there",
	"  spaces  around  ",
	"ünïcødé ☃ 日本",
	"-n",
	"--",
	"-e \\n",
	`\`,
	`\\'\`,
	"*",
	"~",
	"~root/x",
	"a;b&&c||d|e",
	"> /tmp/x < /etc/passwd",
	"<(echo x)",
	"{a,b}",
	"!!",
	"#not a comment",
	"%s %d %%",
	"\x01\x7f\xff",
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"web-1", "'web-1'"},
		{"web-01.example.com", "'web-01.example.com'"},
		{"it's", `'it'\''s'`},
		{"'", `''\'''`},
		{"$(x)", "'$(x)'"},
		{"a b", "'a b'"},
		{"-rf", "'-rf'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestQuoteThroughShell runs every hostile value through a real POSIX shell
// and checks that it comes out as it went in: one word, nothing expanded.
func TestQuoteThroughShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh on PATH: %v", err)
	}
	values := slices.Clone(hostile)
	// Every byte but NUL, which no argument can hold.
	var all []byte
	for b := 1; b < 256; b++ {
		all = append(all, byte(b))
	}
	values = append(values, string(all))
	for _, v := range values {
		// printf %s prints its one argument as is; a second word would be
		// printed too, so splitting shows as well as expansion does.
		out, err := exec.Command(sh, "-c", "printf %s "+Quote(v)).Output()
		if err != nil {
			t.Errorf("sh -c 'printf %%s %s': %v", Quote(v), err)
			continue
		}
		if string(out) != v {
			t.Errorf("value %q came back from sh as %q", v, out)
		}
		// As one argument among others: the word count must be exact.
		out, err = exec.Command(sh, "-c", `set -- x `+Quote(v)+` y; printf '%s|' "$#" "$@"`).Output()
		if err != nil {
			t.Errorf("counting words of %s: %v", Quote(v), err)
			continue
		}
		if want := "3|x|" + v + "|y|"; string(out) != want {
			t.Errorf("value %q: sh saw %q, want %q", v, out, want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		text   string
		fields []string
	}{
		{"systemctl restart nginx", nil},
		{"", nil},
		{"echo {{.Host}}", []string{"Host"}},
		{"{{.Host}}", []string{"Host"}},
		{"{{ .Host }}", []string{"Host"}},
		{"promote {{.Promote}} --demote {{.Demote}} on {{.Host}}", []string{"Promote", "Demote", "Host"}},
		{"a{{.Host}}{{.Service}}b", []string{"Host", "Service"}},
		{"awk '{print $1}' /etc/hosts; echo ${HOME} {a,b}", nil},
		{"echo {{.Host}}}", []string{"Host"}},
		// A dotted placeholder is one name, dots and all: the change parser
		// reads "Captured.NAME" as the capture NAME, and refuses any other.
		{"echo {{.Captured.version}}", []string{"Captured.version"}},
		{"{{ .Captured.v_2 }} {{.Captured._x}} {{.Captured.9}}", []string{"Captured.v_2", "Captured._x", "Captured.9"}},
		{"{{.Captured}}", []string{"Captured"}},
		{"{{.Captured.a.b-c}}", []string{"Captured.a.b-c"}},
		{"{{.Host.Name}}", []string{"Host.Name"}},
	}
	for _, tt := range tests {
		tmpl, err := Parse(tt.text)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.text, err)
			continue
		}
		if got := tmpl.Fields(); !slices.Equal(got, tt.fields) {
			t.Errorf("Parse(%q).Fields() = %q, want %q", tt.text, got, tt.fields)
		}
		if tmpl.String() != tt.text {
			t.Errorf("String() = %q, want %q", tmpl.String(), tt.text)
		}
	}
}

// TestParseRejects checks that anything opening with {{ but not a plain
// {{.Name}} is refused: no functions, pipelines, variables or comments.
func TestParseRejects(t *testing.T) {
	notPlaceholder := func(s string) string {
		return `"` + s + `" is not a placeholder: write {{.Name}}, such as {{.Host}}`
	}
	tests := []struct {
		text   string
		offset int
		msg    string
	}{
		{"echo {{printf .Host}}", 5, notPlaceholder("{{printf .Host}}")},
		{"echo {{printf \"%s\" .Host}}", 5, `"{{printf \"%s\" .Host}}" is not a placeholder: write {{.Name}}, such as {{.Host}}`},
		{"echo {{.Host | printf}}", 5, notPlaceholder("{{.Host | printf}}")},
		{"echo {{slice .Host 1}}", 5, notPlaceholder("{{slice .Host 1}}")},
		{"{{.}}", 0, notPlaceholder("{{.}}")},
		{"{{Host}}", 0, notPlaceholder("{{Host}}")},
		{"{{}}", 0, notPlaceholder("{{}}")},
		{"{{ }}", 0, notPlaceholder("{{ }}")},
		{"{{$x := .Host}}", 0, notPlaceholder("{{$x := .Host}}")},
		{"{{- .Host}}", 0, notPlaceholder("{{- .Host}}")},
		{"{{.Host -}}", 0, notPlaceholder("{{.Host -}}")},
		{"{{/* comment */}}", 0, notPlaceholder("{{/* comment */}}")},
		{"{{.1st}}", 0, notPlaceholder("{{.1st}}")},
		{"{{.Captured.}}", 0, notPlaceholder("{{.Captured.}}")},
		{"{{.Captured..x}}", 0, notPlaceholder("{{.Captured..x}}")},
		{"{{.Captured.-x}}", 0, notPlaceholder("{{.Captured.-x}}")},
		{"{{._x}}", 0, notPlaceholder("{{._x}}")},
		{"{{{.Host}}", 0, notPlaceholder("{{{.Host}}")},
		{"ok {{.Host}} then {{.Host", 18, notPlaceholder("{{.Host")},
		{"echo {{ .Host }} {{ if .Host }}x{{ end }}", 17, notPlaceholder("{{ if .Host }}")},
		{"echo }}", 5, "}} without a matching {{"},
		{"a }} {{.Host}}", 2, "}} without a matching {{"},
		{"{{.Host}} }}", 10, "}} without a matching {{"},
		{"{{" + strings.Repeat("x", 60) + "}}", 0, `"{{` + strings.Repeat("x", 38) + `…" is not a placeholder: write {{.Name}}, such as {{.Host}}`},
	}
	for _, tt := range tests {
		tmpl, err := Parse(tt.text)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", tt.text, tmpl.Fields())
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q): error is %T", tt.text, err)
			continue
		}
		if e.Offset != tt.offset || e.Msg != tt.msg || err.Error() != tt.msg {
			t.Errorf("Parse(%q):\n got offset %d: %s\nwant offset %d: %s", tt.text, e.Offset, e.Msg, tt.offset, tt.msg)
		}
		if tmpl != nil {
			t.Errorf("Parse(%q) returned a template with its error", tt.text)
		}
	}
}

func TestRender(t *testing.T) {
	tmpl, err := Parse("promote {{.Promote}} --demote {{ .Demote }}; echo done")
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"Promote": "web-b", "Demote": "it's; reboot"}
	lookup := func(name string) (string, bool) { v, ok := values[name]; return v, ok }
	got, err := tmpl.Render(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if want := `promote 'web-b' --demote 'it'\''s; reboot'; echo done`; got != want {
		t.Errorf("Render = %s, want %s", got, want)
	}

	tmpl, err = Parse("echo {{.Host}} {{.Nope}}")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tmpl.Render(lookup); err == nil || err.Error() != "{{.Host}} has no value here" || got != "" {
		t.Errorf("Render with a missing value = %q, %v", got, err)
	}

	data, err := json.Marshal(struct{ Run *Template }{tmpl})
	if err != nil || string(data) != `{"Run":"echo {{.Host}} {{.Nope}}"}` {
		t.Errorf("JSON: %s, %v", data, err)
	}
}

// TestRenderThroughShell checks that every hostile value reaches the command
// as exactly one argument, whatever it holds.
func TestRenderThroughShell(t *testing.T) {
	tmpl, err := Parse(`printf '%s|' "$#" {{.Host}} x{{.Service}}y`)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range hostile {
		cmd, err := tmpl.Render(func(string) (string, bool) { return v, true })
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sh", "-c", cmd).Output()
		if err != nil {
			t.Errorf("sh -c %q: %v", cmd, err)
			continue
		}
		if want := "0|" + v + "|x" + v + "y|"; string(out) != want {
			t.Errorf("value %q: sh printed %q, want %q", v, out, want)
		}
	}
}

// TestExpand checks that Expand inserts values as they are, quotes and all,
// for the strings no shell reads, and refuses a placeholder it has no value for.
func TestExpand(t *testing.T) {
	tmpl, err := Parse("http://{{.Address}}:8080/health?host={{ .Host }}&v={{.Captured.version}}")
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"Address": "10.0.0.5", "Host": "web-1", "Captured.version": "it's 1.2"}
	lookup := func(name string) (string, bool) { v, ok := values[name]; return v, ok }
	got, err := tmpl.Expand(lookup)
	if want := "http://10.0.0.5:8080/health?host=web-1&v=it's 1.2"; err != nil || got != want {
		t.Errorf("Expand = %q, %v; want %q", got, err, want)
	}
	// The same template through Render quotes each value, which is what a
	// URL must not get.
	if got, _ := tmpl.Render(lookup); got != `http://'10.0.0.5':8080/health?host='web-1'&v='it'\''s 1.2'` {
		t.Errorf("Render = %q", got)
	}

	for _, v := range hostile {
		tmpl, err := Parse(`up{instance="{{.Host}}"}`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tmpl.Expand(func(string) (string, bool) { return v, true })
		if want := `up{instance="` + v + `"}`; err != nil || got != want {
			t.Errorf("Expand with %q = %q, %v; want %q", v, got, err, want)
		}
	}

	tmpl, err = Parse("{{.Address}}:{{.Port}}")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tmpl.Expand(lookup); err == nil || err.Error() != "{{.Port}} has no value here" || got != "" {
		t.Errorf("Expand with a missing value = %q, %v", got, err)
	}
	tmpl, err = Parse("localhost:5432")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tmpl.Expand(nil); err != nil || got != "localhost:5432" {
		t.Errorf("Expand without placeholders = %q, %v", got, err)
	}
}
