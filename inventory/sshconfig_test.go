package inventory

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sshConfig is the OpenSSH client config the precedence tests read: it has a
// value for every setting rollout takes from it.
const sshConfig = `
# A user's ~/.ssh/config.
Host h1 other
    HostName 10.0.0.9
    User sshuser
    Port 2200
    IdentityFile ~/.ssh/ssh_a
    IdentityFile ~/.ssh/ssh_b
    ProxyJump jumper@jump.example.com:2201,inner.example.com

Host *.internal
    HostName %h.corp.example.com
    ProxyJump none

Host *
    User everyone
`

// TestPrecedence checks each connection setting against each layer: the
// host's entry under hosts:, then defaults:, then ssh_config, then the
// built-ins (port 22, the host's name as address).
func TestPrecedence(t *testing.T) {
	ssh := Settings{Address: "10.0.0.9", Port: 2200, User: "sshuser",
		IdentityFile: []string{"~/.ssh/ssh_a", "~/.ssh/ssh_b"},
		Jump:         []string{"jumper@jump.example.com:2201", "inner.example.com"}, Transport: TransportSSH}
	defaults := `
defaults:
  address: 10.0.0.1
  port: 2022
  user: fromdefaults
  identity_file: ~/.ssh/defaults_key
  jump: [bastion-d]
`
	defaultsWant := Settings{Address: "10.0.0.1", Port: 2022, User: "fromdefaults",
		IdentityFile: []string{"~/.ssh/defaults_key"}, Jump: []string{"bastion-d"}, Transport: TransportSSH}
	hosts := `
hosts:
  h1:
    address: 192.0.2.7
    port: 2301
    user: fromhost
    identity_file: [~/.ssh/host_1, ~/.ssh/host_2]
    jump: "hop@bastion-h:2202"
    transport: local
    forward_agent: true
`
	hostWant := Settings{Address: "192.0.2.7", Port: 2301, User: "fromhost",
		IdentityFile: []string{"~/.ssh/host_1", "~/.ssh/host_2"}, Jump: []string{"hop@bastion-h:2202"},
		Transport: TransportLocal, ForwardAgent: true}
	const services = "\nservices:\n  web: {test: [h1]}\n"

	tests := []struct {
		name      string
		inventory string
		sshConfig string
		want      Settings
	}{
		{"built-ins only", services, "", Settings{Address: "h1", Port: 22, Transport: TransportSSH}},
		{"ssh_config over built-ins", services, sshConfig, ssh},
		{"defaults over ssh_config", defaults + services, sshConfig, defaultsWant},
		{"defaults over built-ins", defaults + services, "", defaultsWant},
		{"hosts: over defaults and ssh_config", defaults + hosts + services, sshConfig, hostWant},
		{"hosts: over ssh_config", hosts + services, sshConfig, hostWant},
		{"one key each from every layer", `
defaults: {user: fromdefaults}
hosts:
  h1: {port: 2301}
` + services, sshConfig, Settings{Address: "10.0.0.9", Port: 2301, User: "fromdefaults",
			IdentityFile: ssh.IdentityFile, Jump: ssh.Jump, Transport: TransportSSH}},
		{"an empty list under hosts: clears defaults and ssh_config", defaults + `
hosts:
  h1: {jump: [], identity_file: []}
` + services, sshConfig, Settings{Address: "10.0.0.1", Port: 2022, User: "fromdefaults", Transport: TransportSSH}},
		{"a key with no value under hosts: falls through", `
hosts:
  h1: {user: , port: }
` + services, sshConfig, ssh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts Options
			if tt.sshConfig != "" {
				cfg, err := LoadSSHConfig(writeFile(t, "config", tt.sshConfig))
				if err != nil || cfg == nil {
					t.Fatalf("LoadSSHConfig: %v, %v", cfg, err)
				}
				opts.SSHConfig = cfg
			}
			inv, err := Parse("inv.yaml", []byte(tt.inventory), opts)
			if err != nil {
				t.Fatal(err)
			}
			h := inv.Hosts["h1"]
			if h == nil {
				t.Fatal("no host h1")
			}
			if !reflect.DeepEqual(h.Settings, tt.want) {
				t.Errorf("h1 settings\n got %+v\nwant %+v", h.Settings, tt.want)
			}
		})
	}
}

