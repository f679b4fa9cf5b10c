package change

import (
	"cmp"
	"maps"
	pathpkg "path"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/internal/yamlx"
)

// named reads fingerprint: or capture:, a mapping of NAME: command or
// NAME: {run, timeout, pty}, in file order. It also returns every name
// given, valid or not, so that a reference to a misspelt one is not
// reported a second time.
func (p *parser) named(n yamlx.Node, what string) ([]Named, []string) {
	hint := "a name is letters, digits and '_', not starting with a digit"
	example := ": cat /etc/os-release"
	if what == "capture" {
		hint += "; rollback reads the value as {{.Captured.NAME}}"
		example = ": cat /etc/myapp/version"
	}
	var out []Named
	var names []string
	for _, kv := range n.Map(what) {
		names = append(names, kv.Key)
		if !envName.MatchString(kv.Key) {
			p.errs.Add(p.file, kv.KeyPos, hint, "%s name %q is not valid", what, kv.Key)
			continue
		}
		label := what + " " + kv.Key
		before := len(*p.errs)
		s := p.step(kv.Value, label, hostScope)
		if s.Run == nil {
			if len(*p.errs) == before {
				kv.Value.Errorf("give the command whose output is kept, e.g. "+kv.Key+example, "%s has no command", label)
			}
			continue
		}
		out = append(out, Named{Name: kv.Key, Step: s})
	}
	return out, names
}

// lock reads lock: true (the default), false, or {path: …}.
func (p *parser) lock(n yamlx.Node) Lock {
	switch {
	case !n.Present():
		return Lock{}
	case strings.HasPrefix(n.Describe(), "a boolean"):
		return Lock{Disabled: !n.Bool("lock")}
	case !n.IsMap():
		n.Errorf("lock: false turns the lock off; lock: {path: …} names its directory on each host", "lock must be true, false or {path: …}, not %s", n.Describe())
		return Lock{}
	}
	f := n.Fields("lock", "path")
	v, ok := f["path"]
	if !ok {
		return Lock{}
	}
	if !v.IsScalar() {
		v.String("lock path") // reports what it is instead
		return Lock{}
	}
	path := v.String("lock path")
	if !p.lockPath(v, path) {
		return Lock{}
	}
	return Lock{Path: path}
}

// lockPath checks a lock directory the way the engine will use it (see
// engine.CheckLockPath), so that validate refuses what run would: the path
// is always quoted, so ~ is not expanded, and {{.Service}} is its only
// placeholder.
func (p *parser) lockPath(v yamlx.Node, path string) bool {
	const example = "e.g. path: /var/lock/rollout-{{.Service}}; leave path out for " + DefaultLockPath
	switch {
	case strings.TrimSpace(path) == "":
		v.Errorf("name a directory on each host, "+example, "the lock path is empty")
	case !utf8.ValidString(path) || strings.IndexFunc(path, unsafeRune) >= 0:
		v.Errorf("", "the lock path holds a control character or a line break")
	case strings.HasPrefix(path, "-"):
		v.Errorf("write ./"+path+" for a directory whose name starts with -", "the lock path %q starts with -, and would be read as an option", path)
	case strings.HasPrefix(path, "~"):
		v.Errorf("give a path relative to the login directory, like "+DefaultLockPath+", or an absolute one", "the lock path %q starts with ~, which is not expanded", path)
	default:
		t := p.parseTemplate(v, "lock path", "empty", scope{fields: []string{"Service"}})
		if t == nil {
			return false
		}
		expanded, _ := t.Expand(func(string) (string, bool) { return "svc", true })
		if c := pathpkg.Clean(expanded); c == "." || c == "/" || c == ".." {
			v.Errorf("give the lock a directory of its own, "+example, "the lock path %q names no directory of its own", path)
			return false
		}
		return true
	}
	return false
}

// unsafeRune is a character that breaks a line or controls a terminal.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085'
}

// hookEvents are the keys of on:, in the order a rollout may reach them.
var hookEvents = []string{"gate", "failed", "finished", "rolled_back"}

