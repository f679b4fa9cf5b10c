package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// TestParseErrors feeds one broken inventory per case and checks that every
// problem, and nothing else, is reported at its line and column.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []wantErr
	}{
		// Unknown keys, with the nearest known key as a hint.
		{"unknown top-level key", `
defualts: {user: deploy}
services:
  web: {test: [t1]}
`, []wantErr{{line: 2, near: "defualts", col: 1, msg: `unknown key "defualts" in the inventory`, hint: `did you mean "defaults"?`}}},
		{"unknown role", `
services:
  web:
    test: [t1]
    canery: [c1]
`, []wantErr{{line: 5, near: "canery", col: 5, msg: `unknown key "canery" in service web`, hint: `did you mean "canary"?`}}},
		{"unknown setting in defaults", `
defaults:
  usr: deploy
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: "usr", msg: `unknown key "usr" in defaults`, hint: `did you mean "user"?`}}},
		{"unknown setting per host", `
services:
  web: {test: [t1]}
hosts:
  t1: {prot: 2222}
`, []wantErr{{line: 5, near: "prot", msg: `unknown key "prot" in host t1`, hint: `did you mean "port"?`}}},
		{"unknown key with nothing close lists the known keys", `
defaults:
  password: hunter2
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: "password", msg: `unknown key "password" in defaults`, hint: "known keys: address, port, user, identity_file, known_hosts, jump, transport, forward_agent"}}},

		// Wrong types.
		{"string where a number goes", `
defaults:
  port: "22"
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: `"22"`, msg: `port must be a whole number, not a string "22"`}}},
		{"fraction where a whole number goes", `
defaults:
  port: 22.5
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: "22.5", msg: `port must be a whole number, not a number "22.5"`}}},
		{"list where a mapping goes", `
services:
  - web
`, []wantErr{{line: 3, near: "-", msg: "services must be a mapping of key: value, not a list"}}},
		{"scalar where a host's settings go", `
services:
  web: {test: [t1]}
hosts:
  t1: 2222
`, []wantErr{{line: 5, near: "2222", msg: "host t1 must be a mapping of key: value, not a number"}}},
		{"mapping where a role's list goes", `
services:
  web:
    test: [t1]
    fleet: {f1: yes}
`, []wantErr{{line: 5, near: "{f1", msg: "service web fleet must be a list, not a mapping"}}},
		{"list where a single host goes", `
services:
  web:
    test: [t1]
    standby: [s1]
    primary: p1
    swap: local
`, []wantErr{{line: 5, near: "[s1]", msg: "service web standby must be a string, not a list"}}},
		{"string where a boolean goes", `
defaults:
  forward_agent: "yes"
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: `"yes"`, msg: `forward_agent must be true or false, not a string "yes"`, hint: "use true or false"}}},
		{"mapping where a list of files goes", `
defaults:
  identity_file: {a: b}
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: "{a: b}", msg: "identity_file must be a list, not a mapping"}}},
		{"the whole file is a string", `just some text
`, []wantErr{
			{line: 1, near: "just", msg: `the inventory must be a mapping of key: value, not a string "just some text"`, hint: "examples/inventory.yaml"},
		}},

		// Every service has a test host.
		{"service without test key", `
services:
  web:
    fleet: [f1]
`, []wantErr{{line: 3, near: "web", msg: `service "web" has no test hosts`, hint: "every change goes through a test instance first"}}},
		{"service with an empty test list", `
services:
  web:
    test: []
    fleet: [f1]
`, []wantErr{{line: 4, near: "[]", msg: `service "web" has no test hosts`}}},
		{"service with test: and nothing after it", `
services:
  web:
    test:
    fleet: [f1]
`, []wantErr{{line: 4, near: "test", msg: `service "web" has no test hosts`}}},

		// A host plays one role, once.
		{"host in two roles", `
services:
  web:
    test: [t1]
    canary: [c1, t1]
`, []wantErr{{line: 5, near: "t1", msg: `host "t1" is in two roles: test (line 4) and canary`, hint: "a host plays one role in a service"}}},
		{"standby also in the fleet", `
services:
  web:
    test: [t1]
    standby: s1
    primary: p1
    swap: local
    fleet:
      - f1
      - s1
`, []wantErr{{line: 10, near: "s1", msg: `host "s1" is in two roles: standby (line 5) and fleet`}}},
		{"same host twice in one role", `
services:
  web:
    test: [t1]
    fleet: [f1, f2, f1]
`, []wantErr{{line: 5, near: "f1]", msg: `host "f1" is listed twice in fleet (first at line 5)`, hint: "remove the duplicate"}}},
		{"overlapping ranges in one role are one problem", `
services:
  web:
    test: [t1]
    fleet:
      - web-[01:10]
      - web-[08:20]
`, []wantErr{{line: 7, near: "web-[08:20]", msg: `host "web-08" and 2 more are listed twice in fleet (first at line 6)`}}},
		{"range overlapping another role", `
services:
  web:
    test: [t1]
    canary: web-[1:2]
    fleet:
      - web-[1:9]
`, []wantErr{{line: 7, near: "web-[1:9]", msg: `host "web-1" and 1 more are in two roles: canary (line 5) and fleet`}}},
		{"host key given twice under hosts", `
services:
  web: {test: [t1]}
hosts:
  t1: {port: 2201}
  t1: {port: 2202}
`, []wantErr{{line: 6, near: "t1", msg: `"t1" is given twice in hosts (first at line 5)`, hint: "remove one of them"}}},
		{"host under hosts twice through ranges", `
services:
  web: {test: [t1]}
hosts:
  web-[1:5]: {port: 2201}
  web-[4:9]: {port: 2202}
  web-3: {user: x}
`, []wantErr{
			{line: 6, near: "web-[4:9]", msg: `host "web-4" and 1 more are listed twice under hosts (first at line 5)`, hint: "merge the two entries"},
			{line: 7, near: "web-3", msg: `host "web-3" is listed twice under hosts (first at line 5)`},
		}},

		// Ranges.
		{"empty range", `
services:
  web:
    test: [t1]
    fleet: ["web-[:]"]
`, []wantErr{{line: 5, near: `"web-[:]"`, msg: `range [:] in "web-[:]": the range is empty: give both a start and an end`}}},
		{"range without an end", `
services:
  web:
    test: [t1]
    fleet:
      - web-[1:]
`, []wantErr{{line: 6, near: "web", msg: `range [1:] in "web-[1:]": the range is empty: give both a start and an end`}}},
		{"brackets with nothing in them", `
services:
  web:
    test: [t1]
    fleet:
      - web-[]
`, []wantErr{{line: 6, near: "web", msg: `range [] in "web-[]": write it as [start:end] or [start:end:step]`}}},
		{"inverted numeric range", `
services:
  web:
    test: [t1]
    fleet:
      - web-[40:03]
`, []wantErr{{line: 6, near: "web", msg: `range [40:03] in "web-[40:03]": the range is inverted: 40 is greater than 03`}}},
		{"inverted letter range", `
services:
  web:
    test: [t1]
    fleet:
      - rack-[f:a]
`, []wantErr{{line: 6, near: "rack", msg: `range [f:a] in "rack-[f:a]": the range is inverted: f comes after a`}}},
		{"zero step", `
services:
  web:
    test: [t1]
    fleet:
      - web-[1:9:0]
`, []wantErr{{line: 6, near: "web", msg: `range [1:9:0] in "web-[1:9:0]": the step "0" must be a whole number of 1 or more`}}},
		{"unclosed bracket", `
services:
  web:
    test: [t1]
    fleet:
      - web-[1:9
`, []wantErr{{line: 6, near: "web", msg: `"web-[1:9" has a [ without a matching ]`}}},
		{"a range too big", `
services:
  web:
    test: [t1]
    fleet:
      - web-[1:200000]
`, []wantErr{{line: 6, near: "web", msg: `range [1:200000] in "web-[1:200000]": it holds more than 100000 hosts, the most one range may hold`}}},
		{"bad range as a hosts: key", `
services:
  web: {test: [t1]}
hosts:
  web-[9:1]: {port: 2201}
`, []wantErr{{line: 5, near: "web", msg: `range [9:1] in "web-[9:1]": the range is inverted: 9 is greater than 1`}}},
		{"range unquoted in a flow list", `
services:
  web:
    test: [t1]
    fleet: [web-[01:40]]
`, []wantErr{{line: 5, near: "[01", msg: "YAML syntax: ',' or ']' must be specified", hint: `a host range needs quotes: ["web-[01:40]"]`}}},

		// Names that could be read as an option or break a command.
		{"host name with a leading dash", `
services:
  web:
    test: ["-oProxyCommand=x"]
`, []wantErr{{line: 4, near: `"-o`, msg: `host name "-oProxyCommand=x" is not valid`, hint: "not starting with '-'"}}},
		{"host name with a space", `
services:
  web:
    test: ["web 1"]
`, []wantErr{{line: 4, near: `"web 1"`, msg: `host name "web 1" is not valid`}}},
		{"host name with a semicolon", `
services:
  web:
    test: [t1]
    fleet: ["web;reboot"]
`, []wantErr{{line: 5, near: `"web;`, msg: `host name "web;reboot" is not valid`}}},
		{"host name with a command substitution", `
services:
  web:
    test: [t1]
    canary: "$(reboot)"
`, []wantErr{{line: 5, near: `"$(`, msg: `host name "$(reboot)" is not valid`}}},
		{"host name with backticks under hosts", "\nservices:\n  web: {test: [t1]}\nhosts:\n  \"`id`\": {port: 22}\n",
			[]wantErr{{line: 5, near: "\"`id`\"", msg: "host name \"`id`\" is not valid"}}},
		{"swap host with a dollar", `
services:
  web:
    test: [t1]
    standby: s1
    primary: p1
    swap: "lb$1"
`, []wantErr{{line: 7, near: `"lb$1"`, msg: `swap host "lb$1" is not valid`, hint: "or local"}}},
		{"user with a leading dash", `
defaults:
  user: -oProxyCommand=x
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: "-o", msg: `user "-oProxyCommand=x" is not a valid user name`, hint: "not starting with '-'"}}},
		{"user with a space", `
defaults:
  user: "deploy user"
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: `"deploy`, msg: `user "deploy user" is not a valid user name`}}},
		{"user with a semicolon", `
services:
  web: {test: [t1]}
hosts:
  t1: {user: "root;id"}
`, []wantErr{{line: 5, near: `"root`, msg: `user "root;id" is not a valid user name`}}},
		{"user with a command substitution", `
services:
  web: {test: [t1]}
hosts:
  t1: {user: "$(x)"}
`, []wantErr{{line: 5, near: `"$(x)"`, msg: `user "$(x)" is not a valid user name`}}},
		{"address with a command substitution", `
services:
  web: {test: [t1]}
hosts:
  t1: {address: "$(x)"}
`, []wantErr{{line: 5, near: `"$(x)"`, msg: `address "$(x)" is not a valid host name or IP address`}}},
		{"jump host with a semicolon", `
defaults:
  jump: "bastion;id"
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: `"bastion`, msg: `jump host "bastion;id" is not valid`}}},
		{"jump host with a bad port", `
defaults:
  jump: [ok.example.com, "user@b:0"]
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: `"user`, msg: `jump host "user@b:0" is not valid`}}},
		{"service name with a space", `
services:
  "web app": {test: [t1]}
`, []wantErr{{line: 3, near: `"web app"`, msg: `service name "web app" is not valid`}}},

		// Other settings out of range.
		{"port out of range", `
services:
  web: {test: [t1]}
hosts:
  t1: {port: 70000}
  t2: {port: 0}
`, []wantErr{
			{line: 5, near: "70000", msg: "port 70000 is out of range: it must be between 1 and 65535"},
			{line: 6, near: "0}", msg: "port 0 is out of range: it must be between 1 and 65535"},
		}},
		{"unknown transport", `
defaults:
  transport: telnet
services:
  web: {test: [t1]}
`, []wantErr{{line: 3, near: "telnet", msg: `transport "telnet" is not known`, hint: "use ssh or local"}}},

		// Standby, primary and swap.
		{"standby without a primary", `
services:
  web:
    test: [t1]
    standby: s1
`, []wantErr{{line: 3, near: "web", msg: `service "web" has a standby but no primary`}}},
		{"primary without a standby", `
services:
  web:
    test: [t1]
    primary: p1
    swap: local
`, []wantErr{{line: 3, near: "web", msg: `service "web" has a primary but no standby`}}},
		{"primary and standby without a swap host", `
services:
  web:
    test: [t1]
    standby: s1
    primary: p1
`, []wantErr{{line: 3, near: "web", msg: `service "web" has a primary and a standby but no swap host`, hint: "swap: local"}}},
		{"a range as the standby", `
services:
  web:
    test: [t1]
    standby: s[1:2]
    primary: p1
    swap: local
`, []wantErr{{line: 5, near: "s[1:2]", msg: "standby names 2 hosts; a service has one standby"}}},

		// No services.
		{"no services key", `
defaults: {user: deploy}
`, []wantErr{{line: 1, col: 1, msg: "the inventory has no services"}}},
		{"empty services", `
services: {}
`, []wantErr{{line: 2, near: "{}", msg: "the inventory has no services"}}},

		// YAML itself.
		{"syntax error", `
services:
  web:
    test: [t1
`, []wantErr{{line: 4, near: "[", msg: "YAML syntax: sequence end token ']' not found"}}},
		{"tab indentation", "\nservices:\n\tweb: {test: [t1]}\n",
			[]wantErr{{line: 3, col: 1, msg: "YAML syntax: found character '\t' that cannot start any token"}}},
		{"alias refused", `
defaults: &d
  user: deploy
services:
  web: {test: [t1]}
hosts:
  t1: *d
`, []wantErr{{line: 7, near: "*d", msg: "YAML aliases (*name) are not supported", hint: "use defaults:"}}},
		{"alias as the test hosts", `
services:
  web:
    test: *t
`, []wantErr{
			{line: 4, near: "*t", msg: "YAML aliases (*name) are not supported"},
			{line: 4, near: "*t", msg: `service "web" has no test hosts`},
		}},
		{"merge key refused", `
services:
  web: {test: [t1]}
hosts:
  t1:
    <<: {user: deploy}
`, []wantErr{{line: 6, near: "<<", msg: "YAML merge keys (<<) are not supported"}}},
		{"two documents", `
services:
  web: {test: [t1]}
---
services:
  api: {test: [t2]}
`, []wantErr{{line: 5, near: "services", col: 1, msg: "the file holds 2 YAML documents; rollout reads exactly one"}}},

		// Empty files.
		{"empty file", ``, []wantErr{{line: 1, col: 1, msg: "the inventory is empty", hint: "examples/inventory.yaml"}}},
		{"only a document marker", "---\n", []wantErr{{line: 1, col: 1, msg: "the inventory is empty"}}},
		{"only comments", "# hosts go here\n\n", []wantErr{{line: 1, col: 1, msg: "the inventory is empty"}}},
		{"only null", "~\n", []wantErr{{line: 1, col: 1, msg: "the inventory is empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Parse("inv.yaml", []byte(tt.in), Options{})
			if inv != nil {
				t.Errorf("got an inventory along with the error")
			}
			checkErrs(t, "inv.yaml", tt.in, err, tt.want)
		})
	}
}

// TestParseReportsEveryProblem checks that problems in different parts of the
// file are all reported in one go, in file order, not only the first.
func TestParseReportsEveryProblem(t *testing.T) {
	src := `
defaults:
  usr: deploy
  port: "22"
services:
  web:
    test: [t1]
    fleet:
      - web-[9:1]
      - "web 1"
  api:
    fleet: [a1]
hosts:
  t1: {transport: telnet}
`
	_, err := Parse("inv.yaml", []byte(src), Options{})
	checkErrs(t, "inv.yaml", src, err, []wantErr{
		{line: 3, near: "usr", msg: `unknown key "usr" in defaults`},
		{line: 4, near: `"22"`, msg: `port must be a whole number, not a string "22"`},
		{line: 9, near: "web", msg: `range [9:1] in "web-[9:1]": the range is inverted: 9 is greater than 1`},
		{line: 10, near: `"web 1"`, msg: `host name "web 1" is not valid`},
		{line: 11, near: "api", msg: `service "api" has no test hosts`},
		{line: 14, near: "telnet", msg: `transport "telnet" is not known`},
	})
	if got := len(diagList(t, err)); got != 6 {
		t.Errorf("got %d problems, want 6", got)
	}
}

// TestErrorString checks the compiler-style rendering editors jump to.
func TestErrorString(t *testing.T) {
	_, err := Parse("inv.yaml", []byte("services:\n  web:\n    tset: [t1]\n"), Options{})
	got := err.Error()
	for _, want := range []string{
		`inv.yaml:3:5: unknown key "tset" in service web` + "\n\thint: did you mean \"test\"?",
		`inv.yaml:2:3: service "web" has no test hosts`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("error text\n%s\ndoes not contain\n%s", got, want)
		}
	}
}

