package kube_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
	"github.com/hubkit/hubkit/spawner/spawnertest"
)

var cluster *testenv.Kube

func TestMain(m *testing.M) { os.Exit(testenv.MainWithKube(m, &cluster)) }

// setup returns a fresh namespace with a simulated kubelet.
func setup(t *testing.T, decide func(*corev1.Pod) testenv.Behaviour) (*testenv.Kube, string) {
	t.Helper()
	k := testenv.NeedKube(t, cluster)
	ns := k.Namespace(t)
	(&testenv.Kubelet{Client: k.Client, Namespace: ns, Decide: decide}).Start(t)
	return k, ns
}

// newSpawner builds and runs a spawner until the test ends.
func newSpawner(t *testing.T, k *testenv.Kube, cfg kube.Config) *kube.Spawner {
	t.Helper()
	s, err := kube.New(k.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	testenv.RunInBackground(t, s.Run)
	return s
}

func TestConformance(t *testing.T) {
	spawnertest.Run(t, spawnertest.Harness{
		Setup: func(t *testing.T) func() spawner.Spawner {
			k, ns := setup(t, nil)
			cfg := kube.Config{Namespace: ns, Options: kube.Options{StoragePVCEnsure: true}}
			return func() spawner.Spawner { return newSpawner(t, k, cfg) }
		},
	})
}

func TestConformanceUserNamespaces(t *testing.T) {
	spawnertest.Run(t, spawnertest.Harness{
		Setup: func(t *testing.T) func() spawner.Spawner {
			k := testenv.NeedKube(t, cluster)
			hubNS := k.Namespace(t)
			(&testenv.Kubelet{Client: k.Client}).Start(t)
			cfg := kube.Config{Namespace: hubNS, EnableUserNamespaces: true, Instance: hubNS,
				UserNamespaceTemplate: hubNS + "-{username}"}
			return func() spawner.Spawner { return newSpawner(t, k, cfg) }
		},
	})
}

func start(t *testing.T, s *kube.Spawner, ref spawner.Ref) (spawner.Server, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	return s.Start(ctx, spawner.Request{Ref: ref, APIToken: "secret-token-value"})
}

func TestReadyServerAndItsObjects(t *testing.T) {
	k, ns := setup(t, nil)
	s := newSpawner(t, k, kube.Config{Namespace: ns, Options: kube.Options{
		StoragePVCEnsure: true,
		Volumes: []corev1.Volume{{Name: "home", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "{pvc_name}"}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "home", MountPath: "/home/jovyan"}},
	}})
	ref := spawner.Ref{User: "user@email.com", Server: "Some Name"}
	srv, err := start(t, s, ref)
	if err != nil {
		t.Fatal(err)
	}
	const pod = "jupyter-user-email-com---0925f997--some-name---3a8b1764"
	if srv.State[kube.StatePod] != pod || srv.State[kube.StateNamespace] != ns {
		t.Errorf("state = %v, want pod %s in %s", srv.State, pod, ns)
	}
	if srv.State[kube.StatePVC] != "claim-user-email-com---0925f997--some-name---3a8b1764" {
		t.Errorf("pvc state = %q", srv.State[kube.StatePVC])
	}
	if !strings.HasPrefix(srv.URL, "http://10.") || !strings.HasSuffix(srv.URL, ":8888") {
		t.Errorf("URL = %q, want the pod IP and port 8888", srv.URL)
	}
	p, err := k.Client.CoreV1().Pods(ns).Get(t.Context(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Annotations[kube.AnnotationUsername] != ref.User || p.Annotations[kube.AnnotationServername] != ref.Server {
		t.Errorf("annotations = %v", p.Annotations)
	}
	if p.Labels[kube.LabelUsername] != "user-email-com---0925f997" {
		t.Errorf("username label = %q", p.Labels[kube.LabelUsername])
	}
	// The token is never a plain value in the pod spec.
	for _, e := range p.Spec.Containers[0].Env {
		if strings.Contains(e.Value, "secret-token-value") {
			t.Errorf("token in plain env %s", e.Name)
		}
		if e.Name == "JUPYTERHUB_API_TOKEN" && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("JUPYTERHUB_API_TOKEN is not from a Secret: %+v", e)
		}
	}
	sec, err := k.Client.CoreV1().Secrets(ns).Get(t.Context(), pod+"-token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data[kube.TokenKey]) != "secret-token-value" {
		t.Errorf("secret holds %q", sec.Data[kube.TokenKey])
	}
	if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != p.UID {
		t.Errorf("secret owners = %v, want the pod", sec.OwnerReferences)
	}

	// Stop keeps the claim and removes the pod and the token.
	if err := s.Stop(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Client.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), srv.State[kube.StatePVC], metav1.GetOptions{}); err != nil {
		t.Fatalf("claim after Stop: %v", err)
	}
	if _, err := k.Client.CoreV1().Secrets(ns).Get(t.Context(), pod+"-token", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("token secret after Stop: err = %v, want NotFound", err)
	}
	// A second start reuses the claim.
	if _, err := start(t, s, ref); err != nil {
		t.Fatal(err)
	}
	claims, _ := k.Client.CoreV1().PersistentVolumeClaims(ns).List(t.Context(), metav1.ListOptions{})
	if len(claims.Items) != 1 {
		t.Errorf("%d claims after restart, want 1", len(claims.Items))
	}
	// Remove deletes the claim.
	if err := s.Remove(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	// envtest has no controller-manager to lift the pvc-protection
	// finalizer, so a deleted claim stays, marked for deletion.
	pvc, err := k.Client.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), srv.State[kube.StatePVC], metav1.GetOptions{})
	if err == nil && pvc.DeletionTimestamp == nil {
		t.Errorf("claim after Remove is not deleted")
	} else if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("claim after Remove: %v", err)
	}
}

