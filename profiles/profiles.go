package profiles

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// UnlistedChoice is the value of an option's select element when the user
// picks the free-form "Other..." entry, as in KubeSpawner's form.
const UnlistedChoice = "unlisted-choice"

// unlistedSuffix ends the form field and user_options key of a free-form
// value: "<option>--unlisted-choice".
const unlistedSuffix = "--" + UnlistedChoice

// DefaultDisplayNameInChoices is the entry of an enabled unlisted_choice in
// the option's list when display_name_in_choices is not set.
const DefaultDisplayNameInChoices = "Other..."

// User is who a list is filtered for: the hub user's name and groups.
type User struct {
	Name   string
	Groups []string
}

// Access restricts who may see and select a profile, a choice or an
// unlisted choice (the hubkit keys allowed_groups and allowed_users). A nil
// *Access admits everyone. Otherwise a user is admitted when their name is
// in Users or they are a member of at least one of Groups; an Access with
// both lists empty admits nobody (so `allowed_groups: []` hides an entry,
// rather than opening it to all). Names and groups compare exactly.
type Access struct {
	Groups []string
	Users  []string
}

// Admits reports whether u may use what a is attached to.
func (a *Access) Admits(u User) bool {
	if a == nil {
		return true
	}
	if slices.Contains(a.Users, u.Name) {
		return true
	}
	for _, g := range u.Groups {
		if slices.Contains(a.Groups, g) {
			return true
		}
	}
	return false
}

// Profile is one entry of a profileList.
type Profile struct {
	// Slug identifies the profile in forms and user_options. When the
	// configuration has none, it is made from DisplayName as KubeSpawner
	// does (see [Slugify]).
	Slug string
	// DisplayName is shown to the user (as text: it is escaped).
	DisplayName string
	// Description is shown under the name (as text: it is escaped).
	Description string
	// Default marks the profile selected when the user selects none. When
	// no profile is marked, the first one is the default; when several
	// are, the first marked one is.
	Default bool
	// Override is the profile's kubespawner_override: option names
	// (KubeSpawner trait names) to values. Maps merge recursively into the
	// configuration and a nil value deletes a key.
	Override map[string]any
	// Options are the profile_options, in configuration order.
	Options []Option
	// Access restricts the profile to some users (hubkit extension
	// allowed_groups / allowed_users). nil: everyone.
	Access *Access
}

// Option is one entry of a profile's profile_options.
type Option struct {
	// Key is the option's key in profile_options; it names the form field
	// profile-option-<profile slug>--<key> and the user_options key.
	Key string
	// DisplayName labels the option; Key when the configuration has none.
	DisplayName string
	// Choices are the predefined choices, in configuration order.
	Choices []Choice
	// Unlisted is the unlisted_choice: a free-form value. nil when the
	// configuration has none.
	Unlisted *Unlisted
}

// Choice is one predefined choice of an option.
type Choice struct {
	// Key is the choice's key in choices, the value the form submits.
	Key string
	// DisplayName is shown in the option's list; Key when the
	// configuration has none.
	DisplayName string
	// Default marks the choice selected when the user selects none. When
	// no choice is marked, the first one is the default.
	Default bool
	// Override is the choice's kubespawner_override, applied after the
	// profile's.
	Override map[string]any
	// Access restricts the choice to some users (hubkit extension).
	Access *Access
}

// Unlisted is an option's unlisted_choice: a free-form value the user
// types in, substituted for {value} in Override.
type Unlisted struct {
	// Enabled offers the free-form value. A value given for an option whose
	// unlisted_choice is not enabled is refused.
	Enabled bool
	// DisplayName labels the text field.
	DisplayName string
	// DisplayNameInChoices is the entry in the option's list that selects
	// the free-form value. Default DefaultDisplayNameInChoices.
	DisplayNameInChoices string
	// ValidationRegex, when set, must match the value, anchored at its
	// start as Python's re.match (write $ to anchor the end too). Go's RE2
	// syntax: look-arounds and back-references are not available.
	ValidationRegex string
	// ValidationMessage tells the user what a valid value looks like.
	ValidationMessage string
	// Override is applied with every {value} in its strings (and map keys)
	// replaced by the user's value, the way Python's str.format_map does
	// it: {{ and }} become single braces and other {fields} stay as they
	// are.
	Override map[string]any
	// Access restricts the free-form value to some users (hubkit
	// extension); others see only the predefined choices.
	Access *Access

	re *regexp.Regexp
}

// List is a parsed, validated profileList. It is not modified after New or
// Parse returns it and is safe for concurrent use; the Profiles it returns
// must be treated as read-only.
type List struct {
	profiles []Profile
}