func TestLoadFileProblems(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, msg, hint string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), "no such file", "check the path"},
		{"a directory", dir, "is a directory, not a file", "give the file inside it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Load(tt.path, Options{})
			if inv != nil {
				t.Fatal("got an inventory")
			}
			l := diagList(t, err)
			if len(l) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(l), l)
			}
			want := &diag.Error{File: tt.path, Msg: tt.msg, Hint: l[0].Hint}
			if *l[0] != *want || !strings.Contains(l[0].Hint, tt.hint) {
				t.Errorf("got %#v, want %#v with a hint containing %q", *l[0], *want, tt.hint)
			}
			if !strings.HasPrefix(err.Error(), tt.path+": "+tt.msg) {
				t.Errorf("error text %q does not start with the path and message", err.Error())
			}
		})
	}
}

func TestLoadExample(t *testing.T) {
	inv, err := Load("../examples/inventory.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"web", "api"}; !slices.Equal(inv.ServiceNames, want) {
		t.Errorf("services %v, want %v", inv.ServiceNames, want)
	}
	web := inv.Services["web"]
	var fleet []string
	for i := 3; i <= 40; i++ {
		fleet = append(fleet, fmt.Sprintf("web-%02d.example.com", i))
	}
	want := &Service{
		Name:    "web",
		Test:    []string{"web-test-1.example.com", "web-test-2.example.com"},
		Standby: "web-b.example.com",
		Primary: "web-a.example.com",
		Canary:  []string{"web-01.example.com", "web-02.example.com"},
		Fleet:   fleet,
		Swap:    "lb-1.example.com",
		Pos:     web.Pos,
	}
	if !reflect.DeepEqual(web, want) {
		t.Errorf("web is\n%+v\nwant\n%+v", web, want)
	}
	if web.Pos != (diag.Pos{Line: 11, Col: 3}) {
		t.Errorf("web is at %v, want 11:3", web.Pos)
	}
	// 2 test + standby + primary + 2 canary + 38 fleet + swap host, 13 for
	// api, and the bastion named only under hosts:.
	if got, want := len(inv.Hosts), 2+1+1+2+38+1+13+1; got != want {
		t.Errorf("%d hosts, want %d", got, want)
	}
	a := inv.Hosts["web-a.example.com"]
	wantA := Settings{Address: "10.0.0.5", Port: 2201, User: "deploy", IdentityFile: []string{"~/.ssh/id_ed25519"},
		KnownHosts: "~/.ssh/known_hosts", Jump: []string{"bastion.example.com"}, Transport: TransportSSH}
	if !reflect.DeepEqual(a.Settings, wantA) {
		t.Errorf("web-a settings\n%+v\nwant\n%+v", a.Settings, wantA)
	}
	if b := inv.Hosts["bastion.example.com"]; b == nil || b.Jump != nil || b.Address != "bastion.example.com" || b.Port != 22 {
		t.Errorf("bastion: %+v, want no jump, its own name as address, port 22", b)
	}
	if lb := inv.Hosts["lb-1.example.com"]; lb == nil || lb.User != "lbadmin" {
		t.Errorf("lb-1: %+v, want user lbadmin", lb)
	}
}

