package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/internal/testenv"
)

// envRunMain makes the test binary run cullerd's main instead of the
// tests, so that a real JupyterHub can start it as a managed service.
const envRunMain = "HUBKIT_CULLERD_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stderr))
	}
	os.Exit(m.Run())
}

func noFile(string) (os.FileInfo, error) { return nil, fs.ErrNotExist }

func TestParseFlags(t *testing.T) {
	def := culler.Options{Timeout: 600 * time.Second, Every: 300 * time.Second, Concurrency: 10}
	for _, tc := range []struct {
		name    string
		args    []string
		want    culler.Options
		url     string
		page    int
		level   slog.Level
		wantErr string
	}{
		{name: "defaults", want: def},
		{
			name: "zero-to-jupyterhub's command line",
			args: []string{"--url=http://localhost:8081/hub/api", "--timeout=3600", "--cull-every=600", "--concurrency=10",
				"--cull-users", "--cull-admin-users=false", "--remove-named-servers", "--max-age=86400"},
			want: culler.Options{Timeout: time.Hour, Every: 10 * time.Minute, MaxAge: 24 * time.Hour, CullUsers: true,
				SkipAdminUsers: true, RemoveNamedServers: true, Concurrency: 10},
			url: "http://localhost:8081/hub/api",
		},
		{
			name: "traitlets forms",
			args: []string{"--timeout", "120", "--cull-users", "true", "--cull-default-servers=False",
				"--IdleCuller.cull_named_servers=0", "--IdleCuller.api_page_size=200", "-cull-admin-users", "False"},
			want: culler.Options{Timeout: 2 * time.Minute, Every: time.Minute, CullUsers: true, SkipAdminUsers: true,
				SkipDefaultServers: true, SkipNamedServers: true, Concurrency: 10},
			page: 200,
		},
		{name: "every defaults to whole seconds of timeout/2", args: []string{"--timeout=601"},
			want: culler.Options{Timeout: 601 * time.Second, Every: 300 * time.Second, Concurrency: 10}},
		{name: "concurrency 0 is no limit", args: []string{"--concurrency=0"},
			want: culler.Options{Timeout: 600 * time.Second, Every: 300 * time.Second, Concurrency: -1}},
		{name: "debug", args: []string{"--debug"}, want: def, level: slog.LevelDebug},
		{name: "log level name", args: []string{"--log-level=WARNING"}, want: def, level: slog.LevelWarn},
		{name: "log level number", args: []string{"--log-level", "40"}, want: def, level: slog.LevelError},
		{name: "bad log level", args: []string{"--log-level=LOUD"}, wantErr: "--log-level"},
		{name: "zero timeout", args: []string{"--timeout=0"}, wantErr: "--timeout must be a positive"},
		{name: "negative max age", args: []string{"--max-age=-1"}, wantErr: "must not be negative"},
		{name: "not a number", args: []string{"--timeout=ten"}, wantErr: "invalid value"},
		{name: "unknown flag", args: []string{"--cull-everything"}, wantErr: "not defined"},
		{name: "stray argument", args: []string{"--timeout=60", "now"}, wantErr: `unexpected argument "now"`},
		{name: "config file", args: []string{"--config=my_config.py"}, wantErr: "Python config files"},
		{name: "generate config", args: []string{"--generate-config"}, wantErr: "no config file"},
		{name: "ssl without certificates", args: []string{"--ssl-enabled", "--internal-certs-location=/nonexistent"}, wantErr: "internal SSL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cfg, err := parseFlags(tc.args, &out, noFile)
			if tc.wantErr != "" {
				msg := ""
				if err != nil {
					msg = err.Error() + out.String()
				}
				if err == nil || !strings.Contains(msg, tc.wantErr) {
					t.Errorf("parseFlags = %v (%s), want an error with %q", err, out.String(), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if policyOf(cfg.culler) != policyOf(tc.want) {
				t.Errorf("culler options:\n got  %+v\n want %+v", cfg.culler, tc.want)
			}
			if cfg.hubapi.URL != tc.url || cfg.hubapi.PageSize != tc.page || cfg.hubapi.Concurrency != tc.want.Concurrency {
				t.Errorf("hubapi options %+v", cfg.hubapi)
			}
			if cfg.level != tc.level {
				t.Errorf("level = %v, want %v", cfg.level, tc.level)
			}
		})
	}
}

// policy is the comparable part of culler.Options.
type policy struct {
	timeout, every, maxAge                        time.Duration
	users, skipAdmin, skipDefault, skipNamed, rem bool
	concurrency                                   int
}

func policyOf(o culler.Options) policy {
	return policy{o.Timeout, o.Every, o.MaxAge, o.CullUsers, o.SkipAdminUsers, o.SkipDefaultServers,
		o.SkipNamedServers, o.RemoveNamedServers, o.Concurrency}
}

func TestConfigFileInWorkingDirectoryIsReportedNotRead(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard, func(name string) (os.FileInfo, error) {
		if name == "idle_culler_config.py" {
			return nil, nil
		}
		return nil, fs.ErrNotExist
	})
	if err != nil || len(cfg.warn) != 1 || !strings.Contains(cfg.warn[0], "idle_culler_config.py") {
		t.Errorf("parseFlags = %+v, %v; want a warning about the config file", cfg.warn, err)
	}
}

func TestOnce(t *testing.T) {
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hub/api/":
			fmt.Fprint(w, `{"version": "3.0.0"}`)
		case "/hub/api/users":
			if r.URL.Query().Get("state") == "inactive" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			fmt.Fprint(w, `{"items": [], "_pagination": {"next": null}}`)
		}
	}))
	defer hub.Close()
	env := map[string]string{"JUPYTERHUB_API_URL": hub.URL + "/hub/api", "JUPYTERHUB_API_TOKEN": "t"}
	getenv := func(k string) string { return env[k] }
	if code := run(t.Context(), []string{"--once"}, getenv, io.Discard); code != 0 {
		t.Errorf("--once: exit %d, want 0", code)
	}
	// With --cull-users the inactive list answers 403: the pass has an
	// error.
	if code := run(t.Context(), []string{"--once", "--cull-users"}, getenv, io.Discard); code != 1 {
		t.Errorf("--once with a failing hub: exit %d, want 1", code)
	}
}

