package profiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// A document is decoded into a tree of these: *object (a mapping, keys in
// document order), []any, string, bool, int, float64 and nil. Keys are
// strings; YAML keys that are numbers or booleans are taken as their text.

type object struct {
	keys []string
	vals map[string]any
}

func (o *object) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *object) add(k string, v any) error {
	if _, dup := o.vals[k]; dup {
		return fmt.Errorf("duplicate key %q", k)
	}
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	o.keys = append(o.keys, k)
	o.vals[k] = v
	return nil
}

// decodeDocument reads a YAML or JSON document. JSON (a document whose
// first non-blank byte is '[' or '{') is read by encoding/json; anything
// else as YAML with the scalars of YAML 1.1, which Helm and sigs.k8s.io/yaml
// use, so that a values.yaml reads as it does in Helm. Both keep the order
// of keys.
func decodeDocument(data []byte) (any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil
	}
	if trimmed[0] == '[' || trimmed[0] == '{' {
		if v, err := decodeJSON(trimmed); err == nil {
			return v, nil
		} else if json.Valid(trimmed) {
			return nil, err
		}
		// Not JSON after all (YAML flow style, comments, ...): try YAML.
	}
	return decodeYAML(data)
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := jsonValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON document")
	}
	return v, nil
}

// maxDepth bounds the nesting of a document, so that a hostile one cannot
// exhaust the stack.
const maxDepth = 100

func jsonValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if err := o.add(k, v); err != nil {
					return nil, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			l := []any{}
			for dec.More() {
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return l, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return int(i), nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s out of range", t)
		}
		return f, nil
	default:
		// string, bool, nil
		return t, nil
	}
}

// decodeYAML reads YAML with the YAML 1.1 scalars of Helm's parser
// (yes/no/on/off are booleans) and keeps the order of keys; aliases and
// merge keys (<<) are expanded.
func decodeYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	w := &yamlWalker{budget: maxNodes}
	return w.value(doc.Content[0], 0)
}

// maxNodes bounds the nodes a document expands to through aliases.
const maxNodes = 100_000

type yamlWalker struct{ budget int }

func (w *yamlWalker) value(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested deeper than %d levels", n.Line, maxDepth)
	}
	if w.budget--; w.budget < 0 {
		return nil, fmt.Errorf("the document expands to more than %d nodes through aliases", maxNodes)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return w.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias", n.Line)
		}
		return w.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := w.value(c, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.MappingNode:
		return w.mapping(n, depth)
	case yaml.ScalarNode:
		return scalar(n)
	default:
		return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
	}
}

func (w *yamlWalker) mapping(n *yaml.Node, depth int) (any, error) {
	o := &object{}
	explicit := map[string]bool{}
	keys := make([]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMerge(n.Content[i]) {
			continue
		}
		k, err := w.key(n.Content[i], depth)
		if err != nil {
			return nil, err
		}
		explicit[k] = true
		keys[i/2] = k
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMerge(n.Content[i]) {
			v, err := w.value(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			if err := o.add(keys[i/2], v); err != nil {
				return nil, fmt.Errorf("line %d: %v", n.Content[i].Line, err)
			}
			continue
		}
		// A merge key: the keys of the merged mapping(s) that this mapping
		// does not set itself; with a list of mappings, earlier ones win.
		src := n.Content[i+1]
		for src.Kind == yaml.AliasNode && src.Alias != nil {
			src = src.Alias
		}
		var sources []*yaml.Node
		switch src.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{src}
		case yaml.SequenceNode:
			sources = src.Content
		default:
			return nil, fmt.Errorf("line %d: a merge key (<<) needs a mapping or a list of mappings", src.Line)
		}
		for _, s := range sources {
			v, err := w.value(s, depth+1)
			if err != nil {
				return nil, err
			}
			m, ok := v.(*object)
			if !ok {
				return nil, fmt.Errorf("line %d: a merge key (<<) needs a mapping or a list of mappings", s.Line)
			}
			for _, k := range m.keys {
				if _, dup := o.vals[k]; explicit[k] || dup {
					continue
				}
				_ = o.add(k, m.vals[k])
			}
		}
	}
	return o, nil
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && n.ShortTag() == "!!merge"
}

func (w *yamlWalker) key(n *yaml.Node, depth int) (string, error) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: a mapping key must be a string", n.Line)
	}
	v, err := scalar(n)
	if err != nil {
		return "", err
	}
	return yamlKey(v)
}

// yaml11Bools are the booleans of YAML 1.1 that YAML 1.2 reads as strings.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

func scalar(n *yaml.Node) (any, error) {
	plain := n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
	if plain {
		if b, ok := yaml11Bools[n.Value]; ok {
			return b, nil
		}
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d: %v", n.Line, err)
	}
	switch t := v.(type) {
	case int64:
		return int(t), nil
	case uint64:
		if t > math.MaxInt64 {
			return float64(t), nil
		}
		return int(t), nil
	case string, bool, int, float64, nil:
		return t, nil
	default:
		return n.Value, nil
	}
}

func yamlKey(k any) (string, error) {
	switch t := k.(type) {
	case string:
		return t, nil
	case int:
		return strconv.Itoa(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint64:
		return strconv.FormatUint(t, 10), nil
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(t), nil
	default:
		return "", fmt.Errorf("mapping key %v is not a string; quote it", k)
	}
}

// plain converts a subtree to map[string]any / []any values, the form of
// overrides.
func plain(v any) any {
	switch t := v.(type) {
	case *object:
		m := make(map[string]any, len(t.keys))
		for _, k := range t.keys {
			m[k] = plain(t.vals[k])
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = plain(e)
		}
		return l
	default:
		return v
	}
}
