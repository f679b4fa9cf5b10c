package ansible

import (
	"strings"
	"testing"

	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/internal/diagtest"
)

// TestParseINI reads the INI rules one case each: what hosts each group
// holds, what variables a host has, and where each is placed.
func TestParseINI(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		groups map[string][]string          // group → every host in it
		vars   map[string]map[string]string // host → some of its own and inherited variables
		pos    map[string]diag.Pos          // host → where it is first named
	}{
		{name: "ungrouped hosts before any section, comments with # and ;",
			in: "# a comment\n; another\nalpha\n  beta   # trailing comment\n\n[web]\ngamma\n",
			groups: map[string][]string{"ungrouped": {"alpha", "beta"}, "web": {"gamma"},
				"all": {"alpha", "beta", "gamma"}},
			pos: map[string]diag.Pos{"alpha": {Line: 3, Col: 1}, "beta": {Line: 4, Col: 3}, "gamma": {Line: 7, Col: 1}}},
		{name: "a host listed before a section and in a group is not ungrouped",
			in:     "alpha\n[web]\nalpha\nbeta\n",
			groups: map[string][]string{"ungrouped": nil, "web": {"alpha", "beta"}}},
		{name: "host:port sets ansible_port, an inline ansible_port wins",
			in: "[web]\nweb1:2222\nweb2:2222 ansible_port=22\nweb-[1:2].example.com:2200\n",
			vars: map[string]map[string]string{"web1": {"ansible_port": "2222"}, "web2": {"ansible_port": "22"},
				"web-1.example.com": {"ansible_port": "2200"}, "web-2.example.com": {"ansible_port": "2200"}}},
		{name: "ranges: padded, stride, letters, several",
			in: "[a]\nw[08:11]\n[b]\nx[1:5:2]\n[c]\ndb-[a:c]\n[d]\nr[1:2]-[a:b]\n",
			groups: map[string][]string{"a": {"w08", "w09", "w10", "w11"}, "b": {"x1", "x3", "x5"},
				"c": {"db-a", "db-b", "db-c"}, "d": {"r1-a", "r1-b", "r2-a", "r2-b"}}},
		{name: "inline values are shell words then Python literals",
			in: "[web]\n" +
				`h1 a=plain b='single quoted' c="double \"quoted\"" d="'03#pa33w0rd'" e=22 f=True g=None h=x#comment` + "\n",
			vars: map[string]map[string]string{"h1": {"a": "plain", "b": "single quoted", "c": `double "quoted"`,
				"d": "03#pa33w0rd", "e": "22", "f": "True", "g": "", "h": "x"}}},
		{name: "vars sections: everything after = is the value, a literal is unquoted",
			in: "[web]\nh1\n[web:vars]\nplain=a b c\nquoted='a b' # comment\nnumber = 23 # comment\nword=deploy # kept\nempty=\n",
			vars: map[string]map[string]string{"h1": {"plain": "a b c", "quoted": "a b", "number": "23",
				"word": "deploy # kept", "empty": ""}}},
		{name: "children may be defined after their parent, and nest",
			in:     "[usa:children]\nsoutheast\n[southeast:children]\natlanta\n[atlanta]\nhost1\n[raleigh]\nhost2\n[southeast:children]\nraleigh\n",
			groups: map[string][]string{"usa": {"host1", "host2"}, "southeast": {"host1", "host2"}, "atlanta": {"host1"}}},
		{name: "[group:vars] before [group] is fine; [all:vars] and [ungrouped:vars] always are",
			in:   "[all:vars]\nx=1\n[ungrouped:vars]\ny=2\n[web:vars]\nz=3\n[web]\nh1\n\nh0\n",
			vars: map[string]map[string]string{"h1": {"x": "1", "z": "3"}}},
		{name: "[group:hosts] is [group]; a header may have a comment",
			in:     "[web:hosts] # the web tier\nh1\n",
			groups: map[string][]string{"web": {"h1"}}},
		{name: "CRLF line ends and a byte order mark",
			in:     "\ufeff[web]\r\nh1 ansible_user=deploy\r\n",
			groups: map[string][]string{"web": {"h1"}},
			vars:   map[string]map[string]string{"h1": {"ansible_user": "deploy"}}},
		{name: "IPv6 addresses as host names, bare and bracketed with a port",
			in:     "[v6]\n2001:db8::1\n[::1]:2222\n",
			groups: map[string][]string{"v6": {"2001:db8::1", "::1"}},
			vars:   map[string]map[string]string{"::1": {"ansible_port": "2222"}}},
		{name: "a host in two groups is one host with the variables of both lines, the later winning",
			in:     "[a]\nh1 x=1 y=1\n[b]\nh1 y=2\n",
			groups: map[string][]string{"a": {"h1"}, "b": {"h1"}, "all": {"h1"}},
			vars:   map[string]map[string]string{"h1": {"x": "1", "y": "2"}}},
		{name: "columns count characters, not bytes",
			in:  "[web]\nhé.example h2=1\nh3\n",
			pos: map[string]diag.Pos{"hé.example": {Line: 2, Col: 1}, "h3": {Line: 3, Col: 1}}},
		{name: "an empty file is an empty inventory",
			in:     "",
			groups: map[string][]string{"all": nil, "ungrouped": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseINI("hosts", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			checkParsed(t, inv, tt.groups, tt.vars, tt.pos)
		})
	}
}

