package profiles

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// kubeSpawnerTestList is tests/test_spawner.py's _test_profiles_dict in
// KubeSpawner, plus the list of test_profile.py's
// test_unlisted_choice_non_string_override.
const kubeSpawnerTestList = `
training-python:
  display_name: Training Env - Python
  slug: training-python
  default: true
  kubespawner_override:
    image: training/python:label
    cpu_limit: 1
    mem_limit: 536870912
    environment: {override: override-value}
training-r:
  display_name: Training Env - R
  slug: training-r
  kubespawner_override:
    image: training/r:label
    environment: {override: override-value, to-remove: null}
test-choices:
  display_name: Test choices
  slug: test-choices
  profile_options:
    image:
      display_name: Image
      unlisted_choice:
        enabled: true
        display_name: Image Location
        validation_regex: ^pangeo/.*$
        validation_message: Must be a pangeo image, matching ^pangeo/.*$
        kubespawner_override: {image: '{value}'}
      choices:
        pytorch:
          display_name: Python 3 Training Notebook
          kubespawner_override: {image: pangeo/pytorch-notebook:master}
        tf:
          display_name: R 4.2 Training Notebook
          default: true
          kubespawner_override: {image: training/r:label}
no-regex:
  display_name: Test choices no regex
  slug: no-regex
  profile_options:
    image:
      display_name: Image
      unlisted_choice: {enabled: true, kubespawner_override: {image: '{value}'}}
      choices:
        pytorch: {kubespawner_override: {image: pangeo/pytorch-notebook:master}}
cpu:
  display_name: CPU only
  slug: cpu
  profile_options:
    image:
      display_name: Image
      unlisted_choice:
        enabled: true
        validation_regex: ^pangeo/.*$
        kubespawner_override:
          image: '{value}'
          environment:
            CUSTOM_IMAGE_USED: 'yes'
            CUSTOM_IMAGE: '{value}'
            USER: '${JUPYTER_USER}'
            USER_TEST: '${{JUPYTER_USER}}'
          init_containers:
            - name: testing
              image: '{value}'
              securityContext: {runAsUser: 1000}
          extra_labels:
            '{value}-key': x
layered:
  display_name: Layered
  kubespawner_override:
    cpu_limit: 1
    environment: {A: profile, B: profile}
    node_selector: {pool: user}
  profile_options:
    size:
      choices:
        big:
          kubespawner_override:
            cpu_limit: 4
            environment: {B: null, C: size}
    pool:
      choices:
        default: {}
        gpu:
          kubespawner_override:
            cpu_limit: 8
            node_selector: {pool: null, gpu: a100}
`

