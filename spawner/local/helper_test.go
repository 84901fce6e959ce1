package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hubkit/hubkit/spawner"
)

// The test binary doubles as the server that the spawner runs: with
// helperEnv=1 in its environment, TestMain serves HTTP instead of running
// the tests (the helper-process pattern of os/exec's own tests).
const (
	helperEnv = "HUBKIT_LOCAL_TEST_SERVER"
	// modeEnv selects the helper's behaviour; see helperMain.
	modeEnv = "HUBKIT_TEST_MODE"
	// pidFileEnv names a file (relative to the working directory) that the
	// helper writes its pid to.
	pidFileEnv = "HUBKIT_TEST_PIDFILE"
	// envPath is the path, under the prefix, where the helper reports its
	// environment, arguments and working directory.
	envPath = "hubkit-test/env"
	// helperBody is what the helper answers under its prefix.
	helperBody = "hubkit local test server"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

// envReport is what the helper reports at envPath.
type envReport struct {
	Env  map[string]string `json:"env"`
	Args []string          `json:"args"`
	Cwd  string            `json:"cwd"`
	PID  int               `json:"pid"`
}

// helperMain is the test server. Modes ($HUBKIT_TEST_MODE):
//
//	serve (default)  answer 200 under the prefix and report at envPath
//	exit             print a few lines on stdout and stderr, exit 3
//	hang             never listen
//	slow             serve after a second
//	status503        answer 503 to everything
//	ignore-term      serve; on SIGTERM write "sigterm" to ./sigterm and go on
//	grandchild       serve, and run another helper (mode hang, pid file
//	                 grandchild.pid) in the same process group
func helperMain() int {
	if f := os.Getenv(pidFileEnv); f != "" {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 2
		}
	}
	mode := os.Getenv(modeEnv)
	switch mode {
	case "exit":
		fmt.Println("helper: some stdout line")
		fmt.Fprintln(os.Stderr, "helper: failing on purpose")
		return 3
	case "hang":
		time.Sleep(time.Hour)
		return 0
	case "slow":
		time.Sleep(time.Second)
	case "ignore-term":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		go func() {
			for range ch {
				os.WriteFile("sigterm", []byte("sigterm"), 0o600)
			}
		}()
	case "grandchild":
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 2
		}
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), modeEnv+"=hang", pidFileEnv+"=grandchild.pid")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 2
		}
	}
	u, err := url.Parse(os.Getenv("JUPYTERHUB_SERVICE_URL"))
	if err != nil || u.Host == "" {
		fmt.Fprintln(os.Stderr, "helper: no JUPYTERHUB_SERVICE_URL")
		return 2
	}
	prefix, err := url.PathUnescape(os.Getenv("JUPYTERHUB_SERVICE_PREFIX"))
	if err != nil || prefix == "" {
		fmt.Fprintln(os.Stderr, "helper: bad JUPYTERHUB_SERVICE_PREFIX")
		return 2
	}
	l, err := net.Listen("tcp", u.Host)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	fmt.Println("helper: listening on", u.Host, "under", prefix)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case mode == "status503":
			http.Error(w, "not yet", http.StatusServiceUnavailable)
		case r.URL.Path == prefix+envPath:
			env := map[string]string{}
			for _, kv := range os.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			wd, _ := os.Getwd()
			json.NewEncoder(w).Encode(envReport{Env: env, Args: os.Args, Cwd: wd, PID: os.Getpid()})
		case strings.HasPrefix(r.URL.Path, prefix):
			io.WriteString(w, helperBody)
		default:
			http.NotFound(w, r)
		}
	})
	err = http.Serve(l, h)
	fmt.Fprintln(os.Stderr, "helper:", err)
	return 1
}

// testExecutable returns the path of the test binary, the helper server.
func testExecutable(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// testLogger returns a logger that writes to t.Log while the test runs and
// drops records after it ended (a server's last output may arrive late).
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// helperOptions returns Options that run the helper server with state in
// dir.
func helperOptions(t testing.TB, dir string) Options {
	return Options{
		Cmd:             []string{testExecutable(t)},
		Env:             map[string]string{helperEnv: "1"},
		StateDir:        dir,
		StopGracePeriod: 5 * time.Second,
		Logger:          testLogger(t),
	}
}

// newHelperSpawner returns a Spawner running helper servers in a fresh
// directory and registers a cleanup that stops every server it lists.
func newHelperSpawner(t testing.TB, modify ...func(*Options)) *Spawner {
	t.Helper()
	opts := helperOptions(t, t.TempDir())
	for _, f := range modify {
		f(&opts)
	}
	sp, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, sp) })
	return sp
}

// waitIdle waits until the goroutines of sp's processes have ended, so
// that nothing writes to a directory the test is about to delete.
func waitIdle(t testing.TB, sp *Spawner) {
	done := make(chan struct{})
	go func() { sp.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Errorf("goroutines of %s's processes still running", sp.opts.StateDir)
	}
}

// stopAll stops every server sp lists. It runs in cleanups, after
// t.Context() ended.
func stopAll(t testing.TB, sp *Spawner) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all, err := sp.List(ctx)
	if err != nil {
		t.Errorf("cleanup: List: %v", err)
		return
	}
	for _, st := range all {
		if err := sp.Stop(ctx, st.Ref); err != nil {
			t.Errorf("cleanup: Stop(%s): %v", st.Ref, err)
		}
	}
	waitIdle(t, sp)
}

// get fetches url and returns the status code and body.
func get(t testing.TB, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// checkHelper verifies that srv is a helper server answering under the
// default prefix.
func checkHelper(t *testing.T, srv spawner.Server) {
	t.Helper()
	code, body := get(t, srv.URL+spawner.DefaultPrefix(srv.Ref))
	if code != http.StatusOK || body != helperBody {
		t.Fatalf("GET %s%s = %d %q, want 200 %q", srv.URL, spawner.DefaultPrefix(srv.Ref), code, body, helperBody)
	}
}

// envOf asks a helper server for its environment.
func envOf(t *testing.T, srv spawner.Server, prefix string) envReport {
	t.Helper()
	code, body := get(t, srv.URL+prefix+envPath)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", envPath, code, body)
	}
	var r envReport
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// processGone reports whether pid has exited (a zombie counts as exited).
func processGone(pid int) bool {
	_, ok := lookupProc(pid)
	return !ok
}

// readPID reads a pid file the helper wrote, waiting for it to appear.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, "pid file "+path, func() bool {
		data, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(string(data))
		return err == nil
	})
	return pid
}

// eventually polls cond until it holds or 30 seconds pass; the bound only
// keeps a broken implementation from hanging the test.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
