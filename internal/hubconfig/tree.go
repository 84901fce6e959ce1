package hubconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Limits on a document, so that a hostile file (an alias bomb, deep
// nesting) cannot make Load spend unbounded time or memory.
const (
	maxDocument = 8 << 20 // bytes
	maxValues   = 1 << 16 // values after expanding aliases
	maxDepth    = 100     // nesting levels
)

// kind is the type of a value in a document.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindInt
	kindFloat
	kindString
	kindList
	kindMap
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "boolean"
	case kindInt:
		return "integer"
	case kindFloat:
		return "number"
	case kindString:
		return "string"
	case kindList:
		return "list"
	default:
		return "mapping"
	}
}

// node is one value of a document: a YAML value with aliases and merge
// keys resolved, its mapping keys in document order, and the line it
// came from (0 for the chart defaults embedded in the package).
type node struct {
	kind kind
	str  string // kindString
	b    bool   // kindBool
	i    int64  // kindInt
	f    float64
	list []*node
	keys []string // kindMap, in document order
	vals map[string]*node
	line int
}

func newMap(line int) *node { return &node{kind: kindMap, vals: map[string]*node{}, line: line} }

// get returns the value of key k of a mapping, or nil. It is nil-safe.
func (n *node) get(k string) *node {
	if n == nil || n.kind != kindMap {
		return nil
	}
	return n.vals[k]
}

// lookup follows a dotted path of plain keys.
func (n *node) lookup(path ...string) *node {
	for _, k := range path {
		n = n.get(k)
	}
	return n
}

func (n *node) set(k string, v *node) {
	if _, ok := n.vals[k]; !ok {
		n.keys = append(n.keys, k)
	}
	n.vals[k] = v
}

// isNull reports whether n is absent or null.
func (n *node) isNull() bool { return n == nil || n.kind == kindNull }

// empty reports whether n is absent, null, or an empty list or mapping:
// a value that configures nothing.
func (n *node) empty() bool {
	return n.isNull() || (n.kind == kindList && len(n.list) == 0) || (n.kind == kindMap && len(n.keys) == 0)
}

// value returns n as plain Go data: map[string]any, []any, string, int64,
// float64, bool or nil.
func (n *node) value() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindBool:
		return n.b
	case kindInt:
		return n.i
	case kindFloat:
		return n.f
	case kindString:
		return n.str
	case kindList:
		out := make([]any, len(n.list))
		for i, v := range n.list {
			out[i] = v.value()
		}
		return out
	case kindMap:
		out := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			out[k] = n.vals[k].value()
		}
		return out
	}
	return nil
}

// appendJSON appends n as JSON, keeping the document's key order (which
// encoding/json would lose: profile options are shown in that order).
func (n *node) appendJSON(b []byte) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	switch n.kind {
	case kindBool:
		return strconv.AppendBool(b, n.b)
	case kindInt:
		return strconv.AppendInt(b, n.i, 10)
	case kindFloat:
		return strconv.AppendFloat(b, n.f, 'g', -1, 64)
	case kindString:
		s, _ := json.Marshal(n.str) // a string always marshals
		return append(b, s...)
	case kindList:
		b = append(b, '[')
		for i, v := range n.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.appendJSON(b)
		}
		return append(b, ']')
	case kindMap:
		b = append(b, '{')
		for i, k := range n.keys {
			if i > 0 {
				b = append(b, ',')
			}
			s, _ := json.Marshal(k)
			b = append(b, s...)
			b = append(b, ':')
			b = n.vals[k].appendJSON(b)
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

// equal reports whether a and b hold the same data (lines aside; an
// integer equals the same number written as a float).
func equal(a, b *node) bool {
	if a.isNull() || b.isNull() {
		return a.isNull() && b.isNull()
	}
	if num(a) && num(b) {
		return a.number() == b.number()
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kindBool:
		return a.b == b.b
	case kindString:
		return a.str == b.str
	case kindList:
		if len(a.list) != len(b.list) {
			return false
		}
		for i := range a.list {
			if !equal(a.list[i], b.list[i]) {
				return false
			}
		}
		return true
	case kindMap:
		if len(a.keys) != len(b.keys) {
			return false
		}
		for _, k := range a.keys {
			if !equal(a.vals[k], b.vals[k]) {
				return false
			}
		}
		return true
	}
	return false
}

func num(n *node) bool { return n.kind == kindInt || n.kind == kindFloat }

func (n *node) number() float64 {
	if n.kind == kindInt {
		return float64(n.i)
	}
	return n.f
}

// merge lays user over def the way Helm merges a values file over a
// chart's defaults: mappings merge key by key, anything else replaces,
// and a null deletes a key that has a default (a null without a default
// stays, for the overrides where null means "back to the default").
// Neither argument is modified; the result shares their subtrees.
func merge(def, user *node) *node {
	if user == nil {
		return def
	}
	if def == nil || user.kind != kindMap || def.kind != kindMap {
		return user
	}
	out := newMap(user.line)
	for _, k := range def.keys {
		u, ok := user.vals[k]
		switch {
		case !ok:
			out.set(k, def.vals[k])
		case u.kind == kindNull:
			// deleted
		default:
			out.set(k, merge(def.vals[k], u))
		}
	}
	for _, k := range user.keys {
		if _, ok := def.vals[k]; !ok {
			out.set(k, user.vals[k])
		}
	}
	return out
}

// parse reads one YAML (or JSON) document. An empty document is an empty
// mapping; the top level must be a mapping.
func parse(data []byte) (*node, error) {
	if len(data) > maxDocument {
		return nil, fmt.Errorf("%w: the document is larger than %d bytes", ErrInvalid, maxDocument)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return newMap(0), nil
		}
		return nil, fmt.Errorf("%w: malformed YAML: %v", ErrInvalid, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("%w: malformed YAML: %v", ErrInvalid, err)
		}
		return nil, fmt.Errorf("%w: line %d: a second YAML document; a values file holds one", ErrInvalid, more.Line)
	}
	w := &walker{budget: maxValues}
	root, err := w.value(&doc, "", 0)
	if err != nil {
		return nil, err
	}
	switch root.kind {
	case kindNull:
		return newMap(root.line), nil
	case kindMap:
		return root, nil
	}
	return nil, &KeyError{Line: root.line, Msg: "want a mapping at the top level, got " + root.kind.String()}
}

