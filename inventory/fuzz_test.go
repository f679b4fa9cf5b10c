package inventory

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// inventorySeeds are inputs for the fuzzers to start from: the example, and
// the shapes of input that have each been a problem.
var inventorySeeds = []string{
	"",
	"---\n",
	"~\n",
	"just text\n",
	"services: {}\n",
	"services:\n  web: {test: [t1]}\n",
	"services:\n  web:\n    test:\n    fleet: [f1]\n",
	"services:\n  web:\n    test: [t1]\n    fleet: [web-[01:40]]\n",
	"services:\n  web:\n    test: [t1]\n    fleet:\n      - web-[01:10]\n      - \"web-[08:20]\"\n",
	"services:\n  web:\n    test: [\"-oProxyCommand=x\", \"$(id)\", \"a b\"]\n",
	"services:\n  web:\n    test: [t1]\n    standby: s[1:2]\n    primary: p1\n    swap: \"lb;1\"\n",
	"defaults: &d\n  user: deploy\nservices:\n  web: {test: [t1]}\nhosts:\n  t1: *d\n  <<: {x: 1}\n",
	"services:\n  web: {test: [t1]}\nhosts:\n  t1: {port: 1}\n  t1: {port: 2}\n  web-[1:5]: {}\n  web-[4:9]: {user: \"-x\"}\n",
	"services:\n  web:\n    test: [\"x[9223372036854775807:9223372036854775807]\"]\n",
	"defaults: {port: \"22\", forward_agent: yes, identity_file: {a: b}, jump: \"u@b:0,c\", transport: telnet}\nservices:\n  web: {test: [t1]}\n",
	"services:\n\tweb: {test: [t1]}\n",
	"a: 1\n---\nb: 2\n",
	"? [a, b]\n: c\n",
	"*x : 1\n",
	"services:\n  web:\n    test: !!str t1\n",
}

// checkDiags asserts the promises every parse error keeps: a diag.List of at
// least one problem, each in file, at a line and column of 1 or more, with a
// message, in file order.
func checkDiags(t *testing.T, file string, err error) {
	t.Helper()
	var l diag.List
	if !errors.As(err, &l) {
		t.Fatalf("error is %T, not a diag.List: %v", err, err)
	}
	if len(l) == 0 {
		t.Fatal("an empty diag.List as an error")
	}
	for i, e := range l {
		if e.File != file || e.Line < 1 || e.Col < 1 || e.Msg == "" {
			t.Fatalf("problem %d is badly placed or empty: %#v", i, *e)
		}
		if i > 0 && (l[i-1].Line > e.Line || l[i-1].Line == e.Line && l[i-1].Col > e.Col) {
			t.Fatalf("problems out of order: %v before %v", l[i-1], e)
		}
	}
}

// FuzzInventoryParse checks that no input crashes Parse, that it returns an
// inventory or positioned errors, never both or neither, the same each time,
// and that a loaded inventory holds only hosts that passed every check.
func FuzzInventoryParse(f *testing.F) {
	if data, err := os.ReadFile("../examples/inventory.yaml"); err == nil {
		f.Add(data)
	} else {
		f.Fatal(err)
	}
	for _, s := range inventorySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse("inv.yaml", data, Options{})
		if (inv == nil) == (err == nil) {
			t.Fatalf("Parse returned %v and %v: want exactly one", inv, err)
		}
		if err != nil {
			checkDiags(t, "inv.yaml", err)
			if _, err2 := Parse("inv.yaml", data, Options{}); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("a second parse reports differently:\n%v\n---\n%v", err, err2)
			}
			return
		}
		if len(inv.Services) == 0 || len(inv.Services) != len(inv.ServiceNames) {
			t.Fatalf("%d services, %d names", len(inv.Services), len(inv.ServiceNames))
		}
		for _, name := range inv.ServiceNames {
			svc := inv.Services[name]
			if svc == nil || svc.Name != name || len(svc.Test) == 0 {
				t.Fatalf("service %q: %+v", name, svc)
			}
			if (svc.Standby == "") != (svc.Primary == "") || (svc.Primary != "" && svc.Swap == "") {
				t.Fatalf("service %q: standby %q, primary %q, swap %q", name, svc.Standby, svc.Primary, svc.Swap)
			}
			count := len(svc.Test) + len(svc.Canary) + len(svc.Fleet)
			if svc.Standby != "" {
				count += 2
			}
			roles := svc.Roles()
			if len(roles) != count {
				t.Fatalf("service %q: %d hosts in roles, %d distinct: a host in two roles", name, count, len(roles))
			}
			for h := range roles {
				if inv.Hosts[h] == nil {
					t.Fatalf("service %q: host %q is not in Hosts", name, h)
				}
			}
		}
		for name, h := range inv.Hosts {
			if h.Name != name || !validHostName(name) || !validAddress(h.Address) || h.Port < 1 || h.Port > 65535 ||
				(h.User != "" && !validUser(h.User)) || (h.Transport != TransportSSH && h.Transport != TransportLocal) ||
				h.Pos.Line < 1 || h.Pos.Col < 1 {
				t.Fatalf("host %q: %+v", name, h)
			}
			for _, j := range h.Jump {
				if !validJump(j) {
					t.Fatalf("host %q: jump %q", name, j)
				}
			}
		}
	})
}

