package ansible

import (
	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/internal/yamlx"
)

// ParseYAML reads an Ansible YAML inventory: a mapping of groups (usually
// all:), each with hosts:, children: (groups, nested the same way) and vars:;
// a host's value holds its variables. Every problem is reported, each at its
// line and column, as a diag.List.
//
// Unlike Ansible, which warns and goes on, a key other than hosts, children
// and vars in a group is an error: a misspelt hosts: would otherwise drop
// hosts from a rollout without a word. YAML aliases and merge keys are
// refused, as in rollout's own inventory.
func ParseYAML(file string, data []byte) (*Inventory, error) {
	var errs diag.List
	root := yamlx.Parse(&yamlx.Doc{File: file, Errs: &errs}, data)
	p := &yamlParser{inv: newInventory(file, YAML), errs: &errs}
	switch {
	case !root.Present():
		if len(errs) == 0 {
			errs.Add(file, diag.Pos{Line: 1, Col: 1}, "start with all: and list hosts: under it", "the inventory is empty")
		}
	case !root.IsMap():
		root.Errorf("start with a group, usually all:, holding hosts:, children: and vars:",
			"an Ansible YAML inventory is a mapping of groups, not %s", root.Describe())
	default:
		p.top(root)
	}
	for _, e := range errs {
		if e.Msg == "YAML aliases (*name) are not supported" {
			e.Hint = "write the value out, or put shared variables in a group's vars:"
		}
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	p.inv.reconcile()
	return p.inv, nil
}

type yamlParser struct {
	inv   *Inventory
	errs  *diag.List
	names int
	full  bool
}

// top reads the top-level groups, refusing the files that look like an
// inventory but are something else.
func (p *yamlParser) top(root yamlx.Node) {
	kvs := root.Map("the inventory")
	for _, kv := range kvs {
		switch kv.Key {
		case "plugin":
			p.errs.Add(p.inv.File, kv.KeyPos, "rollout reads static inventories: write one with ansible-inventory -i "+p.inv.File+" --list --yaml",
				"this is the configuration of an inventory plugin, not an inventory")
			return
		case "_meta":
			p.errs.Add(p.inv.File, kv.KeyPos, "write it as YAML instead: ansible-inventory -i SOURCE --list --yaml",
				"this is the JSON that ansible-inventory --list prints, which rollout does not read")
			return
		}
	}
	for _, kv := range kvs {
		switch kv.Key {
		case "hosts", "children", "vars":
			p.errs.Add(p.inv.File, kv.KeyPos, "put it under a group, usually all:",
				"%q at the top of the file: an Ansible YAML inventory starts with a group", kv.Key)
			continue
		}
		p.group(kv, nil)
	}
}

// group reads one group's hosts, children and vars; parent is the group it
// is listed under, nil at the top.
func (p *yamlParser) group(kv yamlx.KV, parent *Group) {
	g := p.inv.group(kv.Key, kv.KeyPos)
	g.declared = true
	if parent != nil {
		switch {
		case kv.Key == GroupAll:
			p.errs.Add(p.inv.File, kv.KeyPos, "remove it: every group is already below all", "all cannot be a child group")
			return
		case !p.inv.addChild(parent, g):
			p.errs.Add(p.inv.File, kv.KeyPos, "a group cannot be below itself or one of its own children",
				"group %q under %q makes a loop: %q is already below %q", kv.Key, parent.Name, parent.Name, kv.Key)
			return
		}
	}
	n := kv.Value
	if !n.Present() {
		return
	}
	if !n.IsMap() {
		n.Errorf("a group holds hosts:, children: and vars:", "group %q must be a mapping of hosts, children and vars, not %s", kv.Key, n.Describe())
		return
	}
	f := n.Fields("group "+kv.Key, "hosts", "children", "vars")
	p.hosts(g, f["hosts"])
	p.vars(g.Vars, f["vars"], "vars of group "+g.Name)
	if c := f["children"]; c.IsScalar() {
		p.group(yamlx.KV{Key: c.String("children"), KeyPos: c.Pos()}, g)
	} else if c.Present() && !c.IsMap() {
		c.Errorf("write each child group as a key ending in a colon, such as  webservers:", "children of group %q must be a mapping of groups, not %s", g.Name, c.Describe())
	} else {
		for _, ckv := range c.Map("children of group " + g.Name) {
			p.group(ckv, g)
		}
	}
}

// hosts reads a group's hosts: a mapping of host patterns to their
// variables, or a single pattern.
func (p *yamlParser) hosts(g *Group, n yamlx.Node) {
	if !n.Present() || p.full {
		return
	}
	if n.IsScalar() {
		p.host(g, yamlx.KV{Key: n.String("hosts"), KeyPos: n.Pos()})
		return
	}
	if !n.IsMap() {
		n.Errorf("write each host as a key ending in a colon, such as  web1.example.com:", "hosts of group %q must be a mapping of host names, not %s", g.Name, n.Describe())
		return
	}
	for _, kv := range n.Map("hosts of group " + g.Name) {
		if p.full {
			return
		}
		p.host(g, kv)
	}
}

// host reads one host pattern and its variables into group g.
func (p *yamlParser) host(g *Group, kv yamlx.KV) {
	names, port, err := hostPattern(kv.Key)
	if err != nil {
		p.errs.Add(p.inv.File, kv.KeyPos, "", "%v", err)
		return
	}
	vars := Vars{}
	if v := kv.Value; v.Present() && !v.IsMap() {
		v.Errorf("give the host's variables as name: value under it, or nothing", "the variables of host %s must be a mapping, not %s", kv.Key, v.Describe())
	} else {
		p.vars(vars, v, "host "+kv.Key)
	}
	if p.names += len(names); p.names > maxNames {
		p.errs.Add(p.inv.File, kv.KeyPos, "narrow the ranges, or list fewer hosts in several groups", "the host patterns expand to more than %d names, the most rollout reads", maxNames)
		p.full = true
		return
	}
	for _, name := range names {
		h := p.inv.addHost(g, name, kv.KeyPos)
		if port != "" {
			h.set("ansible_port", Var{Value: port, Pos: kv.KeyPos})
		}
		for k, v := range vars {
			h.set(k, v)
		}
	}
	if len(p.inv.HostNames) > maxHosts {
		p.errs.Add(p.inv.File, kv.KeyPos, "split the inventory, or narrow the range", "the inventory holds more than %d hosts, the most rollout reads", maxHosts)
		p.full = true
	}
}

// vars reads a mapping of variables into into.
func (p *yamlParser) vars(into Vars, n yamlx.Node, what string) {
	for _, kv := range n.Map(what) {
		v := kv.Value
		switch {
		case !v.Present():
			into[kv.Key] = Var{Pos: kv.KeyPos}
		case v.IsScalar():
			into[kv.Key] = Var{Value: v.String(kv.Key), Pos: v.Pos()}
		default:
			into[kv.Key] = Var{Complex: true, Pos: v.Pos()}
		}
	}
}
