package ansible

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/internal/yamlx"
)

// Options tune how an Ansible inventory becomes a rollout inventory.
type Options struct {
	// SSHConfig is an OpenSSH client config (usually ~/.ssh/config)
	// consulted for HostName, User, Port, IdentityFile and ProxyJump where
	// the inventory is silent, as Ansible's ssh would. Nil means none.
	SSHConfig *inventory.SSHConfig
	// Swap is where the swap command runs, a host name or
	// inventory.SwapLocal; it wins over a swap group. Empty means the swap
	// group, if there is one.
	Swap string
}

// The roles a group may be mapped to: the roles of a service in the order a
// rollout reaches them, then swap, the one host the swap command runs on.
const (
	RoleTest    = string(inventory.RoleTest)
	RoleStandby = string(inventory.RoleStandby)
	RolePrimary = string(inventory.RolePrimary)
	RoleCanary  = string(inventory.RoleCanary)
	RoleFleet   = string(inventory.RoleFleet)
	RoleSwap    = "swap"
)

var roleOrder = []string{RoleTest, RoleStandby, RolePrimary, RoleCanary, RoleFleet, RoleSwap}

// Load reads the Ansible inventory at path (INI or YAML, told apart by
// Detect) and builds the rollout inventory of one service from it; see
// Build. Errors are a diag.List holding every problem found.
func Load(path, service string, roles map[string][]string, opts Options) (*inventory.Inventory, error) {
	data, err := inventory.ReadFile(path)
	if err != nil {
		return nil, err
	}
	inv, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	return inv.Build(service, roles, opts)
}

// Build turns the inventory into a rollout inventory holding one service,
// named service (when empty, the file's name without its extension), whose
// roles are the hosts of Ansible groups:
//
//   - roles maps each role (test, standby, primary, canary, fleet, and swap)
//     to the groups whose hosts, and their child groups' hosts, play it;
//     standby, primary and swap must come to exactly one host each.
//   - When roles is empty, each role is the group named like it, if there
//     is one; and when there is no fleet group, the fleet is every other
//     host of the inventory: those in no other role and not the swap host.
//
// A host is reached as its variables say (ansible_host, ansible_port,
// ansible_user, ansible_ssh_private_key_file, ansible_connection and a
// ProxyJump in the ssh arguments), merged as Ansible merges them, then as
// opts.SSHConfig says where they are silent. Hosts keep the order of the
// file. The result passes the checks inventory.Load applies; every problem
// is reported, with file:line:col where the inventory has one, as a
// diag.List.
func (inv *Inventory) Build(service string, roles map[string][]string, opts Options) (*inventory.Inventory, error) {
	b := &builder{src: inv, opts: opts, index: make(map[string]int, len(inv.HostNames)),
		jumpAt: map[string]diag.Pos{}, groupVars: map[string]Vars{}}
	for i, h := range inv.HostNames {
		b.index[h] = i
	}
	name := service
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(inv.File), filepath.Ext(inv.File))
	}
	if !inventory.ValidServiceName(name) {
		b.add(diag.Pos{}, "a service name is letters, digits, '.', '_' and '-'; choose one with -s", "service name %q is not valid", name)
	}
	if len(inv.HostNames) == 0 {
		b.add(diag.Pos{Line: 1, Col: 1}, "list the service's hosts in groups: test, then canary and fleet", "the inventory has no hosts")
		return nil, b.errs.Err()
	}
	svc := b.service(name, roles)
	out := &inventory.Inventory{
		File:         inv.File,
		Services:     map[string]*inventory.Service{name: svc},
		ServiceNames: []string{name},
		Hosts:        map[string]*inventory.Host{},
	}
	swap := []string{svc.Swap}
	if svc.Swap == inventory.SwapLocal {
		swap = nil // this machine, not a host named local
	}
	var order []string
	for _, h := range slices.Concat(svc.Test, []string{svc.Standby, svc.Primary}, svc.Canary, svc.Fleet, swap) {
		if h != "" && out.Hosts[h] == nil {
			out.Hosts[h] = b.host(h)
			order = append(order, h)
		}
	}
	b.jumpHosts(out, order)
	if len(b.errs) > 0 {
		return nil, b.errs.Err()
	}
	return out, nil
}

