package profiles_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

func readList(t *testing.T, name string) *profiles.List {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	l, err := profiles.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return l
}

// kubeOptions reads the configuration the profiles apply to.
func kubeOptions(t *testing.T) kube.Options {
	t.Helper()
	raw, err := os.ReadFile("testdata/singleuser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var o kube.Options
	if err := yaml.UnmarshalStrict(raw, &o); err != nil {
		t.Fatalf("singleuser.yaml: %v", err)
	}
	return o
}

// asMap is o as the JSON object Resolve takes as base.
func asMap(t *testing.T, o kube.Options) map[string]any {
	t.Helper()
	raw, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, name, got)
}

// TestPodGolden resolves selections of the Spark demo's and a larger
// platform's profile list and renders the pods spawner/kube would create.
func TestPodGolden(t *testing.T) {
	alice := profiles.User{Name: "alice"}
	mlEngineer := profiles.User{Name: "bob", Groups: []string{"ml-engineers"}}
	admin := profiles.User{Name: "carol", Groups: []string{"staff", "platform-admins"}}
	cases := []struct {
		name, list string
		user       profiles.User
		form       url.Values // the spawn form, or
		options    string     // JSON user_options
		check      func(t *testing.T, objs *kube.Objects)
	}{
		{name: "spark-demo-defaults", list: "spark-demo.yaml", user: alice, form: url.Values{},
			check: func(t *testing.T, objs *kube.Objects) {
				c := objs.Pod.Spec.Containers[0]
				if c.Image != "quay.io/jupyter/pyspark-notebook:python-3.11.9" ||
					c.Resources.Limits.Cpu().String() != "2" || c.Resources.Limits.Memory().String() != "4Gi" {
					t.Errorf("image %s, limits %v", c.Image, c.Resources.Limits)
				}
			}},
		{name: "spark-demo-4cpu-8gb-spark", list: "spark-demo.yaml", user: alice, form: url.Values{
			"profile":                        {"default"},
			"profile-option-default--cpu":    {"4"},
			"profile-option-default--memory": {"8 GB"},
			"profile-option-default--image":  {"quay.io/jupyter/pyspark-notebook:spark-3.5.2"},
			"_xsrf":                          {"ignored"},
		}, check: func(t *testing.T, objs *kube.Objects) {
			c := objs.Pod.Spec.Containers[0]
			if c.Image != "quay.io/jupyter/pyspark-notebook:spark-3.5.2" ||
				c.Resources.Requests.Cpu().String() != "4" || c.Resources.Limits.Memory().String() != "8Gi" {
				t.Errorf("image %s, requests %v, limits %v", c.Image, c.Resources.Requests, c.Resources.Limits)
			}
		}},
		{name: "platform-small", list: "platform.yaml", user: alice, options: `{}`},
		{name: "platform-own-image", list: "platform.yaml", user: alice,
			options: `{"profile": "datascience", "image--unlisted-choice": "registry.example.com/notebooks/team-a:1.0"}`,
			check: func(t *testing.T, objs *kube.Objects) {
				c := objs.Pod.Spec.Containers[0]
				if c.Image != "registry.example.com/notebooks/team-a:1.0" || objs.Pod.Labels["example.com/custom-image"] != "true" {
					t.Errorf("image %s, labels %v", c.Image, objs.Pod.Labels)
				}
			}},
		{name: "platform-gpu", list: "platform.yaml", user: mlEngineer, form: url.Values{"profile": {"gpu-a100"}},
			check: func(t *testing.T, objs *kube.Objects) {
				spec := objs.Pod.Spec
				if got := spec.Containers[0].Resources.Limits["nvidia.com/gpu"]; got.String() != "1" {
					t.Errorf("gpu limit %v", got.String())
				}
				if _, ok := spec.NodeSelector["hub.jupyter.org/node-purpose"]; ok || spec.NodeSelector["cloud.google.com/gke-accelerator"] == "" {
					t.Errorf("node selector %v", spec.NodeSelector)
				}
				if len(spec.Tolerations) != 2 {
					t.Errorf("tolerations %v", spec.Tolerations)
				}
			}},
		{name: "platform-gpu-2", list: "platform.yaml", user: admin, options: `{"profile": "gpu-a100", "gpus": 2}`},
		{name: "platform-spark-spot", list: "platform.yaml", user: alice, form: url.Values{
			"profile":                      {"spark"},
			"profile-option-spark--pool":   {"spot"},
			"profile-option-spark--memory": {"16G"},
		}, check: func(t *testing.T, objs *kube.Objects) {
			if ns := objs.Pod.Spec.NodeSelector; len(ns) != 1 || ns["node.kubernetes.io/lifecycle"] != "spot" {
				t.Errorf("node selector %v", ns)
			}
		}},
	}
	opts := kubeOptions(t)
	base := asMap(t, opts)
	s, err := kube.New(fake.NewClientset(), kube.Config{Namespace: "jhub", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := readList(t, tc.list)
			var sel profiles.Selection
			var err error
			if tc.form != nil {
				sel, err = profiles.ParseForm(tc.form)
			} else {
				sel, err = profiles.ParseUserOptions([]byte(tc.options))
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := l.Resolve(tc.user, sel, base)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := s.Render(spawner.Request{
				Ref:        spawner.Ref{User: tc.user.Name},
				UserGroups: tc.user.Groups,
				APIToken:   "not-in-the-pod",
				Override:   res.Override,
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, objs)
			}
			userOptions, _ := json.Marshal(res.Selection)
			override, _ := json.Marshal(res.Override)
			pod, err := yaml.Marshal(objs.Pod)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			fmt.Fprintf(&b, "# %s, user %s %v\n# user_options: %s\n# override: %s\n", tc.list, tc.user.Name, tc.user.Groups, userOptions, override)
			b.Write(pod)
			golden(t, "pod-"+tc.name+".golden.yaml", b.Bytes())
		})
	}
}

