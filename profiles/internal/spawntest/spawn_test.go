package spawntest_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

var cluster *testenv.Kube

func TestMain(m *testing.M) { os.Exit(testenv.MainWithKube(m, &cluster)) }

// TestSpawnWithProfile starts a server with a profile of the platform list
// on a real API server and checks that the pod there is the pod the
// profile describes (the one spawner/kube renders, which the golden files
// of package profiles pin down).
func TestSpawnWithProfile(t *testing.T) {
	k := testenv.NeedKube(t, cluster)
	ns := k.Namespace(t)
	(&testenv.Kubelet{Client: k.Client, Namespace: ns}).Start(t)

	raw, err := os.ReadFile("../../testdata/platform.yaml")
	if err != nil {
		t.Fatal(err)
	}
	list, err := profiles.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	rawOpts, err := os.ReadFile("../../testdata/singleuser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var opts kube.Options
	if err := yaml.UnmarshalStrict(rawOpts, &opts); err != nil {
		t.Fatal(err)
	}
	if err := list.Check(func(o map[string]any) error { _, err := opts.Apply(o); return err }); err != nil {
		t.Fatal(err)
	}
	base := map[string]any{}
	b, _ := json.Marshal(opts)
	if err := json.Unmarshal(b, &base); err != nil {
		t.Fatal(err)
	}

	s, err := kube.New(k.Client, kube.Config{Namespace: ns, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	testenv.RunInBackground(t, s.Run)

	user := profiles.User{Name: "bob", Groups: []string{"ml-engineers"}}
	sel, err := profiles.ParseForm(url.Values{"profile": {"gpu-a100"}, "profile-option-gpu-a100--gpus": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := list.Resolve(user, sel, base)
	if err != nil {
		t.Fatal(err)
	}
	req := spawner.Request{Ref: spawner.Ref{User: user.Name}, UserGroups: user.Groups, APIToken: "token", Override: res.Override}
	want, err := s.Render(req)
	if err != nil {
		t.Fatal(err)
	}
	startCtx, stop := context.WithTimeout(t.Context(), time.Minute)
	defer stop()
	srv, err := s.Start(startCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := k.Client.CoreV1().Pods(ns).Get(t.Context(), srv.State[kube.StatePod], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, exp := pod.Spec.Containers[0], want.Pod.Spec.Containers[0]
	if got.Image != "quay.io/jupyter/pytorch-notebook:cuda12-2024-06-17" || got.Image != exp.Image {
		t.Errorf("image %s, want %s", got.Image, exp.Image)
	}
	if gpu := got.Resources.Limits["nvidia.com/gpu"]; gpu.String() != "1" {
		t.Errorf("gpu limit %s", gpu.String())
	}
	// The API server copies extended-resource limits into requests; the
	// rendered quantities must all be there.
	for _, rl := range [][2]corev1.ResourceList{{got.Resources.Limits, exp.Resources.Limits}, {got.Resources.Requests, exp.Resources.Requests}} {
		for name, q := range rl[1] {
			if have, ok := rl[0][name]; !ok || have.Cmp(q) != 0 {
				t.Errorf("resource %s = %v, want %v", name, have.String(), q.String())
			}
		}
	}
	if !equalJSON(t, got.Env, exp.Env) {
		t.Errorf("env %v, want %v", got.Env, exp.Env)
	}
	spec := pod.Spec
	if _, ok := spec.NodeSelector["hub.jupyter.org/node-purpose"]; ok || spec.NodeSelector["cloud.google.com/gke-accelerator"] != "nvidia-tesla-a100" {
		t.Errorf("node selector %v", spec.NodeSelector)
	}
	// The API server adds the not-ready/unreachable tolerations after the
	// rendered ones.
	if len(spec.Tolerations) < 2 || !equalJSON(t, spec.Tolerations[:2], want.Pod.Spec.Tolerations) {
		t.Errorf("tolerations %v, want %v first", spec.Tolerations, want.Pod.Spec.Tolerations)
	}

	// A user outside the groups cannot resolve the GPU profile, so nothing
	// is started for them.
	if _, err := list.Resolve(profiles.User{Name: "eve"}, sel, base); err == nil {
		t.Error("eve resolved the GPU profile")
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}