// TestParseRanges checks that roles expand the range forms the README lists.
func TestParseRanges(t *testing.T) {
	src := `
services:
  web:
    test: ["t-[a:c]"]
    canary: "c-[08:11]"
    fleet:
      - f-[1:9:4]
      - "r[1:2]-[x:y].dc"
      - plain
`
	inv, err := Parse("inv.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	web := inv.Services["web"]
	check := func(role string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", role, got, want)
		}
	}
	check("test", web.Test, []string{"t-a", "t-b", "t-c"})
	check("canary", web.Canary, []string{"c-08", "c-09", "c-10", "c-11"})
	check("fleet", web.Fleet, []string{"f-1", "f-5", "f-9", "r1-x.dc", "r1-y.dc", "r2-x.dc", "r2-y.dc", "plain"})
	if h := inv.Hosts["c-09"]; h == nil || h.Pos != (diag.Pos{Line: 5, Col: 13}) {
		t.Errorf("c-09: %+v, want it placed at 5:13", h)
	}
}

// TestServiceChoice covers Inventory.Service with and without a name.
func TestServiceChoice(t *testing.T) {
	one, err := Parse("inv.yaml", []byte("services:\n  web: {test: [t1]}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := one.Service(""); err != nil || s.Name != "web" {
		t.Errorf(`Service("") = %v, %v; want web`, s, err)
	}
	two, err := Parse("inv.yaml", []byte("services:\n  web: {test: [t1]}\n  api: {test: [t2]}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := two.Service(""); err == nil || err.Error() != "inv.yaml: the inventory has several services; choose one with -s\n\thint: services: web, api" {
		t.Errorf(`Service("") with two services: %v`, err)
	}
	if _, err := two.Service("db"); err == nil || err.Error() != "inv.yaml: no service \"db\" in the inventory\n\thint: services: web, api" {
		t.Errorf(`Service("db"): %v`, err)
	}
	if s, err := two.Service("api"); err != nil || s.Name != "api" || !slices.Equal(s.Test, []string{"t2"}) {
		t.Errorf(`Service("api") = %+v, %v`, s, err)
	}
	roles := two.Services["web"].Roles()
	if !reflect.DeepEqual(roles, map[string]Role{"t1": RoleTest}) {
		t.Errorf("roles %v", roles)
	}
}

// writeFile writes data to name in a fresh temporary directory and returns its path.
func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
