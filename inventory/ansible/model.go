// Package ansible reads hosts from where they already live: Ansible
// inventories in INI and YAML, as Ansible documents them at
// https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html.
//
// Parse reads a file into an Inventory of groups, hosts and variables, every
// one placed at its file:line:col. Build turns it into rollout's own
// *inventory.Inventory for one service, given which groups play which role,
// and checks it exactly as inventory.Load checks inventory.yaml. Detect tells
// the three formats apart, so that -i takes any of them.
//
// Only the variables that say how a host is reached are read (ansible_host,
// ansible_port, ansible_user, ansible_ssh_private_key_file,
// ansible_connection, and a ProxyJump in ansible_ssh_common_args or
// ansible_ssh_extra_args); every other variable is kept but not interpreted.
package ansible

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// Format is the format of an inventory file.
type Format int

// The formats Detect tells apart.
const (
	// Native is rollout's own inventory.yaml, read by inventory.Load.
	Native Format = iota
	// INI is an Ansible INI inventory ([group], [group:children], [group:vars]).
	INI
	// YAML is an Ansible YAML inventory (all: hosts:, children:, vars:).
	YAML
)

// String names the format for messages.
func (f Format) String() string {
	switch f {
	case INI:
		return "Ansible INI"
	case YAML:
		return "Ansible YAML"
	default:
		return "rollout inventory"
	}
}

// The groups every Ansible inventory has.
const (
	GroupAll       = "all"       // every host
	GroupUngrouped = "ungrouped" // hosts in no group but all
)

// Inventory is an Ansible inventory as written: its groups and hosts in the
// order the file first names them, and the variables given to each.
type Inventory struct {
	File   string // the path it was read from, for messages
	Format Format // INI or YAML
	// Groups by name; GroupNames in the order first named, all and
	// ungrouped first.
	Groups     map[string]*Group
	GroupNames []string // see Groups
	// Hosts by name; HostNames in the order first named.
	Hosts     map[string]*Host
	HostNames []string // see Hosts

	depth map[string]int // each group's depth, once it is known
}

// Group is one Ansible group.
type Group struct {
	Name string // as written
	// Pos is where the group is first named; zero for an implicit all or
	// ungrouped.
	Pos diag.Pos
	// Hosts are the hosts listed in the group itself, in the order listed;
	// hosts of child groups are not repeated here (see Inventory.GroupHosts).
	Hosts []string
	// Children and Parents are the groups directly below and above.
	Children []string
	Parents  []string // see Children
	// Vars are the group's own variables.
	Vars Vars

	listed   map[string]diag.Pos // host → where it is listed in this group
	declared bool                // defined, not only referred to (INI)
}

// Host is one Ansible host.
type Host struct {
	Name string // as written, ranges expanded
	// Pos is where the host is first named.
	Pos diag.Pos
	// Groups are the groups that list the host directly, in file order.
	Groups []string
	// Vars are the host's own variables; a later line that sets one again
	// wins, as in Ansible.
	Vars Vars
}

// Var is one variable's value as written, and where.
type Var struct {
	// Value is a scalar's text ("" for null); for a list or mapping it is
	// empty and Complex is set.
	Value   string
	Complex bool     // see Value
	Pos     diag.Pos // where the value is written (its key, for null)
}

// Vars are variables by name.
type Vars map[string]Var

func newInventory(file string, f Format) *Inventory {
	inv := &Inventory{File: file, Format: f, Groups: map[string]*Group{}, Hosts: map[string]*Host{}}
	inv.group(GroupAll, diag.Pos{}).declared = true
	inv.group(GroupUngrouped, diag.Pos{}).declared = true
	return inv
}

// group returns the named group, creating it at pos if it is new.
func (inv *Inventory) group(name string, pos diag.Pos) *Group {
	g := inv.Groups[name]
	if g == nil {
		g = &Group{Name: name, Pos: pos, Vars: Vars{}, listed: map[string]diag.Pos{}}
		inv.Groups[name] = g
		inv.GroupNames = append(inv.GroupNames, name)
	} else if g.Pos.Line == 0 {
		g.Pos = pos
	}
	return g
}

// addHost lists name in group g at pos, creating the host if it is new.
func (inv *Inventory) addHost(g *Group, name string, pos diag.Pos) *Host {
	h := inv.Hosts[name]
	if h == nil {
		h = &Host{Name: name, Pos: pos}
		inv.Hosts[name] = h
		inv.HostNames = append(inv.HostNames, name)
	}
	if _, ok := g.listed[name]; !ok {
		g.listed[name] = pos
		g.Hosts = append(g.Hosts, name)
		h.Groups = append(h.Groups, g.Name)
	}
	return h
}

// set sets one of the host's own variables.
func (h *Host) set(name string, v Var) {
	if h.Vars == nil {
		h.Vars = Vars{}
	}
	h.Vars[name] = v
}

// addChild makes child a child group of parent, once. It refuses, returning
// false, an edge that would close a loop: a group that is its own ancestor.
func (inv *Inventory) addChild(parent, child *Group) bool {
	if slices.Contains(parent.Children, child.Name) {
		return true
	}
	if parent == child || inv.descends(parent.Name, child.Name) {
		return false
	}
	parent.Children = append(parent.Children, child.Name)
	child.Parents = append(child.Parents, parent.Name)
	return true
}

// descends reports whether group g is below group top.
func (inv *Inventory) descends(g, top string) bool {
	seen := map[string]bool{}
	var walk func(name string) bool
	walk = func(name string) bool {
		if name == g {
			return true
		}
		if seen[name] {
			return false
		}
		seen[name] = true
		return slices.ContainsFunc(inv.Groups[name].Children, walk)
	}
	return walk(top)
}

