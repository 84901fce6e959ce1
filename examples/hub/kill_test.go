package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hubkit/hubkit/internal/testenv"
)

// TestKilledMidStop kills the hub (SIGKILL) while a server is stopping (a
// stop through the API, as the culler's is) and starts it again: the new
// hub finishes the stop — the server's processes are gone and it is
// recorded as stopped — the user and their files are kept, and the server
// starts again.
func TestKilledMidStop(t *testing.T) {
	bin := testenv.LookPath(t, "jupyterhub-singleuser", "hack/install-jupyterhub.sh")
	dir := t.TempDir()
	addr := freeAddr(t)
	// A server that takes 30 s to stop after SIGTERM (the hub sends
	// SIGKILL after 10 s), so that the hub dies during the stop and only
	// the restarted hub's stop can end it in time.
	values := strings.Replace(localValues(dir, addr, "cull:\n  enabled: false\n"), "  local:\n",
		"  local:\n    cmd: [sh, -c, 'trap \"sleep 30; exit 0\" TERM; \"$0\" \"$@\" & wait', "+bin+"]\n", 1)
	path := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(path, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	child := startChild(t, path, &log)
	r := &hubRun{t: t, log: &log, done: make(chan int, 1)}
	r.waitHealthy(addr)
	r.api("POST", "/hub/api/users/alice", testServiceToken, nil)
	if code, b := r.api("POST", "/hub/api/users/alice/server", testServiceToken, nil); code != 201 && code != 202 {
		t.Fatalf("start: %d %s", code, b)
	}
	r.waitFor("alice's server", func() bool { return r.serverReady("alice") })
	pids := serverPIDs(t, dir)
	if len(pids) == 0 {
		t.Fatal("no server process in the state files")
	}

	go func() {
		req, _ := http.NewRequest("DELETE", r.url+"/hub/api/users/alice/server", nil)
		req.Header.Set("Authorization", "token "+testServiceToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	r.waitFor("the stop to be pending", func() bool {
		_, b := r.api("GET", "/hub/api/users/alice", testServiceToken, nil)
		return strings.Contains(string(b), `"pending":"stop"`)
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	child = startChild(t, path, &log)
	r.waitHealthy(addr)
	code, b := r.api("GET", "/hub/api/users/alice", testServiceToken, nil)
	var m struct {
		Name    string
		Servers map[string]any
	}
	if err := json.Unmarshal(b, &m); code != 200 || err != nil || m.Name != "alice" {
		t.Fatalf("alice after the restart: %d %s", code, b)
	}
	if len(m.Servers) != 0 {
		t.Fatalf("alice's server after the restart: %v, want the stop finished\n%s", m.Servers, log.String())
	}
	for _, pid := range pids {
		if processRuns(pid) {
			t.Errorf("process %d of the stopped server still runs", pid)
		}
	}
	if state, _ := filepath.Glob(filepath.Join(dir, "servers", "servers", "*.json")); len(state) != 0 {
		t.Errorf("state files left: %v", state)
	}
	// The server starts again.
	if code, b := r.api("POST", "/hub/api/users/alice/server", testServiceToken, nil); code != 201 && code != 202 {
		t.Fatalf("start after the restart: %d %s", code, b)
	}
	r.waitFor("alice's server again", func() bool { return r.serverReady("alice") })
	if code, b := r.api("DELETE", "/hub/api/users/alice/server", testServiceToken, nil); code != 204 && code != 202 {
		t.Fatalf("stop: %d %s", code, b)
	}
	r.waitFor("the last stop", func() bool { return !r.serverReady("alice") })
	_ = child.Process.Signal(syscall.SIGTERM)
	_ = child.Wait()
}

// serverPIDs reads the process IDs from the local spawner's state files.
func serverPIDs(t *testing.T, dir string) []int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "servers", "servers", "*.json"))
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, v := range st {
			if strings.EqualFold(k, "pid") {
				if n, err := strconv.Atoi(strings.TrimSpace(jsonString(v))); err == nil && n > 1 {
					pids = append(pids, n)
				}
			}
		}
	}
	return pids
}

func jsonString(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatInt(int64(x), 10)
	case string:
		return x
	}
	return ""
}

// processRuns reports whether pid is a live process (a zombie that no one
// reaped is not: the hub that started it is gone).
func processRuns(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err) && syscall.Kill(pid, 0) == nil
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}
