package sshhosts

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

const config = `# my hosts
Host *
  ServerAliveInterval 30

Host web-1 web-2 !web-3 web-*.example.com
  User deploy
host=web-3
Host = "web-4" web-5 # the new ones
  HostName 10.0.0.5
HOST	db-1	db-?
Match host web-* exec "true"
  Port 2222
Host web-1 bastion
`

// TestAliases: the concrete aliases, in file order, once each, placed.
func TestAliases(t *testing.T) {
	got, err := Aliases("ssh_config", []byte(config), Options{IncludeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := []Alias{
		{"web-1", "ssh_config", diag.Pos{Line: 5, Col: 6}},
		{"web-2", "ssh_config", diag.Pos{Line: 5, Col: 12}},
		{"web-3", "ssh_config", diag.Pos{Line: 7, Col: 6}},
		{"web-4", "ssh_config", diag.Pos{Line: 8, Col: 8}},
		{"web-5", "ssh_config", diag.Pos{Line: 8, Col: 16}},
		{"db-1", "ssh_config", diag.Pos{Line: 10, Col: 6}},
		{"bastion", "ssh_config", diag.Pos{Line: 13, Col: 12}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Aliases:\n got %v\nwant %v", got, want)
	}
}

// TestSelect: ssh's pattern lists pick aliases, in file order.
func TestSelect(t *testing.T) {
	aliases, err := Aliases("ssh_config", []byte(config), Options{IncludeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pattern string
		want    []string
		err     string
		hint    string
	}{
		{pattern: "web-*", want: []string{"web-1", "web-2", "web-3", "web-4", "web-5"}},
		{pattern: "WEB-?", want: []string{"web-1", "web-2", "web-3", "web-4", "web-5"}},
		{pattern: "web-*,!web-3", want: []string{"web-1", "web-2", "web-4", "web-5"}},
		{pattern: " db-1 , bastion ", want: []string{"db-1", "bastion"}},
		{pattern: "*", want: []string{"web-1", "web-2", "web-3", "web-4", "web-5", "db-1", "bastion"}},
		{pattern: "api-*", err: `ssh_config: no Host alias matches "api-*"`, hint: "aliases: web-1, web-2, web-3, web-4, web-5, db-1, bastion"},
		{pattern: "!web-1", err: `ssh_config: pattern "!web-1" selects no host`, hint: "not negated"},
		{pattern: "", err: `ssh_config: pattern "" selects no host`},
	}
	for _, tt := range tests {
		got, err := Select("ssh_config", aliases, tt.pattern)
		if tt.err != "" {
			var l diag.List
			if !errors.As(err, &l) || len(l) != 1 || !strings.HasPrefix(l.Error(), tt.err) || !strings.Contains(l[0].Hint, tt.hint) {
				t.Errorf("Select(%q): error %v, want %q with hint %q", tt.pattern, err, tt.err, tt.hint)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Select(%q) = %q, %v; want %q", tt.pattern, got, err, tt.want)
		}
	}
}

// TestSelectInvalidName: an alias that matches but could not be a host
// name is an error at the alias, not a host quietly left out.
func TestSelectInvalidName(t *testing.T) {
	src := "Host web-1 web-$x \"web 2\"\n"
	aliases, err := Aliases("ssh_config", []byte(src), Options{IncludeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Select("ssh_config", aliases, "web*")
	var l diag.List
	if !errors.As(err, &l) || len(l) != 2 {
		t.Fatalf("error %v, want two problems", err)
	}
	for i, want := range []string{
		`ssh_config:1:12: host alias "web-$x" matches "web*" but is not a valid host name`,
		`ssh_config:1:19: host alias "web 2" matches "web*" but is not a valid host name`,
	} {
		if got := l[i].Error(); !strings.HasPrefix(got, want+"\n\thint: a host name is") {
			t.Errorf("problem %d: %q, want %q", i+1, got, want)
		}
	}
}

// TestAliasesInclude: Include is followed where it stands, relative paths
// from IncludeDir, globs in name order; a glob that matches nothing is fine.
func TestAliasesInclude(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("config.d/20-db", "Host db-1\n")
	write("config.d/10-web", "Host web-1 web-2\n  Include nested\n") // from IncludeDir, as ssh does
	write("nested", "Host nested-1\n")
	abs := write("abs", "Host abs-1\n")
	main := "Host first\nInclude config.d/* missing/*\nInclude " + abs + "\nHost last\n"
	got, err := Aliases("config", []byte(main), Options{IncludeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range got {
		names = append(names, a.Name)
	}
	want := []string{"first", "web-1", "web-2", "nested-1", "db-1", "abs-1", "last"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("aliases %q, want %q", names, want)
	}
	if got[1].File != filepath.Join(dir, "config.d/10-web") || got[1].Pos != (diag.Pos{Line: 1, Col: 6}) {
		t.Errorf("web-1 placed at %s:%v", got[1].File, got[1].Pos)
	}

	// A file that includes itself is stopped, and said so.
	loop := write("loop", "Host x\nInclude loop\n")
	data, _ := os.ReadFile(loop)
	_, err = Aliases(loop, data, Options{IncludeDir: dir})
	if err == nil || !strings.Contains(err.Error(), "loop:2:9: Include is nested more than 16 deep") {
		t.Errorf("a self-include: %v", err)
	}
}

// TestLoad reads a config file and selects from it.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte("Host web-1 web-2 db-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, "web-*", Options{IncludeDir: dir})
	if err != nil || !reflect.DeepEqual(got, []string{"web-1", "web-2"}) {
		t.Errorf("Load = %q, %v", got, err)
	}
	_, err = Load(filepath.Join(dir, "nope"), "web-*", Options{})
	var l diag.List
	if !errors.As(err, &l) || l[0].Msg != "no such file" {
		t.Errorf("a missing config: %v", err)
	}
}

// TestMatch: ssh's glob, * for any run and ? for one character.
func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"web-*", "web-", true},
		{"web-*", "web-1.example.com", true},
		{"web-*", "db-1", false},
		{"web-?", "web-1", true},
		{"web-?", "web-10", false},
		{"web-?", "web-", false},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"w*b*c", "wxxbyyc", true},
		{"w*b*c", "wxxbyy", false},
		{"a**", "a", true},
		{"", "", true},
		{"", "a", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}
