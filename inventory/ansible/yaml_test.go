package ansible

import (
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/internal/diagtest"
)

// TestParseYAML reads the YAML rules one case each.
func TestParseYAML(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		groups map[string][]string
		vars   map[string]map[string]string
		pos    map[string]diag.Pos
	}{
		{name: "all with hosts, vars and nested children",
			in: `
all:
  hosts:
    mail.example.com:
  vars:
    ansible_user: deploy
  children:
    web:
      hosts:
        web[1:3]:
          ansible_port: 2222
      children:
        canary:
          hosts:
            web-c1:
`,
			groups: map[string][]string{"all": {"mail.example.com", "web1", "web2", "web3", "web-c1"},
				"ungrouped": {"mail.example.com"}, "web": {"web1", "web2", "web3", "web-c1"}, "canary": {"web-c1"}},
			vars: map[string]map[string]string{"web2": {"ansible_user": "deploy", "ansible_port": "2222"},
				"web-c1": {"ansible_user": "deploy"}},
			pos: map[string]diag.Pos{"mail.example.com": {Line: 4, Col: 5}, "web1": {Line: 10, Col: 9}, "web-c1": {Line: 15, Col: 13}}},
		{name: "a group defined at the top and referred to as a child with no value",
			in:     "prod:\n  children:\n    web:\nweb:\n  hosts:\n    w1:\n",
			groups: map[string][]string{"prod": {"w1"}, "web": {"w1"}}},
		{name: "hosts and children given as one name, as the yaml plugin allows",
			in:     "all:\n  children:\n    web:\n      hosts: w1\n    prod:\n      children: web\n",
			groups: map[string][]string{"web": {"w1"}, "prod": {"w1"}}},
		{name: "host:port and quoted keys",
			in:   "web:\n  hosts:\n    \"w1:2200\":\n    w2:2201:\n      x: 1\n",
			vars: map[string]map[string]string{"w1": {"ansible_port": "2200"}, "w2": {"ansible_port": "2201", "x": "1"}}},
		{name: "values are taken as written; null and lists are kept as such",
			in:   "web:\n  hosts:\n    w1:\n      a: 0022\n      b: yes\n      c: ~\n      d: [1, 2]\n      e: 'quoted'\n",
			vars: map[string]map[string]string{"w1": {"a": "0022", "b": "yes", "c": "", "d": "", "e": "quoted"}}},
		{name: "an empty group",
			in:     "web:\n",
			groups: map[string][]string{"web": nil, "all": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseYAML("inv.yml", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			checkParsed(t, inv, tt.groups, tt.vars, tt.pos)
		})
	}
}