// reconcile does what Ansible does once a source is read: every group without
// a parent is a child of all, and ungrouped holds exactly the hosts that are in
// no group but all and ungrouped.
func (inv *Inventory) reconcile() {
	all := inv.Groups[GroupAll]
	for _, name := range inv.GroupNames {
		if g := inv.Groups[name]; name != GroupAll && len(g.Parents) == 0 {
			inv.addChild(all, g)
		}
	}
	ungrouped := inv.Groups[GroupUngrouped]
	for _, name := range inv.HostNames {
		h := inv.Hosts[name]
		others := slices.ContainsFunc(h.Groups, func(g string) bool { return g != GroupAll && g != GroupUngrouped })
		if !others {
			inv.addHost(ungrouped, name, h.Pos)
		} else if _, in := ungrouped.listed[name]; in {
			delete(ungrouped.listed, name)
			h.Groups = slices.DeleteFunc(h.Groups, func(s string) bool { return s == GroupUngrouped })
		}
	}
	// One pass, not one per host taken out: a file may list 100,000 hosts
	// before its first section and again below it.
	ungrouped.Hosts = slices.DeleteFunc(ungrouped.Hosts, func(s string) bool {
		_, in := ungrouped.listed[s]
		return !in
	})
}

// GroupHosts returns the hosts of the named group and of all its descendant
// groups, in the order the file first names them; nil when there is no such
// group.
func (inv *Inventory) GroupHosts(name string) []string {
	g := inv.Groups[name]
	if g == nil {
		return nil
	}
	if name == GroupAll {
		return slices.Clone(inv.HostNames)
	}
	in := map[string]bool{}
	seen := map[string]bool{}
	var walk func(g *Group)
	walk = func(g *Group) {
		if g == nil || seen[g.Name] {
			return
		}
		seen[g.Name] = true
		for _, h := range g.Hosts {
			in[h] = true
		}
		for _, c := range g.Children {
			walk(inv.Groups[c])
		}
	}
	walk(g)
	out := make([]string, 0, len(in))
	for _, h := range inv.HostNames {
		if in[h] {
			out = append(out, h)
		}
	}
	return out
}

// listedAt is where host is listed in group or, when only a descendant group
// lists it, in the first such descendant.
func (inv *Inventory) listedAt(group, host string) diag.Pos {
	seen := map[string]bool{}
	var find func(g *Group) (diag.Pos, bool)
	find = func(g *Group) (diag.Pos, bool) {
		if g == nil || seen[g.Name] {
			return diag.Pos{}, false
		}
		seen[g.Name] = true
		if p, ok := g.listed[host]; ok {
			return p, true
		}
		for _, c := range g.Children {
			if p, ok := find(inv.Groups[c]); ok {
				return p, true
			}
		}
		return diag.Pos{}, false
	}
	if g := inv.Groups[group]; g != nil {
		if p, ok := find(g); ok && p.Line > 0 {
			return p
		}
	}
	if h := inv.Hosts[host]; h != nil {
		return h.Pos
	}
	return diag.Pos{}
}

// depths gives every group its depth as Ansible counts it: all is 0, and a
// group is one deeper than its deepest parent. The group graph has no cycles
// (the parsers refuse them).
func (inv *Inventory) depths() map[string]int {
	d := make(map[string]int, len(inv.Groups))
	var depth func(name string, guard int) int
	depth = func(name string, guard int) int {
		if v, ok := d[name]; ok {
			return v
		}
		g := inv.Groups[name]
		best := 0
		if g != nil && guard < len(inv.Groups) { // a cycle cannot recurse for ever
			for _, p := range g.Parents {
				best = max(best, depth(p, guard+1)+1)
			}
		}
		d[name] = best
		return best
	}
	for _, name := range inv.GroupNames {
		depth(name, 0)
	}
	return d
}

// HostVars returns the variables that apply to the named host, merged as
// Ansible merges them: the all group first, then the other groups the host is
// in, directly or through a child group, shallowest first (ties by
// ansible_group_priority, then by name), then the host's own variables.
func (inv *Inventory) HostVars(name string) Vars {
	h := inv.Hosts[name]
	if h == nil {
		return nil
	}
	out := Vars{}
	for k, v := range inv.groupVars(h) {
		out[k] = v
	}
	for k, v := range h.Vars {
		out[k] = v
	}
	return out
}

// groupVars merges the variables of every group h is in, in Ansible's order.
func (inv *Inventory) groupVars(h *Host) Vars {
	groups := map[string]bool{GroupAll: true}
	var up func(g string)
	up = func(g string) {
		if groups[g] {
			return
		}
		groups[g] = true
		if gr := inv.Groups[g]; gr != nil {
			for _, p := range gr.Parents {
				up(p)
			}
		}
	}
	for _, g := range h.Groups {
		up(g)
	}
	if inv.depth == nil {
		inv.depth = inv.depths()
	}
	depth := inv.depth
	order := make([]string, 0, len(groups))
	for g := range groups {
		order = append(order, g)
	}
	slices.SortFunc(order, func(a, b string) int {
		return cmp.Or(cmp.Compare(depth[a], depth[b]), cmp.Compare(inv.priority(a), inv.priority(b)), strings.Compare(a, b))
	})
	out := Vars{}
	for _, g := range order {
		if gr := inv.Groups[g]; gr != nil {
			for k, v := range gr.Vars {
				out[k] = v
			}
		}
	}
	return out
}

// priority is a group's ansible_group_priority, 1 unless it gives a number.
func (inv *Inventory) priority(group string) int {
	g := inv.Groups[group]
	if g == nil {
		return 1
	}
	v, ok := g.Vars["ansible_group_priority"]
	if !ok {
		return 1
	}
	n, err := strconv.Atoi(strings.TrimSpace(v.Value))
	if err != nil {
		return 1
	}
	return n
}