func TestFailFast(t *testing.T) {
	cases := []struct {
		behaviour testenv.Behaviour
		reason    string
		cfg       func(*kube.Config)
	}{
		{testenv.ImagePullFails, "ErrImagePull", nil},
		{testenv.CrashLoop, "CrashLoopBackOff", nil},
		{testenv.Unschedulable, "Unschedulable", nil},
		{testenv.Exits, "Exited", nil},
		{testenv.Hang, "Timeout", func(c *kube.Config) { c.Options.StartTimeout = 2 }},
		{testenv.Unschedulable, "Timeout", func(c *kube.Config) { c.Options.StartTimeout = 2; c.Options.WaitForScaleUp = true }},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			k, ns := setup(t, func(*corev1.Pod) testenv.Behaviour { return tc.behaviour })
			cfg := kube.Config{Namespace: ns, Options: kube.Options{StoragePVCEnsure: true, StartTimeout: 600}}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			s := newSpawner(t, k, cfg)
			ref := spawner.Ref{User: "ferris"}
			_, err := start(t, s, ref)
			var se *spawner.StartError
			if !errors.As(err, &se) {
				t.Fatalf("Start error = %v, want *StartError", err)
			}
			if se.Reason != tc.reason {
				t.Errorf("reason = %q, want %q (%v)", se.Reason, tc.reason, err)
			}
			if tc.reason == "Timeout" && !errors.Is(err, spawner.ErrTimeout) {
				t.Errorf("timeout error does not wrap ErrTimeout")
			}
			if len(se.Events) == 0 || !se.Events[len(se.Events)-1].Failed {
				t.Errorf("events = %+v, want a final failed event", se.Events)
			}
			pods, _ := k.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
			if len(pods.Items) != 0 {
				t.Errorf("%d pods left after failed start, want 0", len(pods.Items))
			}
			claims, _ := k.Client.CoreV1().PersistentVolumeClaims(ns).List(t.Context(), metav1.ListOptions{})
			if len(claims.Items) != 1 {
				t.Errorf("%d claims after failed start, want the user's 1", len(claims.Items))
			}
			if st, _ := s.Status(t.Context(), ref); st.Phase != spawner.PhaseStopped {
				t.Errorf("status after failed start = %v", st.Phase)
			}
		})
	}
}

func TestExistingPodIsAdopted(t *testing.T) {
	k, ns := setup(t, nil)
	a := newSpawner(t, k, kube.Config{Namespace: ns})
	ref := spawner.Ref{User: "ada"}
	first, err := start(t, a, ref)
	if err != nil {
		t.Fatal(err)
	}
	// Another spawner on the same cluster gets 409 territory: the pod is there.
	b := newSpawner(t, k, kube.Config{Namespace: ns})
	second, err := start(t, b, ref)
	if err != nil {
		t.Fatal(err)
	}
	if first.URL != second.URL {
		t.Errorf("second start made a new server: %s vs %s", first.URL, second.URL)
	}
	pods, _ := k.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if len(pods.Items) != 1 {
		t.Errorf("%d pods, want 1", len(pods.Items))
	}
}

