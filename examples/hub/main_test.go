package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/testenv"
)

const testServiceToken = "example-hub-test-service-token"

// syncBuffer is a log the hub writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// localValues is a values.yaml for the embedded default's setup in dir:
// the local spawner, the development login, SQLite, an admin service.
func localValues(dir, addr, extra string) string {
	args := "[]"
	if os.Geteuid() == 0 {
		args = "[--allow-root]"
	}
	return fmt.Sprintf(`
hub:
  services:
    tester:
      apiToken: %s
      admin: true
  config:
    DummyAuthenticator:
      password: test-password
hubkit:
  listen: %s
  store:
    path: %s/hub.sqlite
  local:
    stateDir: %s/servers
    args: %s
%s`, testServiceToken, addr, dir, dir, args, extra)
}

// hubRun is the example hub running in the test's process.
type hubRun struct {
	t      *testing.T
	url    string
	cancel context.CancelFunc
	done   chan int
	log    *syncBuffer
}

func startRun(t *testing.T, values string) *hubRun {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(path, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &hubRun{t: t, cancel: cancel, done: make(chan int, 1), log: &syncBuffer{}}
	go func() { r.done <- run(ctx, []string{"--config", path}, func(string) string { return "" }, r.log) }()
	t.Cleanup(func() { r.stop() })
	return r
}

// waitHealthy waits until /hub/health answers 200 at addr.
func (r *hubRun) waitHealthy(addr string) {
	r.t.Helper()
	r.url = "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(r.url + "/hub/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case code := <-r.done:
			r.done <- code
			r.t.Fatalf("hub exited with %d:\n%s", code, r.log.String())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("hub not healthy:\n%s", r.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops the hub and returns its exit status.
func (r *hubRun) stop() int {
	r.cancel()
	select {
	case code := <-r.done:
		r.done <- code
		return code
	case <-time.After(60 * time.Second):
		r.t.Fatalf("hub did not stop:\n%s", r.log.String())
		return -1
	}
}

func (r *hubRun) api(method, path, token string, body any) (int, []byte) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (r *hubRun) serverReady(user string) bool {
	code, b := r.api("GET", "/hub/api/users/"+user, testServiceToken, nil)
	if code != 200 {
		r.t.Fatalf("GET user: %d %s", code, b)
	}
	var m struct {
		Servers map[string]struct{ Ready bool }
	}
	_ = json.Unmarshal(b, &m)
	return m.Servers[""].Ready
}

func (r *hubRun) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s:\n%s", what, r.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEmbeddedDefault runs the example hub as a person would on a laptop:
// a server is started through the API and reached through the hub's proxy;
// the hub is stopped and started again and re-adopts the server; then the
// in-process culler stops it, and the user's files stay.
func TestEmbeddedDefault(t *testing.T) {
	testenv.LookPath(t, "jupyterhub-singleuser", "hack/install-jupyterhub.sh")
	dir := t.TempDir()
	addr := freeAddr(t)
	values := localValues(dir, addr, "cull:\n  enabled: false\n")
	r := startRun(t, values)
	r.waitHealthy(addr)

	if code, b := r.api("POST", "/hub/api/users/alice", testServiceToken, nil); code != 201 {
		t.Fatalf("create user: %d %s", code, b)
	}
	code, b := r.api("POST", "/hub/api/users/alice/tokens", testServiceToken, map[string]any{"note": "test"})
	if code != 201 {
		t.Fatalf("token: %d %s", code, b)
	}
	var tok struct{ Token string }
	_ = json.Unmarshal(b, &tok)
	if code, b := r.api("POST", "/hub/api/users/alice/server", testServiceToken, nil); code != 201 && code != 202 {
		t.Fatalf("start: %d %s", code, b)
	}
	r.waitFor("alice's server", func() bool { return r.serverReady("alice") })
	if code, b := r.api("GET", "/user/alice/api/status", tok.Token, nil); code != 200 {
		t.Fatalf("through the proxy: %d %s", code, b)
	}
	if err := os.WriteFile(filepath.Join(dir, "servers", "home", "alice", "notebook.ipynb"), []byte("{}"), 0o644); err != nil {
		t.Fatalf("the user's directory: %v", err)
	}

	if code := r.stop(); code != 0 {
		t.Fatalf("exit status %d:\n%s", code, r.log.String())
	}
	// Started again, the hub finds the server running and routes to it.
	r = startRun(t, values)
	r.waitHealthy(addr)
	if !r.serverReady("alice") {
		t.Fatalf("server not re-adopted:\n%s", r.log.String())
	}
	if code, b := r.api("GET", "/user/alice/api/status", tok.Token, nil); code != 200 {
		t.Fatalf("through the proxy after a restart: %d %s", code, b)
	}
	if code := r.stop(); code != 0 {
		t.Fatalf("exit status %d", code)
	}

	// With culling on (timeout 2 s), the idle server is stopped; the files
	// stay.
	r = startRun(t, localValues(dir, addr, "cull:\n  enabled: true\n  timeout: 2\n  every: 1\n"))
	r.waitHealthy(addr)
	r.waitFor("the culler", func() bool { return !r.serverReady("alice") })
	if _, err := os.Stat(filepath.Join(dir, "servers", "home", "alice", "notebook.ipynb")); err != nil {
		t.Fatalf("the user's file is gone after the cull: %v", err)
	}
	if !strings.Contains(r.log.String(), "culler") {
		t.Errorf("no culler in the log:\n%s", r.log.String())
	}
}

// TestBadConfiguration: a configuration error names the key and exits 2;
// a missing jupyterhub-singleuser says how to install it.
func TestBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, values, want string }{
		{"wrong type", "singleuser:\n  storage:\n    capacity: [1, 2]\n", "singleuser.storage.capacity"},
		{"no singleuser", "hubkit:\n  listen: " + freeAddr(t) + "\n  store:\n    path: " + dir + "/hub.sqlite\n  local:\n    cmd: [/nonexistent/jupyterhub-singleuser]\n", "apt-get install jupyterhub"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(path, []byte(c.values), 0o600); err != nil {
				t.Fatal(err)
			}
			var out syncBuffer
			code := run(context.Background(), []string{"--config", path}, func(string) string { return "" }, &out)
			if code != 2 || !strings.Contains(out.String(), c.want) {
				t.Fatalf("exit %d, output:\n%s\nwant status 2 and %q", code, out.String(), c.want)
			}
		})
	}
}

