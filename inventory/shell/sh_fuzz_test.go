package shell

import (
	"os/exec"
	"strings"
	"testing"
)

// FuzzRenderThroughShell places any value in a command and runs it through
// the real sh (and bash, where installed): the value must arrive as exactly
// one argument, byte for byte, however it is made — quotes, $(), backquotes,
// newlines, invalid UTF-8 — and nothing around it may run differently.
// (A value cannot hold NUL: no argv can.)
func FuzzRenderThroughShell(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	f.Add("'; touch /tmp/pwned; '")
	f.Add("\\'$(id)\\'")
	f.Add("\x1b]52;c;aGk=\x07")
	tmpl, err := Parse(`printf '%s|' "$#" {{.Host}} x{{.Service}}y; echo ok`)
	if err != nil {
		f.Fatal(err)
	}
	shells := []string{"sh"}
	if _, err := exec.LookPath("bash"); err == nil {
		shells = append(shells, "bash")
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsRune(v, 0) {
			t.Skip("an argument cannot hold NUL")
		}
		cmd, err := tmpl.Render(func(string) (string, bool) { return v, true })
		if err != nil {
			t.Fatal(err)
		}
		want := "0|" + v + "|x" + v + "y|ok\n"
		for _, sh := range shells {
			out, err := exec.Command(sh, "-c", cmd).Output()
			if err != nil {
				t.Fatalf("%s -c %q: %v", sh, cmd, err)
			}
			if string(out) != want {
				t.Fatalf("value %q: %s printed %q, want %q", v, sh, out, want)
			}
		}
	})
}
