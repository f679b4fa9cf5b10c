package ansible

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/diag"
)

// build parses src as the format its name says and builds service web.
func build(t *testing.T, file, src string, roles map[string][]string, opts Options) (*inventory.Inventory, error) {
	t.Helper()
	inv, err := Parse(file, []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return inv.Build("web", roles, opts)
}

// webINI is an inventory with one group per role, and more.
const webINI = `[test]
web-test-1

[standby]
web-b ansible_host=10.0.0.6

[primary]
web-a ansible_host=10.0.0.5 ansible_port=2201

[swap]
lb-1

[canary]
web-[01:02]

[web]
web-[01:05]

[db]
db-1 ansible_user=postgres

[all:vars]
ansible_user=deploy
`

// TestBuildRoles: which hosts play which role, by default and when mapped.
func TestBuildRoles(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		src   string
		roles map[string][]string
		opts  Options
		want  inventory.Service
	}{
		{name: "groups named like the roles; no fleet group: every other host",
			file: "hosts", src: webINI,
			want: inventory.Service{Test: []string{"web-test-1"}, Standby: "web-b", Primary: "web-a", Swap: "lb-1",
				Canary: []string{"web-01", "web-02"}, Fleet: []string{"web-03", "web-04", "web-05", "db-1"}}},
		{name: "a fleet group is the fleet",
			file: "hosts", src: webINI + "[fleet]\nweb-[03:05]\n",
			want: inventory.Service{Test: []string{"web-test-1"}, Standby: "web-b", Primary: "web-a", Swap: "lb-1",
				Canary: []string{"web-01", "web-02"}, Fleet: []string{"web-03", "web-04", "web-05"}}},
		{name: "only a test group: the rest is the fleet, in file order",
			file: "hosts", src: "w3\n[test]\nt1\n[web]\nw1\nw2\n",
			want: inventory.Service{Test: []string{"t1"}, Fleet: []string{"w3", "w1", "w2"}}},
		{name: "an explicit mapping, several groups to a role, hosts in file order",
			file: "hosts", src: "[staging]\ns1\n[east]\nw1\nw3\n[west]\nw2\nw3\n[ignored]\nx1\n",
			roles: map[string][]string{"test": {"staging"}, "fleet": {"west", "east"}},
			want:  inventory.Service{Test: []string{"s1"}, Fleet: []string{"w1", "w3", "w2"}}},
		{name: "an explicit mapping takes nothing it is not given",
			file: "hosts", src: webINI,
			roles: map[string][]string{"test": {"test"}, "canary": {"canary"}},
			want:  inventory.Service{Test: []string{"web-test-1"}, Canary: []string{"web-01", "web-02"}}},
		{name: "a role of a parent group takes its children's hosts",
			file: "inv.yml", src: "prod:\n  children:\n    east:\n      hosts: {e1: , e2: }\n    west:\n      hosts: {w1: }\nstaging:\n  hosts: {s1: }\n",
			roles: map[string][]string{"test": {"staging"}, "fleet": {"prod"}},
			want:  inventory.Service{Test: []string{"s1"}, Fleet: []string{"e1", "e2", "w1"}}},
		{name: "Options.Swap wins over a swap group",
			file: "hosts", src: webINI, opts: Options{Swap: inventory.SwapLocal},
			want: inventory.Service{Test: []string{"web-test-1"}, Standby: "web-b", Primary: "web-a", Swap: "local",
				Canary: []string{"web-01", "web-02"}, Fleet: []string{"lb-1", "web-03", "web-04", "web-05", "db-1"}}},
		{name: "a host named local is a host, the swap on local is this machine",
			file: "hosts", src: "[test]\nlocal\n[web]\nw1\n[web2]\nlocal2\n", opts: Options{Swap: inventory.SwapLocal},
			want: inventory.Service{Test: []string{"local"}, Fleet: []string{"w1", "local2"}, Swap: "local"}},
		{name: "a mapped swap group",
			file: "hosts", src: webINI,
			roles: map[string][]string{"test": {"test"}, "standby": {"standby"}, "primary": {"primary"}, "swap": {"swap"}},
			want:  inventory.Service{Test: []string{"web-test-1"}, Standby: "web-b", Primary: "web-a", Swap: "lb-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := build(t, tt.file, tt.src, tt.roles, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			svc, err := inv.Service("")
			if err != nil {
				t.Fatal(err)
			}
			got := *svc
			got.Pos, got.Name = diag.Pos{}, ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("service:\n got %+v\nwant %+v", got, tt.want)
			}
			for h := range svc.Roles() {
				if inv.Hosts[h] == nil {
					t.Errorf("host %s is in a role but not in Hosts", h)
				}
			}
		})
	}
}

