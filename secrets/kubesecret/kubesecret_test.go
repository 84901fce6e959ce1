package kubesecret_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/kubesecret"
	"github.com/hubkit/hubkit/secrets/secretstest"
)

var kube *testenv.Kube

func TestMain(m *testing.M) { os.Exit(testenv.MainWithKube(m, &kube)) }

func randomUser() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "user-" + hex.EncodeToString(b[:])
}

func newStore(t testing.TB, c kubernetes.Interface, ns, user string) *kubesecret.Store {
	s, err := kubesecret.New(c, kubesecret.Options{Namespace: ns, User: user})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	k := testenv.NeedKube(t, kube)
	ns := k.Namespace(t)
	secretstest.Run(t, func(t *testing.T) secrets.SecretStore {
		return newStore(t, k.Client, ns, randomUser())
	})
}

// Users whose names are not valid Kubernetes names, and which differ only
// in case or punctuation, keep separate secrets in one namespace.
func TestUnsafeUsernames(t *testing.T) {
	k := testenv.NeedKube(t, kube)
	ns := k.Namespace(t)
	users := []string{"Alice", "alice", "a.b@example.com", "a*", "+", "x/../y", "日本", "x--y", strings.Repeat("l", 300)}
	for _, u := range users {
		if err := newStore(t, k.Client, ns, u).Put(t.Context(), "token", map[string]string{"user": u}); err != nil {
			t.Fatalf("Put for %q: %v", u, err)
		}
	}
	for _, u := range users {
		s := newStore(t, k.Client, ns, u)
		got, err := s.Get(t.Context(), "token")
		if err != nil || got["user"] != u {
			t.Fatalf("Get for %q = %q, %v", u, got, err)
		}
		names, err := s.List(t.Context())
		if err != nil || len(names) != 1 {
			t.Fatalf("List for %q = %q, %v", u, names, err)
		}
	}
}

// The objects carry the documented labels, annotations, type and data.
func TestObjectLayout(t *testing.T) {
	k := testenv.NeedKube(t, kube)
	ns := k.Namespace(t)
	s := newStore(t, k.Client, ns, "Alice Smith")
	if err := s.Put(t.Context(), "team/db", map[string]string{"pw": "x"}); err != nil {
		t.Fatal(err)
	}
	obj, err := k.Client.CoreV1().Secrets(ns).Get(t.Context(), s.ObjectName("team/db"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if obj.Type != kubesecret.SecretType || obj.Labels[kubesecret.LabelManagedBy] != "hubkit" ||
		obj.Annotations[kubesecret.AnnotationUser] != "Alice Smith" || obj.Annotations[kubesecret.AnnotationName] != "team/db" ||
		string(obj.Data[kubesecret.DataKey]) != `{"pw":"x"}` {
		t.Fatalf("object = %+v", obj)
	}
	// A hand-edited object is reported, and Put repairs it.
	obj.Data[kubesecret.DataKey] = []byte("not json")
	if _, err := k.Client.CoreV1().Secrets(ns).Update(t.Context(), obj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "team/db"); !errors.Is(err, kubesecret.ErrCorrupt) {
		t.Fatalf("Get of an edited object: %v", err)
	}
	if err := s.Put(t.Context(), "team/db", map[string]string{"pw": "y"}); err != nil {
		t.Fatalf("Put over an edited object: %v", err)
	}
}

// A Secret larger than Kubernetes allows is ErrInvalid, not a panic.
func TestTooLarge(t *testing.T) {
	k := testenv.NeedKube(t, kube)
	s := newStore(t, k.Client, k.Namespace(t), "big")
	err := s.Put(t.Context(), "big", map[string]string{"v": strings.Repeat("x", 2<<20)})
	if !errors.Is(err, secrets.ErrInvalid) {
		t.Fatalf("Put of 2 MiB: %v, want ErrInvalid", err)
	}
}

// A service account without RBAC on Secrets gets ErrPermissionDenied.
func TestForbidden(t *testing.T) {
	k := testenv.NeedKube(t, kube)
	ns := k.Namespace(t)
	cfg := rest.CopyConfig(k.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":nobody"}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t, c, ns, "u")
	ctx := t.Context()
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, secrets.ErrPermissionDenied) {
			t.Fatalf("%s: %v, want ErrPermissionDenied", what, err)
		}
		if !strings.HasPrefix(err.Error(), "kubesecret: ") {
			t.Fatalf("%s: message %q lacks the package prefix", what, err)
		}
	}
	check("Put", s.Put(ctx, "x", map[string]string{"k": "v"}))
	_, err = s.Get(ctx, "x")
	check("Get", err)
	_, err = s.List(ctx)
	check("List", err)
	check("Delete", s.Delete(ctx, "x"))
}

// API errors are translated (fault injection with the fake clientset).
func TestErrorTranslation(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"unavailable", errors.New("dial tcp 127.0.0.1:1: connection refused"), secrets.ErrUnavailable},
		{"throttled", apiStatus(429), secrets.ErrUnavailable},
		{"internal", apiStatus(500), secrets.ErrUnavailable},
		{"forbidden", apiStatus(403), secrets.ErrPermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset()
			c.PrependReactor("*", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			s := newStore(t, c, "ns", "u")
			if _, err := s.Get(t.Context(), "x"); !errors.Is(err, tc.want) {
				t.Fatalf("Get: %v, want %v", err, tc.want)
			}
			if _, err := s.List(t.Context()); !errors.Is(err, tc.want) {
				t.Fatalf("List: %v, want %v", err, tc.want)
			}
			if err := s.Put(t.Context(), "x", map[string]string{"k": "v"}); !errors.Is(err, tc.want) {
				t.Fatalf("Put: %v, want %v", err, tc.want)
			}
		})
	}
}

func apiStatus(code int32) error {
	return &statusErr{metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reasonFor(code), Message: "injected"}}
}

type statusErr struct{ s metav1.Status }

func (e *statusErr) Error() string         { return e.s.Message }
func (e *statusErr) Status() metav1.Status { return e.s }

func reasonFor(code int32) metav1.StatusReason {
	switch code {
	case 403:
		return metav1.StatusReasonForbidden
	case 429:
		return metav1.StatusReasonTooManyRequests
	}
	return metav1.StatusReasonInternalError
}

// Put/get round trips per second against envtest's kube-apiserver (etcd
// behind it), for comparison with secrets/vault.
func BenchmarkPutGet(b *testing.B) {
	k := testenv.NeedKube(b, kube)
	s := newStore(b, k.Client, k.Namespace(b), "bench")
	fields := map[string]string{"openai": "sk-0123456789abcdef", "github": "ghp_0123456789abcdef", "url": "postgresql://u:p@h:5432/db"}
	ctx := b.Context()
	start := time.Now()
	for b.Loop() {
		if err := s.Put(ctx, "api-keys", fields); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get(ctx, "api-keys"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
}
