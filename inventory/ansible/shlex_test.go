package ansible

import (
	"reflect"
	"testing"
)

// TestSplitShell: lines split as Python's shlex.split(line, comments=True)
// splits them; the expected words were checked against Python 3.
func TestSplitShell(t *testing.T) {
	tests := []struct {
		in    string
		words []string
		offs  []int
		err   string
	}{
		{in: "", words: nil},
		{in: "  a  b\tc ", words: []string{"a", "b", "c"}, offs: []int{2, 5, 7}},
		{in: `a='b c' d="e \"f\" \g"`, words: []string{"a=b c", `d=e "f" \g`}, offs: []int{0, 8}},
		{in: `a\ b c\"d`, words: []string{"a b", `c"d`}},
		{in: "a # comment", words: []string{"a"}},
		{in: "a#b c", words: []string{"a"}},
		{in: "'a#b' c", words: []string{"a#b", "c"}},
		{in: `x="'03#pa33w0rd'"`, words: []string{"x='03#pa33w0rd'"}},
		{in: `''`, words: []string{""}},
		{in: `a 'b`, err: "no closing quotation"},
		{in: `a "b\"`, err: "no closing quotation"},
		{in: `a\`, err: `no escaped character after \`},
	}
	for _, tt := range tests {
		words, err := splitShell(tt.in)
		if tt.err != "" {
			if err == nil || err.msg != tt.err {
				t.Errorf("splitShell(%q): error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("splitShell(%q): %v", tt.in, err.msg)
			continue
		}
		var got []string
		var offs []int
		for _, w := range words {
			got = append(got, w.text)
			offs = append(offs, w.off)
		}
		if !reflect.DeepEqual(got, tt.words) {
			t.Errorf("splitShell(%q) = %q, want %q", tt.in, got, tt.words)
		}
		if tt.offs != nil && !reflect.DeepEqual(offs, tt.offs) {
			t.Errorf("splitShell(%q) offsets %v, want %v", tt.in, offs, tt.offs)
		}
	}
}

// TestPyValue: values read as Ansible reads them through ast.literal_eval,
// a literal losing its quotes, anything else kept as written.
func TestPyValue(t *testing.T) {
	tests := []struct {
		in, want string
		null     bool
	}{
		{"deploy", "deploy", false},
		{" deploy ", "deploy", false},
		{"'a b'", "a b", false},
		{`"a\tb\\c\'d"`, "a\tb\\c'd", false},
		{`'a\qb'`, `a\qb`, false},
		{"'a' # comment", "a", false},
		{"'a' trailing", "'a' trailing", false},
		{"'unclosed", "'unclosed", false},
		{"22", "22", false},
		{"-1", "-1", false},
		{"1.5", "1.5", false},
		{"1.2.3.4", "1.2.3.4", false},
		{"23 # comment", "23", false},
		{"True", "True", false},
		{"False # no", "False", false},
		{"None", "", true},
		{"deploy # comment", "deploy # comment", false},
		{"[1, 2]", "[1, 2]", false},
		{"", "", false},
		{"22abc", "22abc", false},
	}
	for _, tt := range tests {
		got, null := pyValue(tt.in)
		if got != tt.want || null != tt.null {
			t.Errorf("pyValue(%q) = %q, %v; want %q, %v", tt.in, got, null, tt.want, tt.null)
		}
	}
}
