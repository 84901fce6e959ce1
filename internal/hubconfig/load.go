package hubconfig

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// Load reads a z2jh values.yaml (YAML or JSON) and returns the
// configuration it describes, laid over the chart's defaults as Helm
// lays a values file (so over Default), and a Warning for every key it
// does not act on.
//
// Load fails on a malformed document, a value of the wrong type (the
// error names the key path: "singleuser.storage.capacity: want string,
// got list"), a value out of its range (an unknown storage type, a
// profile list or a KubeSpawner option that does not parse, an
// authenticator hubkit does not have), and an unknown key in the hubkit
// section. Unknown z2jh keys are Warnings, as are settings z2jh has and
// hubkit does not. Errors wrap ErrInvalid; most are *KeyError, joined when
// there are several.
//
// Load does not check the configuration as a whole: call Validate.
func Load(r io.Reader) (*Config, []Warning, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return nil, nil, fmt.Errorf("hubconfig: reading the configuration: %w", err)
	}
	doc, err := parse(data)
	if err != nil {
		return nil, nil, err
	}
	return load(doc)
}

// LoadFile is Load of the file at path; errors name the file.
func LoadFile(path string) (*Config, []Warning, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("hubconfig: %w", err)
	}
	defer f.Close()
	cfg, warns, err := Load(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, warns, nil
}

// loader holds one Load's state.
type loader struct {
	user   *node // the document
	merged *node // the document laid over the chart defaults
	cfg    *Config
	hk     hubkitSection
	errs   []*KeyError
	warns  []lineWarning
	warned map[string]bool
}

type lineWarning struct {
	Warning
	line int
}

func load(doc *node) (*Config, []Warning, error) {
	l := &loader{
		user:   doc,
		merged: merge(chartDefaults(), doc),
		cfg:    &Config{},
		warned: map[string]bool{},
	}
	l.readHubkit() // first: the spawner decides what applies
	defs := chartDefaults()
	for _, k := range doc.keys {
		l.checkKeys(child("", k), k, defs.keys, doc.vals[k], defs.vals[k], nil)
	}
	l.readHub()
	l.readSpawners()
	l.readAuth()
	l.readCull()
	if len(l.errs) > 0 {
		slices.SortStableFunc(l.errs, func(a, b *KeyError) int { return cmp.Compare(a.Line, b.Line) })
		errs := make([]error, len(l.errs))
		for i, e := range l.errs {
			errs[i] = e
		}
		return nil, nil, errors.Join(errs...)
	}
	// Warnings in document order; those about defaults (line 0) last.
	slices.SortStableFunc(l.warns, func(a, b lineWarning) int {
		if (a.line == 0) != (b.line == 0) {
			return cmp.Compare(b.line, a.line)
		}
		return cmp.Compare(a.line, b.line)
	})
	out := make([]Warning, len(l.warns))
	for i, w := range l.warns {
		out[i] = w.Warning
	}
	return l.cfg, out, nil
}

// warn records a Warning for path (once per path). n is the value the
// warning is about, for its line; it may be nil.
func (l *loader) warn(path string, n *node, msg string) {
	if l.warned[path] {
		return
	}
	l.warned[path] = true
	line := 0
	if n != nil {
		line = n.line
	}
	l.warns = append(l.warns, lineWarning{Warning{Key: path, Message: msg}, line})
}