// New validates profiles and returns them as a List, filling in what
// KubeSpawner fills in: slugs made from display names, and the
// DisplayNameInChoices of enabled unlisted choices. Errors wrap
// ErrInvalidList and name the offending entry: an empty or duplicate slug,
// a profile without display name or slug, a duplicate option or choice
// key, an option key that cannot be told apart in form fields ("profile",
// keys containing "--unlisted-choice" at the end, the empty key), an
// option that offers nothing, a validation_regex that does not compile, a
// malformed {value} template. The list shares the overrides' maps with
// profiles, which must not be modified afterwards.
func New(profiles []Profile) (*List, error) {
	l := &List{profiles: make([]Profile, len(profiles))}
	seen := map[string]int{}
	for i, p := range profiles {
		where := "profile " + strconv.Itoa(i+1)
		if p.DisplayName != "" {
			where += " (" + strconv.Quote(p.DisplayName) + ")"
		}
		if p.Slug == "" {
			if p.DisplayName == "" {
				return nil, fmt.Errorf("%w: %s: neither slug nor display_name is set", ErrInvalidList, where)
			}
			p.Slug = Slugify(p.DisplayName)
			if p.Slug == "" {
				return nil, fmt.Errorf("%w: %s: display_name makes an empty slug; set slug", ErrInvalidList, where)
			}
		}
		if j, ok := seen[p.Slug]; ok {
			return nil, fmt.Errorf("%w: %s: slug %q is also the slug of profile %d", ErrInvalidList, where, p.Slug, j+1)
		}
		for other, j := range seen {
			if strings.HasPrefix(p.Slug, other+"--") || strings.HasPrefix(other, p.Slug+"--") {
				return nil, fmt.Errorf("%w: %s: the form fields of slugs %q and %q (profile %d) cannot be told apart; avoid \"--\" in slugs",
					ErrInvalidList, where, p.Slug, other, j+1)
			}
		}
		seen[p.Slug] = i
		p.Options = slices.Clone(p.Options)
		optSeen := map[string]bool{}
		for j := range p.Options {
			o := &p.Options[j]
			ow := fmt.Sprintf("%s: option %q", where, o.Key)
			switch {
			case o.Key == "":
				return nil, fmt.Errorf("%w: %s: empty option key", ErrInvalidList, where)
			case o.Key == "profile":
				return nil, fmt.Errorf("%w: %s: the key \"profile\" is taken by the profile itself in user_options", ErrInvalidList, ow)
			case strings.HasSuffix(o.Key, unlistedSuffix):
				return nil, fmt.Errorf("%w: %s: an option key cannot end in %q", ErrInvalidList, ow, unlistedSuffix)
			case optSeen[o.Key]:
				return nil, fmt.Errorf("%w: %s: duplicate option key", ErrInvalidList, ow)
			}
			optSeen[o.Key] = true
			if o.DisplayName == "" {
				o.DisplayName = o.Key
			}
			o.Choices = slices.Clone(o.Choices)
			choiceSeen := map[string]bool{}
			for k := range o.Choices {
				c := &o.Choices[k]
				if choiceSeen[c.Key] {
					return nil, fmt.Errorf("%w: %s: duplicate choice %q", ErrInvalidList, ow, c.Key)
				}
				choiceSeen[c.Key] = true
				if c.Key == "" {
					return nil, fmt.Errorf("%w: %s: empty choice key", ErrInvalidList, ow)
				}
				if c.DisplayName == "" {
					c.DisplayName = c.Key
				}
			}
			if o.Unlisted != nil {
				u := *o.Unlisted
				o.Unlisted = &u
				if u.Enabled && choiceSeen[UnlistedChoice] {
					return nil, fmt.Errorf("%w: %s: the choice key %q is reserved for the unlisted choice", ErrInvalidList, ow, UnlistedChoice)
				}
				if u.Enabled && u.DisplayNameInChoices == "" {
					u.DisplayNameInChoices = DefaultDisplayNameInChoices
				}
				if u.ValidationRegex != "" {
					re, err := regexp.Compile(`^(?:` + u.ValidationRegex + `)`)
					if err != nil {
						return nil, fmt.Errorf("%w: %s: unlisted_choice.validation_regex: %v", ErrInvalidList, ow, err)
					}
					u.re = re
				}
				if _, err := formatTree(u.Override, "value", "kubespawner_override"); err != nil {
					return nil, fmt.Errorf("%w: %s: unlisted_choice.%v", ErrInvalidList, ow, err)
				}
			}
			if len(o.Choices) == 0 && !o.unlistedEnabled() {
				return nil, fmt.Errorf("%w: %s: offers neither choices nor an enabled unlisted_choice", ErrInvalidList, ow)
			}
		}
		l.profiles[i] = p
	}
	return l, nil
}

func (o *Option) unlistedEnabled() bool { return o.Unlisted != nil && o.Unlisted.Enabled }

