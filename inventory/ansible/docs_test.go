package ansible

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/internal/diagtest"
)

// The examples of Ansible's "How to build your inventory" page,
// https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html,
// are kept verbatim in testdata/docs (see its README.md for which section
// each comes from). Each must read as the page says it does.

// www returns www01..www49 (stride) or www01..www50 .example.com.
func www(stride int) []string {
	var out []string
	for i := 1; i <= 50; i += stride {
		out = append(out, fmt.Sprintf("www%02d.example.com", i))
	}
	return out
}

var (
	basicGroups = map[string][]string{
		"ungrouped":  {"mail.example.com"},
		"webservers": {"foo.example.com", "bar.example.com"},
		"dbservers":  {"one.example.com", "two.example.com", "three.example.com"},
		"all":        {"mail.example.com", "foo.example.com", "bar.example.com", "one.example.com", "two.example.com", "three.example.com"},
	}
	whereGroups = map[string][]string{
		"east": {"foo.example.com", "one.example.com", "two.example.com"},
		"west": {"bar.example.com", "three.example.com"},
		"prod": {"foo.example.com", "one.example.com", "two.example.com"},
		"test": {"bar.example.com", "three.example.com"},
	}
	southeast = map[string]string{
		"some_server": "foo.southeast.example.com", "halon_system_timeout": "30",
		"self_destruct_countdown": "60", "escape_pods": "2",
	}
)

func merge(ms ...map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestDocsExamples(t *testing.T) {
	tests := []struct {
		file     string
		format   Format
		groups   map[string][]string          // group → every host in it, children's included
		children map[string][]string          // group → its child groups
		vars     map[string]map[string]string // host → variables that apply to it
	}{
		{file: "basic.ini", format: INI, groups: basicGroups},
		{file: "basic.yml", format: YAML, groups: basicGroups},
		{file: "multiple-groups.yml", format: YAML, groups: merge(basicGroups, whereGroups)},
		{file: "parent-child.yml", format: YAML, groups: merge(basicGroups, whereGroups),
			children: map[string][]string{"prod": {"east"}, "test": {"west"}}},
		{file: "ranges.ini", format: INI, groups: map[string][]string{"webservers": www(1)}},
		{file: "ranges.yml", format: YAML, groups: map[string][]string{"webservers": www(1)}},
		{file: "ranges-stride.ini", format: INI, groups: map[string][]string{"webservers": www(2)}},
		{file: "ranges-stride.yml", format: YAML, groups: map[string][]string{"webservers": www(2)}},
		{file: "ranges-letters.ini", format: INI, groups: map[string][]string{"databases": {
			"db-a.example.com", "db-b.example.com", "db-c.example.com", "db-d.example.com", "db-e.example.com", "db-f.example.com"}}},
		{file: "host-vars.ini", format: INI, groups: map[string][]string{"atlanta": {"host1", "host2"}},
			vars: map[string]map[string]string{
				"host1": {"http_port": "80", "maxRequestsPerChild": "808"},
				"host2": {"http_port": "303", "maxRequestsPerChild": "909"}}},
		{file: "host-vars.yml", format: YAML, groups: map[string][]string{"atlanta": {"host1", "host2"}},
			vars: map[string]map[string]string{
				"host1": {"http_port": "80", "maxRequestsPerChild": "808"},
				"host2": {"http_port": "303", "maxRequestsPerChild": "909"}}},
		{file: "port.ini", format: INI, groups: map[string][]string{"ungrouped": {"badwolf.example.com"}},
			vars: map[string]map[string]string{"badwolf.example.com": {"ansible_port": "5309"}}},
		{file: "connection.ini", format: INI,
			groups: map[string][]string{"targets": {"localhost", "other1.example.com", "other2.example.com"}, "ungrouped": nil},
			vars: map[string]map[string]string{
				"localhost":          {"ansible_connection": "local"},
				"other1.example.com": {"ansible_connection": "ssh", "ansible_user": "myuser"},
				"other2.example.com": {"ansible_connection": "ssh", "ansible_user": "myotheruser"}}},
		{file: "alias.ini", format: INI, groups: map[string][]string{"ungrouped": {"jumper"}},
			vars: map[string]map[string]string{"jumper": {"ansible_port": "5555", "ansible_host": "192.0.2.50"}}},
		{file: "group-vars.ini", format: INI, groups: map[string][]string{"atlanta": {"host1", "host2"}},
			vars: map[string]map[string]string{
				"host1": {"ntp_server": "ntp.atlanta.example.com", "proxy": "proxy.atlanta.example.com"},
				"host2": {"ntp_server": "ntp.atlanta.example.com", "proxy": "proxy.atlanta.example.com"}}},
		{file: "group-vars.yml", format: YAML, groups: map[string][]string{"atlanta": {"host1", "host2"}},
			vars: map[string]map[string]string{
				"host1": {"ntp_server": "ntp.atlanta.example.com", "proxy": "proxy.atlanta.example.com"},
				"host2": {"ntp_server": "ntp.atlanta.example.com", "proxy": "proxy.atlanta.example.com"}}},
		{file: "subgroups.yml", format: YAML,
			groups: map[string][]string{
				"atlanta": {"host1", "host2"}, "raleigh": {"host2", "host3"}, "southeast": {"host1", "host2", "host3"},
				"usa": {"host1", "host2", "host3"}, "northeast": nil, "northwest": nil, "southwest": nil},
			children: map[string][]string{"usa": {"southeast", "northeast", "northwest", "southwest"}, "southeast": {"atlanta", "raleigh"}},
			vars:     map[string]map[string]string{"host1": southeast, "host2": southeast, "host3": southeast}},
		{file: "priority.yml", format: YAML, groups: map[string][]string{"a_group": nil, "b_group": nil, "all": nil}},
		{file: "behavioral.ini", format: INI,
			groups: map[string][]string{"ungrouped": {"some_host", "aws_host", "freebsd_host", "ruby_module_host"}},
			vars: map[string]map[string]string{
				"some_host":        {"ansible_port": "2222", "ansible_user": "manager"},
				"aws_host":         {"ansible_ssh_private_key_file": "/home/example/.ssh/aws.pem"},
				"freebsd_host":     {"ansible_python_interpreter": "/usr/local/bin/python"},
				"ruby_module_host": {"ansible_ruby_interpreter": "/usr/bin/ruby.1.9.3"}}},
		{file: "inventory_test", format: INI, groups: map[string][]string{
			"dbservers":  {"db01.test.example.com", "db02.test.example.com"},
			"appservers": {"app01.test.example.com", "app02.test.example.com", "app03.test.example.com"}}},
		{file: "inventory_staging", format: INI, groups: map[string][]string{
			"dbservers":  {"db01.staging.example.com", "db02.staging.example.com"},
			"appservers": {"app01.staging.example.com", "app02.staging.example.com", "app03.staging.example.com"}}},
		{file: "by-location.ini", format: INI, groups: map[string][]string{
			"dc1": {"db01.test.example.com", "app01.test.example.com"}, "dc2": {"db02.test.example.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "docs", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := Detect(path, data); got != tt.format {
				t.Errorf("Detect = %v, want %v", got, tt.format)
			}
			inv, err := Parse(path, data)
			if err != nil {
				t.Fatal(err)
			}
			for g, want := range tt.groups {
				if inv.Groups[g] == nil {
					t.Errorf("no group %s", g)
					continue
				}
				if got := inv.GroupHosts(g); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
					t.Errorf("group %s: %q, want %q", g, got, want)
				}
			}
			for g, want := range tt.children {
				if got := inv.Groups[g].Children; !reflect.DeepEqual(got, want) {
					t.Errorf("children of %s: %q, want %q", g, got, want)
				}
			}
			for h, want := range tt.vars {
				got := map[string]string{}
				for k, v := range inv.HostVars(h) {
					got[k] = v.Value
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("vars of %s: %v, want %v", h, got, want)
				}
			}
		})
	}
}

