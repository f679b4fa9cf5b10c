package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/internal/yamlx"
)

// Options tune how an inventory is loaded.
type Options struct {
	// SSHConfig is an OpenSSH client config (usually ~/.ssh/config) consulted
	// for HostName, User, Port, IdentityFile and ProxyJump where the inventory
	// is silent. Nil means none.
	SSHConfig *SSHConfig
}

// Load reads and validates the inventory at path. The error, when not nil, is
// a diag.List holding every problem found, each with file:line:col.
func Load(path string, opts Options) (*Inventory, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts)
}

// ReadFile reads a user's file, turning a missing file, a directory or an
// unreadable file into a diag.Error that says what to do.
func ReadFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, diag.List{{File: path, Msg: "no such file", Hint: "check the path given with -i or -c"}}
	case err != nil:
		return nil, diag.List{{File: path, Msg: "cannot read: " + unwrapPathError(err)}}
	case fi.IsDir():
		return nil, diag.List{{File: path, Msg: "is a directory, not a file", Hint: "give the file inside it"}}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, diag.List{{File: path, Msg: "cannot read: " + unwrapPathError(err)}}
	}
	return data, nil
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse validates inventory data read from file (used in messages only).
func Parse(file string, data []byte, opts Options) (*Inventory, error) {
	var errs diag.List
	doc := &yamlx.Doc{File: file, Errs: &errs}
	root := yamlx.Parse(doc, data)
	inv := &Inventory{File: file, Services: map[string]*Service{}, Hosts: map[string]*Host{}}
	if !root.Present() {
		if len(errs) == 0 {
			errs.Add(file, diag.Pos{Line: 1, Col: 1}, "see examples/inventory.yaml", "the inventory is empty")
		}
		return nil, errs.Err()
	}
	if !root.IsMap() {
		root.Errorf("see examples/inventory.yaml", "the inventory must be a mapping of key: value, not %s", root.Describe())
		return nil, errs.Err()
	}
	top := root.Fields("the inventory", "defaults", "services", "hosts")
	p := &loader{inv: inv, errs: &errs, overrides: map[string]hostOverride{}, positions: map[string]diag.Pos{}}
	defaults := p.settings(top["defaults"], "defaults")
	p.hostOverrides(top["hosts"])
	p.services(top["services"])
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	p.resolve(defaults, opts.SSHConfig)
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	return inv, nil
}

// layer is a set of settings as written in one place, with which were given.
type layer struct {
	s   Settings
	set map[string]bool
}

type hostOverride struct {
	layer
	pos diag.Pos
}

type loader struct {
	inv       *Inventory
	errs      *diag.List
	overrides map[string]hostOverride
	order     []string            // every host name, in the order first seen
	positions map[string]diag.Pos // where each name in order was first seen
}

var settingKeys = []string{"address", "port", "user", "identity_file", "known_hosts", "jump", "transport", "forward_agent"}

