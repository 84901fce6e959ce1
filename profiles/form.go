package profiles

import (
	_ "embed"
	"fmt"
	"html/template"
	"strings"
)

//go:embed form.html
var formHTML string

var formTemplate = template.Must(template.New("form").Parse(formHTML))

// FormOptions tune List.Form. The zero value works.
type FormOptions struct {
	// Selected pre-selects a previous selection, such as the server's
	// saved user_options, when Resolve still accepts it for the user;
	// otherwise (and by default) the defaults are selected, as in
	// KubeSpawner.
	Selected Selection
	// Nonce, when set, is put on the form's inline <style> and <script>
	// elements, for pages served with a Content-Security-Policy that
	// allows them by nonce. Default: none.
	Nonce string
}

// Form renders the spawn form for user u: an HTML fragment that the hub
// puts inside its own <form>. It shows the profiles, choices and unlisted
// choices u may use (see For), one radio button per profile and one select
// per option, with KubeSpawner's field names (profile,
// profile-option-<slug>--<option>,
// profile-option-<slug>--<option>--unlisted-choice) and element ids, so
// ParseForm (or KubeSpawner's own options_from_form) reads what it
// submits. The form works without script; a few lines of script select a
// profile when one of its options is changed, and CSS shows an option's
// free-form field only while "Other..." is selected (where the browser
// supports :has()).
//
// Everything from the profile list (display names, descriptions) is
// escaped: unlike KubeSpawner's template, HTML in a description is shown
// as text. A validation_regex is passed to the browser as the field's
// pattern (as a prefix match, like Python's re.match); browsers whose
// regular expressions differ ignore or apply it, and Resolve checks the
// value anyway.
//
// An empty list renders as the empty string. When the list has profiles
// but none for u, Form returns an error wrapping ErrNotAllowed.
func (l *List) Form(u User, o FormOptions) (template.HTML, error) {
	if len(l.profiles) == 0 {
		return "", nil
	}
	view := l.For(u)
	if len(view.profiles) == 0 {
		return "", &SelectionError{Err: ErrNotAllowed, Message: fmt.Sprintf("no profile is available to user %q", u.Name)}
	}
	sel := Selection{}
	if res, err := l.Resolve(u, o.Selected, nil); err == nil {
		sel = res.Selection
	}
	checked := view.Default().Slug
	if sel.Profile != "" {
		checked = sel.Profile
	}
	data := formData{Nonce: o.Nonce}
	for _, p := range view.profiles {
		fp := formProfile{Slug: p.Slug, DisplayName: p.DisplayName, Description: p.Description, Checked: p.Slug == checked}
		for _, opt := range p.Options {
			field := "profile-option-" + p.Slug + "--" + opt.Key
			fo := formOption{Field: field, DisplayName: opt.DisplayName}
			var value, choice string
			if fp.Checked {
				value, choice = sel.Unlisted[opt.Key], sel.Choices[opt.Key]
			}
			if value == "" && choice == "" {
				if d := opt.Default(); d != nil {
					choice = d.Key
				}
			}
			for _, c := range opt.Choices {
				fo.Choices = append(fo.Choices, formChoice{Key: c.Key, DisplayName: c.DisplayName, Selected: value == "" && c.Key == choice})
			}
			if un := opt.Unlisted; un != nil && un.Enabled {
				fu := &formUnlisted{
					Field:     field + unlistedSuffix,
					Label:     cmpOr(un.DisplayName, opt.DisplayName),
					InChoices: un.DisplayNameInChoices,
					Message:   un.ValidationMessage,
					Value:     value,
					Selected:  value != "" || len(opt.Choices) == 0,
				}
				if un.ValidationRegex != "" {
					fu.Pattern = "(?:" + un.ValidationRegex + ").*"
				}
				fo.Unlisted = fu
			}
			fp.Options = append(fp.Options, fo)
		}
		data.Profiles = append(data.Profiles, fp)
	}
	var b strings.Builder
	if err := formTemplate.Execute(&b, data); err != nil {
		return "", fmt.Errorf("profiles: rendering the form: %w", err)
	}
	return template.HTML(b.String()), nil
}

type formData struct {
	Nonce    string
	Profiles []formProfile
}

type formProfile struct {
	Slug, DisplayName, Description string
	Checked                        bool
	Options                        []formOption
}

type formOption struct {
	Field, DisplayName string
	Choices            []formChoice
	Unlisted           *formUnlisted
}

type formChoice struct {
	Key, DisplayName string
	Selected         bool
}

type formUnlisted struct {
	Field, Label, InChoices, Pattern, Message, Value string
	Selected                                         bool
}