func TestHelpExitsZero(t *testing.T) {
	var out bytes.Buffer
	if code := run(t.Context(), []string{"--help"}, func(string) string { return "" }, &out); code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(out.String(), "--remove-named-servers") && !strings.Contains(out.String(), "-remove-named-servers") {
		t.Errorf("usage does not list the flags:\n%s", out.String())
	}
}

func TestMissingTokenExitsTwo(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"JUPYTERHUB_API_URL": "http://127.0.0.1:1/hub/api"}
	if code := run(t.Context(), nil, func(k string) string { return env[k] }, &out); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(out.String(), "JUPYTERHUB_API_TOKEN") {
		t.Errorf("the error does not name JUPYTERHUB_API_TOKEN:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
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

// TestRunServesMetricsAndStops runs cullerd in process against a small
// hub: it culls the idle server with the environment's URL and token,
// serves its metrics, and exits 0 when its context ends.
func TestRunServesMetricsAndStops(t *testing.T) {
	var mu sync.Mutex
	var deletes []string
	old := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token secret" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/hub/api/":
			fmt.Fprint(w, `{"version": "3.0.0"}`)
		case r.Method == http.MethodGet && r.URL.Path == "/hub/api/users":
			fmt.Fprintf(w, `{"items": [{"name": "ada", "admin": false, "last_activity": %q, "servers": {"": {"name": "", "last_activity": %q, "started": %q, "pending": null, "ready": true}}}], "_pagination": {"next": null}}`, old, old, old)
		case r.Method == http.MethodDelete:
			mu.Lock()
			deletes = append(deletes, r.URL.Path)
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer hub.Close()
	env := map[string]string{"JUPYTERHUB_API_URL": hub.URL + "/hub/api", "JUPYTERHUB_API_TOKEN": "secret"}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--timeout=60", "--metrics-address=127.0.0.1:0"}, func(k string) string { return env[k] }, &logs)
	}()
	deadline := time.Now().Add(30 * time.Second)
	addr := regexp.MustCompile(`serving metrics" address=(\S+)`)
	var metricsURL string
	for {
		mu.Lock()
		n := len(deletes)
		mu.Unlock()
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			metricsURL = "http://" + m[1] + "/metrics"
		}
		if n > 0 && metricsURL != "" && strings.Contains(logs.String(), "cull pass finished") {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("cullerd exited %d; log:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cull within 30s; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`hubkit_culler_servers_culled_total{kind="default",reason="inactive"} 1`,
		"hubkit_culler_pass_duration_seconds_count 1",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d, want 0; log:\n%s", code, logs.String())
	}
	if !slices.Equal(deletes, []string{"/hub/api/users/ada/server"}) {
		t.Errorf("deletes %q", deletes)
	}
}

// TestManagedServiceOnRealJupyterHub is the zero-to-jupyterhub swap: a
// real JupyterHub (Debian's 3.0.0) starts cullerd as a managed service
// with jupyterhub-idle-culler's command line and scopes, and gives it
// JUPYTERHUB_API_TOKEN itself. cullerd runs on the real clock, so the
// timeout is a few seconds; servers that must stay are given activity an
// 50 minutes ahead right after their start is requested (the hub refuses activity more than an hour ahead).
func TestManagedServiceOnRealJupyterHub(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real JupyterHub")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "cullerd.pid")
	py := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	args := []string{"--timeout=5", "--cull-every=1", "--concurrency=10", "--cull-users", "--cull-admin-users=false",
		"--remove-named-servers", "--api-page-size=1", "--log-level=DEBUG"}
	// sh writes cullerd's pid (exec keeps it) so the test can stop it even
	// if the hub dies: JupyterHub starts services in a session of their own.
	command := append([]string{"/bin/sh", "-c", `echo $$ > "$0"; exec "$@"`, pidFile, self}, args...)
	hub := testenv.StartJupyterHub(t, testenv.JupyterHubOptions{ExtraConfig: fmt.Sprintf(`
c.JupyterHub.services.append({"name": "cullerd", "command": %s, "environment": {%q: "1"}})
c.JupyterHub.load_roles.append({"name": "cullerd-role", "services": ["cullerd"],
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers", "admin:users"]})
`, py(command), envRunMain)})
	t.Cleanup(func() { stopPID(pidFile) })
	// z2jh passes --url; here the hub's JUPYTERHUB_API_URL is used.

	soon := time.Now().UTC().Add(50 * time.Minute).Format("2006-01-02T15:04:05.000000Z")
	type user struct {
		name    string
		admin   bool
		servers []string
		active  []string
	}
	users := []user{
		{name: "idle", servers: []string{""}},
		{name: "busy", servers: []string{"", "nb"}, active: []string{""}},
		{name: "boss", admin: true, servers: []string{""}},
		{name: "tmp"},
	}
	for _, u := range users {
		hub.MustDo(t, http.MethodPost, "/users/"+u.name, map[string]any{"admin": u.admin}, http.StatusCreated)
	}
	// Keep the active servers active from the moment the hub knows them
	// (it refuses activity for servers it does not know, and a spawn
	// resets activity to its start), until the test ends.
	ctx, cancel := context.WithCancel(t.Context())
	var keepAlive sync.WaitGroup
	defer keepAlive.Wait()
	defer cancel()
	for _, u := range users {
		if len(u.active) == 0 {
			continue
		}
		servers := map[string]any{}
		for _, s := range u.active {
			servers[s] = map[string]string{"last_activity": soon}
		}
		keepAlive.Go(func() {
			for ctx.Err() == nil {
				_, _, _ = hub.Do(ctx, http.MethodPost, "/users/"+u.name+"/activity",
					map[string]any{"last_activity": soon, "servers": servers})
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		})
	}
	var starts sync.WaitGroup
	for _, u := range users {
		for _, s := range u.servers {
			path := "/users/" + u.name + "/server"
			if s != "" {
				path = "/users/" + u.name + "/servers/" + s
			}
			starts.Go(func() {
				code, b, err := hub.Do(t.Context(), http.MethodPost, path, nil)
				if err != nil || (code != http.StatusCreated && code != http.StatusAccepted) {
					t.Errorf("POST %s: %d %s %v", path, code, b, err)
				}
			})
		}
	}
	starts.Wait()

	// Expected end state: idle's server stopped and idle deleted once
	// inactive for 5 s after the stop; busy keeps its active default
	// server and loses the idle named one (removed: not even listed as
	// stopped); boss (admin) has its server stopped and stays; tmp, never
	// started, is deleted.
	want := map[string]string{"busy": `running`, "boss": `stopped`}
	deadline := time.Now().Add(60 * time.Second)
	var got map[string]string
	for {
		got = serverStates(t, hub)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(hub.Log)
			t.Fatalf("hub state %v, want %v within 60s; hub log:\n%s", got, want, tail(log, 16<<10))
		}
		time.Sleep(250 * time.Millisecond)
	}
	log, _ := os.ReadFile(hub.Log)
	for _, w := range []string{`msg="culling server" server=idle`, `msg="culling server" server=busy/nb`,
		`msg="culling user" user=tmp`, `msg="culling user" user=idle`} {
		if !bytes.Contains(log, []byte(w)) {
			t.Errorf("cullerd did not log %s", w)
		}
	}
	if bytes.Contains(log, []byte(`msg="culling user" user=boss`)) {
		t.Error("cullerd culled the admin user")
	}
}

// serverStates describes each user's servers, stopped ones included, as
// "name:state ..." (state: running, pending-<action> or stopped; the
// default server's name is empty and its "name:" prefix dropped).
func serverStates(t *testing.T, hub *testenv.JupyterHub) map[string]string {
	t.Helper()
	b := hub.MustDo(t, http.MethodGet, "/users?include_stopped_servers=1", nil, http.StatusOK)
	var users []struct {
		Name    string `json:"name"`
		Servers map[string]struct {
			Ready   bool   `json:"ready"`
			Pending string `json:"pending"`
		} `json:"servers"`
	}
	if err := json.Unmarshal(b, &users); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range users {
		var states []string
		for name, s := range u.Servers {
			state := "stopped"
			switch {
			case s.Pending != "":
				state = "pending-" + s.Pending
			case s.Ready:
				state = "running"
			}
			states = append(states, name+":"+state)
		}
		slices.Sort(states)
		out[u.Name] = strings.TrimPrefix(strings.Join(states, " "), ":")
	}
	return out
}

func stopPID(pidFile string) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 0 {
		return
	}
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