// FuzzExpand checks that Expand never crashes, stays within its bound, leaves
// no bracket in a name, and that Fold undoes it: Expand(Fold(names)) == names.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"web-1", "web-[01:40].example.com", "web-[1:9:2]", "rack-[a:f]", "r[1:2]-[a:b]", "web-[98:101]",
		"web-[:]", "web-[5:1]", "web-[1:5:0]", "web-[A:z]", "a]b[1:2]", "web-[1:5", "web-[1:100000]",
		"x[9223372036854775806:9223372036854775807]", "[0:99999][0:99999]", "[]", "[[1:2]]", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		names, err := Expand(pattern)
		if err != nil {
			if names != nil {
				t.Fatalf("names along with error %v", err)
			}
			if !strings.Contains(err.Error(), strconv.Quote(pattern)) {
				t.Fatalf("error %q does not name the pattern", err)
			}
			return
		}
		if len(names) == 0 || len(names) > maxExpansion {
			t.Fatalf("%d names", len(names))
		}
		if !strings.ContainsAny(pattern, "[]") {
			if len(names) != 1 || names[0] != pattern {
				t.Fatalf("a plain name expanded to %q", names)
			}
			return
		}
		for _, n := range names {
			if strings.ContainsAny(n, "[]") {
				t.Fatalf("name %q holds a bracket", n)
			}
		}
		var back []string
		for _, folded := range Fold(names) {
			e, err := Expand(folded)
			if err != nil {
				t.Fatalf("Expand(%q), folded from %q: %v", folded, pattern, err)
			}
			back = append(back, e...)
		}
		if !slices.Equal(back, names) {
			t.Fatalf("Expand(Fold(Expand(%q))) differs: %d names, %d back", pattern, len(names), len(back))
		}
	})
}

// FuzzParseSSHConfig checks that no ssh_config crashes the parser or the
// lookups, and that whatever it gives a host passes the inventory's checks.
func FuzzParseSSHConfig(f *testing.F) {
	f.Add([]byte(sshConfig), "h1")
	f.Add([]byte("Host *\n  HostName %h.corp\n  User u\n  Port 2222\n  ProxyJump a@b:22,c\n  IdentityFile ~/.ssh/k\n"), "web-1")
	f.Add([]byte("Host a\n  Match\n"), "a")
	f.Add([]byte("Host bad\n  HostName -oProxyCommand=x\n  User \"a b\"\n  Port 0\n  ProxyJump none\n"), "bad")
	f.Add([]byte("Host !a b*\n  Port=22\nMatch all\n  User x\n"), "bx")
	f.Add([]byte("\"Host\"\n\tHostName\t\"\"\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, host string) {
		// Include reads other files; a fuzzer must not read /dev/zero.
		if strings.Contains(strings.ToLower(string(data)), "include") {
			return
		}
		cfg, err := ParseSSHConfig("ssh_config", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("ParseSSHConfig returned %v and %v", cfg, err)
		}
		if err != nil {
			var l diag.List
			if !errors.As(err, &l) || len(l) != 1 || l[0].File != "ssh_config" {
				t.Fatalf("error %#v", err)
			}
			return
		}
		if !validHostName(host) {
			host = "h1"
		}
		src := "services:\n  web: {test: [" + host + "]}\n"
		inv, err := Parse("inv.yaml", []byte(src), Options{SSHConfig: cfg})
		if err != nil {
			checkDiags(t, "inv.yaml", err)
			return
		}
		h := inv.Hosts[host]
		if h == nil || !validAddress(h.Address) || h.Port < 1 || h.Port > 65535 || (h.User != "" && !validUser(h.User)) {
			t.Fatalf("host %q: %+v", host, h)
		}
		for _, j := range h.Jump {
			if !validJump(j) {
				t.Fatalf("jump %q", j)
			}
		}
	})
}
