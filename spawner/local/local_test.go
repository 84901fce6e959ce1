package local

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/spawner"
)

// withMode runs the helper in mode for every server of the spawner.
func withMode(mode string) func(*Options) {
	return func(o *Options) {
		o.Env[modeEnv] = mode
		o.Env[pidFileEnv] = "server.pid"
	}
}

func startErr(t *testing.T, err error) *spawner.StartError {
	t.Helper()
	var se *spawner.StartError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T), want a *spawner.StartError", err, err)
	}
	return se
}

// assertNoState checks that StateDir holds no state file.
func assertNoState(t *testing.T, sp *Spawner) {
	t.Helper()
	states, err := sp.listStates()
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 0 {
		t.Errorf("state files left: %+v", states)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("HUBKIT_TEST_INHERITED", "from-hub")
	t.Setenv("HUBKIT_TEST_NOT_INHERITED", "hub-only")
	sp := newHelperSpawner(t, func(o *Options) {
		o.InheritEnv = append(DefaultInheritEnv(), "HUBKIT_TEST_INHERITED")
		o.Env["FROM_OPTIONS"] = "options"
		o.Env["DELETED_BY_OVERRIDE"] = "options"
		o.Env["OVERRIDDEN_BY_REQUEST"] = "options"
		o.Args = []string{"--from-options"}
	})
	const token = "secret-api-token-0123456789"
	ref := spawner.Ref{User: "alice"}
	srv, err := sp.Start(t.Context(), spawner.Request{
		Ref:      ref,
		APIToken: token,
		Env: map[string]string{
			"JUPYTERHUB_USER":       "alice",
			"OVERRIDDEN_BY_REQUEST": "request",
			"NOTEBOOK_VAULT_TOKEN":  "overridden-by-secret-env",
		},
		SecretEnv: map[string]string{"NOTEBOOK_VAULT_TOKEN": "hvs.secret-env"},
		Override: map[string]any{
			"environment": map[string]any{"DELETED_BY_OVERRIDE": nil, "FROM_OVERRIDE": "override"},
			"args":        []any{"--from-override", "x"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkHelper(t, srv)
	prefix := spawner.DefaultPrefix(ref)
	rep := envOf(t, srv, prefix)
	home, err := sp.HomeDir(ref)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"JUPYTERHUB_API_TOKEN":      token,
		"JPY_API_TOKEN":             token,
		"JUPYTERHUB_SERVICE_PREFIX": prefix,
		"JUPYTERHUB_SERVICE_URL":    srv.URL + prefix,
		"JUPYTERHUB_USER":           "alice",
		"HOME":                      home,
		"PATH":                      os.Getenv("PATH"),
		"HUBKIT_TEST_INHERITED":     "from-hub",
		"FROM_OPTIONS":              "options",
		"FROM_OVERRIDE":             "override",
		"OVERRIDDEN_BY_REQUEST":     "request",
		"NOTEBOOK_VAULT_TOKEN":      "hvs.secret-env",
	}
	for k, v := range want {
		if got, ok := rep.Env[k]; !ok || got != v {
			t.Errorf("server env %s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"HUBKIT_TEST_NOT_INHERITED", "DELETED_BY_OVERRIDE"} {
		if v, ok := rep.Env[k]; ok {
			t.Errorf("server env has %s=%q, want it unset", k, v)
		}
	}
	if rep.Cwd != home {
		t.Errorf("server working directory %q, want %q", rep.Cwd, home)
	}
	if fi, err := os.Stat(home); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("home %s: %v, mode %v, want 0700", home, err, fi.Mode())
	}
	if !slices.Equal(rep.Args[1:], []string{"--from-override", "x"}) {
		t.Errorf("server args %q, want the override's", rep.Args[1:])
	}
	// The token is in no command line: not in the arguments the server
	// saw, and not in what every local user can read.
	if slices.ContainsFunc(rep.Args, func(a string) bool { return strings.Contains(a, token) }) {
		t.Errorf("token on the command line: %q", rep.Args)
	}
	if runtime.GOOS == "linux" {
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(rep.PID) + "/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(cmdline), token) {
			t.Errorf("token in /proc/%d/cmdline", rep.PID)
		}
	}
	// Neither in the state file, nor in the server's State.
	data, err := os.ReadFile(sp.statePath(ref))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), token) || strings.Contains(string(data), "hvs.secret-env") {
		t.Error("token or secret env in the state file")
	}
	if srv.State["pid"] != strconv.Itoa(rep.PID) {
		t.Errorf("State pid %q, server pid %d", srv.State["pid"], rep.PID)
	}
	if err := sp.Stop(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
}

func TestHubPrefix(t *testing.T) {
	sp := newHelperSpawner(t)
	ref := spawner.Ref{User: "bob", Server: "lab"}
	for _, prefix := range []string{"/hub-made/bob/lab/", "no/slashes"} {
		srv, err := sp.Start(t.Context(), spawner.Request{
			Ref: ref, APIToken: "t",
			Env: map[string]string{"JUPYTERHUB_SERVICE_PREFIX": prefix},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := "/" + strings.Trim(prefix, "/") + "/"
		if code, body := get(t, srv.URL+want); code != http.StatusOK || body != helperBody {
			t.Errorf("GET %s = %d %q", want, code, body)
		}
		if rep := envOf(t, srv, want); rep.Env["JUPYTERHUB_SERVICE_URL"] != srv.URL+want {
			t.Errorf("JUPYTERHUB_SERVICE_URL = %q, want %q", rep.Env["JUPYTERHUB_SERVICE_URL"], srv.URL+want)
		}
		if err := sp.Stop(t.Context(), ref); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExited(t *testing.T) {
	sp := newHelperSpawner(t, withMode("exit"))
	ref := spawner.Ref{User: "carol"}
	_, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
	se := startErr(t, err)
	if se.Reason != "Exited" || se.Ref != ref {
		t.Errorf("StartError = %+v, want Reason Exited for %s", se, ref)
	}
	for _, want := range []string{"exit status 3", "helper: failing on purpose", "helper: some stdout line"} {
		if !strings.Contains(se.Message, want) {
			t.Errorf("StartError message %q does not contain %q", se.Message, want)
		}
	}
	if len(se.Events) == 0 {
		t.Error("StartError has no events")
	}
	if st, err := sp.Status(t.Context(), ref); err != nil || st.Phase != spawner.PhaseStopped {
		t.Errorf("Status after failed start = %+v, %v; want stopped", st, err)
	}
	assertNoState(t, sp)
	ch, err := sp.Progress(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var last spawner.Event
	for e := range ch {
		last = e
	}
	if !last.Failed {
		t.Errorf("last progress event %+v, want failed", last)
	}
}

func TestExecFailed(t *testing.T) {
	for _, cmd := range []string{"hubkit-no-such-command", "/nonexistent/hubkit/server"} {
		sp := newHelperSpawner(t)
		_, err := sp.Start(t.Context(), spawner.Request{Ref: spawner.Ref{User: "dan"},
			Override: map[string]any{"cmd": cmd}})
		if se := startErr(t, err); se.Reason != "ExecFailed" || !strings.Contains(se.Message, cmd) {
			t.Errorf("Start with cmd %q: %+v, want ExecFailed naming the command", cmd, se)
		}
		assertNoState(t, sp)
	}
}

func TestTimeout(t *testing.T) {
	for _, mode := range []string{"hang", "status503"} {
		t.Run(mode, func(t *testing.T) {
			sp := newHelperSpawner(t, withMode(mode))
			ref := spawner.Ref{User: "erin"}
			_, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t",
				Override: map[string]any{"start_timeout": 2}})
			se := startErr(t, err)
			if se.Reason != "Timeout" || !errors.Is(err, spawner.ErrTimeout) {
				t.Errorf("error %v, want Reason Timeout wrapping ErrTimeout", err)
			}
			home, _ := sp.HomeDir(ref)
			pid := readPID(t, filepath.Join(home, "server.pid"))
			if !processGone(pid) {
				t.Errorf("server process %d still runs after the timeout", pid)
			}
			assertNoState(t, sp)
			if st, _ := sp.Status(t.Context(), ref); st.Phase != spawner.PhaseStopped {
				t.Errorf("Status = %v, want stopped", st.Phase)
			}
		})
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	sp := newHelperSpawner(t, withMode("hang"))
	ref := spawner.Ref{User: "frank"}
	home, _ := sp.HomeDir(ref)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := sp.Start(ctx, spawner.Request{Ref: ref, APIToken: "t"})
		errc <- err
	}()
	pid := readPID(t, filepath.Join(home, "server.pid"))
	if st, _ := sp.Status(t.Context(), ref); st.Phase != spawner.PhasePending {
		t.Errorf("Status while starting = %v, want pending", st.Phase)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Start error = %v, want context.Canceled", err)
	}
	// Start cleaned up before it returned.
	if !processGone(pid) {
		t.Errorf("process %d still runs", pid)
	}
	assertNoState(t, sp)
}

func TestLeavingCallerDoesNotCancelOthers(t *testing.T) {
	sp := newHelperSpawner(t, withMode("slow"))
	ref := spawner.Ref{User: "gina"}
	home, _ := sp.HomeDir(ref)
	ctxA, cancelA := context.WithCancel(t.Context())
	defer cancelA()
	type result struct {
		srv spawner.Server
		err error
	}
	a, b := make(chan result, 1), make(chan result, 1)
	go func() {
		srv, err := sp.Start(ctxA, spawner.Request{Ref: ref, APIToken: "t"})
		a <- result{srv, err}
	}()
	pid := readPID(t, filepath.Join(home, "server.pid"))
	go func() {
		srv, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
		b <- result{srv, err}
	}()
	// b has joined once it counts as a waiter.
	eventually(t, "the second caller joins", func() bool {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		c := sp.calls[ref]
		return c != nil && c.waiters == 2
	})
	cancelA()
	if r := <-a; !errors.Is(r.err, context.Canceled) {
		t.Errorf("first caller: %v, want context.Canceled", r.err)
	}
	r := <-b
	if r.err != nil {
		t.Fatalf("second caller: %v", r.err)
	}
	if r.srv.State["pid"] != strconv.Itoa(pid) {
		t.Errorf("second caller got pid %s, want the shared process %d", r.srv.State["pid"], pid)
	}
}

func TestStopCancelsStart(t *testing.T) {
	sp := newHelperSpawner(t, withMode("hang"))
	ref := spawner.Ref{User: "hank", Server: "x"}
	home, _ := sp.HomeDir(ref)
	errc := make(chan error, 1)
	go func() {
		_, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
		errc <- err
	}()
	pid := readPID(t, filepath.Join(home, "server.pid"))
	if err := sp.Stop(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	if se := startErr(t, <-errc); se.Reason != "Stopped" {
		t.Errorf("Start interrupted by Stop: reason %q, want Stopped", se.Reason)
	}
	if !processGone(pid) {
		t.Errorf("process %d still runs", pid)
	}
	assertNoState(t, sp)
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	sp := newHelperSpawner(t, withMode("ignore-term"), func(o *Options) {
		o.StopGracePeriod = 500 * time.Millisecond
	})
	ref := spawner.Ref{User: "ivy"}
	srv, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(srv.State["pid"])
	if err := sp.Stop(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	home, _ := sp.HomeDir(ref)
	if _, err := os.Stat(filepath.Join(home, "sigterm")); err != nil {
		t.Errorf("the server saw no SIGTERM: %v", err)
	}
	if !processGone(pid) {
		t.Errorf("process %d survived Stop", pid)
	}
	assertNoState(t, sp)
}

func TestStopKillsProcessGroup(t *testing.T) {
	sp := newHelperSpawner(t, withMode("grandchild"))
	ref := spawner.Ref{User: "jack"}
	srv, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	home, _ := sp.HomeDir(ref)
	child := readPID(t, filepath.Join(home, "grandchild.pid"))
	pid, _ := strconv.Atoi(srv.State["pid"])
	if err := sp.Stop(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Errorf("server %d survived Stop", pid)
	}
	eventually(t, "the server's child exits", func() bool { return processGone(child) })
}

func TestReadoptByNewSpawner(t *testing.T) {
	dir := t.TempDir()
	opts := helperOptions(t, dir)
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, a) })
	ref := spawner.Ref{User: "kim", Server: "lab"}
	srv, err := a.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(srv.State["pid"])

	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	all, err := b.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Ref != ref || all[0].Phase != spawner.PhaseRunning || all[0].Server.URL != srv.URL {
		t.Fatalf("new spawner lists %+v, want %s running at %s", all, ref, srv.URL)
	}
	// A start of the running server returns it.
	again, err := b.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
	if err != nil || again.URL != srv.URL {
		t.Fatalf("Start of the adopted server = %v, %v; want %s", again.URL, err, srv.URL)
	}
	ch, err := b.Progress(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := <-ch; !ok || !e.Ready {
		t.Errorf("progress of the adopted server: %+v, want ready", e)
	}
	if err := b.Stop(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Errorf("process %d survived the new spawner's Stop", pid)
	}
	assertNoState(t, b)
	for name, sp := range map[string]*Spawner{"first": a, "second": b} {
		if st, _ := sp.Status(t.Context(), ref); st.Phase != spawner.PhaseStopped {
			t.Errorf("%s spawner: Status = %v, want stopped", name, st.Phase)
		}
	}
}

func TestStaleStateFiles(t *testing.T) {
	sp := newHelperSpawner(t)
	// A process that has exited: its pid is free (or reused later).
	cmd := exec.Command(testExecutable(t))
	cmd.Env = []string{helperEnv + "=1", modeEnv + "=exit"}
	cmd.Run()
	deadPID := cmd.Process.Pid
	self, ok := lookupProc(os.Getpid())
	if !ok {
		t.Fatal("cannot look up the test process")
	}
	cases := []struct {
		name string
		st   stateFile
	}{
		{"dead pid", stateFile{PID: deadPID}},
		// A live process with another start time: a reused pid.
		{"reused pid", stateFile{PID: os.Getpid(), ProcStart: self.start + 1}},
		{"pid 1", stateFile{PID: 1}},
		{"pid 0", stateFile{PID: 0}},
		{"negative pid", stateFile{PID: -1}},
	}
	if runtime.GOOS != "linux" {
		cases = slices.Delete(cases, 1, 2) // start times need /proc
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := spawner.Ref{User: "stale"}
			st := c.st
			st.Version, st.Ref, st.Ready, st.URL, st.Port = stateVersion, ref, true, "http://127.0.0.1:1", 1
			if err := sp.writeState(&st); err != nil {
				t.Fatal(err)
			}
			if all, err := sp.List(t.Context()); err != nil || len(all) != 0 {
				t.Errorf("List = %+v, %v; want nothing", all, err)
			}
			if got, err := sp.Status(t.Context(), ref); err != nil || got.Phase != spawner.PhaseStopped {
				t.Errorf("Status = %+v, %v; want stopped", got, err)
			}
			if err := sp.Stop(t.Context(), ref); err != nil {
				t.Fatal(err)
			}
			assertNoState(t, sp)
		})
	}

	t.Run("unreadable", func(t *testing.T) {
		ref := spawner.Ref{User: "corrupt"}
		if err := os.WriteFile(sp.statePath(ref), []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		if all, err := sp.List(t.Context()); err != nil || len(all) != 0 {
			t.Errorf("List = %+v, %v; want nothing", all, err)
		}
		if got, err := sp.Status(t.Context(), ref); err != nil || got.Phase != spawner.PhaseFailed {
			t.Errorf("Status = %+v, %v; want failed", got, err)
		}
		if err := sp.Stop(t.Context(), ref); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(sp.statePath(ref)); !os.IsNotExist(err) {
			t.Errorf("Stop left the unreadable state file: %v", err)
		}
	})

	t.Run("start replaces", func(t *testing.T) {
		ref := spawner.Ref{User: "stale"}
		st := stateFile{Version: stateVersion, Ref: ref, PID: deadPID, Ready: true, URL: "http://127.0.0.1:1"}
		if err := sp.writeState(&st); err != nil {
			t.Fatal(err)
		}
		srv, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
		if err != nil {
			t.Fatal(err)
		}
		checkHelper(t, srv)
	})
}

func TestHomeDirs(t *testing.T) {
	sp := newHelperSpawner(t)
	def := spawner.Ref{User: "lee"}
	named := spawner.Ref{User: "lee", Server: "Dev Box"}
	other := spawner.Ref{User: "lee", Server: "other"}
	write := func(ref spawner.Ref) string {
		t.Helper()
		if _, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"}); err != nil {
			t.Fatal(err)
		}
		home, _ := sp.HomeDir(ref)
		f := filepath.Join(home, "notebook.ipynb")
		if err := os.WriteFile(f, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := sp.Stop(t.Context(), ref); err != nil {
			t.Fatal(err)
		}
		return f
	}
	exists := func(f string) bool { _, err := os.Stat(f); return err == nil }
	defFile, namedFile, otherFile := write(def), write(named), write(other)
	for _, f := range []string{defFile, namedFile, otherFile} {
		if !exists(f) {
			t.Errorf("%s did not survive Stop", f)
		}
	}
	if !strings.HasPrefix(namedFile, filepath.Dir(defFile)+string(filepath.Separator)+".servers"+string(filepath.Separator)) {
		t.Errorf("named server file %s is not under the user's .servers", namedFile)
	}

	if err := sp.Remove(t.Context(), named); err != nil {
		t.Fatal(err)
	}
	if exists(namedFile) || !exists(defFile) || !exists(otherFile) {
		t.Errorf("after Remove(%s): named %v, default %v, other %v; want only the named one gone",
			named, exists(namedFile), exists(defFile), exists(otherFile))
	}
	// Removing the default server keeps the other named server's storage.
	if err := sp.Remove(t.Context(), def); err != nil {
		t.Fatal(err)
	}
	if exists(defFile) || !exists(otherFile) {
		t.Errorf("after Remove(%s): default %v, other %v; want the default gone and the other kept",
			def, exists(defFile), exists(otherFile))
	}
	if err := sp.Remove(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if err := sp.Remove(t.Context(), def); err != nil { // idempotent
		t.Fatal(err)
	}
	entries, err := os.ReadDir(sp.opts.HomeRoot)
	if err != nil || len(entries) != 0 {
		t.Errorf("HomeRoot after removing everything: %v, %v; want empty", entries, err)
	}

	// Remove of a running server stops it first.
	srv, err := sp.Start(t.Context(), spawner.Request{Ref: def, APIToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(srv.State["pid"])
	if err := sp.Remove(t.Context(), def); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Errorf("Remove left process %d running", pid)
	}
}

func TestRemoveStaysInsideHomeRoot(t *testing.T) {
	sp := newHelperSpawner(t)
	// A user replaces its .servers directory by a link to a directory
	// outside HomeRoot; Remove of a named server must not follow it.
	outside := t.TempDir()
	victim := filepath.Join(outside, "x")
	if err := os.MkdirAll(victim, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(victim, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	home, _ := sp.HomeDir(spawner.Ref{User: "mallory"})
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(home, ".servers")); err != nil {
		t.Fatal(err)
	}
	sp.Remove(t.Context(), spawner.Ref{User: "mallory", Server: "x"})
	if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
		t.Errorf("Remove followed a link out of HomeRoot: %v", err)
	}
}

func TestPathTraversal(t *testing.T) {
	sp := newHelperSpawner(t)
	root := sp.opts.HomeRoot
	names := []string{"..", ".", "...", ".servers", "%2e%2e", "%2E%2E", "~", "a\\b", "..\\..\\etc",
		"Alice", "alice", "ALICE", "%41lice", strings.Repeat("x", 255), strings.Repeat("é", 127)}
	seen := map[string]spawner.Ref{}
	for _, user := range names {
		for _, server := range []string{"", "..", ".", ".servers"} {
			ref := spawner.Ref{User: user, Server: server}
			dir, err := sp.HomeDir(ref)
			if err != nil {
				t.Fatalf("HomeDir(%q): %v", ref, err)
			}
			rel, err := filepath.Rel(root, dir)
			if err != nil || !filepath.IsLocal(rel) || rel == "." {
				t.Errorf("HomeDir(%q) = %s, outside HomeRoot %s", ref, dir, root)
			}
			first, _, _ := strings.Cut(rel, string(filepath.Separator))
			if strings.HasPrefix(first, ".") {
				t.Errorf("HomeDir(%q) = %s: user directory %q starts with '.'", ref, dir, first)
			}
			// Distinct even on a case-insensitive file system.
			key := strings.ToLower(dir)
			if prev, dup := seen[key]; dup {
				t.Errorf("%q and %q share directory %s", prev, ref, dir)
			}
			seen[key] = ref
		}
	}
	for _, ref := range []spawner.Ref{{User: "../../etc"}, {User: "ok", Server: "../../etc"}, {User: "/etc"}} {
		if _, err := sp.HomeDir(ref); !errors.Is(err, spawner.ErrInvalid) {
			t.Errorf("HomeDir(%q) error = %v, want ErrInvalid", ref, err)
		}
		if _, err := sp.Start(t.Context(), spawner.Request{Ref: ref}); !errors.Is(err, spawner.ErrInvalid) {
			t.Errorf("Start(%q) error = %v, want ErrInvalid", ref, err)
		}
	}
	// A server of user ".." really runs inside HomeRoot.
	ref := spawner.Ref{User: "..", Server: ".."}
	srv, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	rep := envOf(t, srv, spawner.DefaultPrefix(ref))
	if rel, err := filepath.Rel(root, rep.Cwd); err != nil || !filepath.IsLocal(rel) {
		t.Errorf("server of %q runs in %s, outside %s", ref, rep.Cwd, root)
	}
	if err := sp.Remove(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(root))
	for _, e := range entries {
		if e.Name() != filepath.Base(root) && e.Name() != "servers" && e.Name() != "lock" {
			t.Errorf("unexpected entry %s next to HomeRoot", e.Name())
		}
	}
}

func TestUnusualNames(t *testing.T) {
	// Like the conformance suite's UnusualNames, with more names: the
	// longest valid ones, dots, and an escaped slash.
	sp := newHelperSpawner(t)
	refs := []spawner.Ref{
		{User: "Jörg.Müller@uni.example"},
		{User: "UPPER--case", Server: "My Server"},
		{User: strings.Repeat("long", 63)},
		{User: strings.Repeat("ü", 127), Server: strings.Repeat("ß", 127)},
		{User: "9starts-with-digit", Server: "ü"},
		{User: "..", Server: "%2F"},
	}
	urls := map[string]spawner.Ref{}
	for _, ref := range refs {
		srv, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"})
		if err != nil {
			t.Fatalf("Start(%q): %v", ref, err)
		}
		checkHelper(t, srv)
		if other, dup := urls[srv.URL]; dup {
			t.Fatalf("%q and %q share URL %s", ref, other, srv.URL)
		}
		urls[srv.URL] = ref
	}
	all, err := sp.List(t.Context())
	if err != nil || len(all) != len(refs) {
		t.Fatalf("List = %d servers, %v; want %d", len(all), err, len(refs))
	}
	for _, ref := range refs {
		if st, _ := sp.Status(t.Context(), ref); st.Phase != spawner.PhaseRunning || st.Ref != ref {
			t.Errorf("Status(%q) = %v %q, want running under the raw names", ref, st.Phase, st.Ref)
		}
		if err := sp.Stop(t.Context(), ref); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOverrideValidation(t *testing.T) {
	sp := newHelperSpawner(t)
	bad := []struct {
		override map[string]any
		key      string
	}{
		{map[string]any{"image": "x"}, "image"},
		{map[string]any{"cmd": 1}, "cmd"},
		{map[string]any{"cmd": []any{}}, "cmd"},
		{map[string]any{"cmd": []any{"ok", 2}}, "cmd"},
		{map[string]any{"args": "not a list"}, "args"},
		{map[string]any{"environment": map[string]any{"X": 5}}, "environment"},
		{map[string]any{"environment": []string{"X=1"}}, "environment"},
		{map[string]any{"environment": map[string]any{"A=B": "x"}}, "environment"},
		{map[string]any{"start_timeout": "soon"}, "start_timeout"},
		{map[string]any{"start_timeout": -1}, "start_timeout"},
		{map[string]any{"start_timeout": 0.0}, "start_timeout"},
	}
	for _, c := range bad {
		_, err := sp.Start(t.Context(), spawner.Request{Ref: spawner.Ref{User: "olga"}, Override: c.override})
		if !errors.Is(err, spawner.ErrInvalid) || !strings.Contains(err.Error(), strconv.Quote(c.key)) {
			t.Errorf("override %v: error %v, want ErrInvalid naming %q", c.override, err, c.key)
		}
	}
	_, err := sp.Start(t.Context(), spawner.Request{Ref: spawner.Ref{User: "olga"}, Env: map[string]string{"": "x"}})
	if !errors.Is(err, spawner.ErrInvalid) {
		t.Errorf("empty variable name in Request.Env: %v, want ErrInvalid", err)
	}
	// Nothing was created.
	if entries, _ := os.ReadDir(sp.opts.HomeRoot); len(entries) != 0 {
		t.Errorf("HomeRoot has %v after rejected starts", entries)
	}
	assertNoState(t, sp)

	// Overrides as the hub decodes them from JSON.
	var ov map[string]any
	if err := json.Unmarshal([]byte(`{"cmd": ["a", "b"], "args": null, "environment": {"X": "1", "Y": null}, "start_timeout": 1.5}`), &ov); err != nil {
		t.Fatal(err)
	}
	o := Options{Env: map[string]string{"Y": "0", "Z": "z"}, Args: []string{"--x"}}
	o, err = o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.resolve(ov)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.cmd, []string{"a", "b"}) || !slices.Equal(cfg.args, []string{"--x"}) ||
		cfg.startTimeout != 1500*time.Millisecond || len(cfg.env) != 2 || cfg.env["X"] != "1" || cfg.env["Z"] != "z" {
		t.Errorf("resolved %+v", cfg)
	}
	if o.Env["X"] != "" || o.Env["Y"] != "0" {
		t.Errorf("resolve changed the options: %v", o.Env)
	}
}

func TestDefaults(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	stateDir, _ := os.UserCacheDir()
	stateDir = filepath.Join(stateDir, "hubkit", "local")
	switch {
	case !slices.Equal(o.Cmd, []string{"jupyterhub-singleuser"}):
		t.Errorf("Cmd = %q", o.Cmd)
	case o.Host != "127.0.0.1":
		t.Errorf("Host = %q", o.Host)
	case o.StateDir != stateDir:
		t.Errorf("StateDir = %q, want %q", o.StateDir, stateDir)
	case o.HomeRoot != filepath.Join(stateDir, "home"):
		t.Errorf("HomeRoot = %q", o.HomeRoot)
	case o.StartTimeout != 60*time.Second || o.StopGracePeriod != 10*time.Second:
		t.Errorf("timeouts %v %v", o.StartTimeout, o.StopGracePeriod)
	case o.HTTPClient == nil || o.HTTPClient == http.DefaultClient || o.HTTPClient.Timeout == 0 || o.HTTPClient.CheckRedirect == nil:
		t.Errorf("HTTPClient = %+v", o.HTTPClient)
	case o.Logger == nil || o.Now == nil:
		t.Error("no Logger or Now")
	case !slices.Contains(o.InheritEnv, "PATH") || slices.Contains(o.InheritEnv, "HOME"):
		t.Errorf("InheritEnv = %q", o.InheritEnv)
	}
	// A caller's client is copied, not changed.
	mine := &http.Client{}
	o, err = Options{HTTPClient: mine}.withDefaults()
	if err != nil || o.HTTPClient == mine || mine.CheckRedirect != nil {
		t.Errorf("caller's HTTPClient was modified or shared")
	}
	for _, bad := range []Options{{Cmd: []string{}}, {StartTimeout: -1}, {StopGracePeriod: -1}, {Env: map[string]string{"A=B": ""}}} {
		if _, err := New(bad); err == nil || !strings.HasPrefix(err.Error(), "local: ") {
			t.Errorf("New(%+v) error = %v, want a local: error", bad, err)
		}
	}
	sp, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sp.serversDir()); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v %v", fi, err)
	}
}

func TestNoLeaks(t *testing.T) {
	sp := newHelperSpawner(t, withMode("grandchild"))
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			ref := spawner.Ref{User: "leak", Server: strconv.Itoa(i)}
			if _, err := sp.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t"}); err != nil {
				t.Error(err)
				return
			}
			if err := sp.Stop(t.Context(), ref); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { sp.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("process goroutines still running after Stop")
	}
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.procs) != 0 || len(sp.calls) != 0 {
		t.Errorf("left: %d processes, %d calls", len(sp.procs), len(sp.calls))
	}
}