func (p *loader) settings(n yamlx.Node, what string) layer {
	l := layer{set: map[string]bool{}}
	fields := n.Fields(what, settingKeys...)
	for k, v := range fields {
		if !v.Present() {
			continue
		}
		l.set[k] = true
		switch k {
		case "address":
			l.s.Address = v.String("address")
			if l.s.Address != "" && !validAddress(l.s.Address) {
				v.Errorf("give a DNS name or an IP address", "address %q is not a valid host name or IP address", l.s.Address)
			}
		case "port":
			port, ok := v.Int("port")
			if ok && (port < 1 || port > 65535) {
				v.Errorf("", "port %d is out of range: it must be between 1 and 65535", port)
			}
			l.s.Port = port
		case "user":
			l.s.User = v.String("user")
			if !validUser(l.s.User) {
				v.Errorf("a user name is letters, digits, '.', '_' and '-', not starting with '-'", "user %q is not a valid user name", l.s.User)
			}
		case "identity_file":
			for _, item := range v.Seq("identity_file", true) {
				if f := item.String("identity_file"); f != "" {
					l.s.IdentityFile = append(l.s.IdentityFile, f)
				}
			}
		case "known_hosts":
			l.s.KnownHosts = v.String("known_hosts")
		case "jump":
			for _, item := range v.Seq("jump", true) {
				for _, j := range strings.Split(item.String("jump"), ",") {
					j = strings.TrimSpace(j)
					if !validJump(j) {
						item.Errorf("write it as host, user@host or user@host:port, several separated by commas", "jump host %q is not valid", j)
						continue
					}
					l.s.Jump = append(l.s.Jump, j)
				}
			}
		case "transport":
			l.s.Transport = v.String("transport")
			if l.s.Transport != TransportSSH && l.s.Transport != TransportLocal {
				v.Errorf("use ssh or local", "transport %q is not known", l.s.Transport)
			}
		case "forward_agent":
			l.s.ForwardAgent = v.Bool("forward_agent")
		}
	}
	return l
}

func (p *loader) hostOverrides(n yamlx.Node) {
	for _, kv := range n.Map("hosts") {
		names, err := Expand(kv.Key)
		if err != nil {
			p.errs.Add(p.inv.File, kv.KeyPos, "", "%v", err)
			continue
		}
		l := p.settings(kv.Value, "host "+kv.Key)
		var dups duplicates[diag.Pos]
		for _, name := range names {
			if !validHostName(name) {
				p.errs.Add(p.inv.File, kv.KeyPos, hostNameHint, "host name %q is not valid", name)
				break
			}
			if prev, dup := p.overrides[name]; dup {
				dups.add(name, prev.pos)
				continue
			}
			p.overrides[name] = hostOverride{layer: l, pos: kv.KeyPos}
			p.note(name, kv.KeyPos)
		}
		for _, d := range dups {
			p.errs.Add(p.inv.File, kv.KeyPos, "merge the two entries", "%s listed twice under hosts (first at line %d)", d.subject(), d.prev.Line)
		}
	}
}

// duplicates gathers the names of one list item or hosts: key that were
// already given, grouped by where they were given first, so that two
// overlapping ranges are one problem rather than one per host.
type duplicates[K comparable] []duplicate[K]

type duplicate[K comparable] struct {
	prev  K      // where the names were given first
	first string // the first duplicated name
	more  int    // how many more names share prev
}

func (d *duplicates[K]) add(name string, prev K) {
	for i := range *d {
		if (*d)[i].prev == prev {
			(*d)[i].more++
			return
		}
	}
	*d = append(*d, duplicate[K]{prev: prev, first: name})
}

// subject names the duplicated hosts with their verb: `host "a" is` or
// `host "a" and 3 more are`.
func (d duplicate[K]) subject() string {
	if d.more == 0 {
		return fmt.Sprintf("host %q is", d.first)
	}
	return fmt.Sprintf("host %q and %d more are", d.first, d.more)
}

const hostNameHint = "a host name is letters, digits, '.', '_' and '-', not starting with '-'"

var serviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (p *loader) services(n yamlx.Node) {
	if !n.Present() {
		p.errs.Add(p.inv.File, diag.Pos{Line: 1, Col: 1}, "add services: with at least one service and its test hosts", "the inventory has no services")
		return
	}
	kvs := n.Map("services")
	if len(kvs) == 0 && n.IsMap() {
		n.Errorf("add at least one service and its test hosts", "the inventory has no services")
	}
	for _, kv := range kvs {
		if !serviceName.MatchString(kv.Key) {
			p.errs.Add(p.inv.File, kv.KeyPos, "a service name is letters, digits, '.', '_' and '-'", "service name %q is not valid", kv.Key)
			continue
		}
		p.service(kv)
	}
}

// roleRef is where a host was given a role in a service.
type roleRef struct {
	role Role
	pos  diag.Pos
}

