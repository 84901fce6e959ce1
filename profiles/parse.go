package profiles

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Parse reads a profileList, verbatim as in a z2jh values.yaml
// (singleuser.profileList) or KubeSpawner's profile_list: YAML or JSON, a
// list of profiles or a mapping of profiles. As in KubeSpawner, the
// profiles of a mapping are taken in the order of their keys, and their
// slugs come from their own slug (or display_name), not from the key.
// Option and choice order is the document's.
//
// Keys are KubeSpawner's (display_name, slug, description, default,
// kubespawner_override, profile_options, choices, unlisted_choice,
// enabled, display_name_in_choices, validation_regex,
// validation_message) plus the hubkit extensions allowed_groups and
// allowed_users on profiles, choices and unlisted_choice. Any other key is
// an error that names it, so a typo does not silently drop a setting. A
// null value counts as absent. Empty input is an empty list (no form, no
// overrides). Errors wrap ErrInvalidList.
func Parse(data []byte) (*List, error) {
	doc, err := decodeDocument(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidList, err)
	}
	var items []any
	switch t := doc.(type) {
	case nil:
	case []any:
		items = t
	case *object:
		keys := slices.Clone(t.keys)
		slices.Sort(keys)
		for _, k := range keys {
			items = append(items, t.vals[k])
		}
	default:
		return nil, fmt.Errorf("%w: want a list or a mapping of profiles, got %s", ErrInvalidList, kind(doc))
	}
	profiles := make([]Profile, 0, len(items))
	for i, it := range items {
		p, err := parseProfile(it)
		if err != nil {
			where := "profile " + strconv.Itoa(i+1)
			if o, ok := it.(*object); ok {
				if n, ok := o.vals["display_name"].(string); ok {
					where += " (" + strconv.Quote(n) + ")"
				}
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidList, where, err)
		}
		profiles = append(profiles, p)
	}
	return New(profiles)
}

var (
	profileKeys  = []string{"display_name", "slug", "description", "default", "kubespawner_override", "profile_options", "allowed_groups", "allowed_users"}
	optionKeys   = []string{"display_name", "choices", "unlisted_choice"}
	choiceKeys   = []string{"display_name", "default", "kubespawner_override", "allowed_groups", "allowed_users"}
	unlistedKeys = []string{"enabled", "display_name", "display_name_in_choices", "validation_regex", "validation_message", "kubespawner_override", "allowed_groups", "allowed_users"}
)

func parseProfile(v any) (Profile, error) {
	var p Profile
	o, err := asObject(v, profileKeys)
	if err != nil {
		return p, err
	}
	if p.DisplayName, err = text(o, "display_name"); err != nil {
		return p, err
	}
	if p.Slug, err = text(o, "slug"); err != nil {
		return p, err
	}
	if p.Description, err = text(o, "description"); err != nil {
		return p, err
	}
	if p.Default, err = boolean(o, "default"); err != nil {
		return p, err
	}
	if p.Override, err = override(o); err != nil {
		return p, err
	}
	if p.Access, err = access(o); err != nil {
		return p, err
	}
	opts, err := mapping(o, "profile_options")
	if err != nil || opts == nil {
		return p, err
	}
	for _, k := range opts.keys {
		opt, err := parseOption(k, opts.vals[k])
		if err != nil {
			return p, fmt.Errorf("option %q: %v", k, err)
		}
		p.Options = append(p.Options, opt)
	}
	return p, nil
}

func parseOption(key string, v any) (Option, error) {
	opt := Option{Key: key}
	o, err := asObject(v, optionKeys)
	if err != nil {
		return opt, err
	}
	if opt.DisplayName, err = text(o, "display_name"); err != nil {
		return opt, err
	}
	choices, err := mapping(o, "choices")
	if err != nil {
		return opt, err
	}
	if choices != nil {
		for _, k := range choices.keys {
			c, err := parseChoice(k, choices.vals[k])
			if err != nil {
				return opt, fmt.Errorf("choice %q: %v", k, err)
			}
			opt.Choices = append(opt.Choices, c)
		}
	}
	if u, ok := o.get("unlisted_choice"); ok && u != nil {
		un, err := parseUnlisted(u)
		if err != nil {
			return opt, fmt.Errorf("unlisted_choice: %v", err)
		}
		opt.Unlisted = &un
	}
	return opt, nil
}