// TestSSHConfigPatterns checks Host patterns, %h in HostName, ProxyJump none
// and the first-match-wins rule of ssh_config(5).
func TestSSHConfigPatterns(t *testing.T) {
	cfg, err := ParseSSHConfig("config", []byte(sshConfig))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := Parse("inv.yaml", []byte(`
defaults: {jump: bastion}
services:
  web:
    test: [db.internal]
    fleet: [other, plain]
hosts:
  db.internal: {jump: null}
`), Options{SSHConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want Settings
	}{
		// jump: null under hosts: gives nothing, so defaults' bastion stays.
		{"db.internal", Settings{Address: "db.internal.corp.example.com", Port: 22, User: "everyone", Jump: []string{"bastion"}, Transport: TransportSSH}},
		{"other", Settings{Address: "10.0.0.9", Port: 2200, User: "sshuser", IdentityFile: []string{"~/.ssh/ssh_a", "~/.ssh/ssh_b"}, Jump: []string{"bastion"}, Transport: TransportSSH}},
		{"plain", Settings{Address: "plain", Port: 22, User: "everyone", Jump: []string{"bastion"}, Transport: TransportSSH}},
	}
	for _, tt := range tests {
		if got := inv.Hosts[tt.host]; got == nil || !reflect.DeepEqual(got.Settings, tt.want) {
			t.Errorf("%s\n got %+v\nwant %+v", tt.host, got, tt.want)
		}
	}

	// Without an inventory jump, ProxyJump none means a direct connection.
	inv, err = Parse("inv.yaml", []byte("services:\n  web: {test: [db.internal]}\n"), Options{SSHConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if j := inv.Hosts["db.internal"].Jump; j != nil {
		t.Errorf("ProxyJump none gave jump %q", j)
	}
}

// TestSSHConfigRefusesUnsafeValues checks that values from ssh_config pass the
// same checks as the inventory's own, and are reported at the host rather
// than dropped (a dropped ProxyJump would connect around the bastion).
func TestSSHConfigRefusesUnsafeValues(t *testing.T) {
	cfg, err := ParseSSHConfig("/home/u/.ssh/config", []byte(`
Host bad-name
    HostName -oProxyCommand=reboot
Host bad-user
    User "a b"
Host bad-port
    Port 99999
Host bad-jump
    ProxyJump ok.example.com,x;reboot
`))
	if err != nil {
		t.Fatal(err)
	}
	src := `
services:
  web:
    test: [bad-name]
    fleet:
      - bad-user
      - bad-port
      - bad-jump
`
	_, err = Parse("inv.yaml", []byte(src), Options{SSHConfig: cfg})
	const cfgName = "ssh config /home/u/.ssh/config"
	checkErrs(t, "inv.yaml", src, err, []wantErr{
		{line: 4, near: "bad-name", msg: `host "bad-name": ` + cfgName + ` gives HostName "-oProxyCommand=reboot", which is not a valid host name or IP address`, hint: "fix the ssh config"},
		{line: 6, near: "bad-user", msg: `host "bad-user": ` + cfgName + ` gives User "a b", which is not a valid user name`},
		{line: 7, near: "bad-port", msg: `host "bad-port": ` + cfgName + ` gives Port "99999", which is not a port from 1 to 65535`},
		{line: 8, near: "bad-jump", msg: `host "bad-jump": ` + cfgName + ` gives ProxyJump "x;reboot", which is not host, user@host or user@host:port`},
	})
}

func TestLoadSSHConfig(t *testing.T) {
	cfg, err := LoadSSHConfig(filepath.Join(t.TempDir(), "none"))
	if cfg != nil || err != nil {
		t.Errorf("missing file: %v, %v; want nil, nil (most users have no config)", cfg, err)
	}
	dir := t.TempDir()
	if _, err := LoadSSHConfig(dir); err == nil || err.Error() != dir+": is a directory, not a file\n\thint: give the file inside it" {
		t.Errorf("directory: %v", err)
	}
	path := writeFile(t, "config", "Host a\n  User u\n")
	cfg, err = LoadSSHConfig(path)
	if err != nil || cfg == nil {
		t.Fatalf("LoadSSHConfig: %v, %v", cfg, err)
	}
	if got := cfg.String(); got != "ssh config "+path {
		t.Errorf("String() = %q", got)
	}
	cfg, err = ParseSSHConfig("cfg", []byte("Host a\n  Match\n"))
	if cfg != nil || err == nil {
		t.Fatalf("a Match without criteria: %v, %v; want an error", cfg, err)
	}
	if l := diagList(t, err); len(l) != 1 || l[0].File != "cfg" || !strings.HasPrefix(l[0].Msg, "cannot parse ssh config: ") || !strings.Contains(l[0].Msg, "Match directive requires") {
		t.Errorf("a Match without criteria: %v", err)
	}
}
