// Package yamlx walks a YAML document node by node, keeping every value's line
// and column, so that the inventory and change parsers can report each problem
// where it stands and go on to find the next one.
//
// Decoding into structs (yaml.Unmarshal) stops at the first error and loses
// positions of semantic problems such as "host in two roles"; walking the AST
// keeps both.
package yamlx

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/rolloutconsole/rollout/inventory/diag"
)

// Doc is one YAML file being read, and the problems found in it so far.
type Doc struct {
	File string
	Errs *diag.List
}

// Node is one value in the document. A Node with a nil AST node stands for a
// key that is absent; its accessors report nothing and return zero values.
type Node struct {
	doc *Doc
	n   ast.Node
	// at, when set, is where problems with the node are reported instead of
	// its own position: an implicit null ("key:" with nothing after it) has
	// no text of its own, so problems with it are reported at its key; a
	// refused alias has no node, so they are reported at the alias.
	at diag.Pos
}

// Parse parses data as a single YAML document and returns its root node. On a
// syntax error it records the error with its position and returns an absent node.
//
// Duplicate keys are not a syntax error here: Map reports them with a hint and
// the rest of the file is still checked.
func Parse(doc *Doc, data []byte) Node {
	f, err := parseBytes(data)
	if err != nil {
		pos := diag.Pos{Line: 1, Col: 1}
		msg := err.Error()
		if ye, ok := err.(interface {
			GetToken() *token.Token
			GetMessage() string
		}); ok {
			pos = tokenPos(ye.GetToken())
			msg = ye.GetMessage()
		}
		hint := ""
		if strings.Contains(msg, "']'") || strings.Contains(msg, "flow sequence") {
			hint = `inside [ ... ] a host range needs quotes: ["web-[01:40]"]; or write the list one "- item" per line`
		}
		doc.Errs.Add(doc.File, pos, hint, "YAML syntax: %s", msg)
		return Node{doc: doc}
	}
	var bodies []ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			bodies = append(bodies, d.Body)
		}
	}
	if len(bodies) > 1 {
		doc.Errs.Add(doc.File, posOf(bodies[1]), "keep one document per file", "the file holds %d YAML documents; rollout reads exactly one", len(bodies))
	}
	if len(bodies) == 0 {
		return Node{doc: doc}
	}
	return Node{doc: doc}.wrap(bodies[0])
}

// wrap unwraps tags and anchors, and refuses aliases and merge keys: they make
// a file harder to read at 3 a.m. and let a small file expand without bound.
func (n Node) wrap(a ast.Node) Node {
	for {
		switch v := a.(type) {
		case *ast.TagNode:
			a = v.Value
			continue
		case *ast.AnchorNode:
			a = v.Value
			continue
		case *ast.AliasNode:
			n.doc.Errs.Add(n.doc.File, posOf(v), "write the value out, or use defaults: for settings shared by hosts", "YAML aliases (*name) are not supported")
			// Absent, but still placed: a problem that follows from the
			// missing value is reported where the alias stands.
			return Node{doc: n.doc, at: posOf(v)}
		}
		return Node{doc: n.doc, n: a}
	}
}

// parseBytes runs the YAML parser, turning a panic inside it into a syntax
// error: a user's file must never crash the program.
func parseBytes(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

func tokenPos(t *token.Token) diag.Pos {
	if t == nil || t.Position == nil {
		return diag.Pos{Line: 1, Col: 1}
	}
	return diag.Pos{Line: max(t.Position.Line, 1), Col: max(t.Position.Column, 1)}
}

// posOf is where a node starts as the user sees it. A block mapping's own
// token is the colon after its first key, so it is placed at that key.
func posOf(a ast.Node) diag.Pos {
	switch v := a.(type) {
	case nil:
		return diag.Pos{}
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 && v.Values[0].Key != nil {
			return posOf(v.Values[0].Key)
		}
	case *ast.MappingValueNode:
		if !v.IsFlowStyle && v.Key != nil {
			return posOf(v.Key)
		}
	}
	return tokenPos(a.GetToken())
}

// isImplicitNull reports whether a is the null of a key with no value.
func isImplicitNull(a ast.Node) bool {
	v, ok := a.(*ast.NullNode)
	return ok && v.Token != nil && v.Token.Type == token.ImplicitNullType
}

// Present reports whether the node exists and is not YAML null.
func (n Node) Present() bool {
	if n.n == nil {
		return false
	}
	_, null := n.n.(*ast.NullNode)
	return !null
}

// Pos is where the node starts, or where its key starts when the node is an
// implicit null.
func (n Node) Pos() diag.Pos {
	if n.at.Line > 0 {
		return n.at
	}
	return posOf(n.n)
}

// Errorf records a problem at the node.
func (n Node) Errorf(hint, format string, args ...any) {
	pos := n.Pos()
	if pos.Line == 0 {
		pos = diag.Pos{Line: 1, Col: 1}
	}
	n.doc.Errs.Add(n.doc.File, pos, hint, format, args...)
}

// kind names the node's YAML type the way a user would say it.
func (n Node) kind() string {
	switch n.n.(type) {
	case nil:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "null"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.IntegerNode:
		return "a number"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	default:
		return "a string"
	}
}

// KV is one key of a mapping with its value.
type KV struct {
	Key    string
	KeyPos diag.Pos
	Value  Node
}

// Map returns the entries of a mapping in file order. what names the value in
// error messages ("defaults", "service web"). Non-scalar and duplicate keys are
// reported and dropped. A node that is not a mapping is reported and yields nil.
func (n Node) Map(what string) []KV {
	if !n.Present() {
		return nil
	}
	var values []*ast.MappingValueNode
	switch m := n.n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		n.Errorf("", "%s must be a mapping of key: value, not %s", what, n.kind())
		return nil
	}
	seen := make(map[string]diag.Pos, len(values))
	out := make([]KV, 0, len(values))
	for _, mv := range values {
		if mv.Key != nil && mv.Key.IsMergeKey() {
			n.doc.Errs.Add(n.doc.File, posOf(mv.Key), "write the keys out", "YAML merge keys (<<) are not supported")
			continue
		}
		key := Node{doc: n.doc}.wrap(mv.Key)
		if key.n == nil && key.at.Line > 0 {
			continue // an alias, reported by wrap
		}
		name, ok := key.scalar()
		if !ok {
			key.Errorf("", "a key in %s must be a plain string, not %s", what, key.kind())
			continue
		}
		if first, dup := seen[name]; dup {
			key.Errorf("remove one of them", "%q is given twice in %s (first at line %d)", name, what, first.Line)
			continue
		}
		seen[name] = key.Pos()
		value := Node{doc: n.doc}.wrap(mv.Value)
		if isImplicitNull(value.n) {
			value.at = key.Pos()
		}
		out = append(out, KV{Key: name, KeyPos: key.Pos(), Value: value})
	}
	return out
}