func parseChoice(key string, v any) (Choice, error) {
	c := Choice{Key: key}
	o, err := asObject(v, choiceKeys)
	if err != nil {
		return c, err
	}
	if c.DisplayName, err = text(o, "display_name"); err != nil {
		return c, err
	}
	if c.Default, err = boolean(o, "default"); err != nil {
		return c, err
	}
	if c.Override, err = override(o); err != nil {
		return c, err
	}
	c.Access, err = access(o)
	return c, err
}

func parseUnlisted(v any) (Unlisted, error) {
	var u Unlisted
	o, err := asObject(v, unlistedKeys)
	if err != nil {
		return u, err
	}
	if u.Enabled, err = boolean(o, "enabled"); err != nil {
		return u, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"display_name", &u.DisplayName},
		{"display_name_in_choices", &u.DisplayNameInChoices},
		{"validation_regex", &u.ValidationRegex},
		{"validation_message", &u.ValidationMessage},
	} {
		if *f.dst, err = text(o, f.key); err != nil {
			return u, err
		}
	}
	if u.Override, err = override(o); err != nil {
		return u, err
	}
	u.Access, err = access(o)
	return u, err
}

// asObject checks that v is a mapping with only known keys. A null counts
// as an empty mapping.
func asObject(v any, known []string) (*object, error) {
	if v == nil {
		return &object{}, nil
	}
	o, ok := v.(*object)
	if !ok {
		return nil, fmt.Errorf("want a mapping, got %s", kind(v))
	}
	var unknown []string
	for _, k := range o.keys {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	switch len(unknown) {
	case 0:
		return o, nil
	case 1:
		msg := fmt.Sprintf("unknown key %q", unknown[0])
		if s := closest(unknown[0], known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, fmt.Errorf("%s; known keys are %s", msg, strings.Join(known, ", "))
	default:
		var q []string
		for i, k := range unknown {
			if i == 10 {
				q = append(q, fmt.Sprintf("and %d more", len(unknown)-i))
				break
			}
			q = append(q, strconv.Quote(k))
		}
		return nil, fmt.Errorf("unknown keys %s; known keys are %s", strings.Join(q, ", "), strings.Join(known, ", "))
	}
}

// text reads a string. Numbers are taken as their text (display_name: 2).
func text(o *object, key string) (string, error) {
	v, _ := o.get(key)
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case int:
		return strconv.Itoa(t), nil
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64), nil
	default:
		return "", fmt.Errorf("%s: want a string, got %s (quote it)", key, kind(v))
	}
}

func boolean(o *object, key string) (bool, error) {
	v, _ := o.get(key)
	switch t := v.(type) {
	case nil:
		return false, nil
	case bool:
		return t, nil
	default:
		return false, fmt.Errorf("%s: want true or false, got %s", key, kind(v))
	}
}

func mapping(o *object, key string) (*object, error) {
	v, _ := o.get(key)
	switch t := v.(type) {
	case nil:
		return nil, nil
	case *object:
		return t, nil
	default:
		return nil, fmt.Errorf("%s: want a mapping, got %s", key, kind(v))
	}
}

func override(o *object) (map[string]any, error) {
	m, err := mapping(o, "kubespawner_override")
	if err != nil || m == nil {
		return nil, err
	}
	return plain(m).(map[string]any), nil
}

// access reads allowed_groups and allowed_users: nil when neither key is
// present (or both are null).
func access(o *object) (*Access, error) {
	groups, gok, err := stringList(o, "allowed_groups")
	if err != nil {
		return nil, err
	}
	users, uok, err := stringList(o, "allowed_users")
	if err != nil {
		return nil, err
	}
	if !gok && !uok {
		return nil, nil
	}
	return &Access{Groups: groups, Users: users}, nil
}

func stringList(o *object, key string) ([]string, bool, error) {
	v, _ := o.get(key)
	if v == nil {
		return nil, false, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, false, fmt.Errorf("%s: want a list of names, got %s", key, kind(v))
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		switch t := e.(type) {
		case string:
			out = append(out, t)
		case int:
			out = append(out, strconv.Itoa(t))
		default:
			return nil, false, fmt.Errorf("%s: want a list of names, got an entry that is %s", key, kind(e))
		}
	}
	return out, true, nil
}

func kind(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case *object:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", t)
	case bool:
		return fmt.Sprintf("the boolean %v", t)
	case int:
		return fmt.Sprintf("the number %d", t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return fmt.Sprintf("the number %v", t)
		}
		return "the number " + strconv.FormatFloat(t, 'g', -1, 64)
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// closest returns the known key within edit distance 2 of k, if any.
func closest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
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