func (p *loader) service(kv yamlx.KV) {
	what := "service " + kv.Key
	f := kv.Value.Fields(what, "test", "standby", "primary", "canary", "fleet", "swap")
	svc := &Service{Name: kv.Key, Pos: kv.KeyPos}
	seen := map[string]roleRef{}
	list := func(role Role) []string {
		var out []string
		for _, item := range f[string(role)].Seq(what+" "+string(role), true) {
			out = append(out, p.hostList(item, role, what, seen)...)
		}
		return out
	}
	one := func(role Role) string {
		n := f[string(role)]
		if !n.Present() {
			return ""
		}
		hosts := p.hostList(n, role, what, seen)
		if len(hosts) > 1 {
			n.Errorf("put the other hosts in canary or fleet", "%s names %d hosts; a service has one %s", string(role), len(hosts), string(role))
		}
		if len(hosts) == 0 {
			return ""
		}
		return hosts[0]
	}
	before := len(*p.errs)
	svc.Test = list(RoleTest)
	// When the test hosts were given but wrongly (or the service is not a
	// mapping at all), that problem was reported; "no test hosts" would
	// only repeat it.
	testReported := len(*p.errs) > before || (kv.Value.Present() && !kv.Value.IsMap())
	svc.Standby = one(RoleStandby)
	svc.Primary = one(RolePrimary)
	svc.Canary = list(RoleCanary)
	svc.Fleet = list(RoleFleet)
	if len(svc.Test) == 0 && !testReported {
		pos := kv.KeyPos
		if t, ok := f["test"]; ok {
			pos = t.Pos()
		}
		p.errs.Add(p.inv.File, pos, "every change goes through a test instance first: add test: [a-test-host]", "service %q has no test hosts", kv.Key)
	}
	// Standby, primary and swap are checked as written, not as resolved: a
	// standby given wrongly has been reported already, and is not missing.
	hasStandby, hasPrimary := f["standby"].Present(), f["primary"].Present()
	if hasStandby != hasPrimary {
		has, lacks := "standby", "primary"
		if hasPrimary {
			has, lacks = lacks, has
		}
		p.errs.Add(p.inv.File, kv.KeyPos, "give both, so the swap has somewhere to move traffic, or neither", "service %q has a %s but no %s", kv.Key, has, lacks)
	}
	if sw, ok := f["swap"]; ok && sw.Present() {
		svc.Swap = sw.String(what + " swap")
		if svc.Swap != SwapLocal && !validHostName(svc.Swap) {
			sw.Errorf(hostNameHint+", or local", "swap host %q is not valid", svc.Swap)
		} else if svc.Swap != SwapLocal {
			p.note(svc.Swap, sw.Pos())
		}
	}
	if hasStandby && hasPrimary && !f["swap"].Present() {
		p.errs.Add(p.inv.File, kv.KeyPos, "add swap: lb-host (where the swap command runs) or swap: local", "service %q has a primary and a standby but no swap host", kv.Key)
	}
	p.inv.Services[svc.Name] = svc
	p.inv.ServiceNames = append(p.inv.ServiceNames, svc.Name)
}

// hostList expands one list item of a role, checking names and that no host
// appears twice in the service.
func (p *loader) hostList(item yamlx.Node, role Role, what string, seen map[string]roleRef) []string {
	pattern := item.String(what + " " + string(role))
	if pattern == "" {
		return nil
	}
	names, err := Expand(pattern)
	if err != nil {
		item.Errorf("", "%v", err)
		return nil
	}
	for _, name := range names {
		if !validHostName(name) {
			item.Errorf(hostNameHint, "host name %q is not valid", name)
			return nil
		}
	}
	out := make([]string, 0, len(names))
	ref := roleRef{role: role, pos: item.Pos()}
	var dups duplicates[roleRef]
	for _, name := range names {
		if prev, dup := seen[name]; dup {
			dups.add(name, prev)
			continue
		}
		seen[name] = ref
		p.note(name, ref.pos)
		out = append(out, name)
	}
	for _, d := range dups {
		if d.prev.role == role {
			item.Errorf("remove the duplicate", "%s listed twice in %s (first at line %d)", d.subject(), string(role), d.prev.pos.Line)
		} else {
			item.Errorf("a host plays one role in a service", "%s in two roles: %s (line %d) and %s", d.subject(), string(d.prev.role), d.prev.pos.Line, string(role))
		}
	}
	return out
}