// hooks reads on: {gate, failed, finished, rolled_back}. The commands run on
// this machine, with sh -c, and are kept as written: no placeholders.
func (p *parser) hooks(n yamlx.Node) Hooks {
	f := p.fieldsListed(n, "on", hookEvents...)
	return Hooks{
		Gate:       p.hook(f, "gate"),
		Failed:     p.hook(f, "failed"),
		Finished:   p.hook(f, "finished"),
		RolledBack: p.hook(f, "rolled_back"),
	}
}

// hook reads one hook: a command, or {run, timeout}.
func (p *parser) hook(f map[string]yamlx.Node, event string) *Hook {
	n, ok := f[event]
	if !ok {
		return nil
	}
	what := "on " + event
	h := &Hook{Pos: n.Pos()}
	run, given := n, n.Present()
	if n.IsMap() {
		ff := n.Fields(what, "run", "timeout")
		run, given = required(ff, "run", n)
		h.Timeout = p.duration(ff["timeout"], what+" timeout")
	}
	if !given {
		run.Errorf("give a local command, run with sh -c and the event as JSON on stdin, e.g. "+event+": notify-send rollout", "%s has no command", what)
		return nil
	}
	if !run.IsScalar() {
		run.String(what) // reports what it is instead
		return nil
	}
	h.Run = run.String(what)
	switch {
	case strings.TrimSpace(h.Run) == "":
		run.Errorf("", "%s is an empty command", what)
		return nil
	case strings.IndexByte(h.Run, 0) >= 0:
		run.Errorf("", "%s holds a NUL byte", what)
		return nil
	}
	return h
}

// roles are the keys of groups:, the roles of a service in rollout order.
var roles = []string{string(inventory.RoleTest), string(inventory.RoleStandby), string(inventory.RolePrimary), string(inventory.RoleCanary), string(inventory.RoleFleet)}

// groupName is what an Ansible group may be called and still be read back
// from an inventory: no spaces, colons or brackets, which INI files give meaning.
var groupName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// groups reads groups: {ROLE: group, or [groups]}. A group gives its hosts to
// one role only.
func (p *parser) groups(n yamlx.Node) map[string][]string {
	f := p.fieldsListed(n, "groups", roles...)
	var out map[string][]string
	owner := map[string]string{} // group -> the role that took it first
	// In file order, so that a group given twice is reported where it is
	// given the second time.
	given := slices.SortedFunc(maps.Keys(f), func(a, b string) int {
		pa, pb := f[a].Pos(), f[b].Pos()
		return cmp.Or(cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Col, pb.Col))
	})
	for _, role := range given {
		v := f[role]
		what := "groups " + role
		items := v.Seq(what, true)
		if !v.Present() || v.IsSeq() && len(items) == 0 {
			v.Errorf("name the Ansible group whose hosts are the "+role+" hosts, e.g. "+role+": web_"+role, "%s names no group", what)
			continue
		}
		var names []string
		for _, it := range items {
			if !it.IsScalar() {
				it.String(what) // reports what it is instead
				continue
			}
			g := it.String(what)
			switch prev, taken := owner[g]; {
			case !groupName.MatchString(g):
				it.Errorf("an Ansible group name is letters, digits, '_', '-' and '.'", "%s: %q is not a group name", what, g)
			case taken && prev == role:
				it.Errorf("remove one of them", "group %q is given twice in %s", g, what)
			case taken:
				it.Errorf("a host plays one role: give each role its own groups", "group %q is given for both %s and %s", g, prev, role)
			default:
				owner[g] = role
				names = append(names, g)
			}
		}
		if len(names) > 0 {
			if out == nil {
				out = make(map[string][]string)
			}
			out[role] = names
		}
	}
	return out
}

// fieldsListed is Fields for a mapping whose keys are a short fixed list:
// an unknown key's hint names them all, even when it also says which one
// was probably meant.
func (p *parser) fieldsListed(n yamlx.Node, what string, known ...string) map[string]yamlx.Node {
	before := len(*p.errs)
	f := n.Fields(what, known...)
	for _, e := range (*p.errs)[before:] {
		if strings.HasPrefix(e.Msg, "unknown key ") && !strings.HasPrefix(e.Hint, "known keys") {
			e.Hint += " keys of " + what + ": " + strings.Join(known, ", ")
		}
	}
	return f
}
