package ansible

import (
	"slices"
	"strconv"
	"strings"

	"github.com/rolloutconsole/rollout/inventory"
)

// The variables read from an Ansible inventory, each list in the order
// Ansible's ssh connection reads its names (the older ones still accepted
// after the current one): when a host has several, the last one wins, as
// there. Every other variable is left alone.
var (
	varAddress  = []string{"ansible_host", "ansible_ssh_host"}
	varPort     = []string{"ansible_port", "ansible_ssh_port"}
	varUser     = []string{"ansible_user", "ansible_ssh_user"}
	varKey      = []string{"ansible_private_key_file", "ansible_ssh_private_key_file"}
	varConn     = []string{"ansible_connection"}
	varSSHArgs  = []string{"ansible_ssh_args", "ansible_ssh_common_args", "ansible_ssh_extra_args"}
	connections = map[string]string{
		"ssh":                          inventory.TransportSSH,
		"smart":                        inventory.TransportSSH,
		"paramiko":                     inventory.TransportSSH,
		"paramiko_ssh":                 inventory.TransportSSH,
		"ansible.builtin.ssh":          inventory.TransportSSH,
		"ansible.builtin.paramiko_ssh": inventory.TransportSSH,
		"local":                        inventory.TransportLocal,
		"ansible.builtin.local":        inventory.TransportLocal,
	}
)

const jumpHint = "write -o ProxyJump=host, user@host or user@host:port, several separated by commas"

// host resolves one host of the service: its variables, then the ssh config
// where they are silent, then the built-in defaults.
func (b *builder) host(name string) *inventory.Host {
	h := &inventory.Host{Name: name}
	vars := func(string) (Var, bool) { return Var{}, false }
	if src := b.src.Hosts[name]; src != nil {
		h.Pos, vars = src.Pos, b.vars(src)
	}
	if !inventory.ValidHostName(name) {
		hint := inventory.HostNameHint
		if strings.Contains(name, ":") {
			hint = "name the host, and give its address as a variable: web1 ansible_host=" + name
		}
		b.add(h.Pos, hint, "host name %q is not valid", name)
		return h
	}
	set := b.settings(h, vars)
	if cfg := b.opts.SSHConfig; cfg != nil {
		for _, msg := range cfg.Fill(name, &h.Settings, func(k string) bool { return set[k] }) {
			b.add(h.Pos, "fix the ssh config, or set it for this host in the inventory", "host %q: %s", name, msg)
		}
	}
	defaults(h)
	return h
}

