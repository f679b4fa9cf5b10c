package ansible

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/diag"
)

// iniSeeds and yamlSeeds are inputs for the fuzzers to start from, besides
// Ansible's own examples in testdata/docs: the shapes that each rule and
// each error path reads.
var iniSeeds = []string{
	"",
	"\ufeff[web]\r\nh1 ansible_user=deploy\r\n",
	"# c\n; c\nalpha\n[web]\nweb[01:10].example.com:2222 a='b c' d=\"e \\\"f\\\"\" g=None #x\n",
	"[web:vars]\nx=1 # c\n[web]\nh1\n[all:vars]\nansible_ssh_common_args='-o ProxyJump=b'\n",
	"[a:children]\nb\n[b:children]\nc\n[c:children]\na\n",
	"[p:children]\nmissing\nall\np\n[p]\n",
	"[web servers]\n[web:hostz]\nh1 x\n[db]\n=x\nx=y\n---\n",
	"[v6]\n2001:db8::1\n[::1]:2222\nweb:\nweb:0\n:22\nw[1:3\nw[3:1]\nw[a:Z]\n",
	"[test]\nt1\n[standby]\nb1\n[primary]\na1\n[swap]\nlb\n[canary]\nc[1:2]\n[fleet]\nf[1:5]\n",
	"[test]\nt1 ansible_host=-x ansible_port=0 ansible_user='a b' ansible_connection=winrm\n",
	"[test]\nt1 ansible_ssh_common_args='-o ProxyCommand=\"ssh -W %h:%p -q u@gw\"' ansible_ssh_extra_args='-J x'\n",
	"h'unclosed\nh\\\n",
	"x[0:99999]\ny[0:99999][0:9]\n",
}

var yamlSeeds = []string{
	"",
	"all:\n  hosts:\n    h1:\n      ansible_host: 10.0.0.1\n  vars: {ansible_user: deploy}\n  children:\n    test:\n      hosts: t1\n    web:\n      children: test\n",
	"a:\n  children:\n    b:\nb:\n  children:\n    a:\n",
	"plugin: aws_ec2\n",
	`{"_meta": {"hostvars": {}}, "all": {"children": ["ungrouped"]}}`,
	"hosts:\n  web1:\n",
	"web: [a]\nx:\n  host:\n    h:\n  hosts: [a]\n  children: [b]\n  vars: [c]\n",
	"web:\n  hosts:\n    w1: 10.0.0.1\n    \"w:0\":\n    w[3:1]:\n    w1:\n",
	"all:\n  vars: &v\n    x: 1\nweb:\n  vars: *v\n  <<: {a: 1}\n",
	"test:\n  hosts:\n    t1:\n      ansible_host: [a]\n      ansible_port: 99999\n      ansible_ssh_common_args: {a: b}\n",
	"- a\n",
	"all:\n  hosts:\n   bad\n",
	"a: 1\n---\nb: 2\n",
}

// checkParse asserts the promises every parse keeps: an inventory or a
// diag.List of placed problems in file order, never both or neither, the
// same each time; and an inventory whose groups and hosts agree.
func checkParse(t *testing.T, file string, data []byte, parse func(string, []byte) (*Inventory, error)) *Inventory {
	t.Helper()
	inv, err := parse(file, data)
	if (inv == nil) == (err == nil) {
		t.Fatalf("parse returned %v and %v: want exactly one", inv, err)
	}
	if err != nil {
		checkDiags(t, file, err, 1)
		if _, err2 := parse(file, data); err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("a second parse reports differently:\n%v\n---\n%v", err, err2)
		}
		return nil
	}
	if len(inv.Hosts) != len(inv.HostNames) || len(inv.Groups) != len(inv.GroupNames) || len(inv.Hosts) > maxHosts {
		t.Fatalf("%d hosts, %d names; %d groups, %d names", len(inv.Hosts), len(inv.HostNames), len(inv.Groups), len(inv.GroupNames))
	}
	if !slices.Equal(inv.GroupHosts(GroupAll), inv.HostNames) {
		t.Fatalf("all holds %q, the hosts are %q", inv.GroupHosts(GroupAll), inv.HostNames)
	}
	for _, name := range inv.GroupNames {
		g := inv.Groups[name]
		if g == nil || g.Name != name || (name != GroupAll) == (len(g.Parents) == 0) {
			t.Fatalf("group %q: %+v", name, g)
		}
		for _, h := range g.Hosts {
			if inv.Hosts[h] == nil || !slices.Contains(inv.Hosts[h].Groups, name) {
				t.Fatalf("group %q lists host %q, which does not list it", name, h)
			}
		}
		for _, c := range g.Children {
			if inv.Groups[c] == nil || c == GroupAll || inv.descends(name, c) {
				t.Fatalf("group %q has child %q: a loop or a missing group", name, c)
			}
		}
	}
	for i, name := range inv.HostNames {
		h := inv.Hosts[name]
		if h == nil || h.Name != name || h.Pos.Line < 1 || h.Pos.Col < 1 || len(h.Groups) == 0 {
			t.Fatalf("host %q: %+v", name, h)
		}
		if i < 50 {
			inv.HostVars(name)
		}
	}
	return inv
}

