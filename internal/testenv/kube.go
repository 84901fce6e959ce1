package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Versions of the envtest binaries that hack/envtest.sh builds.
const (
	KubeVersion = "1.37.2"
	EtcdVersion = "3.6.8"
)

// KubeInstall is the command that builds the envtest binaries.
const KubeInstall = "hack/envtest.sh (or make test)"

// Kube is one real kube-apiserver with etcd, shared by a test package.
type Kube struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is a clientset on Config.
	Client kubernetes.Interface

	env *envtest.Environment
}

// AssetsDir returns the directory holding kube-apiserver and etcd:
// KUBEBUILDER_ASSETS when set, else hack/envtest.sh's cache. It returns ""
// when neither holds both binaries.
func AssetsDir() string {
	dirs := []string{os.Getenv("KUBEBUILDER_ASSETS"),
		filepath.Join(CacheDir(), "envtest", "k8s-"+KubeVersion+"-etcd-"+EtcdVersion)}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if isExec(filepath.Join(d, "kube-apiserver")) && isExec(filepath.Join(d, "etcd")) {
			return d
		}
	}
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// StartKube starts an API server. The caller must Stop it.
func StartKube() (*Kube, error) {
	dir := AssetsDir()
	if dir == "" {
		return nil, fmt.Errorf("testenv: envtest binaries not found in KUBEBUILDER_ASSETS or %s; build them with %s",
			filepath.Join(CacheDir(), "envtest"), KubeInstall)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("testenv: starting kube-apiserver: %w", err)
	}
	// The suite creates many objects quickly; the default client-side rate
	// limit (5 QPS) would only slow the tests down.
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Kube{Config: cfg, Client: cs, env: env}, nil
}

// Stop stops the API server and etcd.
func (k *Kube) Stop() error { return k.env.Stop() }

// Environment returns the underlying envtest environment, for tests that
// stop and restart the control plane.
func (k *Kube) Environment() *envtest.Environment { return k.env }

// MainWithKube is a TestMain body: it starts one API server for the
// package, stores it in *kube, runs the tests and stops it. When the
// binaries are missing *kube stays nil and tests that call NeedKube skip
// (or fail under CI).
func MainWithKube(m *testing.M, kube **Kube) int {
	quietKlog()
	k, err := StartKube()
	if err != nil {
		startErr = err
	} else {
		*kube = k
		defer func() { _ = k.Stop() }()
	}
	return m.Run()
}

var startErr error

// quietKlog stops client-go's klog output (throttling notices, "context
// canceled" on informer shutdown) from interleaving with test and
// benchmark output. Only test binaries call it; the library never
// configures logging.
func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

// NeedKube returns k, or reports the API server missing.
func NeedKube(t testing.TB, k *Kube) *Kube {
	t.Helper()
	if k == nil {
		msg := "kube-apiserver/etcd (envtest)"
		if startErr != nil {
			msg += ": " + startErr.Error()
		}
		Missing(t, msg, KubeInstall)
	}
	return k
}

// Namespace creates a fresh namespace for the test and returns its name.
// There is no controller-manager in envtest, so the namespace is not
// garbage-collected; its objects are left for the API server to drop when
// it stops.
func (k *Kube) Namespace(t testing.TB) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "test-" + hex.EncodeToString(b[:])}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := k.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}