// walker turns yaml.Nodes into nodes, expanding aliases and merge keys
// within a budget.
type walker struct{ budget int }

func (w *walker) value(n *yaml.Node, path string, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, &KeyError{Key: path, Line: n.Line, Msg: fmt.Sprintf("nested deeper than %d levels", maxDepth)}
	}
	if w.budget--; w.budget < 0 {
		return nil, &KeyError{Key: path, Line: n.Line, Msg: fmt.Sprintf("the document holds more than %d values (after expanding aliases)", maxValues)}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &node{line: n.Line}, nil
		}
		return w.value(n.Content[0], path, depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &KeyError{Key: path, Line: n.Line, Msg: "alias to an unknown anchor"}
		}
		v, err := w.value(n.Alias, path, depth+1)
		if err != nil {
			return nil, err
		}
		c := *v
		c.line = n.Line
		return &c, nil
	case yaml.ScalarNode:
		return scalar(n, path)
	case yaml.SequenceNode:
		out := &node{kind: kindList, line: n.Line, list: make([]*node, 0, len(n.Content))}
		for i, c := range n.Content {
			v, err := w.value(c, index(path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out.list = append(out.list, v)
		}
		return out, nil
	case yaml.MappingNode:
		return w.mapping(n, path, depth)
	}
	return nil, &KeyError{Key: path, Line: n.Line, Msg: "unsupported YAML node"}
}

func (w *walker) mapping(n *yaml.Node, path string, depth int) (*node, error) {
	out := newMap(n.Line)
	if len(n.Content)%2 != 0 {
		return nil, &KeyError{Key: path, Line: n.Line, Msg: "malformed mapping"}
	}
	// Explicit keys win over merged ones wherever they appear.
	explicit := map[string]bool{}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if isMerge(k) {
			continue
		}
		name, err := keyText(k, path)
		if err != nil {
			return nil, err
		}
		if explicit[name] {
			return nil, &KeyError{Key: child(path, name), Line: k.Line, Msg: "duplicate key"}
		}
		explicit[name] = true
	}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			if err := w.mergeInto(out, explicit, v, path, depth); err != nil {
				return nil, err
			}
			continue
		}
		name, _ := keyText(k, path)
		val, err := w.value(v, child(path, name), depth+1)
		if err != nil {
			return nil, err
		}
		out.set(name, val)
	}
	return out, nil
}

// mergeInto applies a YAML merge key ("<<: *base" or "<<: [*a, *b]"):
// keys not given explicitly are taken from the merged mappings, the
// earlier mapping winning.
func (w *walker) mergeInto(out *node, explicit map[string]bool, v *yaml.Node, path string, depth int) error {
	var sources []*yaml.Node
	if v.Kind == yaml.SequenceNode {
		sources = v.Content
	} else {
		sources = []*yaml.Node{v}
	}
	for _, s := range sources {
		m, err := w.value(s, path, depth+1)
		if err != nil {
			return err
		}
		if m.kind != kindMap {
			return &KeyError{Key: path, Line: s.Line, Msg: "a merge key (<<) must name a mapping, got " + m.kind.String()}
		}
		for _, k := range m.keys {
			if explicit[k] {
				continue
			}
			if _, ok := out.vals[k]; ok {
				continue
			}
			out.set(k, m.vals[k])
		}
	}
	return nil
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

func keyText(k *yaml.Node, path string) (string, error) {
	for k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", &KeyError{Key: path, Line: k.Line, Msg: "a mapping key must be a plain value"}
	}
	return k.Value, nil
}

func scalar(n *yaml.Node, path string) (*node, error) {
	out := &node{line: n.Line}
	switch n.ShortTag() {
	case "!!null":
		return out, nil
	case "!!bool":
		if err := n.Decode(&out.b); err != nil {
			return nil, &KeyError{Key: path, Line: n.Line, Msg: err.Error()}
		}
		out.kind = kindBool
	case "!!int":
		if err := n.Decode(&out.i); err != nil {
			return nil, &KeyError{Key: path, Line: n.Line, Msg: fmt.Sprintf("integer %s out of range", n.Value)}
		}
		out.kind = kindInt
	case "!!float":
		if err := n.Decode(&out.f); err != nil || math.IsInf(out.f, 0) || math.IsNaN(out.f) {
			return nil, &KeyError{Key: path, Line: n.Line, Msg: fmt.Sprintf("%s is not a finite number", n.Value)}
		}
		out.kind = kindFloat
	default: // !!str, !!timestamp, !!binary and custom tags: the text
		out.kind = kindString
		out.str = n.Value
	}
	return out, nil
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// child names key k below path: "a.b", or a["x.y"] for keys that are not
// plain words (label names, for instance).
func child(path, k string) string {
	if !plainKey.MatchString(k) {
		return path + "[" + strconv.Quote(k) + "]"
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