// checkDiags asserts that err is a diag.List of problems in file, each with
// a message, at line minLine or later, in order.
func checkDiags(t *testing.T, file string, err error, minLine int) {
	t.Helper()
	var l diag.List
	if !errors.As(err, &l) || len(l) == 0 {
		t.Fatalf("error is %T, not a diag.List: %v", err, err)
	}
	for i, e := range l {
		if e.File != file || e.Line < minLine || (e.Line > 0) != (e.Col > 0) || e.Msg == "" {
			t.Fatalf("problem %d is badly placed or empty: %#v", i, *e)
		}
		if i > 0 && (l[i-1].Line > e.Line || l[i-1].Line == e.Line && l[i-1].Col > e.Col) {
			t.Fatalf("problems out of order: %v before %v", l[i-1], e)
		}
	}
}

// checkBuilt asserts that Build returns an inventory or problems, and that
// an inventory passes every check inventory.Load applies.
func checkBuilt(t *testing.T, file string, out *inventory.Inventory, err error) {
	t.Helper()
	if (out == nil) == (err == nil) {
		t.Fatalf("Build returned %v and %v: want exactly one", out, err)
	}
	if err != nil {
		checkDiags(t, file, err, 0)
		return
	}
	if len(out.ServiceNames) != 1 || len(out.Services) != 1 {
		t.Fatalf("services %q", out.ServiceNames)
	}
	svc := out.Services[out.ServiceNames[0]]
	if svc == nil || !inventory.ValidServiceName(svc.Name) || len(svc.Test) == 0 {
		t.Fatalf("service %+v", svc)
	}
	if (svc.Standby == "") != (svc.Primary == "") || (svc.Primary != "" && svc.Swap == "") {
		t.Fatalf("standby %q, primary %q, swap %q", svc.Standby, svc.Primary, svc.Swap)
	}
	count := len(svc.Test) + len(svc.Canary) + len(svc.Fleet)
	if svc.Standby != "" {
		count += 2
	}
	roles := svc.Roles()
	if len(roles) != count {
		t.Fatalf("%d hosts in roles, %d distinct: a host in two roles", count, len(roles))
	}
	for h := range roles {
		if out.Hosts[h] == nil {
			t.Fatalf("host %q is in a role but not in Hosts", h)
		}
	}
	for name, h := range out.Hosts {
		if h.Name != name || !inventory.ValidHostName(name) || !inventory.ValidAddress(h.Address) || h.Port < 1 || h.Port > 65535 ||
			(h.User != "" && !inventory.ValidUser(h.User)) || (h.Transport != inventory.TransportSSH && h.Transport != inventory.TransportLocal) ||
			h.Pos.Line < 1 || h.Pos.Col < 1 {
			t.Fatalf("host %q: %+v", name, h)
		}
		for _, j := range h.Jump {
			if !inventory.ValidJump(j) {
				t.Fatalf("host %q: jump %q", name, j)
			}
		}
	}
}

// fuzzOne parses data, then builds a service from it with the default
// mapping and with a mapping of the file's own first groups.
func fuzzOne(t *testing.T, file string, data []byte, parse func(string, []byte) (*Inventory, error)) {
	Detect(file, data)
	inv := checkParse(t, file, data, parse)
	if inv == nil {
		return
	}
	out, err := inv.Build("web", nil, Options{})
	checkBuilt(t, file, out, err)
	if groups := inv.GroupNames[2:]; len(groups) > 0 {
		roles := map[string][]string{"test": {groups[0]}}
		if len(groups) > 1 {
			roles["fleet"] = groups[1:min(len(groups), 4)]
		}
		out, err = inv.Build("web", roles, Options{Swap: "local"})
		checkBuilt(t, file, out, err)
	}
}

func addSeeds(f *testing.F, seeds []string, glob string) {
	files, err := filepath.Glob(filepath.Join("testdata", "docs", glob))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/docs/%s: %v", glob, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

// FuzzParseINI checks that no input crashes the INI reader or Build, that
// each returns a result or placed problems, and that what Build returns
// passes the checks of rollout's own inventory.
func FuzzParseINI(f *testing.F) {
	addSeeds(f, iniSeeds, "*.ini")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOne(t, "hosts", data, ParseINI)
	})
}

// FuzzParseYAML is FuzzParseINI for the YAML reader.
func FuzzParseYAML(f *testing.F) {
	addSeeds(f, yamlSeeds, "*.yml")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOne(t, "inventory.yml", data, ParseYAML)
	})
}
