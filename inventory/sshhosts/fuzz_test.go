package sshhosts

import (
	"errors"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/diag"
)

// FuzzAliases checks that no config crashes Aliases or Select, that every
// alias is a concrete name placed in the file, and that Select returns only
// valid host names that its pattern matches, or placed problems.
func FuzzAliases(f *testing.F) {
	f.Add([]byte(config), "web-*")
	f.Add([]byte("Host=a\nHost = \"b c\" !d e* ?\n  HOST\tf # g\n#Host h\n"), "*,!a")
	f.Add([]byte("Host \"unclosed\nHost é ü\n"), "?")
	f.Add([]byte("Match host x\nHost\n=\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, pattern string) {
		// Include reads other files; a fuzzer must not read /dev/zero.
		if strings.Contains(strings.ToLower(string(data)), "include") {
			return
		}
		aliases, err := Aliases("ssh_config", data, Options{IncludeDir: "/nonexistent"})
		if err != nil {
			t.Fatalf("Aliases without Include: %v", err)
		}
		seen := map[string]bool{}
		for _, a := range aliases {
			if a.Name == "" || strings.ContainsAny(a.Name, "*?") || a.Name[0] == '!' || seen[a.Name] ||
				a.File != "ssh_config" || a.Pos.Line < 1 || a.Pos.Col < 1 {
				t.Fatalf("alias %+v", a)
			}
			seen[a.Name] = true
		}
		names, err := Select("ssh_config", aliases, pattern)
		if (names == nil) == (err == nil) {
			t.Fatalf("Select returned %q and %v", names, err)
		}
		if err != nil {
			var l diag.List
			if !errors.As(err, &l) || len(l) == 0 {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		for _, n := range names {
			if !seen[n] || !inventory.ValidHostName(n) {
				t.Fatalf("selected %q", n)
			}
		}
	})
}
