package hubconfig_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/hubconfig"
	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

// TestFixturePods renders, for each fixture deployment and each of its
// profiles, the pod and volume claim spawner/kube creates for a user, into
// testdata/pods/<fixture>-<profile>.golden.yaml (go test -update writes
// them). They are what a reviewer compares with what z2jh + KubeSpawner
// create for the same values: names, labels, resources, volumes,
// environment, security context.
func TestFixturePods(t *testing.T) {
	user := spawner.Ref{User: "Jörg.Müller@uni.example"}
	for _, fixture := range []string{"z2jh-default-values", "university", "spark-demo", "lakehouse"} {
		t.Run(fixture, func(t *testing.T) {
			cfg, _, err := hubconfig.LoadFile(filepath.Join("testdata", fixture+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			kc := cfg.Kube
			kc.Namespace = "jhub"
			s, err := kube.New(fake.NewClientset(), kc)
			if err != nil {
				t.Fatal(err)
			}
			var base map[string]any
			b, _ := json.Marshal(kc.Options)
			_ = json.Unmarshal(b, &base)
			slugs := []string{""}
			if cfg.Profiles != nil {
				slugs = nil
				for _, p := range cfg.Profiles.Profiles() {
					slugs = append(slugs, p.Slug)
				}
			}
			for _, slug := range slugs {
				req := spawner.Request{
					Ref:      user,
					APIToken: "never-in-the-pod",
					Env: map[string]string{
						"JUPYTERHUB_API_URL":        "http://hubkit-api:8081/hub/api",
						"JUPYTERHUB_SERVICE_PREFIX": "/user/J%C3%B6rg.M%C3%BCller@uni.example/",
					},
				}
				if cfg.Profiles != nil {
					// Any group: render what the profile gives, whoever may
					// use it.
					all := cfg.Profiles.Filter(func(*profiles.Profile) bool { return true })
					res, err := all.Resolve(profiles.User{Name: user.User, Groups: allGroups(cfg.Profiles)}, profiles.Selection{Profile: slug}, base)
					if err != nil {
						t.Fatalf("profile %s: %v", slug, err)
					}
					req.Override = res.Override
				}
				objs, err := s.Render(req)
				if err != nil {
					t.Fatalf("profile %q: %v", slug, err)
				}
				out, err := yaml.Marshal(map[string]any{"pod": objs.Pod, "pvc": objs.PVC})
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(out), "never-in-the-pod") {
					t.Fatalf("the API token is in the pod spec")
				}
				name := fixture
				if slug != "" {
					name += "-" + slug
				}
				testenv.Golden(t, filepath.Join("pods", name+".golden.yaml"), out)
			}
		})
	}
}

// allGroups is every group any profile, choice or unlisted choice of l is
// restricted to, so that the fixture user may use all of them.
func allGroups(l *profiles.List) []string {
	b, _ := json.Marshal(l.Profiles())
	var groups []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "allowed_groups" || k == "AllowedGroups" || k == "groups" {
					if list, ok := e.([]any); ok {
						for _, g := range list {
							if s, ok := g.(string); ok {
								groups = append(groups, s)
							}
						}
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var v any
	_ = json.Unmarshal(b, &v)
	walk(v)
	return groups
}
