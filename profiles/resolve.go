package profiles

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Resolved is the outcome of a selection that Resolve accepted.
type Resolved struct {
	// Profile is the profile used, as the user sees it (see List.For); nil
	// for an empty list.
	Profile *Profile
	// Selection is the complete selection: the profile's slug and, for
	// every option, the choice or free-form value used, defaults filled
	// in. It is what to keep as the server's user_options.
	Selection Selection
	// Override is the profile's kubespawner_override followed by each
	// option's, merged into one, for spawner.Request.Override. Applied to
	// the configuration with KubeSpawner's merge (spawner/kube's
	// Options.Apply), it gives the configuration, then the profile, then
	// each option in order, exactly as KubeSpawner applies them.
	Override map[string]any
}

// Resolve checks sel against what user u is offered and resolves it to one
// override, in KubeSpawner's order: the configuration, then the profile's
// kubespawner_override, then the override of each option's choice (or of
// its unlisted_choice, with {value} substituted) in the order of the
// profile's options. Maps merge recursively, a nil value deletes a key,
// anything else replaces.
//
// An empty sel.Profile selects the default profile; an option the
// selection leaves out gets its default choice. Every refusal is a
// *SelectionError wrapping one of ErrUnknownProfile, ErrUnknownOption,
// ErrChoiceNotOffered, ErrUnlistedNotEnabled, ErrInvalidValue and
// ErrNotAllowed; nothing should be started then. Unlike KubeSpawner,
// Resolve refuses option keys the profile does not have, so that a typo
// in an API call does not silently start the default.
//
// base is the configuration the override will be applied to (for
// spawner/kube: its Options as a JSON object, map[string]any). It is only
// read when one layer deletes a map and a later one sets it again: the
// override then lists base's keys as nil so that they stay deleted. With a
// nil base those keys survive. Resolve does not modify base.
func (l *List) Resolve(u User, sel Selection, base map[string]any) (*Resolved, error) {
	if len(l.profiles) == 0 {
		if sel.Profile != "" || nonEmpty(sel.Choices) || nonEmpty(sel.Unlisted) {
			return nil, &SelectionError{Profile: sel.Profile, Err: ErrUnknownProfile,
				Message: "no profiles are configured"}
		}
		return &Resolved{Override: map[string]any{}}, nil
	}
	view := l.For(u)
	var p *Profile
	if sel.Profile == "" {
		if p = view.Default(); p == nil {
			return nil, &SelectionError{Err: ErrNotAllowed,
				Message: fmt.Sprintf("no profile is available to user %q", u.Name)}
		}
	} else {
		var ok bool
		if p, ok = view.Profile(sel.Profile); !ok {
			if _, exists := l.Profile(sel.Profile); exists {
				return nil, &SelectionError{Profile: sel.Profile, Err: ErrNotAllowed,
					Message: fmt.Sprintf("the profile is not available to user %q", u.Name)}
			}
			return nil, &SelectionError{Profile: sel.Profile, Err: ErrUnknownProfile,
				Message: "no such profile; the profiles are " + quoteList(view.slugs())}
		}
	}
	full, _ := l.Profile(p.Slug)

	for _, k := range selectedKeys(sel) {
		if _, ok := p.Option(k); !ok {
			return nil, &SelectionError{Profile: p.Slug, Option: k, Err: ErrUnknownOption,
				Message: "the profile has no such option; its options are " + quoteList(p.optionKeys())}
		}
	}

	res := &Resolved{Profile: p, Selection: Selection{Profile: p.Slug}}
	patch := map[string]any{}
	compose(patch, p.Override)
	for i := range p.Options {
		o := &p.Options[i]
		fo, _ := full.Option(o.Key)
		fail := func(err error, msg string, args ...any) error {
			return &SelectionError{Profile: p.Slug, Option: o.Key, Err: err, Message: fmt.Sprintf(msg, args...)}
		}
		value, choice := sel.Unlisted[o.Key], sel.Choices[o.Key]
		_, realChoice := fo.Choice(choice)
		switch {
		case value != "":
			if !fo.unlistedEnabled() {
				return nil, fail(ErrUnlistedNotEnabled, "the option takes no free-form value")
			}
			if !o.unlistedEnabled() {
				return nil, fail(ErrNotAllowed, "free-form values are not available to user %q", u.Name)
			}
			if re := o.Unlisted.re; re != nil && !re.MatchString(value) {
				msg := o.Unlisted.ValidationMessage
				if msg == "" {
					msg = "it must match " + o.Unlisted.ValidationRegex
				}
				e := fail(ErrInvalidValue, "%q is not valid: %s", value, msg).(*SelectionError)
				e.Value = value
				return nil, e
			}
			ov, err := formatTree(o.Unlisted.Override, value, "")
			if err != nil {
				e := fail(ErrInvalidValue, "%q cannot be used: %v", value, err).(*SelectionError)
				e.Value = value
				return nil, e
			}
			compose(patch, ov.(map[string]any))
			setKey(&res.Selection.Unlisted, o.Key, value)
		case choice == UnlistedChoice && !realChoice:
			switch {
			case !fo.unlistedEnabled():
				return nil, fail(ErrUnlistedNotEnabled, "the option takes no free-form value")
			case !o.unlistedEnabled():
				return nil, fail(ErrNotAllowed, "free-form values are not available to user %q", u.Name)
			}
			return nil, fail(ErrInvalidValue, "enter a value for %s", cmpOr(o.Unlisted.DisplayName, o.DisplayName))
		case choice != "":
			c, ok := o.Choice(choice)
			if !ok {
				e := fail(ErrChoiceNotOffered, "choice %q is not offered; the choices are %s", choice, quoteList(o.choiceKeys()))
				if realChoice {
					e = fail(ErrNotAllowed, "choice %q is not available to user %q", choice, u.Name)
				}
				e.(*SelectionError).Choice = choice
				return nil, e
			}
			compose(patch, c.Override)
			setKey(&res.Selection.Choices, o.Key, c.Key)
		default:
			c := o.Default()
			if c == nil {
				return nil, fail(ErrInvalidValue, "%s needs a value: the option has no predefined choice", o.DisplayName)
			}
			compose(patch, c.Override)
			setKey(&res.Selection.Choices, o.Key, c.Key)
		}
	}
	res.Override = emit(patch, base)
	return res, nil
}

