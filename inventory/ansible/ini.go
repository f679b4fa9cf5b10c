package ansible

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// The INI plugin's own patterns: a section header is a group name (no ':',
// ']' or space) with an optional :tag, and a line of [group:children] is one
// group name; either may be followed by a # comment.
var (
	sectionRE   = regexp.MustCompile(`^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$`)
	groupNameRE = regexp.MustCompile(`^([^:\]\s]+)\s*(?:#.*)?$`)
)

// ParseINI reads an Ansible INI inventory: host lines (with inline key=value
// variables, ranges and host:port) before any section and under [group],
// child groups under [group:children], variables under [group:vars]; # and ;
// start comment lines. Every problem is reported, each at its line and
// column, as a diag.List.
func ParseINI(file string, data []byte) (*Inventory, error) {
	p := &iniParser{inv: newInventory(file, INI), varsAt: map[string]diag.Pos{}}
	text := strings.TrimPrefix(string(data), "\ufeff")
	group, state := p.inv.Groups[GroupUngrouped], "hosts"
	for i, line := range strings.Split(text, "\n") {
		if p.full {
			break
		}
		p.line, p.text = i+1, strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimSpace(p.text)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if trimmed[0] == '[' {
			if m := sectionRE.FindStringSubmatch(trimmed); m != nil {
				group, state = p.section(m[1], m[2])
				continue
			}
			if strings.HasSuffix(trimmed, "]") {
				p.errorf(strings.IndexByte(p.text, '['), "write [group], [group:children] or [group:vars], with no spaces inside the brackets",
					"section header %s is not valid", trimmed)
				group, state = nil, "skip"
				continue
			}
		}
		switch state {
		case "hosts":
			p.hostLine(group)
		case "children":
			p.childLine(group, trimmed)
		case "vars":
			p.varLine(group, trimmed)
		}
	}
	p.resolveChildren()
	for name, pos := range p.varsAt {
		if !p.inv.Groups[name].declared {
			p.errs.Add(file, pos, "add a ["+name+"] section with its hosts, or correct the name",
				"[%s:vars] sets variables of group %q, which is not defined", name, name)
		}
	}
	if len(p.errs) > 0 {
		return nil, p.errs.Err()
	}
	p.inv.reconcile()
	return p.inv, nil
}

type iniParser struct {
	inv  *Inventory
	errs diag.List
	line int    // the line being read, from 1
	text string // and its text
	// children are the [group:children] lines, joined once every group is
	// known, since a child may be defined after its parent.
	children []childRef
	varsAt   map[string]diag.Pos // where each group's first [group:vars] is
	names    int                 // host names expanded so far
	full     bool                // a bound was hit, or the file is YAML; the rest is not read
}

type childRef struct {
	parent, child string
	pos           diag.Pos
}

// pos is the position of byte offset off in the current line, counting the
// column in characters as editors do.
func (p *iniParser) pos(off int) diag.Pos {
	off = max(0, min(off, len(p.text)))
	return diag.Pos{Line: p.line, Col: utf8.RuneCountInString(p.text[:off]) + 1}
}

func (p *iniParser) errorf(off int, hint, format string, args ...any) {
	p.errs.Add(p.inv.File, p.pos(off), hint, format, args...)
}

// section starts a [name] or [name:tag] section and returns the group and
// what its lines hold.
func (p *iniParser) section(name, tag string) (*Group, string) {
	pos := p.pos(strings.IndexByte(p.text, '['))
	switch tag {
	case "", "hosts", "children":
		g := p.inv.group(name, pos)
		g.declared = true
		if tag == "" {
			tag = "hosts"
		}
		return g, tag
	case "vars":
		if _, seen := p.varsAt[name]; !seen {
			p.varsAt[name] = pos
		}
		return p.inv.group(name, pos), "vars"
	}
	p.errs.Add(p.inv.File, pos, "use ["+name+"] for hosts, ["+name+":children] for child groups or ["+name+":vars] for variables",
		"section [%s:%s] has an unknown type %q", name, tag, tag)
	return nil, "skip"
}

