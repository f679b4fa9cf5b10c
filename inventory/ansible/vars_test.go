package ansible

import (
	"testing"
)

// TestHostVarsPrecedence: a host's variables follow Ansible's order, lowest
// first: all, then parent groups, then child groups (groups at one depth in
// ASCII order, or by ansible_group_priority), then the host itself. Each
// case is given in INI and in YAML, which must agree.
func TestHostVarsPrecedence(t *testing.T) {
	tests := []struct {
		name      string
		ini, yaml string
		host      string
		want      map[string]string
	}{
		{name: "all < parent < child < host",
			ini: `
[all:vars]
a=all
b=all
c=all
d=all
[usa:children]
southeast
[usa:vars]
b=usa
c=usa
d=usa
[southeast:children]
atlanta
[southeast:vars]
c=southeast
d=southeast
[atlanta]
host1 d=host
`,
			yaml: `
all:
  vars: {a: all, b: all, c: all, d: all}
  children:
    usa:
      vars: {b: usa, c: usa, d: usa}
      children:
        southeast:
          vars: {c: southeast, d: southeast}
          children:
            atlanta:
              hosts:
                host1: {d: host}
`,
			host: "host1", want: map[string]string{"a": "all", "b": "usa", "c": "southeast", "d": "host"}},
		{name: "a child group wins even when it comes first in the file",
			ini: `
[atlanta]
host1
[atlanta:vars]
x=child
[southeast:children]
atlanta
[southeast:vars]
x=parent
`,
			yaml: `
atlanta:
  hosts:
    host1:
  vars: {x: child}
southeast:
  children:
    atlanta:
  vars: {x: parent}
`,
			host: "host1", want: map[string]string{"x": "child"}},
		{name: "groups at one depth merge in ASCII order, the last winning",
			ini: `
[b_group]
host1
[b_group:vars]
x=b
[a_group]
host1
[a_group:vars]
x=a
`,
			yaml: `
b_group:
  hosts: {host1: }
  vars: {x: b}
a_group:
  hosts: {host1: }
  vars: {x: a}
`,
			host: "host1", want: map[string]string{"x": "b"}},
		{name: "ansible_group_priority reorders groups at one depth",
			ini: `
[a_group]
host1
[a_group:vars]
testvar=a
ansible_group_priority=10
[b_group]
host1
[b_group:vars]
testvar=b
`,
			yaml: `
a_group:
  hosts: {host1: }
  vars:
    testvar: a
    ansible_group_priority: 10
b_group:
  hosts: {host1: }
  vars:
    testvar: b
`,
			host: "host1", want: map[string]string{"testvar": "a"}},
		{name: "depth is the longest path from all, not the shortest",
			// deep is below all directly and below mid: its depth is 2,
			// deeper than other (1), so it wins although "deep" < "other".
			ini: `
[top:children]
mid
[mid:children]
deep
[deep]
host1
[deep:vars]
x=deep
[other]
host1
[other:vars]
x=other
`,
			yaml: `
top:
  children:
    mid:
      children:
        deep:
          hosts: {host1: }
          vars: {x: deep}
other:
  hosts: {host1: }
  vars: {x: other}
`,
			host: "host1", want: map[string]string{"x": "deep"}},
		{name: "a host's own line wins over every group; a later line wins over an earlier",
			ini:  "[a]\nhost1 x=first\n[b]\nhost1 x=second\n[b:vars]\nx=group\n",
			yaml: "a:\n  hosts:\n    host1: {x: first}\nb:\n  hosts:\n    host1: {x: second}\n  vars: {x: group}\n",
			host: "host1", want: map[string]string{"x": "second"}},
	}
	for _, tt := range tests {
		for _, f := range []struct {
			name  string
			parse func(string, []byte) (*Inventory, error)
			src   string
		}{{"ini", ParseINI, tt.ini}, {"yaml", ParseYAML, tt.yaml}} {
			t.Run(tt.name+"/"+f.name, func(t *testing.T) {
				inv, err := f.parse("inv", []byte(f.src))
				if err != nil {
					t.Fatal(err)
				}
				got := inv.HostVars(tt.host)
				for k, want := range tt.want {
					if got[k].Value != want {
						t.Errorf("%s = %q, want %q", k, got[k].Value, want)
					}
				}
			})
		}
	}
}

// TestHostVarsUnknownHost: no variables for a host that is not there.
func TestHostVarsUnknownHost(t *testing.T) {
	inv, err := ParseINI("hosts", []byte("h1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := inv.HostVars("nope"); v != nil {
		t.Errorf("HostVars(nope) = %v", v)
	}
	if h := inv.GroupHosts("nope"); h != nil {
		t.Errorf("GroupHosts(nope) = %v", h)
	}
}
