package profiles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Selection is what a user chose: a profile and, per option, a predefined
// choice or a free-form value. It is KubeSpawner's user_options in typed
// form; its JSON is exactly that shape:
//
//	{"profile": "gpu", "image": "pytorch", "tag--unlisted-choice": "2024.06"}
//
// The zero Selection selects the default profile with its default choices.
// A Selection is only syntax: List.Resolve checks it against what the user
// is offered.
type Selection struct {
	// Profile is the slug of the profile; "" selects the default profile.
	Profile string
	// Choices maps option keys to choice keys. An option that is absent (or
	// maps to "") gets its default choice.
	Choices map[string]string
	// Unlisted maps option keys to free-form values (unlisted_choice). A
	// non-empty value wins over Choices for the same option, as in
	// KubeSpawner.
	Unlisted map[string]string
}

// ParseForm reads a submitted spawn form with KubeSpawner's field names:
// profile=<slug>, profile-option-<slug>--<option>=<choice> and
// profile-option-<slug>--<option>--unlisted-choice=<value>. Only the option
// fields of the selected profile are read (the form has every profile's);
// other fields (such as _xsrf) are ignored. It accepts both this package's
// form, which always submits the free-form field and selects
// "unlisted-choice" in the option's list to use it, and KubeSpawner's,
// whose script submits either the list or the free-form field.
//
// Errors wrap ErrMalformed: a profile field that is given more than once,
// an option field without an option name, a field that is not valid UTF-8.
func ParseForm(form url.Values) (Selection, error) {
	var s Selection
	profile, err := single(form, "profile")
	if err != nil || profile == "" {
		return s, err
	}
	s.Profile = profile
	prefix := "profile-option-" + profile + "--"
	for _, name := range slices.Sorted(maps.Keys(form)) {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		v, err := single(form, name)
		if err != nil {
			return Selection{}, err
		}
		if opt, ok := strings.CutSuffix(rest, unlistedSuffix); ok {
			if opt == "" {
				return Selection{}, fmt.Errorf("%w: form field %q names no option", ErrMalformed, name)
			}
			if v != "" {
				setKey(&s.Unlisted, opt, v)
			}
			continue
		}
		if rest == "" {
			return Selection{}, fmt.Errorf("%w: form field %q names no option", ErrMalformed, name)
		}
		if v != "" {
			setKey(&s.Choices, rest, v)
		}
	}
	// A listed choice in the option's select wins over the free-form field
	// (which this package's form always submits); "unlisted-choice" in the
	// select means the free-form field. Without a value in it, it stays in
	// Choices so that Resolve can tell the user to enter one.
	for opt, c := range s.Choices {
		if _, ok := s.Unlisted[opt]; !ok {
			continue
		}
		if c == UnlistedChoice {
			delete(s.Choices, opt)
		} else {
			delete(s.Unlisted, opt)
		}
	}
	if len(s.Choices) == 0 {
		s.Choices = nil
	}
	if len(s.Unlisted) == 0 {
		s.Unlisted = nil
	}
	return s, nil
}

func single(form url.Values, name string) (string, error) {
	vs := form[name]
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", fmt.Errorf("%w: form field %q given %d times", ErrMalformed, name, len(vs))
	case !isText(vs[0]) || !isText(name):
		return "", fmt.Errorf("%w: form field %q is not valid UTF-8 text", ErrMalformed, name)
	}
	return vs[0], nil
}

func setKey(m *map[string]string, k, v string) {
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = v
}

// ParseUserOptions reads a JSON user_options object, as JupyterHub's REST
// API passes it for a spawn: {"profile": slug, "<option>": choice,
// "<option>--unlisted-choice": value}. Values are strings; a number is
// taken as its text ("cpu": 4 is choice "4"); null and "" count as absent,
// as in KubeSpawner. Errors wrap ErrMalformed.
func ParseUserOptions(data []byte) (Selection, error) {
	var s Selection
	if len(bytes.TrimSpace(data)) == 0 {
		return s, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return s, fmt.Errorf("%w: user_options: want a JSON object of strings: %v", ErrMalformed, err)
	}
	if raw == nil {
		// The document was null.
		return s, nil
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		v, err := optionValue(raw[k])
		if err != nil {
			return Selection{}, fmt.Errorf("%w: user_options[%q]: %v", ErrMalformed, k, err)
		}
		if !isText(k) || !isText(v) {
			return Selection{}, fmt.Errorf("%w: user_options[%q] is not valid UTF-8 text", ErrMalformed, k)
		}
		if v == "" {
			continue
		}
		switch opt, unlisted := strings.CutSuffix(k, unlistedSuffix); {
		case k == "profile":
			s.Profile = v
		case k == "" || (unlisted && opt == ""):
			return Selection{}, fmt.Errorf("%w: user_options key %q names no option", ErrMalformed, k)
		case unlisted:
			setKey(&s.Unlisted, opt, v)
		default:
			setKey(&s.Choices, k, v)
		}
	}
	return s, nil
}

func optionValue(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", nil
	}
	switch raw[0] {
	case 'n':
		return "", nil
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	default:
		return "", fmt.Errorf("want a string, got %s", truncate(string(raw), 40))
	}
}

// UserOptions returns s in KubeSpawner's user_options shape, the form
// JupyterHub keeps it in and its REST API takes it in.
func (s Selection) UserOptions() map[string]string {
	m := map[string]string{}
	if s.Profile != "" {
		m["profile"] = s.Profile
	}
	for k, v := range s.Choices {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range s.Unlisted {
		if v != "" {
			m[k+unlistedSuffix] = v
		}
	}
	return m
}

// MarshalJSON implements json.Marshaler with the user_options shape.
func (s Selection) MarshalJSON() ([]byte, error) { return json.Marshal(s.UserOptions()) }

// UnmarshalJSON implements json.Unmarshaler with ParseUserOptions.
func (s *Selection) UnmarshalJSON(data []byte) error {
	v, err := ParseUserOptions(data)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Form returns s as the form fields a browser would submit for it.
func (s Selection) Form() url.Values {
	f := url.Values{}
	if s.Profile == "" {
		return f
	}
	f.Set("profile", s.Profile)
	prefix := "profile-option-" + s.Profile + "--"
	for k, v := range s.Choices {
		if v != "" {
			f.Set(prefix+k, v)
		}
	}
	for k, v := range s.Unlisted {
		if v != "" {
			f.Set(prefix+k, UnlistedChoice)
			f.Set(prefix+k+unlistedSuffix, v)
		}
	}
	return f
}

func isText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