// TestMain lets a test run the hub as a child process (for SIGKILL): with
// HUBKIT_TEST_RUN_HUB set, the test binary is the hub.
func TestMain(m *testing.M) {
	if os.Getenv("HUBKIT_TEST_RUN_HUB") != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		os.Exit(run(ctx, os.Args[len(os.Args)-2:], os.Getenv, os.Stderr))
	}
	os.Exit(testenv.MainWithKube(m, &kubeEnv))
}

// startChild runs the hub as a child process with values.
func startChild(t *testing.T, valuesPath string, log io.Writer) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--config", valuesPath)
	cmd.Env = append(os.Environ(), "HUBKIT_TEST_RUN_HUB=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestKilledMidSpawn kills the hub (SIGKILL) while a server is starting
// and starts it again: the new hub finds the start in progress, waits for
// the server and routes to it; no user is lost and no server is left
// behind when it is stopped.
func TestKilledMidSpawn(t *testing.T) {
	bin := testenv.LookPath(t, "jupyterhub-singleuser", "hack/install-jupyterhub.sh")
	dir := t.TempDir()
	addr := freeAddr(t)
	// A start that takes a few seconds, so that the hub dies during it.
	values := strings.Replace(localValues(dir, addr, "cull:\n  enabled: false\n"), "  local:\n", "  local:\n    cmd: [sh, -c, 'sleep 3; exec \"$0\" \"$@\"', "+bin+"]\n", 1)
	path := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(path, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	child := startChild(t, path, &log)
	r := &hubRun{t: t, log: &log, done: make(chan int, 1)}
	r.waitHealthy(addr)
	r.api("POST", "/hub/api/users/alice", testServiceToken, nil)
	// The start request waits for the server for a while; kill the hub
	// while it does.
	go func() {
		req, _ := http.NewRequest("POST", r.url+"/hub/api/users/alice/server", nil)
		req.Header.Set("Authorization", "token "+testServiceToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	r.waitFor("the start to be pending", func() bool {
		_, b := r.api("GET", "/hub/api/users/alice", testServiceToken, nil)
		return strings.Contains(string(b), `"pending":"spawn"`)
	})
	time.Sleep(time.Second)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	child = startChild(t, path, &log)
	r.waitHealthy(addr)
	r.waitFor("the re-adopted start", func() bool { return r.serverReady("alice") })
	code, b := r.api("POST", "/hub/api/users/alice/tokens", testServiceToken, nil)
	if code != 201 {
		t.Fatalf("token: %d %s", code, b)
	}
	var tok struct{ Token string }
	_ = json.Unmarshal(b, &tok)
	if code, b := r.api("GET", "/user/alice/api/status", tok.Token, nil); code != 200 {
		t.Fatalf("through the proxy: %d %s\n%s", code, b, log.String())
	}
	// Stopping it leaves no process behind.
	if code, b := r.api("DELETE", "/hub/api/users/alice/server", testServiceToken, nil); code != 204 && code != 202 {
		t.Fatalf("stop: %d %s", code, b)
	}
	r.waitFor("the stop", func() bool { return !r.serverReady("alice") })
	_ = child.Process.Signal(syscall.SIGTERM)
	_ = child.Wait()
	// The local spawner's state files (hubkit.local.stateDir/servers).
	state, _ := filepath.Glob(filepath.Join(dir, "servers", "servers", "*.json"))
	for _, f := range state {
		b, _ := os.ReadFile(f)
		t.Errorf("a server's state file is left: %s %s", f, b)
	}
}

// TestMetrics: /hub/metrics needs read:metrics and serves JupyterHub's
// metric names; hubkit.apiListen serves the hub on a second port.
func TestMetrics(t *testing.T) {
	testenv.LookPath(t, "jupyterhub-singleuser", "hack/install-jupyterhub.sh")
	dir := t.TempDir()
	addr := freeAddr(t)
	apiAddr := freeAddr(t)
	values := strings.Replace(localValues(dir, addr, "cull:\n  enabled: false\n"), "  listen: "+addr+"\n", "  listen: "+addr+"\n  apiListen: "+apiAddr+"\n", 1)
	r := startRun(t, values)
	r.waitHealthy(addr)
	// The API port serves the same hub.
	if resp, err := http.Get("http://" + apiAddr + "/hub/api/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("hubkit.apiListen: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if code, _ := r.api("GET", "/hub/metrics", "", nil); code != 403 {
		t.Fatalf("metrics without a token: %d, want 403", code)
	}
	code, b := r.api("GET", "/hub/metrics", testServiceToken, nil)
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, name := range []string{"jupyterhub_running_servers", "jupyterhub_request_duration_seconds", "hubkit_hub_startup_duration_seconds"} {
		if !strings.Contains(string(b), name) {
			t.Errorf("metrics lack %s", name)
		}
	}
}
