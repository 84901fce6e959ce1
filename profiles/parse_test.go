package profiles

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t testing.TB, doc string) *List {
	t.Helper()
	l, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return l
}

func slugsOf(l *List) []string { return l.slugs() }

func TestParseShapes(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string // slugs in order
		def  string   // slug of the default profile
	}{
		{"empty", ``, nil, ""},
		{"null", `null`, nil, ""},
		{"empty list", `[]`, nil, ""},
		{"yaml list", `
- display_name: Something without a slug
- display_name: Something with a slug
  slug: sluggity-slug
`, []string{"something-without-a-slug", "sluggity-slug"}, "something-without-a-slug"},
		{"default marked", `
- {display_name: profile 1}
- {display_name: profile 2, default: true}
- {display_name: profile 3, default: true}
`, []string{"profile-1", "profile-2", "profile-3"}, "profile-2"},
		// As KubeSpawner: a mapping's profiles come in key order, their
		// slugs from slug or display_name, not from the key.
		{"mapping", `
zeta: {display_name: Last one}
alpha: {display_name: First one, slug: first}
mid: {display_name: Middle}
`, []string{"first", "middle", "last-one"}, "first"},
		{"json list", `[{"display_name": "A"}, {"display_name": "B", "default": true}]`, []string{"a", "b"}, "b"},
		{"json mapping", `{"b": {"display_name": "B"}, "a": {"display_name": "A"}}`, []string{"a", "b"}, "a"},
		{"yaml flow that is not json", `[{display_name: A}, {display_name: B}]  # comment`, []string{"a", "b"}, "a"},
		{"tab-indented json", "[\n\t{\n\t\t\"display_name\": \"Tabbed\"\n\t}\n]", []string{"tabbed"}, "tabbed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := mustParse(t, tc.doc)
			if got := slugsOf(l); !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("slugs %q, want %q", got, tc.want)
			}
			var def string
			if p := l.Default(); p != nil {
				def = p.Slug
			}
			if def != tc.def {
				t.Errorf("default %q, want %q", def, tc.def)
			}
		})
	}
}

// TestParseFields reads every KubeSpawner key and the hubkit extensions,
// and checks what KubeSpawner fills in (test_profile_missing_defaults_populated).
func TestParseFields(t *testing.T) {
	l := mustParse(t, `
- display_name: Something with choices
  description: Some description
  default: true
  allowed_groups: [a, b]
  kubespawner_override: {cpu_limit: 2, environment: {A: "1", B: null}}
  profile_options:
    no-defaults:
      display_name: Some choice without a default set
      choices:
        option-1: {display_name: Option 1}
        option-2: {display_name: Option 2, allowed_users: [alice]}
    only-unlisted:
      display_name: Some option without any choices set
      unlisted_choice: {enabled: true}
    explicit-defaults:
      choices:
        option-1: {kubespawner_override: {}}
        option-2: {default: true, kubespawner_override: {image: x}}
      unlisted_choice:
        enabled: false
        display_name: Other image
        display_name_in_choices: Enter image manually
        validation_regex: '^jupyter/.+:.+$'
        validation_message: Must be an image matching ^jupyter/<name>:<tag>$
        kubespawner_override: {image: '{value}'}
        allowed_groups: []
`)
	p := l.Profiles()[0]
	if p.Slug != "something-with-choices" || p.Description != "Some description" || !p.Default {
		t.Errorf("profile %+v", p)
	}
	if !reflect.DeepEqual(p.Access, &Access{Groups: []string{"a", "b"}}) {
		t.Errorf("access %+v", p.Access)
	}
	wantOverride := map[string]any{"cpu_limit": 2, "environment": map[string]any{"A": "1", "B": nil}}
	if !reflect.DeepEqual(p.Override, wantOverride) {
		t.Errorf("override %#v", p.Override)
	}
	if got := p.optionKeys(); !reflect.DeepEqual(got, []string{"no-defaults", "only-unlisted", "explicit-defaults"}) {
		t.Errorf("options in order %q", got)
	}
	nd := p.Options[0]
	if nd.Default().Key != "option-1" || nd.Unlisted != nil || nd.Choices[1].Access.Users[0] != "alice" {
		t.Errorf("no-defaults %+v", nd)
	}
	ou := p.Options[1]
	if ou.DisplayName != "Some option without any choices set" || ou.Default() != nil ||
		!ou.Unlisted.Enabled || ou.Unlisted.DisplayNameInChoices != DefaultDisplayNameInChoices {
		t.Errorf("only-unlisted %+v %+v", ou, ou.Unlisted)
	}
	ed := p.Options[2]
	if ed.DisplayName != "explicit-defaults" || ed.Default().Key != "option-2" || ed.Choices[0].DisplayName != "option-1" {
		t.Errorf("explicit-defaults %+v", ed)
	}
	u := ed.Unlisted
	if u.Enabled || u.DisplayName != "Other image" || u.DisplayNameInChoices != "Enter image manually" ||
		u.ValidationRegex != `^jupyter/.+:.+$` || u.re == nil || u.Access == nil || len(u.Access.Groups) != 0 {
		t.Errorf("unlisted %+v", u)
	}
}

