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