// TestBuildSettings: what each host's variables make of its settings, with
// and without an ssh config.
func TestBuildSettings(t *testing.T) {
	sshCfg, err := inventory.ParseSSHConfig("ssh_config", []byte(`
Host web-*
  User fromconfig
  Port 2022
  IdentityFile ~/.ssh/web
  ProxyJump config-bastion
Host bastion
  HostName bastion.corp.example.com
  User ops
  Port 2200
`))
	if err != nil {
		t.Fatal(err)
	}
	src := `[test]
web-t1 ansible_host=10.0.0.9 ansible_port=2201 ansible_user=me ansible_ssh_private_key_file=~/.ssh/t1 ansible_ssh_common_args='-o ProxyJump=bastion'
web-t2 ansible_connection=local
web-t3 ansible_ssh_host=10.0.0.3 ansible_ssh_port=2203 ansible_ssh_user=old ansible_port=9
web-t4 ansible_user= ansible_ssh_extra_args="-J u@bastion:2222"
web-t5 ansible_ssh_private_key_file=~/.ssh/t5 ansible_private_key_file=~/.ssh/lost

[test:vars]
ansible_user=group
`
	tests := []struct {
		name string
		opts Options
		want map[string]inventory.Settings
	}{
		{name: "without an ssh config", want: map[string]inventory.Settings{
			"web-t1":  {Address: "10.0.0.9", Port: 2201, User: "me", IdentityFile: []string{"~/.ssh/t1"}, Jump: []string{"bastion"}, Transport: "ssh"},
			"web-t2":  {Address: "web-t2", Port: 22, User: "group", Transport: "local"},
			"web-t3":  {Address: "10.0.0.3", Port: 2203, User: "old", Transport: "ssh"},
			"web-t4":  {Address: "web-t4", Port: 22, Jump: []string{"u@bastion:2222"}, Transport: "ssh"},
			"web-t5":  {Address: "web-t5", Port: 22, User: "group", IdentityFile: []string{"~/.ssh/t5"}, Transport: "ssh"},
			"bastion": {Address: "bastion", Port: 22, Transport: "ssh"},
		}},
		{name: "with an ssh config where the inventory is silent", opts: Options{SSHConfig: sshCfg}, want: map[string]inventory.Settings{
			"web-t1": {Address: "10.0.0.9", Port: 2201, User: "me", IdentityFile: []string{"~/.ssh/t1"}, Jump: []string{"bastion"}, Transport: "ssh"},
			"web-t2": {Address: "web-t2", Port: 2022, User: "group", IdentityFile: []string{"~/.ssh/web"}, Jump: []string{"config-bastion"}, Transport: "local"},
			"web-t3": {Address: "10.0.0.3", Port: 2203, User: "old", IdentityFile: []string{"~/.ssh/web"}, Jump: []string{"config-bastion"}, Transport: "ssh"},
			"web-t4": {Address: "web-t4", Port: 2022, User: "fromconfig", IdentityFile: []string{"~/.ssh/web"}, Jump: []string{"u@bastion:2222"}, Transport: "ssh"},
			"web-t5": {Address: "web-t5", Port: 2022, User: "group", IdentityFile: []string{"~/.ssh/t5"}, Jump: []string{"config-bastion"}, Transport: "ssh"},
			// Jump hosts are reached as ssh would reach them.
			"bastion":        {Address: "bastion.corp.example.com", Port: 2200, User: "ops", Transport: "ssh"},
			"config-bastion": {Address: "config-bastion", Port: 22, Transport: "ssh"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := build(t, "hosts", src, nil, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for name := range inv.Hosts {
				names = append(names, name)
			}
			slices.Sort(names)
			var want []string
			for name := range tt.want {
				want = append(want, name)
			}
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("hosts %q, want %q", names, want)
			}
			for name, w := range tt.want {
				if h := inv.Hosts[name]; h == nil || !reflect.DeepEqual(h.Settings, w) {
					t.Errorf("host %s:\n got %+v\nwant %+v", name, h, w)
				}
			}
		})
	}
}

// TestBuildMatchesNative: an Ansible inventory and the inventory.yaml that
// says the same thing load to the same inventory.
func TestBuildMatchesNative(t *testing.T) {
	native := `
services:
  web:
    test: [web-test-1]
    standby: web-b
    primary: web-a
    swap: lb-1
    canary: ["web-[01:02]"]
    fleet: ["web-[03:05]", db-1]
defaults:
  user: deploy
hosts:
  web-b: {address: 10.0.0.6}
  web-a: {address: 10.0.0.5, port: 2201}
  db-1: {user: postgres}
`
	want, err := inventory.Parse("inventory.yaml", []byte(native), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := build(t, "hosts", webINI, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range []*inventory.Inventory{want, got} {
		inv.File = ""
		for _, s := range inv.Services {
			s.Pos = diag.Pos{}
		}
		for _, h := range inv.Hosts {
			h.Pos = diag.Pos{}
		}
	}
	if !reflect.DeepEqual(got.Services, want.Services) || !reflect.DeepEqual(got.ServiceNames, want.ServiceNames) {
		t.Errorf("services:\n got %+v\nwant %+v", *got.Services["web"], *want.Services["web"])
	}
	if !reflect.DeepEqual(got.Hosts, want.Hosts) {
		for name, h := range want.Hosts {
			if !reflect.DeepEqual(got.Hosts[name], h) {
				t.Errorf("host %s:\n got %+v\nwant %+v", name, got.Hosts[name], h)
			}
		}
		for name := range got.Hosts {
			if want.Hosts[name] == nil {
				t.Errorf("host %s is not in the native inventory", name)
			}
		}
	}
}

// TestBuildServiceName: the service is named as asked, else after the file.
func TestBuildServiceName(t *testing.T) {
	inv, err := Parse("/etc/ansible/prod-web.ini", []byte("[test]\nt1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for service, want := range map[string]string{"": "prod-web", "api": "api"} {
		out, err := inv.Build(service, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.ServiceNames, []string{want}) || out.Services[want] == nil {
			t.Errorf("Build(%q): services %q, want %q", service, out.ServiceNames, want)
		}
	}
}

// TestLoad reads files: each format, and a missing file.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	ini := filepath.Join(dir, "hosts")
	yml := filepath.Join(dir, "inventory.yml")
	if err := os.WriteFile(ini, []byte("[test]\nt1\n[web]\nw1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(yml, []byte("all:\n  children:\n    test:\n      hosts: {t1: }\n    web:\n      hosts: {w1: }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{ini, yml} {
		inv, err := Load(path, "web", nil, Options{})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if svc := inv.Services["web"]; svc == nil || !slices.Equal(svc.Test, []string{"t1"}) || !slices.Equal(svc.Fleet, []string{"w1"}) {
			t.Errorf("%s: %+v", path, svc)
		}
	}
	_, err := Load(filepath.Join(dir, "nope"), "web", nil, Options{})
	var l diag.List
	if !errors.As(err, &l) || len(l) != 1 || l[0].Msg != "no such file" {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(ini, []byte("[test]\nt1 x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ini, "web", nil, Options{}); err == nil || !strings.Contains(err.Error(), "hosts:2:4: expected key=value") {
		t.Errorf("bad file: %v", err)
	}
}

// want is one expected problem of Build; line 0 is a problem of the
// mapping or the options, which has no place in the file.
type want struct {
	line int
	near string // the column is where this starts on line
	msg  string
	hint string // a substring of the hint
}

func checkBuild(t *testing.T, file, src string, err error, wants []want) {
	t.Helper()
	var got diag.List
	if !errors.As(err, &got) {
		t.Fatalf("error is %T, want diag.List: %v", err, err)
	}
	if len(got) != len(wants) {
		t.Errorf("got %d problems, want %d:\n%v", len(got), len(wants), got)
	}
	lines := strings.Split(src, "\n")
	for i := range min(len(got), len(wants)) {
		g, w := got[i], wants[i]
		col := 0
		if w.line > 0 {
			col = 1
			if w.near != "" {
				c := strings.Index(lines[w.line-1], w.near)
				if c < 0 {
					t.Fatalf("test case: %q is not on line %d", w.near, w.line)
				}
				col = c + 1
			}
		}
		if g.File != file || g.Line != w.line || g.Col != col || g.Msg != w.msg {
			t.Errorf("problem %d:\n got %s:%d:%d: %s\nwant %s:%d:%d: %s", i+1, g.File, g.Line, g.Col, g.Msg, file, w.line, col, w.msg)
		}
		if !strings.Contains(g.Hint, w.hint) {
			t.Errorf("problem %d (%s): hint %q does not contain %q", i+1, g.Msg, g.Hint, w.hint)
		}
	}
}

// TestBuildErrors: every problem Build reports, at its place with its hint.
func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		src   string
		roles map[string][]string
		opts  Options
		want  []want
	}{
		{name: "no hosts at all", file: "hosts", src: "[test]\n[web]\n",
			want: []want{{line: 1, msg: "the inventory has no hosts", hint: "test, then canary"}}},
		{name: "no test group", file: "hosts", src: "[web]\nw1\n",
			want: []want{{line: 1, msg: `service "web" has no test hosts`, hint: "every change goes through a test instance first"}}},
		{name: "an empty test group", file: "hosts", src: "w1\n[test]\n",
			want: []want{{line: 2, msg: `service "web" has no test hosts`}}},
		{name: "a mapping without test", file: "hosts", src: "[web]\nw1\n", roles: map[string][]string{"fleet": {"web"}},
			want: []want{{msg: `service "web" has no test hosts`, hint: "map the test role to a group"}}},
		{name: "an unknown group and an unknown role in the mapping", file: "hosts", src: "[test]\nt1\n[webservers]\nw1\n",
			roles: map[string][]string{"test": {"test"}, "fleet": {"webserver", "nothing-like-it"}, "canaries": {"test"}},
			want: []want{
				{msg: `no group "webserver" in the inventory, for role fleet`, hint: `did you mean "webservers"? groups: all, ungrouped, test, webservers`},
				{msg: `no group "nothing-like-it" in the inventory, for role fleet`, hint: "groups: all, ungrouped, test, webservers"},
				{msg: `unknown role "canaries" in the mapping of roles to groups`, hint: "the roles are test, standby, primary, canary, fleet and swap"}}},
		{name: "a host in two roles, placed in the second group", file: "hosts",
			src:   "[staging]\ns1\nshared\n[web]\nw1\n  shared\n",
			roles: map[string][]string{"test": {"staging"}, "fleet": {"web"}},
			want: []want{{line: 6, near: "shared", msg: `host "shared" is in two roles: test (group staging) and fleet (group web)`,
				hint: "take it out of one of the groups"}}},
		{name: "many hosts in two roles are one problem per pair of groups", file: "hosts",
			src:   "[staging]\nw[1:4]\n[canary]\nw1\n[web]\nw[1:9]\n",
			roles: map[string][]string{"test": {"staging"}, "canary": {"canary"}, "fleet": {"web"}},
			want: []want{
				{line: 4, msg: `host "w1" is in two roles: test (group staging) and canary (group canary)`},
				{line: 6, msg: `host "w1" and 3 more are in two roles: test (group staging) and fleet (group web)`}}},
		{name: "all mapped beside other roles", file: "hosts", src: "[staging]\ns1\n[web]\nw1\n",
			roles: map[string][]string{"test": {"staging"}, "fleet": {"all"}},
			want:  []want{{line: 2, msg: `host "s1" is in two roles: test (group staging) and fleet (group all)`, hint: "all holds every host"}}},
		{name: "a standby group of two, a primary group of none", file: "hosts",
			src: "[test]\nt1\n[standby]\nb1\nb2\n[primary]\n[swap]\nlb\n",
			want: []want{{line: 3, msg: `standby: group "standby" holds 2 hosts; a service has one standby`, hint: "canary or fleet"},
				{line: 6, msg: `primary: group "primary" has no hosts`, hint: "a service has one primary"}}},
		{name: "standby mapped to two groups", file: "hosts", src: "[test]\nt1\n[b]\nb1\n[c]\nc1\n[a]\na1\n[swap]\nlb\n",
			roles: map[string][]string{"test": {"test"}, "standby": {"b", "c"}, "primary": {"a"}, "swap": {"swap"}},
			want:  []want{{line: 3, msg: `standby: groups "b", "c" hold 2 hosts; a service has one standby`}}},
		{name: "a standby without a primary", file: "hosts", src: "[test]\nt1\n[standby]\nb1\n",
			want: []want{{line: 3, msg: `service "web" has a standby but no primary`, hint: "give both"}}},
		{name: "a primary without a standby", file: "hosts", src: "[test]\nt1\n[primary]\na1\n",
			want: []want{{line: 3, msg: `service "web" has a primary but no standby`}}},
		{name: "a standby and a primary without a swap host", file: "hosts", src: "[test]\nt1\n[standby]\nb1\n[primary]\na1\n",
			want: []want{{line: 3, msg: `service "web" has a primary and a standby but no swap host`, hint: "a group named swap"}}},
		{name: "a swap group of two", file: "hosts", src: "[test]\nt1\n[standby]\nb1\n[primary]\na1\n[swap]\nlb1\nlb2\n",
			want: []want{{line: 7, msg: `swap: group "swap" holds 2 hosts; a service has one swap`, hint: "the swap command runs on one host"}}},
		{name: "a standby that is also a test host", file: "hosts", src: "[test]\nt1\n[standby]\nt1\n[primary]\na1\n[swap]\nlb\n",
			want: []want{{line: 4, msg: `host "t1" is in two roles: test (group test) and standby (group standby)`}}},
		{name: "a bad swap option", file: "hosts", src: "[test]\nt1\n", opts: Options{Swap: "-oProxyCommand=x"},
			want: []want{{msg: `swap host "-oProxyCommand=x" is not valid`, hint: "or local"}}},
		{name: "bad host names", file: "hosts", src: "[test]\nt1\nbad!name\n_ok\n2001:db8::1\n",
			want: []want{
				{line: 3, msg: `host name "bad!name" is not valid`, hint: "a host name is letters"},
				{line: 5, msg: `host name "2001:db8::1" is not valid`, hint: "web1 ansible_host=2001:db8::1"}}},
		{name: "bad connection variables, each reported where it is written", file: "hosts",
			src: "[test]\nt1 ansible_host=-oProxyCommand=x ansible_port=ssh\nt2 ansible_port=0 ansible_user='a b' ansible_connection=winrm\n",
			want: []want{
				{line: 2, near: "ansible_host", msg: `ansible_host "-oProxyCommand=x" is not a valid host name or IP address`, hint: "a DNS name"},
				{line: 2, near: "ansible_port", msg: `ansible_port "ssh" is not a port number`, hint: "from 1 to 65535"},
				{line: 3, near: "ansible_port", msg: "ansible_port 0 is out of range: it must be between 1 and 65535"},
				{line: 3, near: "ansible_user", msg: `ansible_user "a b" is not a valid user name`, hint: "not starting with '-'"},
				{line: 3, near: "ansible_connection", msg: `ansible_connection "winrm" is not a connection rollout can use`, hint: "ssh"}}},
		{name: "a bad group variable is one problem for all its hosts", file: "hosts",
			src:  "[test]\nt1\n[web]\nw[1:50]\n[all:vars]\nansible_user=-root\n",
			want: []want{{line: 6, msg: `ansible_user "-root" is not a valid user name`}}},
		{name: "a bad variable of a host outside the service is not a problem", file: "hosts",
			src: "[test]\nt1\n[other]\nx1 ansible_port=nope\n", roles: map[string][]string{"test": {"test"}}},
		{name: "jumps rollout cannot follow", file: "hosts",
			src: "[test]\nt1 ansible_ssh_common_args='-o ProxyCommand=\"nc -x proxy %h %p\"'\nt2 ansible_ssh_extra_args='-J -oops'\n",
			want: []want{
				{line: 2, near: "ansible_ssh_common_args", msg: `ansible_ssh_common_args: cannot follow ProxyCommand "nc -x proxy %h %p": rollout follows a ProxyJump, or a ProxyCommand of the form "ssh -W %h:%p [user@]host"`,
					hint: "write -o ProxyJump=host"},
				{line: 3, near: "ansible_ssh_extra_args", msg: `jump host "-oops" in ansible_ssh_extra_args is not valid`, hint: "user@host:port"}}},
		{name: "a list where a value goes", file: "inv.yml",
			src: "test:\n  hosts:\n    t1:\n      ansible_host: [a, b]\n      ansible_ssh_common_args: {a: b}\n",
			want: []want{
				{line: 4, near: "[", msg: "ansible_host must be a single value, not a list or mapping"},
				{line: 5, near: "{", msg: "ansible_ssh_common_args must be a string, not a list or mapping"}}},
		{name: "an ssh config the inventory would refuse", file: "hosts", src: "[test]\nt1 ansible_ssh_common_args='-J b'\n",
			opts: Options{SSHConfig: mustSSHConfig(t, "Host t1 b\n  HostName -oProxyCommand=x\n")},
			want: []want{
				{line: 2, msg: `host "t1": ssh config ssh_config gives HostName "-oProxyCommand=x", which is not a valid host name or IP address`, hint: "fix the ssh config"},
				{line: 2, near: "ansible_ssh", msg: `jump host "b": ssh config ssh_config gives HostName "-oProxyCommand=x", which is not a valid host name or IP address`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := build(t, tt.file, tt.src, tt.roles, tt.opts)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if inv != nil {
				t.Errorf("an inventory along with the error")
			}
			checkBuild(t, tt.file, tt.src, err, tt.want)
		})
	}
}

// TestBuildBadServiceName: a service name that could not be a lock file's.
func TestBuildBadServiceName(t *testing.T) {
	inv, err := Parse("hosts", []byte("[test]\nt1\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = inv.Build("../web", nil, Options{})
	checkBuild(t, "hosts", "", err, []want{{msg: `service name "../web" is not valid`, hint: "choose one with -s"}})
}

func mustSSHConfig(t *testing.T, src string) *inventory.SSHConfig {
	t.Helper()
	cfg, err := inventory.ParseSSHConfig("ssh_config", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