func TestParseYAMLLikeHelm(t *testing.T) {
	// YAML 1.1 as Helm reads values.yaml: yes is true, numeric keys are
	// their text, anchors and merge keys work.
	l := mustParse(t, `
- display_name: A
  default: yes
  kubespawner_override: &common
    cpu_limit: 2
    environment: {FLAG: on}
  profile_options:
    cpu:
      choices:
        2: {display_name: 2}
        4.5: {display_name: 4.5}
- display_name: B
  kubespawner_override:
    <<: *common
    mem_limit: 1G
`)
	a, b := l.Profiles()[0], l.Profiles()[1]
	if !a.Default || a.Override["environment"].(map[string]any)["FLAG"] != true {
		t.Errorf("A %+v", a)
	}
	if got := a.Options[0].choiceKeys(); !reflect.DeepEqual(got, []string{"2", "4.5"}) || a.Options[0].Choices[0].DisplayName != "2" {
		t.Errorf("choice keys %q", got)
	}
	if b.Override["cpu_limit"] != 2 || b.Override["mem_limit"] != "1G" {
		t.Errorf("B %+v", b.Override)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{"syntax", "- display_name: [", []string{"yaml"}},
		{"json syntax", `[{"display_name": "A"}`, []string{"did not find expected"}},
		{"scalar document", `just text`, []string{"want a list or a mapping"}},
		{"profile not a mapping", `- just text`, []string{"profile 1"}},
		{"typo in profile", `
- display_name: A
- display_name: GPU
  kubespawner_overide: {}`, []string{`profile 2 ("GPU")`, `unknown key "kubespawner_overide"`, `did you mean "kubespawner_override"`}},
		{"typo in choice", `
- display_name: A
  profile_options:
    image:
      choices:
        base: {display_nme: Base}`, []string{`option "image"`, `choice "base"`, `"display_nme"`, `"display_name"`}},
		{"unknown keys in unlisted", `
- display_name: A
  profile_options:
    image:
      unlisted_choice: {enabled: true, regex: x, message: y}`, []string{`unlisted_choice`, `unknown keys "regex", "message"`}},
		{"wrong types", `- {display_name: A, default: "true"}`, []string{`default: want true or false, got the string "true"`}},
		{"display name bool", `- {display_name: yes}`, []string{`display_name: want a string, got the boolean true (quote it)`}},
		{"override not a mapping", `- {display_name: A, kubespawner_override: [1]}`, []string{`kubespawner_override: want a mapping, got a list`}},
		{"options not a mapping", `- {display_name: A, profile_options: [cpu]}`, []string{`profile_options: want a mapping`}},
		{"groups not a list", `- {display_name: A, allowed_groups: admins}`, []string{`allowed_groups: want a list of names`}},
		{"no name", `- {description: x}`, []string{`neither slug nor display_name`}},
		{"empty slug", `- {display_name: "🚀"}`, []string{`empty slug; set slug`}},
		{"duplicate slug", `
- {display_name: GPU}
- {display_name: gpu}`, []string{`profile 2 ("gpu")`, `slug "gpu" is also the slug of profile 1`}},
		{"ambiguous slugs", `
- {display_name: A, slug: gpu}
- {display_name: B, slug: gpu--large}`, []string{`"gpu--large" and "gpu" (profile 1) cannot be told apart`}},
		{"duplicate key", `
- display_name: A
  display_name: B`, []string{`duplicate key "display_name"`}},
		{"duplicate json key", `[{"display_name": "A", "display_name": "B"}]`, []string{`duplicate key "display_name"`}},
		{"option named profile", `
- display_name: A
  profile_options: {profile: {choices: {a: {}}}}`, []string{`"profile" is taken`}},
		{"option key with suffix", `
- display_name: A
  profile_options: {"x--unlisted-choice": {choices: {a: {}}}}`, []string{`cannot end in "--unlisted-choice"`}},
		{"option offers nothing", `
- display_name: A
  profile_options: {image: {display_name: Image}}`, []string{`option "image": offers neither choices nor an enabled unlisted_choice`}},
		{"option with disabled unlisted only", `
- display_name: A
  profile_options: {image: {unlisted_choice: {enabled: false}}}`, []string{`offers neither`}},
		{"reserved choice key", `
- display_name: A
  profile_options:
    image:
      choices: {unlisted-choice: {}}
      unlisted_choice: {enabled: true}`, []string{`"unlisted-choice" is reserved`}},
		{"regex does not compile", `
- display_name: A
  profile_options:
    image:
      unlisted_choice: {enabled: true, validation_regex: '^(?!x)'}`, []string{`validation_regex`, `invalid or unsupported Perl syntax`}},
		{"malformed template", `
- display_name: A
  profile_options:
    image:
      unlisted_choice:
        enabled: true
        kubespawner_override: {environment: {JSON: '{"a": 1}'}}`, []string{`kubespawner_override.environment.JSON`, `not supported`}},
		{"unbalanced template", `
- display_name: A
  profile_options:
    image:
      unlisted_choice: {enabled: true, kubespawner_override: {image: "{value"}}`, []string{`unmatched '{'`}},
		{"too deep", strings.Repeat("[", 200) + strings.Repeat("]", 200), []string{"nested deeper"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !errors.Is(err, ErrInvalidList) {
				t.Errorf("%v does not wrap ErrInvalidList", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNewCopies(t *testing.T) {
	in := []Profile{{DisplayName: "A", Options: []Option{{Key: "x", Choices: []Choice{{Key: "c"}}}}}}
	l, err := New(in)
	if err != nil {
		t.Fatal(err)
	}
	in[0].Options[0].Choices[0].Key = "changed"
	if l.Profiles()[0].Slug != "a" || l.Profiles()[0].Options[0].Choices[0].Key != "c" || l.Profiles()[0].Options[0].Choices[0].DisplayName != "c" {
		t.Errorf("New did not copy and fill in: %+v", l.Profiles()[0])
	}
}

func TestFilter(t *testing.T) {
	l := mustParse(t, `
- {display_name: A}
- {display_name: B, default: true}
- {display_name: C}
`)
	f := l.Filter(func(p *Profile) bool { return p.Slug != "b" })
	if got := slugsOf(f); !reflect.DeepEqual(got, []string{"a", "c"}) || f.Default().Slug != "a" {
		t.Errorf("filtered %q, default %q", got, f.Default().Slug)
	}
	if l.Len() != 3 {
		t.Error("Filter changed the list")
	}
}

func TestFor(t *testing.T) {
	l := mustParse(t, `
- display_name: Open
- display_name: GPU
  default: true
  allowed_groups: [gpu]
  profile_options:
    size:
      choices:
        small: {}
        large: {default: true, allowed_groups: [admins]}
- display_name: Named
  allowed_users: [alice]
- display_name: Nobody
  allowed_groups: []
- display_name: Only admins' images
  profile_options:
    image:
      choices:
        secret: {allowed_groups: [admins]}
      unlisted_choice: {enabled: true, allowed_groups: [admins]}
`)
	cases := []struct {
		user     User
		slugs    []string
		def      string
		gpuSizes []string
	}{
		{User{Name: "bob"}, []string{"open"}, "open", nil},
		{User{Name: "alice"}, []string{"open", "named"}, "open", nil},
		{User{Name: "bob", Groups: []string{"gpu"}}, []string{"open", "gpu"}, "gpu", []string{"small"}},
		{User{Name: "carol", Groups: []string{"gpu", "admins"}}, []string{"open", "gpu", "only-admins-images"}, "gpu", []string{"small", "large"}},
	}
	for _, tc := range cases {
		t.Run(tc.user.Name+strings.Join(tc.user.Groups, ","), func(t *testing.T) {
			v := l.For(tc.user)
			if got := slugsOf(v); !reflect.DeepEqual(got, tc.slugs) {
				t.Errorf("visible %q, want %q", got, tc.slugs)
			}
			if v.Default().Slug != tc.def {
				t.Errorf("default %q, want %q", v.Default().Slug, tc.def)
			}
			if gpu, ok := v.Profile("gpu"); ok {
				if got := gpu.Options[0].choiceKeys(); !reflect.DeepEqual(got, tc.gpuSizes) {
					t.Errorf("gpu sizes %q, want %q", got, tc.gpuSizes)
				}
				if gpu.Options[0].Default().Key != tc.gpuSizes[len(tc.gpuSizes)-1] {
					t.Errorf("gpu default size %q", gpu.Options[0].Default().Key)
				}
			}
		})
	}
	if full, _ := l.Profile("gpu"); len(full.Options[0].Choices) != 2 {
		t.Error("For changed the list")
	}
}