type builder struct {
	src    *Inventory
	opts   Options
	errs   diag.List
	index  map[string]int      // each host's place in the file
	jumpAt map[string]diag.Pos // where each host's jump is set
	// groupVars are the merged group variables of each set of groups
	// (joined by NUL), computed once.
	groupVars map[string]Vars
}

func (b *builder) add(pos diag.Pos, hint, format string, args ...any) {
	b.errs.Add(b.src.File, pos, hint, format, args...)
}

// role is the hosts that play one role, and the groups they came from.
type role struct {
	name   string
	groups []string
	hosts  []string
	from   map[string]string // host → the mapped group it came through
	// clashed counts the hosts taken out because an earlier role has them.
	clashed int
}

// service maps the roles to hosts and checks the service as a whole.
func (b *builder) service(name string, mapping map[string][]string) *inventory.Service {
	roles := b.roles(mapping)
	b.oneRole(roles)
	svc := &inventory.Service{Name: name, Pos: diag.Pos{Line: 1, Col: 1},
		Test: roles[RoleTest].hosts, Canary: roles[RoleCanary].hosts, Fleet: roles[RoleFleet].hosts}
	svc.Swap = b.swap(roles[RoleSwap])
	if len(mapping) == 0 && len(roles[RoleFleet].groups) == 0 {
		svc.Fleet = b.rest(roles, svc.Swap)
	}
	svc.Standby = b.single(roles[RoleStandby])
	svc.Primary = b.single(roles[RolePrimary])
	if len(svc.Test) == 0 {
		pos := b.groupPos(roles[RoleTest].groups)
		if pos.Line == 0 && len(mapping) == 0 {
			pos = diag.Pos{Line: 1, Col: 1}
		}
		b.add(pos, "every change goes through a test instance first: add a group named test with a host, or map the test role to a group",
			"service %q has no test hosts", name)
	}
	standby, primary := roles[RoleStandby], roles[RolePrimary]
	if (len(standby.groups) > 0) != (len(primary.groups) > 0) {
		has, lacks := standby, primary
		if len(primary.groups) > 0 {
			has, lacks = primary, standby
		}
		b.add(b.groupPos(has.groups), "give both, so the swap has somewhere to move traffic, or neither",
			"service %q has a %s but no %s", name, has.name, lacks.name)
	}
	if len(standby.groups) > 0 && len(primary.groups) > 0 && b.opts.Swap == "" && len(roles[RoleSwap].groups) == 0 {
		b.add(b.groupPos(standby.groups), "add a group named swap holding the one host the swap command runs on, map one to the swap role, or run the swap locally",
			"service %q has a primary and a standby but no swap host", name)
	}
	return svc
}

// roles resolves each role to its groups and their hosts.
func (b *builder) roles(mapping map[string][]string) map[string]*role {
	roles := make(map[string]*role, len(roleOrder))
	for _, r := range roleOrder {
		roles[r] = &role{name: r, from: map[string]string{}}
		if len(mapping) == 0 {
			if b.src.Groups[r] != nil {
				roles[r].groups = []string{r}
			}
			continue
		}
		for _, g := range mapping[r] {
			if b.src.Groups[g] == nil {
				b.add(diag.Pos{}, b.groupsHint(g), "no group %q in the inventory, for role %s", g, r)
				continue
			}
			roles[r].groups = append(roles[r].groups, g)
		}
	}
	for r := range mapping {
		if roles[r] == nil {
			b.add(diag.Pos{}, "the roles are test, standby, primary, canary, fleet and swap", "unknown role %q in the mapping of roles to groups", r)
		}
	}
	for _, r := range roles {
		for _, g := range r.groups {
			for _, h := range b.src.GroupHosts(g) {
				if _, dup := r.from[h]; !dup {
					r.from[h] = g
					r.hosts = append(r.hosts, h)
				}
			}
		}
		if len(r.groups) > 1 { // one group's hosts are in file order already
			slices.SortFunc(r.hosts, func(x, y string) int { return b.index[x] - b.index[y] })
		}
	}
	return roles
}