// errorf records an error about path (once per path: some keys are read
// for both spawners).
func (l *loader) errorf(path string, n *node, format string, args ...any) {
	for _, e := range l.errs {
		if e.Key == path && path != "" {
			return
		}
	}
	line := 0
	if n != nil {
		line = n.line
	}
	l.errs = append(l.errs, &KeyError{Key: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// at returns the value at a path of plain keys, in the document laid over
// the chart defaults.
func (l *loader) at(path string) *node { return l.merged.lookup(strings.Split(path, ".")...) }

// userAt returns the value at a path of plain keys in the document
// itself (nil when the document does not give it, even as null).
func (l *loader) userAt(path string) *node { return l.user.lookup(strings.Split(path, ".")...) }

// userSets reports whether the document gives path a value other than
// null.
func (l *loader) userSets(path string) bool { return !l.userAt(path).isNull() }

// warnIfSet warns about path when the document sets it to something
// other than the chart's default.
func (l *loader) warnIfSet(path, msg string) {
	u := l.userAt(path)
	if u != nil && !equal(u, chartDefaults().lookup(strings.Split(path, ".")...)) {
		l.warn(path, u, msg)
	}
}

// wrongKind records "want X, got Y" for n.
func (l *loader) wrongKind(path string, n *node, want string) {
	msg := fmt.Sprintf("want %s, got %s", want, n.kind)
	if strings.HasPrefix(want, "string") && (n.kind == kindInt || n.kind == kindFloat || n.kind == kindBool) {
		msg += " (quote the value to make it a string)"
	}
	l.errorf(path, n, "%s", msg)
}

// str returns a string value; ok is false for null (and after an error).
func (l *loader) str(path string, n *node) (string, bool) {
	if n.isNull() {
		return "", false
	}
	if n.kind != kindString {
		l.wrongKind(path, n, "string")
		return "", false
	}
	return n.str, true
}

func (l *loader) boolean(path string, n *node) (bool, bool) {
	if n.isNull() {
		return false, false
	}
	if n.kind != kindBool {
		l.wrongKind(path, n, "boolean")
		return false, false
	}
	return n.b, true
}

// integer returns an integer value (a float with an integral value
// counts); ok is false for null.
func (l *loader) integer(path string, n *node) (int, bool) {
	if n.isNull() {
		return 0, false
	}
	switch {
	case n.kind == kindInt && n.i >= math.MinInt32 && n.i <= math.MaxInt32:
		return int(n.i), true
	case n.kind == kindFloat && n.f == math.Trunc(n.f) && math.Abs(n.f) <= math.MaxInt32:
		return int(n.f), true
	case n.kind == kindInt || n.kind == kindFloat:
		l.errorf(path, n, "want an integer between %d and %d, got %v", math.MinInt32, math.MaxInt32, n.value())
		return 0, false
	}
	l.wrongKind(path, n, "integer")
	return 0, false
}

// nonNegative is integer for counts and durations.
func (l *loader) nonNegative(path string, n *node) (int, bool) {
	v, ok := l.integer(path, n)
	if ok && v < 0 {
		l.errorf(path, n, "must not be negative, got %d", v)
		return 0, false
	}
	return v, ok
}

// strList returns a list of strings; ok is false for null.
func (l *loader) strList(path string, n *node) ([]string, bool) {
	if n.isNull() {
		return nil, false
	}
	if n.kind != kindList {
		l.wrongKind(path, n, "list of strings")
		return nil, false
	}
	out := make([]string, 0, len(n.list))
	good := true
	for i, v := range n.list {
		s, ok := l.str(index(path, i), v)
		if !ok {
			if v.isNull() {
				l.wrongKind(index(path, i), v, "string")
			}
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}

// strMap returns a mapping of strings to strings; ok is false for null.
func (l *loader) strMap(path string, n *node) (map[string]string, bool) {
	if n.isNull() {
		return nil, false
	}
	if n.kind != kindMap {
		l.wrongKind(path, n, "mapping of strings")
		return nil, false
	}
	out := make(map[string]string, len(n.keys))
	good := true
	for _, k := range n.keys {
		v := n.vals[k]
		if v.kind != kindString {
			l.wrongKind(child(path, k), v, "string")
			good = false
			continue
		}
		out[k] = v.str
	}
	return out, good
}

// mapping checks that n is a mapping (or null, ok false).
func (l *loader) mapping(path string, n *node) bool {
	if n.isNull() {
		return false
	}
	if n.kind != kindMap {
		l.wrongKind(path, n, "mapping")
		return false
	}
	return true
}

// fields reads a mapping whose keys must all be known: hubkit's own
// sections, where an unknown key is a typo to report, not to skip.
func (l *loader) fields(path string, n *node, fs map[string]func(path string, v *node)) {
	if !l.mapping(path, n) {
		return
	}
	for _, k := range n.keys {
		p := child(path, k)
		f, ok := fs[k]
		if !ok {
			known := make([]string, 0, len(fs))
			for name := range fs {
				known = append(known, name)
			}
			slices.Sort(known)
			msg := "unknown key"
			if c := closest(k, known); c != "" {
				msg += ": did you mean " + c + "?"
			} else {
				msg += " (known: " + strings.Join(known, ", ") + ")"
			}
			l.errorf(p, n.vals[k], "%s", msg)
			continue
		}
		f(p, n.vals[k])
	}
}