// note records a host name in first-seen order.
func (p *loader) note(name string, pos diag.Pos) {
	if _, seen := p.positions[name]; !seen {
		p.order = append(p.order, name)
		p.positions[name] = pos
	}
}

// resolve builds every host's settings: override, then defaults, then
// ssh_config, then built-in defaults.
func (p *loader) resolve(defaults layer, cfg *SSHConfig) {
	p.inv.Hosts = make(map[string]*Host, len(p.order))
	hosts := make([]Host, len(p.order)) // one allocation, not one per host
	for i, name := range p.order {
		h := &hosts[i]
		h.Name, h.Pos = name, p.positions[name]
		ov := p.overrides[name]
		h.Settings = merge(ov.layer, defaults)
		set := func(k string) bool { return ov.set[k] || defaults.set[k] }
		if cfg != nil {
			for _, msg := range cfg.fill(name, &h.Settings, set) {
				p.errs.Add(p.inv.File, h.Pos, "fix the ssh config, or set it for this host under hosts:", "host %q: %s", name, msg)
			}
		}
		if h.Address == "" {
			h.Address = name
		}
		if h.Port == 0 {
			h.Port = 22
		}
		if h.Transport == "" {
			h.Transport = TransportSSH
		}
		p.inv.Hosts[name] = h
	}
}

func merge(top, bottom layer) Settings {
	s := bottom.s
	t := top.s
	if top.set["address"] {
		s.Address = t.Address
	}
	if top.set["port"] {
		s.Port = t.Port
	}
	if top.set["user"] {
		s.User = t.User
	}
	if top.set["identity_file"] {
		s.IdentityFile = t.IdentityFile
	}
	if top.set["known_hosts"] {
		s.KnownHosts = t.KnownHosts
	}
	if top.set["jump"] {
		s.Jump = t.Jump
	}
	if top.set["transport"] {
		s.Transport = t.Transport
	}
	if top.set["forward_agent"] {
		s.ForwardAgent = t.ForwardAgent
	}
	return s
}

// validHostName reports whether name is safe to use as a host name: it can
// never be read as an option (no leading '-') or break out of a command.
// It is ^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$, written out: it runs once per
// host, and a regexp made it the largest cost of loading a big inventory.
func validHostName(name string) bool { return validName(name, 253) }

// validUser is ^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}\$?$: a host name's
// characters, at most 64 of them, and an optional trailing $ (Samba machine
// accounts).
func validUser(u string) bool { return validName(strings.TrimSuffix(u, "$"), 64) }

// validName reports whether s is 1 to maxLen letters, digits, '.', '_' and '-',
// not starting with '.' or '-'.
func validName(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen || s[0] == '-' || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validAddress(a string) bool {
	if validHostName(a) {
		return true
	}
	// An IPv6 literal.
	return strings.Count(a, ":") >= 2 && strings.Trim(a, "0123456789abcdefABCDEF:.") == ""
}

// validJump accepts [user@]host[:port].
func validJump(j string) bool {
	if u, rest, ok := strings.Cut(j, "@"); ok {
		if !validUser(u) {
			return false
		}
		j = rest
	}
	if h, port, ok := strings.Cut(j, ":"); ok {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return false
		}
		j = h
	}
	return validHostName(j)
}

func join(names []string) string { return strings.Join(names, ", ") }

func quote(s string) string { return fmt.Sprintf("%q", s) }