// oneRole reports every host that two roles claim, once per pair of groups,
// and leaves it in the first role only.
func (b *builder) oneRole(roles map[string]*role) {
	type claim struct{ role, group string }
	type clash struct {
		first, then claim
		host        string
		more        int
	}
	taken := map[string]claim{}
	var clashes []*clash
	for _, r := range roleOrder[:5] {
		kept := roles[r].hosts[:0]
		for _, h := range roles[r].hosts {
			c := claim{r, roles[r].from[h]}
			prev, dup := taken[h]
			if !dup {
				taken[h] = c
				kept = append(kept, h)
				continue
			}
			roles[r].clashed++
			i := slices.IndexFunc(clashes, func(x *clash) bool { return x.first == prev && x.then == c })
			if i < 0 {
				clashes = append(clashes, &clash{first: prev, then: c, host: h})
			} else {
				clashes[i].more++
			}
		}
		roles[r].hosts = kept
	}
	for _, c := range clashes {
		subject := fmt.Sprintf("host %q is", c.host)
		if c.more > 0 {
			subject = fmt.Sprintf("host %q and %d more are", c.host, c.more)
		}
		hint := "a host plays one role in a service: take it out of one of the groups"
		if c.then.group == GroupAll || c.first.group == GroupAll {
			hint = "all holds every host, those of the other roles too: map the role to the groups of its hosts only"
		}
		b.add(b.src.listedAt(c.then.group, c.host), hint, "%s in two roles: %s (group %s) and %s (group %s)",
			subject, c.first.role, c.first.group, c.then.role, c.then.group)
	}
}

// rest is the fleet when no group is mapped to it: every host in no other
// role, and not the swap host, in file order.
func (b *builder) rest(roles map[string]*role, swap string) []string {
	var out []string
	for _, h := range b.src.HostNames {
		taken := h == swap && swap != inventory.SwapLocal
		for _, r := range roleOrder[:4] {
			if _, in := roles[r].from[h]; in {
				taken = true
			}
		}
		if !taken {
			out = append(out, h)
		}
	}
	return out
}

// single is the one host of a role that takes one (standby, primary, swap),
// reporting a role that comes to none or to several.
func (b *builder) single(r *role) string {
	if len(r.groups) == 0 {
		return ""
	}
	what, verb, none := fmt.Sprintf("group %q", r.groups[0]), "holds", "has"
	if len(r.groups) > 1 {
		what, verb, none = "groups "+quoteList(r.groups), "hold", "have"
	}
	switch len(r.hosts) {
	case 1:
		return r.hosts[0]
	case 0:
		if r.clashed > 0 {
			return "" // reported as a host in two roles
		}
		b.add(b.groupPos(r.groups), "a service has one "+r.name+": list its host in the group", "%s: %s %s no hosts", r.name, what, none)
	default:
		hint := "put the other hosts in canary or fleet"
		if r.name == RoleSwap {
			hint = "the swap command runs on one host: map swap to a group holding only it"
		}
		b.add(b.groupPos(r.groups), hint, "%s: %s %s %d hosts; a service has one %s", r.name, what, verb, len(r.hosts), r.name)
	}
	return ""
}

// swap is where the swap command runs: Options.Swap, else the swap group's
// one host.
func (b *builder) swap(r *role) string {
	if s := b.opts.Swap; s != "" {
		if s != inventory.SwapLocal && !inventory.ValidHostName(s) {
			b.add(diag.Pos{}, inventory.HostNameHint+", or local", "swap host %q is not valid", s)
			return ""
		}
		return s
	}
	return b.single(r)
}

// groupPos is where the first of groups is named, or nowhere (line 0) for
// the implicit all and ungrouped.
func (b *builder) groupPos(groups []string) diag.Pos {
	if len(groups) == 0 {
		return diag.Pos{}
	}
	return b.src.Groups[groups[0]].Pos
}

// groupsHint lists the inventory's groups, the closest to name first.
func (b *builder) groupsHint(name string) string {
	best := yamlx.Closest(name, b.src.GroupNames)
	names := b.src.GroupNames
	const most = 30
	list := strings.Join(names[:min(len(names), most)], ", ")
	if len(names) > most {
		list += fmt.Sprintf(" and %d more", len(names)-most)
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q? groups: %s", best, list)
	}
	return "groups: " + list
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
