package testenv

import (
	"os"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var kube *Kube

func TestMain(m *testing.M) { os.Exit(MainWithKube(m, &kube)) }

func TestNamespaceIsFreshAndReal(t *testing.T) {
	k := NeedKube(t, kube)
	a, b := k.Namespace(t), k.Namespace(t)
	if a == b {
		t.Fatalf("two tests got the same namespace %q", a)
	}
	got, err := k.Client.CoreV1().Namespaces().Get(t.Context(), a, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("namespace %q not on the API server: %v", a, err)
	}
	if got.Name != a {
		t.Fatalf("got %q", got.Name)
	}
}

func TestAPIServerRestart(t *testing.T) {
	k := NeedKube(t, kube)
	a := k.StartAPIServer(t)
	ns := a.Namespace(t)
	if _, err := k.Client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); err == nil {
		t.Fatalf("the shared API server sees the test server's namespace %s", ns)
	}
	a.Kill(t)
	if _, err := a.Client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); err == nil {
		t.Fatal("the killed API server still answers")
	}
	a.Start(t)
	// The same client carries on: same address, same certificates, same
	// objects.
	if _, err := a.Client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}
