package kube_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

// failFirst answers the first n matching calls with status.
func failFirst(call string, n, status int) func(*http.Request, string) int {
	var mu sync.Mutex
	return func(_ *http.Request, c string) int {
		mu.Lock()
		defer mu.Unlock()
		if c == call && n > 0 {
			n--
			return status
		}
		return 0
	}
}

func TestTransientAPIErrorsAreRetried(t *testing.T) {
	for _, tc := range []struct {
		call   string
		status int
	}{
		{"POST pods", http.StatusServiceUnavailable},
		{"POST pods", http.StatusTooManyRequests},
		{"POST secrets", http.StatusInternalServerError},
		{"POST persistentvolumeclaims", http.StatusGatewayTimeout},
	} {
		t.Run(tc.call+" "+http.StatusText(tc.status), func(t *testing.T) {
			k, ns := setup(t, nil)
			rec := &testenv.APIRecorder{Fault: failFirst(tc.call, 3, tc.status)}
			client, err := rec.Client(k.Config)
			if err != nil {
				t.Fatal(err)
			}
			s := newSpawner(t, &testenv.Kube{Config: k.Config, Client: client}, kube.Config{Namespace: ns,
				Options: kube.Options{StoragePVCEnsure: true}})
			if _, err := start(t, s, spawner.Ref{User: "retry"}); err != nil {
				t.Fatalf("start with transient %d errors: %v", tc.status, err)
			}
			if n := rec.Counts()[tc.call]; n < 4 {
				t.Errorf("%s sent %d times, want the 3 failures retried", tc.call, n)
			}
		})
	}
}

func TestPermanentAPIErrorFailsCleanly(t *testing.T) {
	k, ns := setup(t, nil)
	rec := &testenv.APIRecorder{Fault: func(_ *http.Request, c string) int {
		if c == "POST pods" {
			return http.StatusForbidden
		}
		return 0
	}}
	client, err := rec.Client(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	s := newSpawner(t, &testenv.Kube{Config: k.Config, Client: client}, kube.Config{Namespace: ns})
	_, err = start(t, s, spawner.Ref{User: "denied"})
	var se *spawner.StartError
	if !errors.As(err, &se) || se.Reason != "Rejected" {
		t.Fatalf("err = %v, want a Rejected StartError", err)
	}
	if n := rec.Counts()["POST pods"]; n != 1 {
		t.Errorf("a 403 was retried: %d pod creates", n)
	}
	secrets, _ := k.Client.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{})
	if len(secrets.Items) != 0 {
		t.Errorf("token secret left behind after a rejected pod: %d", len(secrets.Items))
	}
}

func TestUnreachableAPIServer(t *testing.T) {
	client := kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://127.0.0.1:1", Timeout: time.Second})
	s, err := kube.New(client, kube.Config{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	sctx, scancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer scancel()
	_, err = s.Start(sctx, spawner.Request{Ref: spawner.Ref{User: "x"}})
	if !errors.Is(err, spawner.ErrUnavailable) {
		t.Fatalf("Start against an unreachable API server: %v, want ErrUnavailable", err)
	}
	if err := s.Healthy(); !errors.Is(err, spawner.ErrNotRunning) {
		t.Errorf("Healthy = %v, want not synced", err)
	}
}

func TestRequestsPerSpawn(t *testing.T) {
	k, ns := setup(t, nil)
	rec := &testenv.APIRecorder{}
	client, err := rec.Client(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	s := newSpawner(t, &testenv.Kube{Config: k.Config, Client: client}, kube.Config{Namespace: ns,
		Options: kube.Options{StoragePVCEnsure: true}})
	if _, err := start(t, s, spawner.Ref{User: "warmup"}); err != nil {
		t.Fatal(err)
	}
	rec.Reset()
	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := start(t, s, spawner.Ref{User: "u", Server: string(rune('a' + i))}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	c := rec.Counts()
	if w := rec.Writes(); w > 4*n {
		t.Errorf("%d API writes for %d spawns (%v), want at most 4 each", w, n, c)
	}
	if c["GET pods"] != 0 {
		t.Errorf("%d pod GETs during spawns: the spawner polls", c["GET pods"])
	}
}
