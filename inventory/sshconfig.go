package inventory

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// SSHConfig is a parsed OpenSSH client configuration (ssh_config(5)). Only
// HostName, User, Port, IdentityFile and ProxyJump are read; the inventory
// wins wherever it gives a value itself.
type SSHConfig struct {
	file string
	cfg  *ssh_config.Config
}

// LoadSSHConfig reads an OpenSSH client config. A missing file is not an
// error (most users have none): it returns nil, nil.
func LoadSSHConfig(path string) (*SSHConfig, error) {
	data, err := ReadFile(path)
	if err != nil {
		var l diag.List
		if asList(err, &l) && len(l) == 1 && l[0].Msg == "no such file" {
			return nil, nil
		}
		return nil, err
	}
	return ParseSSHConfig(path, data)
}

// ParseSSHConfig parses an OpenSSH client config read from file.
func ParseSSHConfig(file string, data []byte) (*SSHConfig, error) {
	cfg, err := ssh_config.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, diag.List{{File: file, Msg: "cannot parse ssh config: " + err.Error()}}
	}
	return &SSHConfig{file: file, cfg: cfg}, nil
}

func asList(err error, l *diag.List) bool {
	v, ok := err.(diag.List)
	if ok {
		*l = v
	}
	return ok
}

// fill sets the settings the inventory left unset from the config's entry for
// alias. A value the inventory would have refused (a HostName that reads as an
// option, a User with a space, a ProxyJump that is not [user@]host[:port]) is
// not used: it is returned as a problem, so it is neither dropped silently
// (a dropped ProxyJump would mean connecting around the bastion) nor dialled.
func (c *SSHConfig) fill(alias string, s *Settings, set func(string) bool) (problems []string) {
	get := func(key string) string {
		v, err := c.cfg.Get(alias, key)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(v)
	}
	bad := func(key, value, want string) {
		problems = append(problems, fmt.Sprintf("%s gives %s %q, which is not %s", c, key, value, want))
	}
	if !set("address") {
		if v := get("HostName"); v != "" {
			v = strings.ReplaceAll(v, "%h", alias)
			if validAddress(v) {
				s.Address = v
			} else {
				bad("HostName", v, "a valid host name or IP address")
			}
		}
	}
	if !set("user") {
		if v := get("User"); v != "" {
			if validUser(v) {
				s.User = v
			} else {
				bad("User", v, "a valid user name")
			}
		}
	}
	if !set("port") {
		if v := get("Port"); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 65536 {
				s.Port = n
			} else {
				bad("Port", v, "a port from 1 to 65535")
			}
		}
	}
	if !set("identity_file") {
		if v, err := c.cfg.GetAll(alias, "IdentityFile"); err == nil && len(v) > 0 {
			s.IdentityFile = append([]string(nil), v...)
		}
	}
	if !set("jump") {
		if v := get("ProxyJump"); v != "" && !strings.EqualFold(v, "none") {
			s.Jump = nil
			for _, j := range strings.Split(v, ",") {
				j = strings.TrimSpace(j)
				if !validJump(j) {
					bad("ProxyJump", j, "host, user@host or user@host:port")
					continue
				}
				s.Jump = append(s.Jump, j)
			}
		}
	}
	return problems
}

// String names the config file, for messages.
func (c *SSHConfig) String() string { return fmt.Sprintf("ssh config %s", c.file) }