// Profiles returns the profiles in order. The slice and what it refers to
// must not be modified.
func (l *List) Profiles() []Profile { return l.profiles }

// Len is the number of profiles.
func (l *List) Len() int { return len(l.profiles) }

// Profile returns the profile with the given slug.
func (l *List) Profile(slug string) (*Profile, bool) {
	for i := range l.profiles {
		if l.profiles[i].Slug == slug {
			return &l.profiles[i], true
		}
	}
	return nil, false
}

// Default returns the default profile: the first one marked default, else
// the first one; nil for an empty list.
func (l *List) Default() *Profile {
	if len(l.profiles) == 0 {
		return nil
	}
	for i := range l.profiles {
		if l.profiles[i].Default {
			return &l.profiles[i]
		}
	}
	return &l.profiles[0]
}

// Option returns the option with the given key.
func (p *Profile) Option(key string) (*Option, bool) {
	for i := range p.Options {
		if p.Options[i].Key == key {
			return &p.Options[i], true
		}
	}
	return nil, false
}

// Choice returns the choice with the given key.
func (o *Option) Choice(key string) (*Choice, bool) {
	for i := range o.Choices {
		if o.Choices[i].Key == key {
			return &o.Choices[i], true
		}
	}
	return nil, false
}

// Default returns the default choice: the first one marked default, else
// the first one; nil when the option has only an unlisted choice.
func (o *Option) Default() *Choice {
	if len(o.Choices) == 0 {
		return nil
	}
	for i := range o.Choices {
		if o.Choices[i].Default {
			return &o.Choices[i]
		}
	}
	return &o.Choices[0]
}

// Filter returns a list of the profiles for which keep returns true, in
// the same order. It is how a deployment switches profiles on and off by
// configuration (see the package example with JUPYTER_PROFILE_*_ENABLED
// variables). When the default profile is dropped, the first kept one
// becomes the default.
func (l *List) Filter(keep func(p *Profile) bool) *List {
	out := &List{}
	for i := range l.profiles {
		if keep(&l.profiles[i]) {
			out.profiles = append(out.profiles, l.profiles[i])
		}
	}
	return out
}

// For returns the list as user u may see and use it: without the profiles,
// choices and unlisted choices whose Access does not admit u, and without
// profiles that would be left with an option offering nothing (all its
// choices hidden and no unlisted choice the user may use), since such a
// profile cannot be started. Hidden defaults pass to the first remaining
// profile or choice, as Default describes.
func (l *List) For(u User) *List {
	out := &List{}
	for _, p := range l.profiles {
		if !p.Access.Admits(u) {
			continue
		}
		usable := true
		opts := make([]Option, 0, len(p.Options))
		for _, o := range p.Options {
			var choices []Choice
			for _, c := range o.Choices {
				if c.Access.Admits(u) {
					choices = append(choices, c)
				}
			}
			o.Choices = choices
			if o.Unlisted != nil && !o.Unlisted.Access.Admits(u) {
				o.Unlisted = nil
			}
			if len(o.Choices) == 0 && !o.unlistedEnabled() {
				usable = false
				break
			}
			opts = append(opts, o)
		}
		if !usable {
			continue
		}
		p.Options = opts
		out.profiles = append(out.profiles, p)
	}
	return out
}

// Check calls check with every override of the list, so that a mistake in
// a kubespawner_override (an unknown option name, a value of the wrong
// type) fails when the configuration is loaded rather than when a user
// spawns. Pass the spawner's own override parser, for spawner/kube:
//
//	err := list.Check(func(o map[string]any) error { _, err := cfg.Options.Apply(o); return err })
//
// Profile and choice overrides are passed as they are. An unlisted
// choice's override depends on the user's value, so only its top-level
// keys are checked: it is passed with every value nil. The errors are
// joined, each naming its profile and option and wrapping ErrInvalidList.
func (l *List) Check(check func(override map[string]any) error) error {
	var errs []error
	try := func(where string, o map[string]any) {
		if len(o) == 0 {
			return
		}
		if err := check(o); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrInvalidList, where, err))
		}
	}
	for _, p := range l.profiles {
		pw := fmt.Sprintf("profile %q", p.Slug)
		try(pw+": kubespawner_override", p.Override)
		for _, o := range p.Options {
			ow := fmt.Sprintf("%s: option %q", pw, o.Key)
			for _, c := range o.Choices {
				try(fmt.Sprintf("%s: choice %q: kubespawner_override", ow, c.Key), c.Override)
			}
			if o.Unlisted != nil && len(o.Unlisted.Override) > 0 {
				keys := make(map[string]any, len(o.Unlisted.Override))
				for k := range o.Unlisted.Override {
					keys[k] = nil
				}
				try(ow+": unlisted_choice: kubespawner_override", keys)
			}
		}
	}
	return errors.Join(errs...)
}