// TestParseYAMLErrors feeds one broken YAML inventory per case and checks
// that every problem, and nothing else, is reported at its line and column.
func TestParseYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []diagtest.Want
	}{
		{"empty", "# nothing\n", []diagtest.Want{{Line: 1, Col: 1, Msg: "the inventory is empty", Hint: "all:"}}},
		{"not a mapping", "- web1\n- web2\n", []diagtest.Want{
			{Line: 1, Col: 1, Msg: "an Ansible YAML inventory is a mapping of groups, not a list", Hint: "all:"}}},
		{"a syntax error", "all:\n  hosts:\n    web1:\n   bad\n", []diagtest.Want{
			{Line: 4, Col: 4, Msg: "YAML syntax: value is not allowed in this context"}}},
		{"an inventory plugin's configuration", "plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n", []diagtest.Want{
			{Line: 1, Col: 1, Msg: "this is the configuration of an inventory plugin, not an inventory", Hint: "--list --yaml"}}},
		{"ansible-inventory --list JSON", `{"_meta": {"hostvars": {}}, "all": {"children": ["ungrouped"]}}`, []diagtest.Want{
			{Line: 1, Near: `"_meta"`, Msg: "this is the JSON that ansible-inventory --list prints, which rollout does not read", Hint: "--list --yaml"}}},
		{"hosts at the top", "hosts:\n  web1:\n", []diagtest.Want{
			{Line: 1, Col: 1, Msg: `"hosts" at the top of the file: an Ansible YAML inventory starts with a group`, Hint: "under a group"}}},
		{"a group that is not a mapping", "web: [web1, web2]\n", []diagtest.Want{
			{Line: 1, Near: "[", Msg: "group \"web\" must be a mapping of hosts, children and vars, not a list"}}},
		{"a misspelt key in a group", "all:\n  host:\n    web1:\n  chlidren:\n    db:\n  colour: blue\n", []diagtest.Want{
			{Line: 2, Col: 3, Msg: `unknown key "host" in group all`, Hint: `did you mean "hosts"?`},
			{Line: 4, Col: 3, Msg: `unknown key "chlidren" in group all`, Hint: `did you mean "children"?`},
			{Line: 6, Col: 3, Msg: `unknown key "colour" in group all`, Hint: "known keys: hosts, children, vars"}}},
		{"hosts as a list", "web:\n  hosts:\n    - web1\n    - web2\n", []diagtest.Want{
			{Line: 3, Near: "-", Msg: `hosts of group "web" must be a mapping of host names, not a list`, Hint: "web1.example.com:"}}},
		{"children as a list", "web:\n  children: [a, b]\n", []diagtest.Want{
			{Line: 2, Near: "[", Msg: `children of group "web" must be a mapping of groups, not a list`}}},
		{"host variables that are not a mapping", "web:\n  hosts:\n    web1: 10.0.0.1\n", []diagtest.Want{
			{Line: 3, Near: "10.0", Msg: `the variables of host web1 must be a mapping, not a string "10.0.0.1"`, Hint: "name: value"}}},
		{"vars that are not a mapping", "web:\n  vars: [a]\n", []diagtest.Want{
			{Line: 2, Near: "[", Msg: "vars of group web must be a mapping of key: value, not a list"}}},
		{"a bad range and a bad port", "web:\n  hosts:\n    web[3:1]:\n    \"web:0\":\n", []diagtest.Want{
			{Line: 3, Near: "web", Msg: `range [3:1] in "web[3:1]": the range is inverted: 3 is greater than 1`},
			{Line: 4, Near: `"web`, Msg: `port 0 of host "web:0" is out of range: it must be between 1 and 65535`}}},
		{"all as a child", "web:\n  children:\n    all:\n", []diagtest.Want{
			{Line: 3, Near: "all", Msg: "all cannot be a child group"}}},
		{"a group as its own child", "web:\n  children:\n    web:\n", []diagtest.Want{
			{Line: 3, Near: "web", Msg: `group "web" under "web" makes a loop: "web" is already below "web"`}}},
		{"a loop of children", "a:\n  children:\n    b:\nb:\n  children:\n    a:\n", []diagtest.Want{
			{Line: 6, Near: "a", Msg: `group "a" under "b" makes a loop: "b" is already below "a"`}}},
		{"a host given twice in a group", "web:\n  hosts:\n    w1:\n    w1:\n", []diagtest.Want{
			{Line: 4, Near: "w1", Msg: `"w1" is given twice in hosts of group web (first at line 3)`}}},
		{"an alias, with a hint for Ansible", "all:\n  vars: &v\n    x: 1\nweb:\n  vars: *v\n", []diagtest.Want{
			{Line: 5, Near: "*v", Msg: "YAML aliases (*name) are not supported", Hint: "a group's vars:"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseYAML("inv.yml", []byte(tt.in))
			if inv != nil {
				t.Errorf("an inventory along with the error")
			}
			diagtest.Check(t, "inv.yml", tt.in, err, tt.want)
		})
	}
}

// TestParseYAMLBounds: as for INI, too many hosts is an error.
func TestParseYAMLBounds(t *testing.T) {
	defer func(h, n int) { maxHosts, maxNames = h, n }(maxHosts, maxNames)
	maxHosts, maxNames = 100, 1000
	in := "a:\n  hosts:\n    h[1:99]:\n    h[100:101]:\n    never:\n"
	_, err := ParseYAML("inv.yml", []byte(in))
	diagtest.Check(t, "inv.yml", in, err, []diagtest.Want{
		{Line: 4, Near: "h[", Msg: "the inventory holds more than 100 hosts, the most rollout reads"}})
	in = "a:\n  hosts:\n    h[1:999]:\nb:\n  hosts:\n    h[1:999]:\n"
	_, err = ParseYAML("inv.yml", []byte(in))
	diagtest.Check(t, "inv.yml", in, err, []diagtest.Want{
		{Line: 3, Near: "h[", Msg: "the inventory holds more than 100 hosts, the most rollout reads"}})
}