// settings reads the connection variables that apply to h into its
// settings, reporting each value rollout would refuse where it is written,
// and returns which settings were given. A variable set to nothing counts as
// not given, as it does for Ansible's ssh.
func (b *builder) settings(h *inventory.Host, vars func(string) (Var, bool)) (set map[string]bool) {
	set = map[string]bool{}
	pick := func(names []string) (Var, string, bool) {
		for _, n := range slices.Backward(names) {
			if v, ok := vars(n); ok && (v.Value != "" || v.Complex) {
				if v.Complex {
					b.add(v.Pos, "give one value", "%s must be a single value, not a list or mapping", n)
					return v, n, false
				}
				return v, n, true
			}
		}
		return Var{}, "", false
	}
	if v, n, ok := pick(varAddress); ok {
		if inventory.ValidAddress(v.Value) {
			h.Address, set["address"] = v.Value, true
		} else {
			b.add(v.Pos, "give a DNS name or an IP address", "%s %q is not a valid host name or IP address", n, v.Value)
		}
	}
	if v, n, ok := pick(varPort); ok {
		port, err := strconv.Atoi(strings.TrimSpace(v.Value))
		switch {
		case err != nil:
			b.add(v.Pos, "give a port from 1 to 65535", "%s %q is not a port number", n, v.Value)
		case port < 1 || port > 65535:
			b.add(v.Pos, "", "%s %d is out of range: it must be between 1 and 65535", n, port)
		default:
			h.Port, set["port"] = port, true
		}
	}
	if v, n, ok := pick(varUser); ok {
		if inventory.ValidUser(v.Value) {
			h.User, set["user"] = v.Value, true
		} else {
			b.add(v.Pos, "a user name is letters, digits, '.', '_' and '-', not starting with '-'", "%s %q is not a valid user name", n, v.Value)
		}
	}
	if v, _, ok := pick(varKey); ok {
		h.IdentityFile, set["identity_file"] = []string{v.Value}, true
	}
	if v, n, ok := pick(varConn); ok {
		if t, known := connections[strings.ToLower(v.Value)]; known {
			h.Transport = t
		} else {
			b.add(v.Pos, "rollout reaches hosts over ssh, or runs commands on this machine with local", "%s %q is not a connection rollout can use", n, v.Value)
		}
	}
	for _, n := range varSSHArgs {
		v, ok := vars(n)
		if !ok || v.Value == "" && !v.Complex {
			continue
		}
		if v.Complex {
			b.add(v.Pos, "give the arguments as one string", "%s must be a string, not a list or mapping", n)
			continue
		}
		jump, found, err := sshJump(v.Value)
		if err != nil {
			b.add(v.Pos, jumpHint+" instead", "%s: %v", n, err)
			return set
		}
		if !found {
			continue
		}
		for _, j := range jump {
			if !inventory.ValidJump(j) {
				b.add(v.Pos, jumpHint, "jump host %q in %s is not valid", j, n)
				return set
			}
		}
		h.Jump, set["jump"] = jump, true
		b.jumpAt[h.Name] = v.Pos
		return set
	}
	return set
}

// vars looks up the variables that apply to h, as HostVars merges them. The
// groups' share is merged once for every host in the same groups: a fleet of
// 100,000 hosts is usually a few groups.
func (b *builder) vars(h *Host) func(string) (Var, bool) {
	key := strings.Join(h.Groups, "\x00")
	gv, ok := b.groupVars[key]
	if !ok {
		gv = b.src.groupVars(h)
		b.groupVars[key] = gv
	}
	return func(name string) (Var, bool) {
		if v, ok := h.Vars[name]; ok {
			return v, true
		}
		v, ok := gv[name]
		return v, ok
	}
}

// jumpHosts gives every jump host named by a host of the service an entry of
// its own, from the ssh config and built-in defaults only, so that its
// HostName, User, Port and IdentityFile apply as they do when ssh follows a
// ProxyJump. Its variables in the Ansible inventory, if it has any, are not
// used: ssh never sees them either.
func (b *builder) jumpHosts(out *inventory.Inventory, order []string) {
	for _, name := range order {
		h := out.Hosts[name]
		for _, j := range h.Jump {
			if _, rest, ok := strings.Cut(j, "@"); ok {
				j = rest
			}
			j, _, _ = strings.Cut(j, ":")
			if out.Hosts[j] != nil || !inventory.ValidHostName(j) {
				continue
			}
			jh := &inventory.Host{Name: j, Pos: h.Pos}
			if p, ok := b.jumpAt[name]; ok {
				jh.Pos = p
			}
			if cfg := b.opts.SSHConfig; cfg != nil {
				for _, msg := range cfg.Fill(j, &jh.Settings, func(string) bool { return false }) {
					b.add(jh.Pos, "fix the ssh config", "jump host %q: %s", j, msg)
				}
			}
			defaults(jh)
			out.Hosts[j] = jh
		}
	}
}

// defaults fills what neither the inventory nor the ssh config gave: the
// host's name as its address, port 22, and ssh.
func defaults(h *inventory.Host) {
	if h.Address == "" {
		h.Address = h.Name
	}
	if h.Port == 0 {
		h.Port = 22
	}
	if h.Transport == "" {
		h.Transport = inventory.TransportSSH
	}
}