// TestDocsSubgroupsINI: the page's INI example of groups of groups names
// northeast, southwest and northwest under [usa:children] without defining
// them; its YAML twin defines them as empty groups. Ansible refuses the INI
// ("Section [usa:children] includes undefined group"), and so does this
// reader, naming all three at once.
func TestDocsSubgroupsINI(t *testing.T) {
	path := filepath.Join("testdata", "docs", "subgroups.ini")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(path, data)
	want := func(line int, g string) diagtest.Want {
		return diagtest.Want{Line: line, Near: g, Msg: `[usa:children] names group "` + g + `", which is not defined`, Hint: "add a [" + g + "] section"}
	}
	diagtest.Check(t, path, string(data), err, []diagtest.Want{want(21, "northeast"), want(22, "southwest"), want(23, "northwest")})
}

// TestDocsINIAndYAMLAgree: where the page gives one inventory in both
// formats, both read to the same groups, hosts and variables.
func TestDocsINIAndYAMLAgree(t *testing.T) {
	for _, pair := range [][2]string{
		{"basic.ini", "basic.yml"}, {"ranges.ini", "ranges.yml"}, {"ranges-stride.ini", "ranges-stride.yml"},
		{"host-vars.ini", "host-vars.yml"}, {"group-vars.ini", "group-vars.yml"},
	} {
		var invs [2]*Inventory
		for i, f := range pair {
			path := filepath.Join("testdata", "docs", f)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if invs[i], err = Parse(path, data); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(invs[0].HostNames, invs[1].HostNames) {
			t.Errorf("%s and %s: hosts %q and %q", pair[0], pair[1], invs[0].HostNames, invs[1].HostNames)
		}
		for _, g := range invs[0].GroupNames {
			if a, b := invs[0].GroupHosts(g), invs[1].GroupHosts(g); !reflect.DeepEqual(a, b) {
				t.Errorf("%s and %s: group %s: %q and %q", pair[0], pair[1], g, a, b)
			}
		}
		for _, h := range invs[0].HostNames {
			a, b := invs[0].HostVars(h), invs[1].HostVars(h)
			if len(a) != len(b) {
				t.Errorf("%s and %s: host %s: %v and %v", pair[0], pair[1], h, a, b)
			}
			for k, v := range a {
				if b[k].Value != v.Value {
					t.Errorf("%s and %s: host %s: %s is %q and %q", pair[0], pair[1], h, k, v.Value, b[k].Value)
				}
			}
		}
	}
}
