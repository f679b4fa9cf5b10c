package ansible

import (
	"reflect"
	"strings"
	"testing"
)

// TestSSHJump: the jump hosts that ssh arguments name, in every spelling
// ssh accepts, and the ProxyCommands that are jumps in disguise.
func TestSSHJump(t *testing.T) {
	tests := []struct {
		args  string
		jump  []string
		found bool
		err   string // a substring of the error
	}{
		{args: ""},
		{args: "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"},
		{args: "-o ProxyJump=bastion", jump: []string{"bastion"}, found: true},
		{args: "-oProxyJump=ops@bastion:2222", jump: []string{"ops@bastion:2222"}, found: true},
		{args: "-o 'ProxyJump bastion'", jump: []string{"bastion"}, found: true},
		{args: "-o proxyjump = a, b", jump: nil, found: false}, // "-o proxyjump" then words ssh would not read as one option
		{args: "-o 'proxyjump = a, b'", jump: []string{"a", "b"}, found: true},
		{args: "-J a,u@b:22", jump: []string{"a", "u@b:22"}, found: true},
		{args: "-Jbastion", jump: []string{"bastion"}, found: true},
		{args: "-o ProxyJump=none", found: true},
		{args: "-o ProxyCommand=none", found: true},
		{args: "-p 2222 -i key -J first -o ProxyJump=second", jump: []string{"first"}, found: true},
		{args: "-o ProxyJump=first -J second", jump: []string{"first"}, found: true},
		{args: `-o ProxyCommand="ssh -W %h:%p -q user@gateway.example.com"`, jump: []string{"user@gateway.example.com"}, found: true},
		{args: `-o 'ProxyCommand=ssh -W [%h]:%p -p 2222 -l ops bastion'`, jump: []string{"ops@bastion:2222"}, found: true},
		{args: `-o 'ProxyCommand=/usr/bin/ssh -J hop1 -W %h:%p bastion'`, jump: []string{"hop1", "bastion"}, found: true},
		{args: `-o 'ProxyCommand=ssh -q bastion nc %h %p'`, jump: []string{"bastion"}, found: true},
		{args: `-o 'ProxyCommand=ssh bastion -W %h:%p'`, jump: []string{"bastion"}, found: true},
		{args: `-o 'ProxyCommand=ssh -i ~/.ssh/b -o StrictHostKeyChecking=no -W %h:%p b'`, jump: []string{"b"}, found: true},
		{args: `-o 'ProxyCommand=nc -X connect -x proxy:8080 %h %p'`, found: true, err: `cannot follow ProxyCommand "nc -X connect -x proxy:8080 %h %p"`},
		{args: `-o 'ProxyCommand=ssh -W db:5432 bastion'`, found: true, err: "cannot follow ProxyCommand"},
		{args: `-o 'ProxyCommand=ssh -W %h:%p'`, found: true, err: "cannot follow ProxyCommand"},
		{args: `-o 'ProxyCommand=ssh bastion cat'`, found: true, err: "cannot follow ProxyCommand"},
		{args: `-o 'ProxyCommand=ssh -o ProxyJump=x -W %h:%p b'`, found: true, err: "cannot follow ProxyCommand"},
		{args: `-o 'ProxyCommand=ssh -W %h:%p b "unclosed'`, found: true, err: "cannot follow ProxyCommand"},
		{args: `-o "unclosed`, err: `cannot split "-o \"unclosed" as ssh does: no closing quotation`},
	}
	for _, tt := range tests {
		jump, found, err := sshJump(tt.args)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("sshJump(%q): error %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("sshJump(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(jump, tt.jump) || found != tt.found {
			t.Errorf("sshJump(%q) = %q, %v; want %q, %v", tt.args, jump, found, tt.jump, tt.found)
		}
	}
}
