package profiles

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseForm(t *testing.T) {
	cases := []struct {
		name string
		form url.Values
		want Selection
		err  string
	}{
		{"empty", url.Values{}, Selection{}, ""},
		{"no profile ignores options", url.Values{"profile-option-a--x": {"1"}}, Selection{}, ""},
		{"empty profile", url.Values{"profile": {""}}, Selection{}, ""},
		{"profile only", url.Values{"profile": {"gpu"}, "_xsrf": {"t"}}, Selection{Profile: "gpu"}, ""},
		// KubeSpawner's test_profile_slug_and_option_slug_mixup.
		{"slug prefix of another slug", url.Values{
			"profile":                               {"short"},
			"profile-option-short--relevant":        {"choice-a"},
			"profile-option-short-plus--irrelevant": {"choice-b"},
		}, Selection{Profile: "short", Choices: map[string]string{"relevant": "choice-a"}}, ""},
		// KubeSpawner's test_user_options_set_from_form_unlisted_choice
		// (its script removed the select's name).
		{"kubespawner form, unlisted", url.Values{
			"profile": {"test-choices"},
			"profile-option-test-choices--image--unlisted-choice": {"pangeo/test:latest"},
		}, Selection{Profile: "test-choices", Unlisted: map[string]string{"image": "pangeo/test:latest"}}, ""},
		{"this form, listed choice wins over the text field", url.Values{
			"profile":                 {"p"},
			"profile-option-p--image": {"base"},
			"profile-option-p--image--unlisted-choice": {"typed before"},
		}, Selection{Profile: "p", Choices: map[string]string{"image": "base"}}, ""},
		{"this form, unlisted selected", url.Values{
			"profile":                 {"p"},
			"profile-option-p--image": {"unlisted-choice"},
			"profile-option-p--image--unlisted-choice": {"my/image:1"},
		}, Selection{Profile: "p", Unlisted: map[string]string{"image": "my/image:1"}}, ""},
		{"this form, unlisted selected but empty", url.Values{
			"profile":                 {"p"},
			"profile-option-p--image": {"unlisted-choice"},
			"profile-option-p--image--unlisted-choice": {""},
		}, Selection{Profile: "p", Choices: map[string]string{"image": "unlisted-choice"}}, ""},
		{"empty choice is absent", url.Values{"profile": {"p"}, "profile-option-p--cpu": {""}}, Selection{Profile: "p"}, ""},
		{"option keys with spaces and dashes", url.Values{"profile": {"p"}, "profile-option-p--a b--c": {"4 GB"}},
			Selection{Profile: "p", Choices: map[string]string{"a b--c": "4 GB"}}, ""},
		{"profile twice", url.Values{"profile": {"a", "b"}}, Selection{}, `form field "profile" given 2 times`},
		{"option twice", url.Values{"profile": {"p"}, "profile-option-p--cpu": {"2", "4"}}, Selection{}, `given 2 times`},
		{"no option name", url.Values{"profile": {"p"}, "profile-option-p--": {"2"}}, Selection{}, `names no option`},
		{"no option name, unlisted", url.Values{"profile": {"p"}, "profile-option-p----unlisted-choice": {"2"}}, Selection{}, `names no option`},
		{"invalid utf-8", url.Values{"profile": {"p\xff"}}, Selection{}, `not valid UTF-8`},
		{"NUL", url.Values{"profile": {"p"}, "profile-option-p--x": {"a\x00"}}, Selection{}, `not valid UTF-8`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseForm(tc.form)
			if tc.err != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want ErrMalformed with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseUserOptions(t *testing.T) {
	cases := []struct {
		name string
		json string
		want Selection
		err  string
	}{
		{"empty", ``, Selection{}, ""},
		{"null", `null`, Selection{}, ""},
		{"empty object", `{}`, Selection{}, ""},
		{"profile", `{"profile": "demo-1"}`, Selection{Profile: "demo-1"}, ""},
		{"choice and unlisted", `{"profile": "demo-1", "image": "minimal", "tag--unlisted-choice": "jupyter/datascience-notebook:latest"}`,
			Selection{Profile: "demo-1", Choices: map[string]string{"image": "minimal"}, Unlisted: map[string]string{"tag": "jupyter/datascience-notebook:latest"}}, ""},
		{"numbers are their text", `{"profile": "p", "cpu": 4, "mem": 0.5}`, Selection{Profile: "p", Choices: map[string]string{"cpu": "4", "mem": "0.5"}}, ""},
		{"null and empty are absent", `{"profile": null, "cpu": "", "x--unlisted-choice": null}`, Selection{}, ""},
		{"not an object", `["profile"]`, Selection{}, "want a JSON object"},
		{"not JSON", `profile=x`, Selection{}, "want a JSON object"},
		{"object value", `{"profile": {"slug": "x"}}`, Selection{}, `user_options["profile"]: want a string`},
		{"bool value", `{"cpu": true}`, Selection{}, `want a string, got true`},
		{"list value", `{"cpu": [1]}`, Selection{}, `want a string`},
		{"empty key", `{"": "x"}`, Selection{}, `names no option`},
		{"unlisted without option", `{"--unlisted-choice": "x"}`, Selection{}, `names no option`},
		{"trailing data", `{} {}`, Selection{}, "want a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUserOptions([]byte(tc.json))
			if tc.err != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want ErrMalformed with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSelectionRoundTrip(t *testing.T) {
	s := Selection{Profile: "p", Choices: map[string]string{"cpu": "4", "image": "base"}, Unlisted: map[string]string{"image": "my/img:1"}}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"cpu":"4","image":"base","image--unlisted-choice":"my/img:1","profile":"p"}` {
		t.Errorf("JSON %s", raw)
	}
	var back Selection
	if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}
	form, err := ParseForm(s.Form())
	want := Selection{Profile: "p", Choices: map[string]string{"cpu": "4"}, Unlisted: map[string]string{"image": "my/img:1"}}
	if err != nil || !reflect.DeepEqual(form, want) {
		t.Errorf("form round trip: %+v, %v", form, err)
	}
	if got := (Selection{}).Form(); len(got) != 0 {
		t.Errorf("empty selection form %v", got)
	}
}

// fuzzList is offered to fuzzed selections.
const fuzzList = `
- display_name: Small
  slug: small
  kubespawner_override: {cpu_limit: 1}
- display_name: Data
  slug: data
  profile_options:
    image:
      choices:
        base: {kubespawner_override: {image: base}}
        gpu: {allowed_groups: [gpu], kubespawner_override: {image: gpu}}
      unlisted_choice:
        enabled: true
        validation_regex: '^[a-z/]+:[0-9.]+$'
        kubespawner_override: {image: '{value}', environment: {'{value}': '{{value}} {value}'}}
    cpu:
      choices: {"2": {}, "4 GB": {}}
`

// checkSelection resolves a parsed selection: it must give an override or
// a *SelectionError, never panic; what it accepts was offered.
func checkSelection(t *testing.T, l *List, s Selection) {
	for _, u := range []User{{Name: "u"}, {Name: "g", Groups: []string{"gpu"}}} {
		res, err := l.Resolve(u, s, map[string]any{"image": "x", "environment": map[string]any{"A": "1"}})
		if err != nil {
			var se *SelectionError
			if !errors.As(err, &se) {
				t.Fatalf("Resolve error %v is not a *SelectionError", err)
			}
			continue
		}
		if res.Selection.Profile == "" || res.Override == nil {
			t.Fatalf("resolved %+v", res)
		}
		if res.Selection.Choices["image"] == "gpu" && len(u.Groups) == 0 {
			t.Fatalf("user without group got the gpu choice")
		}
		for _, v := range res.Selection.Unlisted {
			if !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 accepted: %q", v)
			}
		}
		// The complete selection resolves the same way again.
		again, err := l.Resolve(u, res.Selection, nil)
		if err != nil {
			t.Fatalf("complete selection %+v refused: %v", res.Selection, err)
		}
		if toJSON(t, again.Selection) != toJSON(t, res.Selection) {
			t.Fatalf("selection %s, again %s", toJSON(t, res.Selection), toJSON(t, again.Selection))
		}
	}
}

func FuzzParseForm(f *testing.F) {
	for _, seed := range []string{
		"",
		"profile=data&profile-option-data--image=base&profile-option-data--cpu=4+GB",
		"profile=data&profile-option-data--image=unlisted-choice&profile-option-data--image--unlisted-choice=my%2Fimg%3A1.0",
		"profile=data&profile-option-data--image--unlisted-choice=%7Bvalue%7D",
		"profile=small&profile=data",
		"profile=data&profile-option-data--image=gpu&_xsrf=abc",
		"profile=nope&profile-option-nope--x=1",
		"profile=data&profile-option-data--nope=1",
		"profile=%ff",
	} {
		f.Add(seed)
	}
	l := mustParse(f, fuzzList)
	f.Fuzz(func(t *testing.T, query string) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		s, err := ParseForm(form)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseForm error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if s.Profile != "" && !utf8.ValidString(s.Profile) {
			t.Fatalf("invalid UTF-8 profile %q", s.Profile)
		}
		checkSelection(t, l, s)
		// What the form gives back parses to the same selection.
		back, err := ParseForm(s.Form())
		if err != nil {
			t.Fatalf("form of %+v: %v", s, err)
		}
		if toJSON(t, back) != toJSON(t, normalized(s)) {
			t.Fatalf("form round trip: %s, want %s", toJSON(t, back), toJSON(t, normalized(s)))
		}
	})
}

// normalized drops choices that an unlisted value overrides, which a form
// cannot carry.
func normalized(s Selection) Selection {
	out := Selection{Profile: s.Profile}
	if s.Profile == "" {
		return out
	}
	for k, v := range s.Choices {
		if s.Unlisted[k] == "" && v != "" {
			setKey(&out.Choices, k, v)
		}
	}
	for k, v := range s.Unlisted {
		if v != "" {
			setKey(&out.Unlisted, k, v)
		}
	}
	return out
}

func FuzzParseUserOptions(f *testing.F) {
	for _, seed := range []string{
		``, `null`, `{}`, `[]`, `"x"`,
		`{"profile": "data", "image": "base", "cpu": "2"}`,
		`{"profile": "data", "image--unlisted-choice": "my/img:1.0"}`,
		`{"profile": "data", "image": "gpu"}`,
		`{"profile": "data", "cpu": 4, "x": null}`,
		`{"profile": {"a": 1}}`,
		`{"--unlisted-choice": "x"}`,
		`{"profile": "small", "profile": "data"}`,
	} {
		f.Add([]byte(seed))
	}
	l := mustParse(f, fuzzList)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseUserOptions(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		checkSelection(t, l, s)
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseUserOptions(raw)
		if err != nil || toJSON(t, back) != toJSON(t, s) {
			t.Fatalf("JSON round trip of %s: %s, %v", raw, toJSON(t, back), err)
		}
	})
}

// FuzzParse feeds arbitrary documents to the list parser: a list or an
// error wrapping ErrInvalidList, never a panic; a parsed list renders its
// form and resolves its defaults.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		``, `[]`, fuzzList, kubeSpawnerTestList,
		`[{"display_name": "A", "profile_options": {"x": {"choices": {"1": {}}}}}]`,
		"a: &a [*a, *a]\nb: *a",
		"- display_name: A\n  kubespawner_override:\n    <<: {cpu_limit: 1}\n",
		"- {display_name: yes, default: on}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidList) {
				t.Fatalf("error %v does not wrap ErrInvalidList", err)
			}
			return
		}
		u := User{Name: "u"}
		if _, err := l.Form(u, FormOptions{}); err != nil && !errors.Is(err, ErrNotAllowed) {
			t.Fatalf("Form: %v", err)
		}
		if _, err := l.Resolve(u, Selection{}, nil); err != nil {
			var se *SelectionError
			if !errors.As(err, &se) {
				t.Fatalf("Resolve: %v", err)
			}
		}
	})
}