// Fields is Map that also reports keys not in known, suggesting the closest
// known key, so a typo such as "retires:" never passes silently.
func (n Node) Fields(what string, known ...string) map[string]Node {
	kvs := n.Map(what)
	out := make(map[string]Node, len(kvs))
	for _, kv := range kvs {
		if !contains(known, kv.Key) {
			hint := "known keys: " + strings.Join(known, ", ")
			if s := Closest(kv.Key, known); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			n.doc.Errs.Add(n.doc.File, kv.KeyPos, hint, "unknown key %q in %s", kv.Key, what)
			continue
		}
		out[kv.Key] = kv.Value
	}
	return out
}

// Seq returns the items of a list. A scalar stands for a list of one when
// single is true (so "test: web-test-1" reads as "test: [web-test-1]").
func (n Node) Seq(what string, single bool) []Node {
	if !n.Present() {
		return nil
	}
	if s, ok := n.n.(*ast.SequenceNode); ok {
		out := make([]Node, 0, len(s.Values))
		for _, v := range s.Values {
			out = append(out, Node{doc: n.doc}.wrap(v))
		}
		return out
	}
	if _, ok := n.scalar(); ok && single {
		return []Node{n}
	}
	n.Errorf("", "%s must be a list, not %s", what, n.kind())
	return nil
}

// scalar returns the text of a scalar node as written.
func (n Node) scalar() (string, bool) {
	switch v := n.n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	}
	return "", false
}

// String returns a scalar as text. Numbers and booleans are taken as written
// ("name: 1.25" is the string "1.25"); lists, mappings and null are reported.
func (n Node) String(what string) string {
	if n.n == nil {
		return ""
	}
	s, ok := n.scalar()
	if !ok {
		n.Errorf("", "%s must be a string, not %s", what, n.kind())
	}
	return s
}

// Int returns an integer scalar, reporting anything else.
func (n Node) Int(what string) (int, bool) {
	if n.n == nil {
		return 0, false
	}
	if _, ok := n.n.(*ast.IntegerNode); ok {
		v, err := strconv.Atoi(n.n.GetToken().Value)
		if err == nil {
			return v, true
		}
	}
	n.Errorf("", "%s must be a whole number, not %s", what, n.Describe())
	return 0, false
}

// Bool returns a boolean scalar, reporting anything else.
func (n Node) Bool(what string) bool {
	if n.n == nil {
		return false
	}
	if b, ok := n.n.(*ast.BoolNode); ok {
		return b.Value
	}
	n.Errorf("use true or false", "%s must be true or false, not %s", what, n.Describe())
	return false
}

// Duration returns a Go duration ("2s", "1m30s"), reporting anything else.
func (n Node) Duration(what string) (time.Duration, bool) {
	if n.n == nil {
		return 0, false
	}
	s, ok := n.scalar()
	if ok {
		d, err := time.ParseDuration(s)
		if err == nil && d >= 0 {
			return d, true
		}
		if _, isInt := n.n.(*ast.IntegerNode); isInt {
			n.Errorf(fmt.Sprintf("write %ss for seconds", s), "%s needs a unit, not a bare number %s", what, s)
			return 0, false
		}
	}
	n.Errorf("write a duration such as 30s, 2m or 1m30s", "%s must be a duration, not %s", what, n.Describe())
	return 0, false
}

// IsMap reports whether the node is a mapping, for keys that accept either a
// short scalar form or a long mapping form.
func (n Node) IsMap() bool {
	switch n.n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

// IsSeq reports whether the node is a list.
func (n Node) IsSeq() bool {
	_, ok := n.n.(*ast.SequenceNode)
	return ok
}

// IsScalar reports whether the node is a string, number or boolean: something
// String reads without a complaint.
func (n Node) IsScalar() bool {
	_, ok := n.scalar()
	return ok
}

// Describe is what the node is, with the value itself for scalars, for
// messages: `a string "ten"` reads better than "a string".
func (n Node) Describe() string {
	if s, ok := n.scalar(); ok {
		return fmt.Sprintf("%s %q", n.kind(), s)
	}
	return n.kind()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Closest returns the known name within edit distance 2 of s, if any: the
// "did you mean" of every unknown key or name the inventory readers report.
func Closest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
