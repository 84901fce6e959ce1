package kube_test

import (
	"os"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

func loadOptions(t *testing.T) kube.Options {
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

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Golden(t, name, got)
}

func TestRenderGolden(t *testing.T) {
	s, err := kube.New(fake.NewClientset(), kube.Config{Namespace: "jhub", Options: loadOptions(t)})
	if err != nil {
		t.Fatal(err)
	}
	req := spawner.Request{
		Ref:      spawner.Ref{User: "Jörg.Müller@uni.example", Server: "Spark Lab"},
		APIToken: "not-in-the-pod",
		Env: map[string]string{
			"JUPYTERHUB_API_URL":        "http://hub:8081/hub/api",
			"JUPYTERHUB_CLIENT_ID":      "jupyterhub-user-J%C3%B6rg.M%C3%BCller%40uni.example-Spark%20Lab",
			"JUPYTERHUB_USER":           "Jörg.Müller@uni.example",
			"JUPYTERHUB_SERVER_NAME":    "Spark Lab",
			"JUPYTERHUB_SERVICE_PREFIX": "/user/J%C3%B6rg.M%C3%BCller@uni.example/Spark%20Lab/",
		},
		Override: map[string]any{"cpu_limit": 4, "node_selector": map[string]any{"gpu": "true"}},
	}
	objs, err := s.Render(req)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "pod.golden.yaml", objs.Pod)
	golden(t, "pvc.golden.yaml", objs.PVC)
	raw, _ := yaml.Marshal(objs.Pod)
	if strings.Contains(string(raw), "not-in-the-pod") {
		t.Error("the API token appears in the pod manifest")
	}
}

func TestOverrideMerge(t *testing.T) {
	base := loadOptions(t)
	cases := []struct {
		name     string
		override map[string]any
		check    func(t *testing.T, o kube.Options)
	}{
		{"replace scalar", map[string]any{"image": "other:1"}, func(t *testing.T, o kube.Options) {
			if o.Image != "other:1" {
				t.Errorf("image %q", o.Image)
			}
		}},
		{"merge map", map[string]any{"node_selector": map[string]any{"gpu": "a100"}}, func(t *testing.T, o kube.Options) {
			if o.NodeSelector["gpu"] != "a100" || o.NodeSelector["hub.jupyter.org/node-purpose"] != "user" {
				t.Errorf("node_selector %v", o.NodeSelector)
			}
		}},
		{"null deletes key", map[string]any{"node_selector": map[string]any{"hub.jupyter.org/node-purpose": nil}, "cpu_limit": nil}, func(t *testing.T, o kube.Options) {
			if len(o.NodeSelector) != 0 || o.CPULimit != 0 {
				t.Errorf("node_selector %v cpu_limit %v", o.NodeSelector, o.CPULimit)
			}
		}},
		{"list replaces", map[string]any{"tolerations": []any{}}, func(t *testing.T, o kube.Options) {
			if len(o.Tolerations) != 0 {
				t.Errorf("tolerations %v", o.Tolerations)
			}
		}},
		{"byte size forms", map[string]any{"mem_limit": "8G", "mem_guarantee": "512Mi"}, func(t *testing.T, o kube.Options) {
			if o.MemLimit != 8<<30 || o.MemGuarantee != 512<<20 {
				t.Errorf("mem %d %d", o.MemLimit, o.MemGuarantee)
			}
		}},
		{"env merges", map[string]any{"environment": map[string]any{"EXTRA": "1"}}, func(t *testing.T, o kube.Options) {
			if o.Environment["EXTRA"].Value != "1" || o.Environment["TRINO_HOST"].Value == "" {
				t.Errorf("environment %v", o.Environment)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := base.Apply(tc.override)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
	if _, err := base.Apply(map[string]any{"cpu_limt": 1, "imag": "x"}); err == nil ||
		!strings.Contains(err.Error(), `"cpu_limt"`) || !strings.Contains(err.Error(), `"imag"`) {
		t.Errorf("unknown keys: err = %v, want both named", err)
	}
	if _, err := base.Apply(map[string]any{"cpu_limit": "many"}); err == nil || !strings.Contains(err.Error(), "cpu_limit") {
		t.Errorf("bad type: err = %v, want it to name cpu_limit", err)
	}
}

func TestPodNames(t *testing.T) {
	s, err := kube.New(fake.NewClientset(), kube.Config{Namespace: "jhub"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref       spawner.Ref
		pod, user string
	}{
		{spawner.Ref{User: "alex"}, "jupyter-alex", "alex"},
		// safe_slug("Alex") = alex---db74c940 (the user name is slugged, not the pod name)
		{spawner.Ref{User: "Alex"}, "jupyter-alex---db74c940", "Alex"},
		{spawner.Ref{User: "user@email.com"}, "jupyter-user-email-com---0925f997", "user-email-com---0925f997"},
		{spawner.Ref{User: "9z9"}, "jupyter-x-9z9---224de202", "9z9"},
		{spawner.Ref{User: "username--servername"}, "jupyter-username-servername---d957f1de", "username-servername---d957f1de"},
		{spawner.Ref{User: "user@email.com", Server: "Some Name"}, "jupyter-user-email-com---0925f997--some-name---3a8b1764", "user-email-com---0925f997"},
		// A 64-character user slugs to 48 characters with the per-field
		// budget, which leaves no room: KubeSpawner then hashes jointly.
		{spawner.Ref{User: strings.Repeat("x", 64)}, "jupyter-xxxxxxxxxxxxxxxxx--x---e68039bf", "xxxxxxxxxxxxxxxxxxxxx---7ce10097"},
	}
	for _, tc := range cases {
		objs, err := s.Render(spawner.Request{Ref: tc.ref})
		if err != nil {
			t.Fatal(err)
		}
		if objs.Pod.Name != tc.pod {
			t.Errorf("%s: pod %q, want %q", tc.ref, objs.Pod.Name, tc.pod)
		}
		if got := objs.Pod.Labels[kube.LabelUsername]; got != tc.user {
			t.Errorf("%s: username label %q, want %q", tc.ref, got, tc.user)
		}
	}
}

func TestRenderRejectsBadNames(t *testing.T) {
	s, err := kube.New(fake.NewClientset(), kube.Config{Namespace: "jhub"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []spawner.Ref{{User: ""}, {User: "a/b"}, {User: "x", Server: "y\n"}} {
		if _, err := s.Render(spawner.Request{Ref: ref}); err == nil {
			t.Errorf("%q rendered", ref.String())
		}
	}
	for _, user := range []string{"ÜNICODE ünïcödé", "UPPER", "a--b", strings.Repeat("é", 127)} {
		objs, err := s.Render(spawner.Request{Ref: spawner.Ref{User: user, Server: strings.ToUpper(user)}})
		if err != nil {
			t.Errorf("%q: %v", user, err)
			continue
		}
		if len(objs.Pod.Name) > 63 {
			t.Errorf("%q: pod name %q too long", user, objs.Pod.Name)
		}
	}
}
