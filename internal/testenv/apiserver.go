package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// APIServer is a kube-apiserver of one test, on the package's etcd, that
// the test may kill and start again: for fault tests that take the
// Kubernetes API away from a client and give it back.
//
// It is a second API server rather than a restart of the package's
// shared one ([Kube]): every test of a package talks to the shared
// server, and killing it would fail whatever else runs at that moment.
// The test's server keeps its objects under an etcd prefix of its own, so
// it sees none of the shared server's objects and they see none of its;
// it costs a few seconds to start.
//
// Kill sends SIGKILL, as a crash or an OOM kill would: envtest's
// kube-apiserver does not stop on SIGTERM while a watch is open, and a
// graceful stop is not the fault to test. Start brings a new process up
// on the same port, etcd prefix and certificates, so that clients made
// from Config carry on without being told.
type APIServer struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is a clientset on Config.
	Client kubernetes.Interface

	mu      sync.Mutex
	srv     *envtest.APIServer
	pidFile string
}

// StartAPIServer starts an API server for the test on the package's etcd.
// It is killed when the test ends.
func (k *Kube) StartAPIServer(t testing.TB) *APIServer {
	t.Helper()
	dir := AssetsDir()
	if dir == "" || k.env == nil || k.env.ControlPlane.Etcd == nil || k.env.ControlPlane.Etcd.URL == nil {
		Missing(t, "kube-apiserver/etcd (envtest)", KubeInstall)
	}
	work := t.TempDir()
	a := &APIServer{pidFile: filepath.Join(work, "pid")}
	// The wrapper records the server's process ID (exec keeps it), which
	// envtest does not expose, so that Kill can send SIGKILL.
	wrapper := filepath.Join(work, "kube-apiserver")
	script := fmt.Sprintf("#!/bin/sh\necho $$ > %s\nexec %s \"$@\"\n",
		shellQuote(a.pidFile), shellQuote(filepath.Join(dir, "kube-apiserver")))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	a.srv = &envtest.APIServer{
		Path:         wrapper,
		CertDir:      filepath.Join(work, "certs"),
		EtcdURL:      k.env.ControlPlane.Etcd.URL,
		StartTimeout: 2 * time.Minute,
		StopTimeout:  5 * time.Second,
	}
	if err := os.Mkdir(a.srv.CertDir, 0o700); err != nil {
		t.Fatal(err)
	}
	a.srv.Configure().Set("etcd-prefix", "/hubkit-test-"+hex.EncodeToString(b[:]))
	t.Cleanup(func() {
		a.kill()
		_ = a.srv.Stop()
	})
	if err := a.srv.Start(); err != nil {
		t.Fatalf("testenv: starting a kube-apiserver for the test: %v", err)
	}
	plane := &envtest.ControlPlane{APIServer: a.srv}
	admin, err := plane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, &rest.Config{QPS: 500, Burst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	a.Config = admin.Config()
	a.Client, err = kubernetes.NewForConfig(a.Config)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Kube returns the server as a Kube, for helpers that take one
// (Namespace, Kubelet). Its Stop and Environment are not to be used.
func (a *APIServer) Kube() *Kube { return &Kube{Config: a.Config, Client: a.Client} }

// Namespace creates a fresh namespace on this server.
func (a *APIServer) Namespace(t testing.TB) string { t.Helper(); return a.Kube().Namespace(t) }

// Kill kills the API server with SIGKILL and returns once the process is
// gone. Connections and watches to it break; etcd keeps its objects.
func (a *APIServer) Kill(t testing.TB) {
	t.Helper()
	if err := a.kill(); err != nil {
		t.Fatal(err)
	}
}

// Start starts the API server again after Kill, on the same port, etcd
// prefix and certificates, and returns once it serves /healthz.
func (a *APIServer) Start(t testing.TB) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.srv.Start(); err != nil {
		t.Fatalf("testenv: restarting kube-apiserver: %v", err)
	}
}

// Restart is Kill, then Start.
func (a *APIServer) Restart(t testing.TB) {
	t.Helper()
	a.Kill(t)
	a.Start(t)
}

func (a *APIServer) kill() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := os.ReadFile(a.pidFile)
	if err != nil {
		return nil // never started
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("testenv: bad kube-apiserver pid file: %q", b)
	}
	// Never signal a process ID twice: it may have been reused.
	_ = os.Remove(a.pidFile)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("testenv: killing kube-apiserver: %w", err)
	}
	// envtest waits for its child, which reaps it; until then the process
	// still answers signal 0.
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("testenv: kube-apiserver (pid %d) still there 30 s after SIGKILL", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