func nonEmpty(m map[string]string) bool {
	for _, v := range m {
		if v != "" {
			return true
		}
	}
	return false
}

func selectedKeys(s Selection) []string {
	var keys []string
	for k, v := range s.Choices {
		if v != "" {
			keys = append(keys, k)
		}
	}
	for k, v := range s.Unlisted {
		if v != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func (l *List) slugs() []string {
	out := make([]string, len(l.profiles))
	for i, p := range l.profiles {
		out[i] = p.Slug
	}
	return out
}

func (p *Profile) optionKeys() []string {
	out := make([]string, len(p.Options))
	for i, o := range p.Options {
		out[i] = o.Key
	}
	return out
}

func (o *Option) choiceKeys() []string {
	out := make([]string, len(o.Choices))
	for i, c := range o.Choices {
		out[i] = c.Key
	}
	return out
}

func quoteList(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Merge returns base with each override applied in turn, the way
// KubeSpawner applies a kubespawner_override to its configuration (and
// spawner/kube's Options.Apply to its options): a map merges recursively
// into a map, a nil value deletes the key, anything else (lists included)
// replaces it. Neither base nor the overrides are modified.
//
// Merge(base, resolved.Override) is what the spawner ends up with; tests
// and previews use it.
func Merge(base map[string]any, overrides ...map[string]any) map[string]any {
	out := copyValue(base).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	for _, o := range overrides {
		mergeFinal(out, o)
	}
	return out
}

// mergeFinal applies src to dst in place with KubeSpawner's
// recursive_update semantics. dst's maps must be dst's own.
func mergeFinal(dst, src map[string]any) {
	for k, v := range src {
		switch t := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			if d, ok := dst[k].(map[string]any); ok {
				mergeFinal(d, t)
			} else {
				dst[k] = finalCopy(t)
			}
		default:
			dst[k] = copyValue(t)
		}
	}
}

// An override that is being composed from layers keeps its nils (they
// delete keys of the configuration it will be applied to). A map that one
// layer deleted and a later layer set again is a replaceMap: it replaces
// the configuration's map instead of merging into it.
type replaceMap map[string]any

// compose applies layer to the composed override acc in place.
func compose(acc, layer map[string]any) {
	for k, v := range layer {
		m, ok := v.(map[string]any)
		if !ok {
			acc[k] = copyValue(v)
			continue
		}
		cur, present := acc[k]
		switch c := cur.(type) {
		case replaceMap:
			mergeFinal(c, m)
		case map[string]any:
			compose(c, m)
		default:
			if present {
				// Deleted or replaced by a scalar before: nothing of the
				// configuration's value is left to merge into.
				acc[k] = replaceMap(finalCopy(m))
			} else {
				acc[k] = copyValue(m)
			}
		}
	}
}

// emit turns a composed override into a plain one for base.
func emit(patch, base map[string]any) map[string]any {
	out := make(map[string]any, len(patch))
	for k, v := range patch {
		bm, _ := base[k].(map[string]any)
		switch t := v.(type) {
		case replaceMap:
			out[k] = emitReplace(t, bm)
		case map[string]any:
			out[k] = emit(t, bm)
		default:
			out[k] = t
		}
	}
	return out
}

func emitReplace(r, base map[string]any) map[string]any {
	out := make(map[string]any, len(r)+len(base))
	for k := range base {
		if _, ok := r[k]; !ok {
			out[k] = nil
		}
	}
	for k, v := range r {
		if m, ok := v.(map[string]any); ok {
			bm, _ := base[k].(map[string]any)
			out[k] = emitReplace(m, bm)
		} else {
			out[k] = v
		}
	}
	return out
}

// copyValue deep-copies maps and lists; other values are immutable.
func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if t == nil {
			return map[string]any(nil)
		}
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = copyValue(e)
		}
		return m
	case replaceMap:
		return replaceMap(copyValue(map[string]any(t)).(map[string]any))
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = copyValue(e)
		}
		return l
	default:
		return v
	}
}