// TestOverrideIsKubeSpawnerOrder checks that the one override Resolve
// returns, applied by spawner/kube, gives what applying the layers one by
// one gives: maps merge, nulls delete, and a map that the profile deletes
// and a choice sets again (node_selector, extra_pod_config.dnsConfig)
// keeps nothing of the configuration's.
func TestOverrideIsKubeSpawnerOrder(t *testing.T) {
	l, err := profiles.Parse([]byte(`
- display_name: Pinned
  kubespawner_override:
    node_selector: null
    extra_pod_config: {dnsConfig: null, hostname: null}
    extra_labels: {team: data}
    environment: {TRINO_HOST: null}
  profile_options:
    pool:
      choices:
        spot:
          kubespawner_override:
            node_selector: {lifecycle: spot}
            extra_pod_config: {dnsConfig: {searches: [data.svc.cluster.local]}}
            extra_labels: {team: null, pool: spot}
`))
	if err != nil {
		t.Fatal(err)
	}
	opts := kubeOptions(t)
	opts.ExtraPodConfig = map[string]any{"hostname": "h", "dnsConfig": map[string]any{"nameservers": []any{"1.1.1.1"}}}
	opts.ExtraLabels["team"] = "ops"
	base := asMap(t, opts)
	res, err := l.Resolve(profiles.User{Name: "u"}, profiles.Selection{}, base)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := opts.Apply(res.Override)
	if err != nil {
		t.Fatal(err)
	}
	p := l.Default()
	want := profiles.Merge(base, p.Override, p.Options[0].Choices[0].Override)
	if a, b := mustJSON(t, asMap(t, applied)), mustJSON(t, want); a != b {
		t.Errorf("kube applied\n%s\nKubeSpawner order gives\n%s", a, b)
	}
	if len(applied.NodeSelector) != 1 || applied.NodeSelector["lifecycle"] != "spot" {
		t.Errorf("node_selector %v", applied.NodeSelector)
	}
	if got := mustJSON(t, applied.ExtraPodConfig); got != `{"dnsConfig":{"searches":["data.svc.cluster.local"]}}` {
		t.Errorf("extra_pod_config %s", got)
	}
	if got := kube.MergeOverride(base, res.Override); mustJSON(t, got) != mustJSON(t, profiles.Merge(base, res.Override)) {
		t.Errorf("kube.MergeOverride and profiles.Merge disagree")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCheckWithKube runs every override of the golden lists through
// spawner/kube's option parser, and shows that a typo is caught at load.
func TestCheckWithKube(t *testing.T) {
	opts := kubeOptions(t)
	check := func(o map[string]any) error { _, err := opts.Apply(o); return err }
	for _, name := range []string{"spark-demo.yaml", "platform.yaml"} {
		if err := readList(t, name).Check(check); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	l, err := profiles.Parse([]byte(`
- display_name: Typo
  kubespawner_override: {cpu_limt: 2}
  profile_options:
    img:
      choices:
        a: {kubespawner_override: {mem_limit: lots}}
      unlisted_choice: {enabled: true, kubespawner_override: {imag: "{value}"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = l.Check(check)
	for _, want := range []string{`"cpu_limt"`, `choice "a"`, `mem_limit`, `"imag"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check: %v; want it to mention %s", err, want)
		}
	}
	if !errors.Is(err, profiles.ErrInvalidList) || !errors.Is(err, spawner.ErrInvalid) {
		t.Errorf("Check error %v wraps neither ErrInvalidList nor spawner.ErrInvalid", err)
	}
}

// TestFormGolden renders the spawn forms.
func TestFormGolden(t *testing.T) {
	cases := []struct {
		name, list string
		user       profiles.User
		opts       profiles.FormOptions
	}{
		{"spark-demo", "spark-demo.yaml", profiles.User{Name: "alice"}, profiles.FormOptions{}},
		{"platform-no-groups", "platform.yaml", profiles.User{Name: "alice"}, profiles.FormOptions{}},
		{"platform-admin-saved", "platform.yaml", profiles.User{Name: "carol", Groups: []string{"platform-admins"}}, profiles.FormOptions{
			Nonce: "r4nd0m",
			Selected: profiles.Selection{Profile: "datascience",
				Unlisted: map[string]string{"image": "registry.example.com/notebooks/team-a:1.0"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			html, err := readList(t, tc.list).Form(tc.user, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "form-"+tc.name+".golden.html", []byte(html))
		})
	}
}
