// Package sshhosts lists the hosts an OpenSSH client config (~/.ssh/config)
// names: the aliases on its Host lines that are names rather than patterns,
// so that a fleet can be given as "every host of mine called web-*".
//
// Host lines are read as ssh(1) reads them (keywords in any case, "Host=a",
// quoted arguments, Include followed, # comments); Match blocks and every
// other keyword are skipped, since they name no host.
package sshhosts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rolloutconsole/rollout/inventory"
	"github.com/rolloutconsole/rollout/inventory/diag"
)

// maxDepth bounds nested Include directives, as ssh does.
const maxDepth = 16

// Alias is one host alias named on a Host line, and where.
type Alias struct {
	Name string   // as written on the Host line
	File string   // the config file, or the included file, that names it
	Pos  diag.Pos // where in File
}

// Options tune how a config is read.
type Options struct {
	// IncludeDir is where a relative Include path starts: ssh starts it
	// from ~/.ssh for a user's config. Empty means ~/.ssh.
	IncludeDir string
}

// Load reads the config at path and returns the aliases that pattern
// selects (see Select). A missing file is an error: a fleet taken from a
// config that is not there is a mistake.
func Load(path, pattern string, opts Options) ([]string, error) {
	data, err := inventory.ReadFile(path)
	if err != nil {
		return nil, err
	}
	aliases, err := Aliases(path, data, opts)
	if err != nil {
		return nil, err
	}
	return Select(path, aliases, pattern)
}

// Aliases returns every concrete alias of a config read from file, in file
// order, following Include directives where they stand: the names on Host
// lines without a wildcard (* or ?) and not negated (!). An alias named
// twice is returned once, where it is first named.
func Aliases(file string, data []byte, opts Options) ([]Alias, error) {
	r := &reader{opts: opts, seen: map[string]bool{}}
	if r.opts.IncludeDir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			r.opts.IncludeDir = filepath.Join(home, ".ssh")
		}
	}
	r.read(file, data, 0)
	if len(r.errs) > 0 {
		return nil, r.errs.Err()
	}
	return r.out, nil
}

type reader struct {
	opts Options
	out  []Alias
	seen map[string]bool
	errs diag.List
}

func (r *reader) read(file string, data []byte, depth int) {
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		words := fields(line)
		if len(words) == 0 {
			continue
		}
		key, args := words[0], words[1:]
		// "Host=a b" and "Host = a b": the keyword ends at '='.
		if k, v, ok := strings.Cut(key.text, "="); ok {
			key.text = k
			if v != "" {
				args = append([]word{{text: v, off: key.off + len(k) + 1}}, args...)
			}
		} else if len(args) > 0 && strings.HasPrefix(args[0].text, "=") {
			if args[0].text = args[0].text[1:]; args[0].text == "" {
				args = args[1:]
			} else {
				args[0].off++
			}
		}
		pos := func(w word) diag.Pos {
			return diag.Pos{Line: i + 1, Col: utf8.RuneCountInString(line[:w.off]) + 1}
		}
		switch strings.ToLower(key.text) {
		case "host":
			for _, a := range args {
				if a.text == "" || a.text[0] == '!' || strings.ContainsAny(a.text, "*?") || r.seen[a.text] {
					continue
				}
				r.seen[a.text] = true
				r.out = append(r.out, Alias{Name: a.text, File: file, Pos: pos(a)})
			}
		case "include":
			for _, a := range args {
				r.include(file, pos(a), a.text, depth)
			}
		}
	}
}

// include reads the files an Include argument names, in the order of their
// names, as ssh does; a glob that matches nothing is not an error.
func (r *reader) include(file string, at diag.Pos, arg string, depth int) {
	if depth+1 > maxDepth {
		r.errs.Add(file, at, "an Include probably names the file it is in", "Include is nested more than %d deep", maxDepth)
		return
	}
	path := arg
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.opts.IncludeDir, path)
	}
	matches, err := filepath.Glob(path)
	if err != nil {
		r.errs.Add(file, at, "", "Include %q is not a valid pattern: %v", arg, err)
		return
	}
	slices.Sort(matches)
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil || fi.IsDir() || !fi.Mode().IsRegular() {
			continue // ssh skips what is not a file
		}
		data, err := os.ReadFile(m)
		if err != nil {
			r.errs.Add(file, at, "", "Include %q: cannot read %s: %v", arg, m, unwrap(err))
			continue
		}
		r.read(m, data, depth+1)
	}
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// word is one argument of a config line, and the byte offset it starts at.
type word struct {
	text string
	off  int
}

// fields splits a config line into words as ssh does: whitespace separates
// them, "…" quotes one with spaces, and a word starting with an unquoted #
// begins a comment.
func fields(line string) []word {
	var out []word
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '#':
			return out
		case c == '"':
			end := strings.IndexByte(line[i+1:], '"')
			if end < 0 {
				end = len(line) - i - 1
			}
			out = append(out, word{text: line[i+1 : i+1+end], off: i})
			i += end + 2
			continue
		}
		end := strings.IndexAny(line[i:], " \t")
		if end < 0 {
			end = len(line) - i
		}
		out = append(out, word{text: line[i : i+end], off: i})
		i += end
	}
	return out
}

// Select returns the names of the aliases that pattern selects, in the
// order given. The pattern is ssh's: a comma-separated list of globs (* for
// any run of characters, ? for one), any of them negated with !; an alias is
// selected when a glob matches it and no negated one does, case aside. An
// alias that is selected but is not a valid host name is an error at the
// alias, and so is a pattern that selects nothing: a fleet of no hosts is a
// mistake. file names the config in messages.
func Select(file string, aliases []Alias, pattern string) ([]string, error) {
	var pos, neg []string
	for _, p := range strings.Split(pattern, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if n, ok := strings.CutPrefix(p, "!"); ok {
			neg = append(neg, n)
		} else if p != "" {
			pos = append(pos, p)
		}
	}
	if len(pos) == 0 {
		return nil, diag.List{{File: file, Msg: fmt.Sprintf("pattern %q selects no host", pattern),
			Hint: "give at least one pattern that is not negated, such as web-*"}}
	}
	var out []string
	var errs diag.List
	for _, a := range aliases {
		name := strings.ToLower(a.Name)
		if !slices.ContainsFunc(pos, func(p string) bool { return Match(p, name) }) ||
			slices.ContainsFunc(neg, func(p string) bool { return Match(p, name) }) {
			continue
		}
		if !inventory.ValidHostName(a.Name) {
			errs.Add(a.File, a.Pos, inventory.HostNameHint, "host alias %q matches %q but is not a valid host name", a.Name, pattern)
			continue
		}
		out = append(out, a.Name)
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	if len(out) == 0 {
		return nil, diag.List{{File: file, Msg: fmt.Sprintf("no Host alias matches %q", pattern), Hint: aliasesHint(aliases)}}
	}
	return out, nil
}

// aliasesHint lists some of the aliases there are.
func aliasesHint(aliases []Alias) string {
	if len(aliases) == 0 {
		return "the config names no host without a wildcard"
	}
	const most = 10
	names := make([]string, 0, most)
	for _, a := range aliases[:min(len(aliases), most)] {
		names = append(names, a.Name)
	}
	hint := "aliases: " + strings.Join(names, ", ")
	if len(aliases) > most {
		hint += fmt.Sprintf(" and %d more", len(aliases)-most)
	}
	return hint
}

// Match reports whether name matches the glob pattern as ssh matches host
// patterns: * matches any run of characters, ? exactly one, and everything
// else itself.
func Match(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0 // the last * seen, and where in name it resumes
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == name[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
