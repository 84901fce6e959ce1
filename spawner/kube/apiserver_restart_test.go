package kube_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

// The tests in this file take the Kubernetes API away from the spawner:
// a kube-apiserver of the test's own (testenv.APIServer, on the package's
// etcd) is killed with SIGKILL and started again on the same port, as a
// crashed or upgraded control plane would be. The spawner keeps its
// client; nothing tells it the server came back.

// restartEnv is a test's own API server with a namespace on it, the
// simulated kubelet and a spawner whose requests are counted.
type restartEnv struct {
	api *testenv.APIServer
	ns  string
	rec *testenv.APIRecorder
	s   *kube.Spawner
}

func newRestartEnv(t *testing.T, decide func(*corev1.Pod) testenv.Behaviour, change func(*kube.Config)) *restartEnv {
	t.Helper()
	api := testenv.NeedKube(t, cluster).StartAPIServer(t)
	e := &restartEnv{api: api, ns: api.Namespace(t), rec: &testenv.APIRecorder{}}
	(&testenv.Kubelet{Client: api.Client, Namespace: e.ns, Decide: decide}).Start(t)
	client, err := e.rec.Client(api.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := kube.Config{Namespace: e.ns, Options: kube.Options{StoragePVCEnsure: true}}
	if change != nil {
		change(&cfg)
	}
	e.s = newSpawner(t, &testenv.Kube{Config: api.Config, Client: client}, cfg)
	return e
}

// objects counts the pods, token Secrets and claims in the namespace.
func (e *restartEnv) objects(t *testing.T) (pods, secrets, claims int) {
	t.Helper()
	ctx := t.Context()
	p, err := e.api.Client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.api.Client.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.api.Client.CoreV1().PersistentVolumeClaims(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Items), len(s.Items), len(c.Items)
}

// waitFor polls cond (against the API server or the spawner's cache)
// until it holds or a minute has passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func phase(t *testing.T, s *kube.Spawner, ref spawner.Ref) spawner.Phase {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := s.Status(ctx, ref)
	if err != nil {
		t.Fatalf("Status(%s): %v", ref, err)
	}
	return st.Phase
}

// TestAPIServerRestartWhileServersRun: servers run while the API server is
// killed and started again. The informers recover by themselves: the
// running servers stay known, later changes are seen, stops and starts
// work, and no claim is deleted.
func TestAPIServerRestartWhileServersRun(t *testing.T) {
	t.Parallel()
	e := newRestartEnv(t, nil, nil)
	alice, bob, carol := spawner.Ref{User: "alice"}, spawner.Ref{User: "bob"}, spawner.Ref{User: "carol"}
	for _, ref := range []spawner.Ref{alice, bob} {
		if _, err := start(t, e.s, ref); err != nil {
			t.Fatal(err)
		}
	}

	e.api.Kill(t)
	// While the API server is gone the cache still answers.
	for _, ref := range []spawner.Ref{alice, bob} {
		if ph := phase(t, e.s, ref); ph != spawner.PhaseRunning {
			t.Errorf("%s is %s while the API server is down, want running", ref, ph)
		}
	}
	e.api.Start(t)

	// The watch resumes without anyone asking: a pod deleted behind the
	// spawner's back is seen.
	if err := e.api.Client.CoreV1().Pods(e.ns).Delete(t.Context(), "jupyter-bob", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the spawner to see bob's pod go", func() bool { return phase(t, e.s, bob) == spawner.PhaseStopped })
	if err := e.s.Healthy(); err != nil {
		t.Errorf("Healthy after the restart: %v", err)
	}

	// Stop and start work on the restarted API server.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := e.s.Stop(ctx, alice); err != nil {
		t.Fatalf("stop after the restart: %v", err)
	}
	if _, err := start(t, e.s, carol); err != nil {
		t.Fatalf("start after the restart: %v", err)
	}
	list, err := e.s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Ref != carol || list[0].Phase != spawner.PhaseRunning {
		t.Errorf("List = %+v, want carol's server only", list)
	}
	pods, _, claims := e.objects(t)
	if pods != 1 {
		t.Errorf("%d pods, want carol's", pods)
	}
	if claims != 3 {
		t.Errorf("%d claims, want one for each of the three users: a claim was deleted", claims)
	}
}