func TestResolve(t *testing.T) {
	l := mustParse(t, kubeSpawnerTestList)
	u := User{Name: "u"}
	cases := []struct {
		name     string
		sel      Selection
		override string // JSON
		selected string // JSON of the complete selection
	}{
		{"default profile", Selection{},
			`{"cpu_limit":1,"environment":{"override":"override-value"},"image":"training/python:label","mem_limit":536870912}`,
			`{"profile":"training-python"}`},
		{"profile by slug, null kept to delete", Selection{Profile: "training-r"},
			`{"environment":{"override":"override-value","to-remove":null},"image":"training/r:label"}`,
			`{"profile":"training-r"}`},
		{"default choice", Selection{Profile: "test-choices"},
			`{"image":"training/r:label"}`, `{"image":"tf","profile":"test-choices"}`},
		{"first choice is the default", Selection{Profile: "no-regex"},
			`{"image":"pangeo/pytorch-notebook:master"}`, `{"image":"pytorch","profile":"no-regex"}`},
		{"choice", Selection{Profile: "test-choices", Choices: map[string]string{"image": "pytorch"}},
			`{"image":"pangeo/pytorch-notebook:master"}`, `{"image":"pytorch","profile":"test-choices"}`},
		{"unlisted wins over choice", Selection{Profile: "test-choices",
			Choices: map[string]string{"image": "pytorch"}, Unlisted: map[string]string{"image": "pangeo/test:latest"}},
			`{"image":"pangeo/test:latest"}`, `{"image--unlisted-choice":"pangeo/test:latest","profile":"test-choices"}`},
		{"unlisted without regex", Selection{Profile: "no-regex", Unlisted: map[string]string{"image": "invalid/foo:latest"}},
			`{"image":"invalid/foo:latest"}`, `{"image--unlisted-choice":"invalid/foo:latest","profile":"no-regex"}`},
		{"value substituted everywhere", Selection{Profile: "cpu", Unlisted: map[string]string{"image": "pangeo/pangeo-notebook:latest"}},
			`{"environment":{"CUSTOM_IMAGE":"pangeo/pangeo-notebook:latest","CUSTOM_IMAGE_USED":"yes","USER":"${JUPYTER_USER}","USER_TEST":"${JUPYTER_USER}"},` +
				`"extra_labels":{"pangeo/pangeo-notebook:latest-key":"x"},"image":"pangeo/pangeo-notebook:latest",` +
				`"init_containers":[{"image":"pangeo/pangeo-notebook:latest","name":"testing","securityContext":{"runAsUser":1000}}]}`,
			`{"image--unlisted-choice":"pangeo/pangeo-notebook:latest","profile":"cpu"}`},
		{"options apply in order", Selection{Profile: "layered", Choices: map[string]string{"size": "big", "pool": "gpu"}},
			`{"cpu_limit":8,"environment":{"A":"profile","B":null,"C":"size"},"node_selector":{"gpu":"a100","pool":null}}`,
			`{"pool":"gpu","profile":"layered","size":"big"}`},
		{"empty values are absent", Selection{Profile: "layered", Choices: map[string]string{"size": "", "pool": ""}, Unlisted: map[string]string{"pool": ""}},
			`{"cpu_limit":4,"environment":{"A":"profile","B":null,"C":"size"},"node_selector":{"pool":"user"}}`,
			`{"pool":"default","profile":"layered","size":"big"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := l.Resolve(u, tc.sel, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := toJSON(t, res.Override); got != tc.override {
				t.Errorf("override\n got %s\nwant %s", got, tc.override)
			}
			if got := toJSON(t, res.Selection); got != tc.selected {
				t.Errorf("selection %s, want %s", got, tc.selected)
			}
			if res.Profile == nil || res.Profile.Slug != res.Selection.Profile {
				t.Errorf("profile %+v", res.Profile)
			}
			// The complete selection resolves to the same override.
			again, err := l.Resolve(u, res.Selection, nil)
			if err != nil || toJSON(t, again.Override) != tc.override {
				t.Errorf("resolving the complete selection: %v, %s", err, toJSON(t, again.Override))
			}
		})
	}
	// The list's own overrides are not modified by resolving.
	p, _ := l.Profile("training-r")
	if _, ok := p.Override["environment"].(map[string]any)["to-remove"]; !ok {
		t.Error("Resolve modified the list")
	}
}

func TestResolveErrors(t *testing.T) {
	l := mustParse(t, kubeSpawnerTestList+`
gpu:
  display_name: GPU
  allowed_groups: [gpu]
  profile_options:
    count:
      choices:
        one: {}
        two: {allowed_users: [root]}
      unlisted_choice: {enabled: true, allowed_groups: [admins], kubespawner_override: {extra_resource_limits: {nvidia.com/gpu: '{value}'}}}
only-unlisted:
  display_name: Only unlisted
  profile_options:
    tag:
      display_name: Tag
      unlisted_choice: {enabled: true, display_name: Image tag}
`)
	u := User{Name: "bob", Groups: []string{"gpu"}}
	cases := []struct {
		name     string
		user     User
		sel      Selection
		sentinel error
		want     SelectionError // fields to compare, Message as a substring
	}{
		{"unknown profile", u, Selection{Profile: "nope"}, ErrUnknownProfile,
			SelectionError{Profile: "nope", Message: `no such profile; the profiles are "cpu", "gpu", "layered"`}},
		{"profile not allowed", User{Name: "eve"}, Selection{Profile: "gpu"}, ErrNotAllowed,
			SelectionError{Profile: "gpu", Message: `not available to user "eve"`}},
		{"unknown option", u, Selection{Profile: "training-r", Choices: map[string]string{"image": "x"}}, ErrUnknownOption,
			SelectionError{Profile: "training-r", Option: "image", Message: "its options are (none)"}},
		{"unknown unlisted option", u, Selection{Profile: "test-choices", Unlisted: map[string]string{"imagee": "x"}}, ErrUnknownOption,
			SelectionError{Profile: "test-choices", Option: "imagee", Message: `its options are "image"`}},
		{"choice not offered", u, Selection{Profile: "test-choices", Choices: map[string]string{"image": "julia"}}, ErrChoiceNotOffered,
			SelectionError{Profile: "test-choices", Option: "image", Choice: "julia", Message: `choice "julia" is not offered; the choices are "pytorch", "tf"`}},
		{"choice not allowed", u, Selection{Profile: "gpu", Choices: map[string]string{"count": "two"}}, ErrNotAllowed,
			SelectionError{Profile: "gpu", Option: "count", Choice: "two", Message: `choice "two" is not available to user "bob"`}},
		{"unlisted not enabled", u, Selection{Profile: "layered", Unlisted: map[string]string{"size": "huge"}}, ErrUnlistedNotEnabled,
			SelectionError{Profile: "layered", Option: "size", Message: "takes no free-form value"}},
		{"unlisted-choice selected without enabled", u, Selection{Profile: "layered", Choices: map[string]string{"size": UnlistedChoice}}, ErrUnlistedNotEnabled,
			SelectionError{Profile: "layered", Option: "size", Message: "takes no free-form value"}},
		{"unlisted not allowed", u, Selection{Profile: "gpu", Unlisted: map[string]string{"count": "4"}}, ErrNotAllowed,
			SelectionError{Profile: "gpu", Option: "count", Message: "free-form values are not available"}},
		{"regex mismatch", u, Selection{Profile: "test-choices", Unlisted: map[string]string{"image": "invalid/foo:latest"}}, ErrInvalidValue,
			SelectionError{Profile: "test-choices", Option: "image", Value: "invalid/foo:latest",
				Message: `"invalid/foo:latest" is not valid: Must be a pangeo image, matching ^pangeo/.*$`}},
		{"regex mismatch without message", u, Selection{Profile: "cpu", Unlisted: map[string]string{"image": "x"}}, ErrInvalidValue,
			SelectionError{Profile: "cpu", Option: "image", Value: "x", Message: `"x" is not valid: it must match ^pangeo/.*$`}},
		{"regex is anchored at the start", u, Selection{Profile: "cpu", Unlisted: map[string]string{"image": "not-pangeo/x"}}, ErrInvalidValue,
			SelectionError{Profile: "cpu", Option: "image", Value: "not-pangeo/x", Message: "is not valid"}},
		{"dollar anchors the very end", u, Selection{Profile: "test-choices", Unlisted: map[string]string{"image": "pangeo/x\n"}}, nil, SelectionError{}},
		{"other selected but empty", u, Selection{Profile: "test-choices", Choices: map[string]string{"image": UnlistedChoice}}, ErrInvalidValue,
			SelectionError{Profile: "test-choices", Option: "image", Message: "enter a value for Image Location"}},
		{"option needs a value", u, Selection{Profile: "only-unlisted"}, ErrInvalidValue,
			SelectionError{Profile: "only-unlisted", Option: "tag", Message: "Tag needs a value"}},
		{"a value with braces is inserted as it is", u, Selection{Profile: "cpu", Unlisted: map[string]string{"image": "pangeo/{value}"}}, nil, SelectionError{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Resolve(tc.user, tc.sel, nil)
			if tc.sentinel == nil {
				if tc.name == "dollar anchors the very end" && (err == nil || !errors.Is(err, ErrInvalidValue)) {
					t.Errorf("a value with a final newline passed ^pangeo/.*$: %v", err)
				}
				if tc.name == "a value with braces is inserted as it is" && err != nil {
					t.Errorf("%v", err)
				}
				return
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("err %v, want %v", err, tc.sentinel)
			}
			var se *SelectionError
			if !errors.As(err, &se) {
				t.Fatalf("%T is not a *SelectionError", err)
			}
			if se.Profile != tc.want.Profile || se.Option != tc.want.Option || se.Choice != tc.want.Choice || se.Value != tc.want.Value {
				t.Errorf("error fields %+v, want %+v", *se, tc.want)
			}
			if !strings.Contains(se.Message, tc.want.Message) {
				t.Errorf("message %q, want it to contain %q", se.Message, tc.want.Message)
			}
			if !strings.HasPrefix(err.Error(), "profiles: ") {
				t.Errorf("error %q has no package prefix", err)
			}
		})
	}

	t.Run("nobody admitted", func(t *testing.T) {
		l := mustParse(t, `[{display_name: A, allowed_groups: [x]}]`)
		_, err := l.Resolve(User{Name: "u"}, Selection{}, nil)
		if !errors.Is(err, ErrNotAllowed) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("empty list", func(t *testing.T) {
		l := mustParse(t, ``)
		res, err := l.Resolve(User{Name: "u"}, Selection{}, nil)
		if err != nil || len(res.Override) != 0 || res.Profile != nil {
			t.Errorf("%+v %v", res, err)
		}
		if _, err := l.Resolve(User{Name: "u"}, Selection{Profile: "x"}, nil); !errors.Is(err, ErrUnknownProfile) {
			t.Errorf("err %v", err)
		}
	})
}

// TestResolveConcurrently shares one List between goroutines (run with
// -race).
func TestResolveConcurrently(t *testing.T) {
	l := mustParse(t, kubeSpawnerTestList)
	base := map[string]any{"environment": map[string]any{"override": "base"}}
	done := make(chan string)
	for i := range 8 {
		go func() {
			sel := Selection{Profile: "test-choices", Unlisted: map[string]string{"image": "pangeo/x:" + string(rune('a'+i))}}
			res, err := l.Resolve(User{Name: "u"}, sel, base)
			if err != nil {
				done <- err.Error()
				return
			}
			res.Override["image"] = "changed"
			_, _ = l.Form(User{Name: "u"}, FormOptions{Selected: sel})
			done <- ""
		}()
	}
	for range 8 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
	p, _ := l.Profile("test-choices")
	if p.Options[0].Unlisted.Override["image"] != "{value}" {
		t.Error("a caller's change to an override reached the list")
	}
}

func TestFormatTreeKeyCollision(t *testing.T) {
	_, err := formatTree(map[string]any{"{value}": 1, "x": 2}, "x", "")
	if err == nil || !strings.Contains(err.Error(), `two keys become "x"`) {
		t.Errorf("err %v", err)
	}
}

func TestFormatValue(t *testing.T) {
	cases := []struct {
		in, want string
		err      string
	}{
		{"{value}", "V", ""},
		{"image:{value}", "image:V", ""},
		{"{value}-{value}", "V-V", ""},
		{"no braces", "no braces", ""},
		{"{{value}}", "{value}", ""},
		{"${{JUPYTER_USER}}", "${JUPYTER_USER}", ""},
		{"{username}-{value}", "{username}-V", ""},
		{"${JUPYTER_USER}", "${JUPYTER_USER}", ""},
		{"{value ", "", "unmatched '{'"},
		{"{a{value}}", "", "unmatched '{'"},
		{"}", "", "single '}'"},
		{"{}", "", "empty field"},
		{"{value:>10}", "", "not supported"},
		{"{value!r}", "", "not supported"},
		{"{value.upper}", "", "not supported"},
		{"{value[0]}", "", "not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := formatValue(tc.in, "V")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	base := map[string]any{
		"cpu_limit":     1,
		"node_selector": map[string]any{"pool": "user", "zone": "a"},
		"tolerations":   []any{"t1"},
		"image":         "base",
	}
	got := Merge(base,
		map[string]any{"node_selector": map[string]any{"pool": nil, "gpu": "a100"}, "tolerations": []any{"t2"}, "image": nil},
		map[string]any{"cpu_limit": 4, "environment": map[string]any{"A": "1", "B": nil}},
	)
	want := `{"cpu_limit":4,"environment":{"A":"1"},"node_selector":{"gpu":"a100","zone":"a"},"tolerations":["t2"]}`
	if s := toJSON(t, got); s != want {
		t.Errorf("Merge = %s, want %s", s, want)
	}
	if s := toJSON(t, base); s != `{"cpu_limit":1,"image":"base","node_selector":{"pool":"user","zone":"a"},"tolerations":["t1"]}` {
		t.Errorf("Merge modified base: %s", s)
	}
	if got := Merge(nil); got == nil || len(got) != 0 {
		t.Errorf("Merge(nil) = %v", got)
	}
}

// TestComposeIsSequential checks on random overrides that the composed
// override, applied to the configuration, gives what applying the layers
// one after the other gives: with the configuration as base always, and
// without it whenever no layer deletes a map that a later one sets.
func TestComposeIsSequential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var gen func(depth int, nils bool) any
	gen = func(depth int, nils bool) any {
		switch n := r.IntN(10); {
		case n < 2 && nils:
			return nil
		case n < 4:
			return r.IntN(3)
		case n < 5:
			return []any{r.IntN(3)}
		case depth < 3:
			m := map[string]any{}
			for range r.IntN(4) {
				m[string(rune('a'+r.IntN(3)))] = gen(depth+1, nils)
			}
			return m
		default:
			return "s"
		}
	}
	genMap := func(nils bool) map[string]any {
		m := map[string]any{}
		for range 1 + r.IntN(3) {
			m[string(rune('a'+r.IntN(3)))] = gen(1, nils)
		}
		return m
	}
	for i := range 5000 {
		base := genMap(false)
		layers := make([]map[string]any, 1+r.IntN(4))
		for j := range layers {
			layers[j] = genMap(true)
		}
		want := toJSON(t, Merge(base, layers...))
		patch := map[string]any{}
		for _, l := range layers {
			compose(patch, l)
		}
		if got := toJSON(t, Merge(base, emit(patch, base))); got != want {
			t.Fatalf("case %d: base %s, layers %s:\ncomposed gives %s\nsequential gives %s",
				i, toJSON(t, base), toJSON(t, layers), got, want)
		}
		if !hasReplace(patch) {
			if got := toJSON(t, Merge(base, emit(patch, nil))); got != want {
				t.Fatalf("case %d without base: %s, want %s", i, got, want)
			}
		}
	}
}

func hasReplace(m map[string]any) bool {
	for _, v := range m {
		switch t := v.(type) {
		case replaceMap:
			return true
		case map[string]any:
			if hasReplace(t) {
				return true
			}
		}
	}
	return false
}

func TestSelectionErrorMessage(t *testing.T) {
	cases := []struct {
		err  SelectionError
		want string
	}{
		{SelectionError{Message: "no profile is available"}, "profiles: no profile is available"},
		{SelectionError{Profile: "gpu", Message: "m"}, `profiles: profile "gpu": m`},
		{SelectionError{Profile: "gpu", Option: "image", Message: "m"}, `profiles: profile "gpu", option "image": m`},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	if !reflect.DeepEqual(errors.Unwrap(&SelectionError{Err: ErrNotAllowed}), ErrNotAllowed) {
		t.Error("Unwrap")
	}
}
