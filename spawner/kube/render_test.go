package kube_test

import (
	"cmp"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
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

// TestRenderGolden renders a full z2jh-style configuration: for the
// "safe" scheme into testdata/{pod,pvc}.golden.yaml, and for the "escape"
// scheme into testdata/{pod,pvc}.escape.golden.yaml. The escape case uses an
// e-mail-style user whose escaped name is a valid label value, because the
// configuration puts {username} into a label (as KubeSpawner < 7 would, the
// escape scheme leaves such templates alone).
func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		scheme, suffix string
		ref            spawner.Ref
		env            map[string]string
	}{
		{"", "", spawner.Ref{User: "Jörg.Müller@uni.example", Server: "Spark Lab"}, map[string]string{
			"JUPYTERHUB_CLIENT_ID":      "jupyterhub-user-J%C3%B6rg.M%C3%BCller%40uni.example-Spark%20Lab",
			"JUPYTERHUB_USER":           "Jörg.Müller@uni.example",
			"JUPYTERHUB_SERVER_NAME":    "Spark Lab",
			"JUPYTERHUB_SERVICE_PREFIX": "/user/J%C3%B6rg.M%C3%BCller@uni.example/Spark%20Lab/",
		}},
		{"escape", ".escape", spawner.Ref{User: "a.b@example.org", Server: "Spark Lab"}, map[string]string{
			"JUPYTERHUB_CLIENT_ID":      "jupyterhub-user-a.b%40example.org-Spark%20Lab",
			"JUPYTERHUB_USER":           "a.b@example.org",
			"JUPYTERHUB_SERVER_NAME":    "Spark Lab",
			"JUPYTERHUB_SERVICE_PREFIX": "/user/a.b@example.org/Spark%20Lab/",
		}},
	} {
		t.Run(cmp.Or(tc.scheme, "safe"), func(t *testing.T) {
			s, err := kube.New(fake.NewClientset(), kube.Config{Namespace: "jhub", SlugScheme: tc.scheme, Options: loadOptions(t)})
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"JUPYTERHUB_API_URL": "http://hub:8081/hub/api"}
			maps.Copy(env, tc.env)
			objs, err := s.Render(spawner.Request{
				Ref:      tc.ref,
				APIToken: "not-in-the-pod",
				Env:      env,
				Override: map[string]any{"cpu_limit": 4, "node_selector": map[string]any{"gpu": "true"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "pod"+tc.suffix+".golden.yaml", objs.Pod)
			golden(t, "pvc"+tc.suffix+".golden.yaml", objs.PVC)
			raw, _ := yaml.Marshal(objs.Pod)
			if strings.Contains(string(raw), "not-in-the-pod") {
				t.Error("the API token appears in the pod manifest")
			}
		})
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

// namesUsers are users whose names the two slug schemes treat differently:
// unicode, upper case, e-mail style, characters that only the escape scheme
// escapes ('-', '_'), a leading digit, and named servers.
var namesUsers = []spawner.Ref{
	{User: "alice"},
	{User: "alice", Server: "lab"},
	{User: "Alex"},
	{User: "a.b@example.org"},
	{User: "a.b@example.org", Server: "lab"},
	{User: "Jörg.Müller@uni.example"},
	{User: "Jörg.Müller@uni.example", Server: "Spark Lab"},
	{User: "用户"},
	{User: "a-b"},
	{User: "a_b", Server: "x"},
	{User: "9z9"},
	{User: "carol", Server: "Lab 1"},
}

// objectNames are the names and labels of one server's objects.
type objectNames struct {
	User            string   `json:"user"`
	Server          string   `json:"server,omitempty"`
	Namespace       string   `json:"namespace"`
	Pod             string   `json:"pod"`
	PVC             string   `json:"pvc"`
	Secret          string   `json:"secret"`
	ClaimName       string   `json:"claimName"`
	UsernameLabel   string   `json:"usernameLabel"`
	ServernameLabel string   `json:"servernameLabel"`
	PVCLabel        string   `json:"pvcUsernameLabel"`
	NamespaceLabel  string   `json:"namespaceUsernameLabel"`
	LegacyClaims    []string `json:"legacyClaims,omitempty"`
}

// TestNamesGolden records, per slug scheme, every name and label of the
// objects of namesUsers' servers with per-user namespaces, and the legacy
// claim names Start would look for: testdata/names.safe.golden.yaml and
// testdata/names.escape.golden.yaml.
func TestNamesGolden(t *testing.T) {
	for _, scheme := range []string{"safe", "escape"} {
		t.Run(scheme, func(t *testing.T) {
			s, err := kube.New(fake.NewClientset(), kube.Config{Namespace: "jhub", SlugScheme: scheme,
				EnableUserNamespaces: true, Options: homeOptions()})
			if err != nil {
				t.Fatal(err)
			}
			var out []objectNames
			for _, ref := range namesUsers {
				req := spawner.Request{Ref: ref}
				objs, err := s.Render(req)
				if err != nil {
					t.Fatalf("%s: %v", ref, err)
				}
				legacy, err := s.LegacyClaimNames(req)
				if err != nil {
					t.Fatalf("%s: %v", ref, err)
				}
				out = append(out, objectNames{
					User: ref.User, Server: ref.Server,
					Namespace:       objs.Namespace.Name,
					Pod:             objs.Pod.Name,
					PVC:             objs.PVC.Name,
					Secret:          objs.Secret.Name,
					ClaimName:       objs.Pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName,
					UsernameLabel:   objs.Pod.Labels[kube.LabelUsername],
					ServernameLabel: objs.Pod.Labels[kube.LabelServername],
					PVCLabel:        objs.PVC.Labels[kube.LabelUsername],
					NamespaceLabel:  objs.Namespace.Labels[kube.LabelUsername],
					LegacyClaims:    legacy,
				})
			}
			golden(t, "names."+scheme+".golden.yaml", out)
		})
	}
}

// homeOptions mount the server's claim at /home/jovyan, as z2jh does.
func homeOptions() kube.Options {
	return kube.Options{
		StoragePVCEnsure: true,
		Volumes: []corev1.Volume{{Name: "home", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "{pvc_name}"}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "home", MountPath: "/home/jovyan"}},
	}
}

// TestEscapeSchemeNames checks the escape scheme against KubeSpawner < 7:
// its default templates jupyter-{username}--{servername} and
// claim-{username}--{servername}, z2jh's {hubnamespace}-{username}
// namespaces, and escaped username and servername labels, where
// {username} is escapism.escape(name, safe=[a-z0-9], escape_char='-').lower().
func TestEscapeSchemeNames(t *testing.T) {
	s, err := kube.New(fake.NewClientset(), kube.Config{Namespace: "jhub", SlugScheme: "escape",
		EnableUserNamespaces: true, Options: kube.Options{StoragePVCEnsure: true}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref                        spawner.Ref
		ns, pod, pvc, user, server string
	}{
		{spawner.Ref{User: "alice", Server: "lab"}, "jhub-alice", "jupyter-alice--lab", "claim-alice--lab", "alice", "lab"},
		{spawner.Ref{User: "a.b@example.org"}, "jhub-a-2eb-40example-2eorg", "jupyter-a-2eb-40example-2eorg",
			"claim-a-2eb-40example-2eorg", "a-2eb-40example-2eorg", ""},
		{spawner.Ref{User: "a.b@example.org", Server: "lab"}, "jhub-a-2eb-40example-2eorg", "jupyter-a-2eb-40example-2eorg--lab",
			"claim-a-2eb-40example-2eorg--lab", "a-2eb-40example-2eorg", "lab"},
		{spawner.Ref{User: "a-b"}, "jhub-a-2db", "jupyter-a-2db", "claim-a-2db", "a-2db", ""},
		{spawner.Ref{User: "a_b", Server: "x"}, "jhub-a-5fb", "jupyter-a-5fb--x", "claim-a-5fb--x", "a-5fb", "x"},
		{spawner.Ref{User: "9z9"}, "jhub-9z9", "jupyter-9z9", "claim-9z9", "9z9", ""},
		// Escaped names that start with '-' are no valid label values, so
		// KubeSpawner < 7 could not create these pods; their labels are
		// the safe ones.
		{spawner.Ref{User: "carol", Server: "Lab 1"}, "jhub-carol", "jupyter-carol---4cab-201", "claim-carol---4cab-201", "carol", "lab-1---fca379a7"},
		{spawner.Ref{User: "Alex"}, "jhub--41lex", "jupyter--41lex", "claim--41lex", "Alex", ""},
		{spawner.Ref{User: "Jörg.Müller@uni.example", Server: "Spark Lab"}, "jhub--4a-c3-b6rg-2e-4d-c3-bcller-40uni-2eexample",
			"jupyter--4a-c3-b6rg-2e-4d-c3-bcller-40uni-2eexample---53park-20-4cab",
			"claim--4a-c3-b6rg-2e-4d-c3-bcller-40uni-2eexample---53park-20-4cab", "j-rg-m-ller-uni-examp---cb5be76b", "spark-lab---c8345f9a"},
		{spawner.Ref{User: "用户"}, "jhub--e7-94-a8-e6-88-b7", "jupyter--e7-94-a8-e6-88-b7", "claim--e7-94-a8-e6-88-b7", "x---0d0e1a86", ""},
	}
	for _, tc := range cases {
		objs, err := s.Render(spawner.Request{Ref: tc.ref})
		if err != nil {
			t.Fatalf("%s: %v", tc.ref, err)
		}
		got := []string{objs.Namespace.Name, objs.Pod.Name, objs.PVC.Name, objs.Pod.Labels[kube.LabelUsername],
			objs.PVC.Labels[kube.LabelUsername], objs.Namespace.Labels[kube.LabelUsername]}
		want := []string{tc.ns, tc.pod, tc.pvc, tc.user, tc.user, tc.user}
		if !slices.Equal(got, want) {
			t.Errorf("%s: namespace, pod, claim and username labels\n got %q\nwant %q", tc.ref, got, want)
		}
		if objs.Pod.Labels[kube.LabelServername] != tc.server {
			t.Errorf("%s: servername label %q, want %q", tc.ref, objs.Pod.Labels[kube.LabelServername], tc.server)
		}
	}
}