// finalCopy deep-copies m without its nil entries: a map that replaces
// another has nothing to delete.
func finalCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch t := v.(type) {
		case nil:
		case map[string]any:
			out[k] = finalCopy(t)
		default:
			out[k] = copyValue(t)
		}
	}
	return out
}

// formatTree substitutes value for {value} in every string and map key of
// v, as KubeSpawner's recursive_format does (with Python's str.format_map
// and unknown fields left as they are). path names v in errors.
func formatTree(v any, value, path string) (any, error) {
	switch t := v.(type) {
	case string:
		s, err := formatValue(t, value)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", cmpOr(path, "value"), err)
		}
		return s, nil
	case map[string]any:
		if t == nil {
			return map[string]any(nil), nil
		}
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			kp := k
			if path != "" {
				kp = path + "." + k
			}
			fk, err := formatValue(k, value)
			if err != nil {
				return nil, fmt.Errorf("%s (the key): %v", kp, err)
			}
			if _, dup := out[fk]; dup {
				return nil, fmt.Errorf("%s: two keys become %q", cmpOr(path, "override"), fk)
			}
			fv, err := formatTree(t[k], value, kp)
			if err != nil {
				return nil, err
			}
			out[fk] = fv
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			fv, err := formatTree(e, value, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = fv
		}
		return out, nil
	default:
		return v, nil
	}
}

// formatValue is Python's s.format_map with only "value" known and missing
// keys rendered as themselves: {{ and }} become { and }, {value} becomes
// value and any other {field} stays. Conversions, format specs, attribute
// and index lookups, positional fields and unbalanced braces are errors
// (Python would fail at spawn time or do something surprising).
func formatValue(s, value string) (string, error) {
	if !strings.ContainsAny(s, "{}") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch s[i] {
		case '{':
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteByte('{')
				i += 2
				continue
			}
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] == '{' {
				return "", fmt.Errorf("template %q: unmatched '{' at offset %d (write {{ for a literal brace)", s, i)
			}
			field := s[i+1 : i+1+end]
			switch {
			case field == "value":
				b.WriteString(value)
			case field == "":
				return "", fmt.Errorf("template %q: empty field {} at offset %d", s, i)
			case strings.ContainsAny(field, ":!.["):
				return "", fmt.Errorf("template %q: field {%s} is not supported (only {value}; write {{ for a literal brace)", s, field)
			default:
				b.WriteString("{" + field + "}")
			}
			i += end + 2
		case '}':
			if i+1 < len(s) && s[i+1] == '}' {
				b.WriteByte('}')
				i += 2
				continue
			}
			return "", fmt.Errorf("template %q: single '}' at offset %d (write }} for a literal brace)", s, i)
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), nil
}