// TestParseINIVarPositions: each variable is placed where its name starts,
// on a host line or in a :vars section.
func TestParseINIVarPositions(t *testing.T) {
	src := "[web]\nweb1  ansible_host=10.0.0.1 ansible_port=22\nweb2:2222\n[web:vars]\n  ansible_user=deploy\n"
	inv, err := ParseINI("hosts", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]diag.Pos{"ansible_host": {Line: 2, Col: 7}, "ansible_port": {Line: 2, Col: 29}, "ansible_user": {Line: 5, Col: 3}}
	for k, p := range want {
		if got := inv.HostVars("web1")[k].Pos; got != p {
			t.Errorf("%s at %v, want %v", k, got, p)
		}
	}
	if got := inv.HostVars("web2")["ansible_port"].Pos; got != (diag.Pos{Line: 3, Col: 1}) {
		t.Errorf("web2's port at %v, want 3:1", got)
	}
}

// TestParseINIErrors feeds one broken INI inventory per case and checks
// that every problem, and nothing else, is reported at its line and column.
func TestParseINIErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []diagtest.Want
	}{
		{"a section header with a space", "[web servers]\nh1\n", []diagtest.Want{
			{Line: 1, Near: "[web", Msg: "section header [web servers] is not valid", Hint: "no spaces inside the brackets"}}},
		{"an unknown section type, and its lines are not read", "[web:hostz]\nh1 x\n[db]\nh2\n", []diagtest.Want{
			{Line: 1, Near: "[web", Msg: `section [web:hostz] has an unknown type "hostz"`, Hint: "[web:children]"}}},
		{"an unclosed quote", "[web]\nh1 x='unclosed\n", []diagtest.Want{
			{Line: 2, Near: "'unclosed", Msg: "cannot read the host line: no closing quotation", Hint: `key="a b"`}}},
		{"a trailing backslash", "[web]\nh1 x=a\\\n", []diagtest.Want{
			{Line: 2, Near: `\`, Msg: `cannot read the host line: no escaped character after \`}}},
		{"a host variable without =", "[web]\nh1 ansible_user deploy\n", []diagtest.Want{
			{Line: 2, Near: "ansible_user", Msg: `expected key=value after host h1, got "ansible_user"`, Hint: "key=value"},
			{Line: 2, Near: "deploy", Msg: `expected key=value after host h1, got "deploy"`}}},
		{"a host variable without a name", "[web]\nh1 =x\n", []diagtest.Want{
			{Line: 2, Near: "=x", Msg: `the variable "=x" has no name`}}},
		{"a variable where a host goes", "[web]\nansible_user=deploy\n", []diagtest.Want{
			{Line: 2, Col: 1, Msg: `"ansible_user=deploy" is a variable, but [web] lists hosts`, Hint: "[web:vars]"}}},
		{"YAML read as INI", "---\nall:\n", []diagtest.Want{
			{Line: 1, Col: 1, Msg: `"---" starts a YAML document, but this file is read as an INI inventory`}}},
		{"a bad range", "[web]\nweb[05:01]\nweb[1:3\nweb[a:Z]\n", []diagtest.Want{
			{Line: 2, Col: 1, Msg: `range [05:01] in "web[05:01]": the range is inverted: 05 is greater than 01`},
			{Line: 3, Col: 1, Msg: `"web[1:3" has a [ without a matching ]`},
			{Line: 4, Col: 1, Msg: `range [a:Z] in "web[a:Z]": the letters a and Z differ in case: write [a:f] or [A:F]`}}},
		{"a bad port", "[web]\n  web1:\nweb2:ssh\nweb3:0\nweb4:70000\n:22\n", []diagtest.Want{
			{Line: 2, Near: "web1", Msg: `host "web1:" ends in ':': give a port after it, or remove it`},
			{Line: 3, Col: 1, Msg: `port "ssh" of host "web2:ssh" is not a number`},
			{Line: 4, Col: 1, Msg: `port 0 of host "web3:0" is out of range: it must be between 1 and 65535`},
			{Line: 5, Col: 1, Msg: `port 70000 of host "web4:70000" is out of range: it must be between 1 and 65535`},
			{Line: 6, Col: 1, Msg: `host ":22" has no name before its port`}}},
		{"a vars line without =", "[web]\nh1\n[web:vars]\n  ntp_server\n", []diagtest.Want{
			{Line: 4, Near: "ntp_server", Msg: `expected name=value in [web:vars], got "ntp_server"`, Hint: "one variable per line"}}},
		{"a vars line without a name", "[web]\nh1\n[web:vars]\n = x\n", []diagtest.Want{
			{Line: 4, Near: "=", Msg: `the variable "= x" has no name`}}},
		{"vars of a group that is never defined", "[web]\nh1\n[wbe:vars]\nx=1\n", []diagtest.Want{
			{Line: 3, Col: 1, Msg: `[wbe:vars] sets variables of group "wbe", which is not defined`, Hint: "add a [wbe] section"}}},
		{"a child that is not a group name", "[web]\nh1\n[all2:children]\nweb db\n", []diagtest.Want{
			{Line: 4, Col: 1, Msg: `expected a group name in [all2:children], got "web db"`, Hint: "one child group per line"}}},
		{"a child that is never defined", "[parent:children]\nchild\n", []diagtest.Want{
			{Line: 2, Col: 1, Msg: `[parent:children] names group "child", which is not defined`}}},
		{"all as a child", "[web]\nh1\n[web:children]\nall\n", []diagtest.Want{
			{Line: 4, Col: 1, Msg: "all cannot be a child group"}}},
		{"a group as its own child", "[web]\nh1\n[web:children]\nweb\n", []diagtest.Want{
			{Line: 4, Col: 1, Msg: `group "web" cannot be a child of itself`}}},
		{"a loop of children", "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n", []diagtest.Want{
			{Line: 6, Col: 1, Msg: `[c:children] names group "a", which makes a loop: "c" is already below "a"`, Hint: "cannot be below"}}},
		{"every problem at once", "[web]\nh1 x\n[web:vars]\nnope\n[db:children]\nmissing\n", []diagtest.Want{
			{Line: 2, Near: "x", Msg: `expected key=value after host h1, got "x"`},
			{Line: 4, Col: 1, Msg: `expected name=value in [web:vars], got "nope"`},
			{Line: 6, Col: 1, Msg: `[db:children] names group "missing", which is not defined`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseINI("hosts", []byte(tt.in))
			if inv != nil {
				t.Errorf("an inventory along with the error")
			}
			diagtest.Check(t, "hosts", tt.in, err, tt.want)
		})
	}
}

// TestParseINIBounds: a file that expands to too many hosts is an error,
// not a machine out of memory. The bounds are lowered for the test: reaching
// the real ones under the race detector takes seconds.
func TestParseINIBounds(t *testing.T) {
	defer func(h, n int) { maxHosts, maxNames = h, n }(maxHosts, maxNames)
	maxHosts, maxNames = 100, 1000

	in := "[a]\nh[1:99]\nh[100:101]\nnever[1:2]\n"
	_, err := ParseINI("hosts", []byte(in))
	diagtest.Check(t, "hosts", in, err, []diagtest.Want{
		{Line: 3, Col: 1, Msg: "the inventory holds more than 100 hosts, the most rollout reads"}})

	in = "[a]\n" + strings.Repeat("h[1:99]\n", 11)
	_, err = ParseINI("hosts", []byte(in))
	diagtest.Check(t, "hosts", in, err, []diagtest.Want{
		{Line: 12, Col: 1, Msg: "the host patterns expand to more than 1000 names, the most rollout reads"}})
}
