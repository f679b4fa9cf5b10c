package ansible

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/rolloutconsole/rollout/inventory/diag"
	"github.com/rolloutconsole/rollout/inventory/internal/yamlx"
)

// Parse reads an Ansible inventory, INI or YAML as Detect tells, from data
// read from file (used in messages and to tell the format by its name). A
// file in rollout's own format is an error.
func Parse(file string, data []byte) (*Inventory, error) {
	switch Detect(file, data) {
	case INI:
		return ParseINI(file, data)
	case YAML:
		return ParseYAML(file, data)
	}
	return nil, diag.List{{File: file, Line: 1, Col: 1, Msg: "this is a rollout inventory, not an Ansible inventory",
		Hint: "read it as inventory.yaml, without a mapping of roles to Ansible groups"}}
}

// nativeKeys are the top-level keys of rollout's own inventory.yaml.
var nativeKeys = map[string]bool{"services": true, "defaults": true, "hosts": true}

// groupKeys are the keys of an Ansible YAML group.
var groupKeys = map[string]bool{"hosts": true, "children": true, "vars": true}

// nativeLine finds a top-level key of rollout's own format in a file that is
// not valid YAML.
var nativeLine = regexp.MustCompile(`(?m)^(services|defaults)[ \t]*:`)

// Detect tells which format an inventory file is in, from its content first
// and its name only where the content does not say:
//   - a file whose first line that is not blank or a comment is a [section]
//     header is INI;
//   - a YAML mapping with a top-level services: or defaults: (or a hosts:
//     that is not an Ansible group) is rollout's own format, Native;
//   - any other YAML mapping of groups (a group with hosts:, children: or
//     vars:, or only mappings and empty values) is Ansible YAML;
//   - anything else is INI, unless the file is named .yaml, .yml or .json,
//     when it is Native, except that YAML that does not parse is Ansible
//     YAML unless it has a top-level services: or defaults:, so that the
//     parser closest to what was meant reports what is wrong.
func Detect(path string, data []byte) Format {
	yamlName := false
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		yamlName = true
	}
	if startsWithSection(data) {
		return INI
	}
	var errs diag.List
	root := yamlx.Parse(&yamlx.Doc{File: path, Errs: &errs}, data)
	switch {
	case root.IsMap():
		kvs := root.Map("")
		for _, kv := range kvs {
			if nativeKeys[kv.Key] && !(kv.Key == "hosts" && isGroup(kv.Value)) {
				return Native
			}
		}
		grouped, other := false, false
		for _, kv := range kvs {
			switch {
			case hasGroupKey(kv.Value):
				grouped = true
			case kv.Value.Present() && !kv.Value.IsMap():
				other = true
			}
		}
		switch {
		case grouped || !other:
			return YAML
		case yamlName:
			// Neither an inventory nor the other: a change file given as
			// -i, say. rollout's own parser says best what is wrong.
			return Native
		default:
			// "host1 x='a: b'" is a mapping to YAML, and not a group.
			return INI
		}
	case !yamlName:
		return INI
	case !root.Present() && len(errs) > 0 && !nativeLine.Match(data):
		return YAML
	default:
		return Native
	}
}

// IsAnsible reports whether the file is an Ansible inventory, INI or YAML,
// rather than rollout's own format.
func IsAnsible(path string, data []byte) bool { return Detect(path, data) != Native }

// isGroup reports whether n looks like an Ansible group: a non-empty mapping
// of hosts, children and vars only.
func isGroup(n yamlx.Node) bool {
	if !n.IsMap() {
		return false
	}
	kvs := n.Map("")
	for _, kv := range kvs {
		if !groupKeys[kv.Key] {
			return false
		}
	}
	return len(kvs) > 0
}

// hasGroupKey reports whether n is a mapping with a hosts, children or vars
// key.
func hasGroupKey(n yamlx.Node) bool {
	return n.IsMap() && slices.ContainsFunc(n.Map(""), func(kv yamlx.KV) bool { return groupKeys[kv.Key] })
}

// startsWithSection reports whether the first line that is not blank or a
// comment is an INI [section] header.
func startsWithSection(data []byte) bool {
	for line := range strings.SplitSeq(strings.TrimPrefix(string(data), "\ufeff"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		return sectionRE.MatchString(line)
	}
	return false
}