func TestForeignPodIsNotTouched(t *testing.T) {
	k, ns := setup(t, func(*corev1.Pod) testenv.Behaviour { return testenv.Hang })
	s := newSpawner(t, k, kube.Config{Namespace: ns})
	// A pod with the server's name that hubkit did not make for this user.
	foreign := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "jupyter-ada", Namespace: ns,
		Labels:      map[string]string{kube.LabelComponent: kube.ComponentServer, kube.LabelManagedBy: kube.ManagedBy},
		Annotations: map[string]string{kube.AnnotationUsername: "someone-else"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x"}}}}
	if _, err := k.Client.CoreV1().Pods(ns).Create(t.Context(), foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the informer see it
	_, err := start(t, s, spawner.Ref{User: "ada"})
	var se *spawner.StartError
	if !errors.As(err, &se) || se.Reason != "NameConflict" {
		t.Fatalf("err = %v, want NameConflict", err)
	}
	if _, err := k.Client.CoreV1().Pods(ns).Get(t.Context(), "jupyter-ada", metav1.GetOptions{}); err != nil {
		t.Errorf("foreign pod was deleted: %v", err)
	}
}

func TestHooks(t *testing.T) {
	k, ns := setup(t, nil)
	var sawPod string
	s := newSpawner(t, k, kube.Config{Namespace: ns,
		ModifyPod: func(_ context.Context, req spawner.Request, p *corev1.Pod) error {
			p.Labels["team"] = "data"
			if req.User == "blocked" {
				return errors.New("user is blocked")
			}
			return nil
		},
		AfterPodCreated: func(_ context.Context, req spawner.Request, p *corev1.Pod) error {
			sawPod = p.Name
			if req.Server == "bad" {
				return errors.New("service creation failed")
			}
			return nil
		},
	})
	if _, err := start(t, s, spawner.Ref{User: "ok"}); err != nil {
		t.Fatal(err)
	}
	p, err := k.Client.CoreV1().Pods(ns).Get(t.Context(), "jupyter-ok", metav1.GetOptions{})
	if err != nil || p.Labels["team"] != "data" || sawPod != "jupyter-ok" || p.UID == "" {
		t.Fatalf("ModifyPod/AfterPodCreated not applied: %v %v %q", err, p.Labels, sawPod)
	}
	_, err = start(t, s, spawner.Ref{User: "blocked"})
	var se *spawner.StartError
	if !errors.As(err, &se) || se.Reason != "HookFailed" {
		t.Fatalf("ModifyPod error: got %v", err)
	}
	_, err = start(t, s, spawner.Ref{User: "ok", Server: "bad"})
	if !errors.As(err, &se) || se.Reason != "HookFailed" {
		t.Fatalf("AfterPodCreated error: got %v", err)
	}
	pods, _ := k.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if len(pods.Items) != 1 {
		t.Errorf("%d pods, want only the good one", len(pods.Items))
	}
}

func TestValidationCreatesNothing(t *testing.T) {
	k, ns := setup(t, nil)
	s := newSpawner(t, k, kube.Config{Namespace: ns, Options: kube.Options{StoragePVCEnsure: true}})
	bad := []map[string]any{
		{"cpu_limitt": 2},
		{"mem_limit": "lots"},
		{"environment": map[string]any{"A": map[string]any{"valueFrum": 1}}},
		{"extra_labels": map[string]any{"x": "{no_such_key}"}},
		{"extra_labels": map[string]any{"bad key!": "v"}},
	}
	for _, o := range bad {
		_, err := s.Start(t.Context(), spawner.Request{Ref: spawner.Ref{User: "val"}, Override: o})
		if !errors.Is(err, spawner.ErrInvalid) {
			t.Errorf("override %v: err = %v, want ErrInvalid", o, err)
		}
	}
	for _, list := range []func() (int, error){
		func() (int, error) {
			l, err := k.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
			return len(l.Items), err
		},
		func() (int, error) {
			l, err := k.Client.CoreV1().PersistentVolumeClaims(ns).List(t.Context(), metav1.ListOptions{})
			return len(l.Items), err
		},
		func() (int, error) {
			l, err := k.Client.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{})
			return len(l.Items), err
		},
	} {
		if n, err := list(); err != nil || n != 0 {
			t.Errorf("objects after rejected starts: %d (%v)", n, err)
		}
	}
}

func TestNotRunning(t *testing.T) {
	k := testenv.NeedKube(t, cluster)
	s, err := kube.New(k.Client, kube.Config{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(t.Context(), spawner.Request{Ref: spawner.Ref{User: "x"}}); !errors.Is(err, spawner.ErrNotRunning) {
		t.Errorf("Start before Run: %v, want ErrNotRunning", err)
	}
	if err := s.Healthy(); !errors.Is(err, spawner.ErrNotRunning) {
		t.Errorf("Healthy before Run: %v", err)
	}
}

func TestTwoSpawnersStartOneServerOnce(t *testing.T) {
	k, ns := setup(t, nil)
	a := newSpawner(t, k, kube.Config{Namespace: ns})
	b := newSpawner(t, k, kube.Config{Namespace: ns})
	ref := spawner.Ref{User: "twice"}
	var wg sync.WaitGroup
	urls := make([]string, 2)
	for i, s := range []*kube.Spawner{a, b} {
		wg.Go(func() {
			srv, err := start(t, s, ref)
			if err != nil {
				t.Errorf("spawner %d: %v", i, err)
			}
			urls[i] = srv.URL
		})
	}
	wg.Wait()
	if urls[0] != urls[1] {
		t.Errorf("the two spawners report different servers: %v", urls)
	}
	pods, err := k.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("%d pods (%v), want exactly 1", len(pods.Items), err)
	}
}

func TestProgressFromKubernetesEvents(t *testing.T) {
	k, ns := setup(t, func(*corev1.Pod) testenv.Behaviour { return testenv.SlowReady })
	s := newSpawner(t, k, kube.Config{Namespace: ns})
	ref := spawner.Ref{User: "watcher"}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	ch, err := s.Progress(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []spawner.Event)
	go func() {
		var evs []spawner.Event
		for e := range ch {
			evs = append(evs, e)
		}
		done <- evs
	}()
	if _, err := start(t, s, ref); err != nil {
		t.Fatal(err)
	}
	// The subscription above followed the log that Start reset; read the
	// whole start's log afresh.
	<-done
	ch, err = s.Progress(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for e := range ch {
		msgs = append(msgs, e.Message)
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"Server requested", "[Normal] Scheduled: Successfully assigned",
		"[Normal] Pulling: Pulling image", "[Normal] Started: Started container", "Server ready at"} {
		if !strings.Contains(joined, want) {
			t.Errorf("progress lacks %q:\n%s", want, joined)
		}
	}
}

func TestSecretEnvGoesThroughTheSecret(t *testing.T) {
	k, ns := setup(t, nil)
	s := newSpawner(t, k, kube.Config{Namespace: ns})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	srv, err := s.Start(ctx, spawner.Request{Ref: spawner.Ref{User: "vaulted"}, APIToken: "api",
		Env:       map[string]string{"VAULT_ADDR": "http://vault:8200", "NOTEBOOK_VAULT_TOKEN": "overridden"},
		SecretEnv: map[string]string{"NOTEBOOK_VAULT_TOKEN": "hvs.user-token"}})
	if err != nil {
		t.Fatal(err)
	}
	pod, err := k.Client.CoreV1().Pods(ns).Get(t.Context(), srv.State[kube.StatePod], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range pod.Spec.Containers[0].Env {
		if strings.Contains(e.Value, "hvs.user-token") {
			t.Errorf("secret env value in plain text in %s", e.Name)
		}
		if e.Name == "NOTEBOOK_VAULT_TOKEN" {
			found = e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.Value == ""
		}
	}
	if !found {
		t.Fatal("NOTEBOOK_VAULT_TOKEN is not a secretKeyRef")
	}
	sec, err := k.Client.CoreV1().Secrets(ns).Get(t.Context(), pod.Name+"-token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(sec.Data[kube.SecretEnvKeyPrefix+"NOTEBOOK_VAULT_TOKEN"]); got != "hvs.user-token" {
		t.Errorf("secret holds %q", got)
	}
}

// TestUnschedulableForItsClaimIsWaitedFor: a scheduler that tries the pod
// before it sees the pod's new claim marks it unschedulable and tries
// again; the start waits for that instead of failing.
func TestUnschedulableForItsClaimIsWaitedFor(t *testing.T) {
	k, ns := setup(t, func(*corev1.Pod) testenv.Behaviour { return testenv.Hang })
	s := newSpawner(t, k, kube.Config{Namespace: ns, Options: kube.Options{StoragePVCEnsure: true, StartTimeout: 60}})
	ref := spawner.Ref{User: "ferris"}
	done := make(chan error, 1)
	go func() { _, err := start(t, s, ref); done <- err }()

	ctx := t.Context()
	var pod *corev1.Pod
	for pod == nil {
		if p, err := k.Client.CoreV1().Pods(ns).Get(ctx, "jupyter-ferris", metav1.GetOptions{}); err == nil {
			pod = p
		}
		time.Sleep(20 * time.Millisecond)
	}
	now := metav1.Now()
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, LastTransitionTime: now,
		Message: `0/20 nodes are available: persistentvolumeclaim "claim-ferris" not found. preemption: 0/20 nodes are available: 20 Preemption is not helpful for scheduling.`}}
	pod, err := k.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	select {
	case err := <-done:
		t.Fatalf("the start ended while the scheduler was still trying: %v", err)
	default:
	}
	// The scheduler's next try places the pod; it starts.
	pod.Spec.NodeName = "envtest-node"
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.9.8.7",
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "notebook", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}}
	if _, err := k.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("start after the claim became schedulable: %v", err)
	}
}