// markReady plays the kubelet for a pod it left pending.
func markReady(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	ctx := t.Context()
	p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = "10.99.0.1"
	p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	p.Status.ContainerStatuses = nil
	for _, ctr := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: ctr.Name, Image: ctr.Image,
			Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestAPIServerKilledMidSpawn: the API server dies during a start and
// comes back within the start timeout. The start finishes, with one pod,
// one token Secret and one claim.
func TestAPIServerKilledMidSpawn(t *testing.T) {
	t.Parallel()
	t.Run("before the objects are created", func(t *testing.T) {
		t.Parallel()
		inHook, killed := make(chan struct{}), make(chan struct{})
		e := newRestartEnv(t, nil, func(c *kube.Config) {
			c.ModifyPod = func(context.Context, spawner.Request, *corev1.Pod) error {
				close(inHook)
				<-killed
				return nil
			}
		})
		ref := spawner.Ref{User: "ada"}
		type result struct {
			srv spawner.Server
			err error
		}
		done := make(chan result, 1)
		go func() {
			srv, err := e.s.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "secret-token-value"})
			done <- result{srv, err}
		}()
		<-inHook
		e.api.Kill(t)
		close(killed)
		// The claim's creation fails and is tried again; then the server
		// comes back.
		waitFor(t, "a retried claim creation", func() bool { return e.rec.Counts()["POST persistentvolumeclaims"] >= 2 })
		e.api.Start(t)
		r := <-done
		if r.err != nil {
			t.Fatalf("start across an API server restart: %v", r.err)
		}
		if r.srv.State[kube.StatePod] != "jupyter-ada" {
			t.Errorf("server %+v", r.srv)
		}
		if pods, secrets, claims := e.objects(t); pods != 1 || secrets != 1 || claims != 1 {
			t.Errorf("%d pods, %d secrets, %d claims; want one of each", pods, secrets, claims)
		}
	})

	t.Run("while the pod starts", func(t *testing.T) {
		t.Parallel()
		e := newRestartEnv(t, func(*corev1.Pod) testenv.Behaviour { return testenv.Hang }, nil)
		ref := spawner.Ref{User: "ada"}
		done := make(chan error, 1)
		go func() {
			_, err := e.s.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "secret-token-value"})
			done <- err
		}()
		waitFor(t, "the pod", func() bool {
			_, err := e.api.Client.CoreV1().Pods(e.ns).Get(t.Context(), "jupyter-ada", metav1.GetOptions{})
			return err == nil
		})
		e.api.Restart(t)
		// The kubelet reports the pod ready only now: the spawner hears of
		// it through the watch it re-established by itself.
		markReady(t, e.api.Client, e.ns, "jupyter-ada")
		if err := <-done; err != nil {
			t.Fatalf("start across an API server restart: %v", err)
		}
		if pods, secrets, claims := e.objects(t); pods != 1 || secrets != 1 || claims != 1 {
			t.Errorf("%d pods, %d secrets, %d claims; want one of each", pods, secrets, claims)
		}
	})
}

// TestAPIServerDownPastStartTimeout: the API server dies after the pod was
// created and stays away beyond the start timeout. The start fails with a
// timeout, and once the API server is back nothing of the start is left
// but the user's claim: no pod the hub would not know of, no token.
func TestAPIServerDownPastStartTimeout(t *testing.T) {
	t.Parallel()
	e := newRestartEnv(t, func(*corev1.Pod) testenv.Behaviour { return testenv.Hang },
		func(c *kube.Config) { c.Options.StartTimeout = 3 })
	ref := spawner.Ref{User: "ada"}
	done := make(chan error, 1)
	go func() {
		_, err := e.s.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "secret-token-value"})
		done <- err
	}()
	waitFor(t, "the pod", func() bool {
		_, err := e.api.Client.CoreV1().Pods(e.ns).Get(t.Context(), "jupyter-ada", metav1.GetOptions{})
		return err == nil
	})
	e.api.Kill(t)
	// The start times out while the API server is away: its clean-up
	// (deleting the pod) is what is being retried now.
	waitFor(t, "the clean-up to try deleting the pod", func() bool { return e.rec.Counts()["DELETE pods"] >= 2 })
	e.api.Start(t)
	err := <-done
	var se *spawner.StartError
	if !errors.As(err, &se) || se.Reason != "Timeout" || !errors.Is(err, spawner.ErrTimeout) {
		t.Fatalf("Start = %v, want a Timeout StartError", err)
	}
	pods, secrets, claims := e.objects(t)
	if pods != 0 || secrets != 0 {
		t.Errorf("%d pods and %d secrets left by a failed start", pods, secrets)
	}
	if claims != 1 {
		t.Errorf("%d claims, want the user's", claims)
	}
	if ph := phase(t, e.s, ref); ph != spawner.PhaseStopped {
		t.Errorf("status after the failed start: %s", ph)
	}
}