// hostLine reads "pattern[:port] [key=value ...]" into group g.
func (p *iniParser) hostLine(g *Group) {
	words, serr := splitShell(p.text)
	if serr != nil {
		p.errorf(serr.off, `quote a value with spaces as a whole: key="a b"`, "cannot read the host line: %s", serr.msg)
		return
	}
	if len(words) == 0 {
		return
	}
	first := words[0]
	switch {
	case strings.Contains(first.text, "="):
		p.errorf(first.off, "put group variables under ["+g.Name+":vars], and a host's after its name: host1 "+first.text,
			"%q is a variable, but [%s] lists hosts", first.text, g.Name)
		return
	case first.text == "---":
		p.errorf(first.off, "a YAML inventory is a mapping of groups, such as all:, and must parse as YAML",
			`"---" starts a YAML document, but this file is read as an INI inventory`)
		p.full = true // the rest is YAML too: reading it as INI would only say so again
		return
	}
	names, port, err := hostPattern(first.text)
	if err != nil {
		p.errorf(first.off, "", "%v", err)
		return
	}
	vars := Vars{}
	var order []string
	for _, w := range words[1:] {
		k, v, ok := strings.Cut(w.text, "=")
		switch {
		case !ok:
			p.errorf(w.off, `variables on a host line are key=value; quote a value with spaces: key="a b"`,
				"expected key=value after host %s, got %q", first.text, w.text)
			continue
		case k == "":
			p.errorf(w.off, "write name=value", "the variable %q has no name", w.text)
			continue
		}
		value, _ := pyValue(v)
		if _, dup := vars[k]; !dup {
			order = append(order, k)
		}
		vars[k] = Var{Value: value, Pos: p.pos(w.off)}
	}
	if !p.budget(len(names), first.off) {
		return
	}
	at := p.pos(first.off)
	for _, name := range names {
		h := p.inv.addHost(g, name, at)
		if port != "" {
			h.set("ansible_port", Var{Value: port, Pos: at})
		}
		for _, k := range order {
			h.set(k, vars[k])
		}
	}
	if len(p.inv.HostNames) > maxHosts {
		p.errorf(first.off, "split the inventory, or narrow the range", "the inventory holds more than %d hosts, the most rollout reads", maxHosts)
		p.full = true
	}
}

// budget counts n more expanded names, reporting and stopping once the
// file has expanded too many.
func (p *iniParser) budget(n, off int) bool {
	if p.names += n; p.names > maxNames {
		p.errorf(off, "narrow the ranges, or list fewer hosts in several groups", "the host patterns expand to more than %d names, the most rollout reads", maxNames)
		p.full = true
		return false
	}
	return true
}

// childLine reads one child group name of a [group:children] section.
func (p *iniParser) childLine(parent *Group, trimmed string) {
	off := strings.Index(p.text, trimmed)
	m := groupNameRE.FindStringSubmatch(trimmed)
	switch {
	case m == nil:
		p.errorf(off, "list one child group per line; hosts go under ["+parent.Name+"]",
			"expected a group name in [%s:children], got %q", parent.Name, trimmed)
	case m[1] == GroupAll:
		p.errorf(off, "remove the line: every group is already below all", "all cannot be a child group")
	default:
		p.children = append(p.children, childRef{parent: parent.Name, child: m[1], pos: p.pos(off)})
	}
}

// varLine reads one name=value of a [group:vars] section: everything after
// the first '=' is the value.
func (p *iniParser) varLine(g *Group, trimmed string) {
	off := strings.Index(p.text, trimmed)
	k, v, ok := strings.Cut(trimmed, "=")
	k = strings.TrimSpace(k)
	switch {
	case !ok:
		p.errorf(off, "one variable per line: name=value", "expected name=value in [%s:vars], got %q", g.Name, trimmed)
		return
	case k == "":
		p.errorf(off, "write name=value", "the variable %q has no name", trimmed)
		return
	}
	value, _ := pyValue(v)
	g.Vars[k] = Var{Value: value, Pos: p.pos(off)}
}

// resolveChildren joins every [group:children] line once all groups are
// known: the child must be defined somewhere in the file, and must not be
// an ancestor of its parent.
func (p *iniParser) resolveChildren() {
	for _, c := range p.children {
		child := p.inv.Groups[c.child]
		switch {
		case child == nil || !child.declared:
			p.errs.Add(p.inv.File, c.pos, "add a ["+c.child+"] section with its hosts, or remove the line",
				"[%s:children] names group %q, which is not defined", c.parent, c.child)
		case c.parent == c.child:
			p.errs.Add(p.inv.File, c.pos, "remove the line", "group %q cannot be a child of itself", c.child)
		case !p.inv.addChild(p.inv.Groups[c.parent], child):
			p.errs.Add(p.inv.File, c.pos, "a group cannot be below one of its own children",
				"[%s:children] names group %q, which makes a loop: %q is already below %q", c.parent, c.child, c.parent, c.child)
		}
	}
}