// TestAPIErrorsAreNotABusyLoop: an API server that keeps refusing (5xx,
// 429) is asked again with a growing delay, and the start gives up at
// its timeout, leaving nothing behind.
func TestAPIErrorsAreNotABusyLoop(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusInternalServerError} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			k, ns := setup(t, nil)
			rec := &testenv.APIRecorder{Fault: func(_ *http.Request, c string) int {
				if c == "POST pods" {
					return status
				}
				return 0
			}}
			client, err := rec.Client(k.Config)
			if err != nil {
				t.Fatal(err)
			}
			s := newSpawner(t, &testenv.Kube{Config: k.Config, Client: client}, kube.Config{Namespace: ns,
				Options: kube.Options{StoragePVCEnsure: true, StartTimeout: 3}})
			began := time.Now()
			_, err = start(t, s, spawner.Ref{User: "retry"})
			took := time.Since(began)
			if err == nil {
				t.Fatal("a start against an API server that always refuses succeeded")
			}
			if !errors.Is(err, spawner.ErrUnavailable) && !errors.Is(err, spawner.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want unavailable or timed out", err)
			}
			// Backoff from 100 ms, doubling: about 5 tries in 3 s. A busy
			// loop would make hundreds.
			if n := rec.Counts()["POST pods"]; n < 3 || n > 15 {
				t.Errorf("%d pod creations in %s, want a handful (backoff)", n, took.Round(time.Millisecond))
			}
			if took > 30*time.Second {
				t.Errorf("the start took %s with a 3 s start timeout", took)
			}
			secrets, _ := k.Client.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{})
			if len(secrets.Items) != 0 {
				t.Errorf("a token Secret was left behind")
			}
		})
	}
}

// TestStopRetriesTransientErrors: a stop whose deletes meet 5xx and 429
// tries again, deletes the pod and never the claim.
func TestStopRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	k, ns := setup(t, nil)
	var calls sync.Map
	rec := &testenv.APIRecorder{}
	client, err := rec.Client(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	s := newSpawner(t, &testenv.Kube{Config: k.Config, Client: client}, kube.Config{Namespace: ns,
		Options: kube.Options{StoragePVCEnsure: true}})
	ref := spawner.Ref{User: "ada"}
	if _, err := start(t, s, ref); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	rec.Fault = func(_ *http.Request, c string) int {
		if c == "DELETE pods" || c == "DELETE secrets" {
			calls.Store(c, true)
			switch n.Add(1) {
			case 1:
				return http.StatusServiceUnavailable
			case 2:
				return http.StatusTooManyRequests
			case 3:
				return http.StatusGatewayTimeout
			}
		}
		return 0
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx, ref); err != nil {
		t.Fatalf("Stop with transient errors: %v", err)
	}
	if _, err := k.Client.CoreV1().Pods(ns).Get(t.Context(), "jupyter-ada", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod after Stop: %v", err)
	}
	if _, err := k.Client.CoreV1().Secrets(ns).Get(t.Context(), "jupyter-ada-token", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("token secret after Stop: %v", err)
	}
	if _, err := k.Client.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), "claim-ada", metav1.GetOptions{}); err != nil {
		t.Errorf("claim after Stop: %v", err)
	}
	if c := rec.Counts(); c["DELETE persistentvolumeclaims"] != 0 {
		t.Errorf("Stop sent %d claim deletions", c["DELETE persistentvolumeclaims"])
	}
}

// TestConflictsAndLostAnswers: a 409 Conflict is tried again, and a
// create whose answer was lost (the pod exists, the spawner got a 504)
// ends with the one pod that was created, its hook run and its token
// Secret owned by it.
func TestConflictsAndLostAnswers(t *testing.T) {
	t.Run("conflict", func(t *testing.T) {
		k, ns := setup(t, nil)
		rec := &testenv.APIRecorder{Fault: failFirst("POST pods", 2, http.StatusConflict)}
		client, err := rec.Client(k.Config)
		if err != nil {
			t.Fatal(err)
		}
		s := newSpawner(t, &testenv.Kube{Config: k.Config, Client: client}, kube.Config{Namespace: ns})
		if _, err := start(t, s, spawner.Ref{User: "ada"}); err != nil {
			t.Fatalf("start with two conflicts: %v", err)
		}
	})
	t.Run("lost answer", func(t *testing.T) {
		k, ns := setup(t, nil)
		var once sync.Once
		rec := &testenv.APIRecorder{LoseAnswer: func(_ *http.Request, c string) int {
			code := 0
			if c == "POST pods" {
				once.Do(func() { code = http.StatusGatewayTimeout })
			}
			return code
		}}
		client, err := rec.Client(k.Config)
		if err != nil {
			t.Fatal(err)
		}
		var hooks atomic.Int32
		s := newSpawner(t, &testenv.Kube{Config: k.Config, Client: client}, kube.Config{Namespace: ns,
			Options: kube.Options{StoragePVCEnsure: true},
			AfterPodCreated: func(context.Context, spawner.Request, *corev1.Pod) error {
				hooks.Add(1)
				return nil
			}})
		if _, err := start(t, s, spawner.Ref{User: "ada"}); err != nil {
			t.Fatalf("start whose pod creation lost its answer: %v", err)
		}
		pods, _ := k.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
		if len(pods.Items) != 1 {
			t.Fatalf("%d pods, want 1", len(pods.Items))
		}
		if n := hooks.Load(); n != 1 {
			t.Errorf("AfterPodCreated ran %d times for the pod this start created", n)
		}
		sec, err := k.Client.CoreV1().Secrets(ns).Get(t.Context(), "jupyter-ada-token", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != pods.Items[0].UID {
			t.Errorf("token Secret owners %v, want the pod", sec.OwnerReferences)
		}
	})
}
