package hubapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
	"github.com/hubkit/hubkit/internal/testenv"
)

// cullerScopes are the scopes jupyterhub-idle-culler documents, with
// admin:users for --cull-users.
var cullerScopes = []string{"list:users", "read:users:activity", "read:servers", "delete:servers", "admin:users"}

// TestRealJupyterHub runs the culler against Debian's JupyterHub 3.0.0
// (SimpleLocalProcessSpawner, jupyterhub-singleuser, configurable-http-proxy
// from npm), with the scopes jupyterhub-idle-culler documents. Servers are
// started through the hub's API; the hub records their activity itself.
// To make servers idle without waiting, the culler's clock runs an hour
// ahead, and the servers that should stay are given activity 50 minutes
// ahead through the hub's activity API (which only moves activity
// forward). Policy: timeout 30 min, cull users, skip admin users, remove
// named servers.
func TestRealJupyterHub(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real JupyterHub")
	}
	hub := testenv.StartJupyterHub(t, testenv.JupyterHubOptions{
		Services: []testenv.JupyterHubService{{Name: "idle-culler", Scopes: cullerScopes}},
	})
	start := time.Now().UTC()
	soon := start.Add(50 * time.Minute).Format("2006-01-02T15:04:05.000000Z")

	type server struct{ user, name string }
	// Who has what; "admin" users are created as hub admins.
	users := []struct {
		name    string
		admin   bool
		servers []string
		active  []string // servers (and with them the user) given recent activity
	}{
		{name: "idle-default", servers: []string{""}},
		{name: "active-default", servers: []string{""}, active: []string{""}},
		{name: "mixed", servers: []string{"", "nb"}, active: []string{""}},
		{name: "multi", servers: []string{"", "nb2"}},
		{name: "boss", admin: true, servers: []string{""}},
		{name: "never-started"},
	}
	var all []server
	for _, u := range users {
		hub.MustDo(t, http.MethodPost, "/users/"+u.name, map[string]any{"admin": u.admin}, http.StatusCreated)
		for _, s := range u.servers {
			all = append(all, server{u.name, s})
		}
	}
	// Start every server at once; the hub answers 201 or 202 (still
	// starting).
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Go(func() {
			path := "/users/" + s.user + "/server"
			if s.name != "" {
				path = "/users/" + s.user + "/servers/" + s.name
			}
			hub.MustDo(t, http.MethodPost, path, nil, http.StatusCreated, http.StatusAccepted)
			hub.WaitReady(t, s.user, s.name, 90*time.Second)
		})
	}
	wg.Wait()
	for _, u := range users {
		if len(u.active) == 0 {
			continue
		}
		servers := map[string]any{}
		for _, s := range u.active {
			servers[s] = map[string]string{"last_activity": soon}
		}
		hub.MustDo(t, http.MethodPost, "/users/"+u.name+"/activity",
			map[string]any{"last_activity": soon, "servers": servers}, http.StatusOK)
	}

	c, err := hubapi.New(hubapi.Options{
		URL: hub.APIURL, Token: hub.ServiceToken("idle-culler"),
		PageSize: 1, // JupyterHub pages state=ready by (user, server) row: multi and mixed come twice
		Getenv:   func(string) string { return "" },
		Logger:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Version(t.Context()); err != nil || !strings.HasPrefix(v, "3.") {
		t.Logf("hub version %q, %v", v, err)
	}
	cl, err := culler.New(c, culler.Options{
		Timeout: 30 * time.Minute, CullUsers: true, SkipAdminUsers: true, RemoveNamedServers: true,
		Now:    func() time.Time { return time.Now().Add(time.Hour) },
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := cl.Once(t.Context())
	if err != nil {
		t.Fatalf("pass: %v", err)
	}

	var stopped []string
	for _, s := range rep.Stopped {
		if s.SlowToStop {
			t.Logf("%s was slow to stop", s.ServerRef)
		}
		stopped = append(stopped, fmt.Sprintf("%s removed=%v", s.ServerRef, s.Removed))
	}
	slices.Sort(stopped)
	wantStopped := []string{"boss removed=false", "idle-default removed=false", "mixed/nb removed=true",
		"multi removed=false", "multi/nb2 removed=true"}
	if !slices.Equal(stopped, wantStopped) {
		t.Errorf("stopped:\n got  %q\n want %q", stopped, wantStopped)
	}
	var deleted []string
	for _, d := range rep.Deleted {
		deleted = append(deleted, d.User)
	}
	slices.Sort(deleted)
	// multi's servers stopped in this pass and multi is idle: deleted in
	// the same pass, as jupyterhub-idle-culler does (unless a stop was
	// slow, when it waits a pass).
	wantDeleted := []string{"idle-default", "multi", "never-started"}
	if len(rep.Stopped) > 0 && slices.ContainsFunc(rep.Stopped, func(s culler.CulledServer) bool { return s.SlowToStop }) {
		t.Skipf("a server was slow to stop; deletions %q", deleted)
	}
	if !slices.Equal(deleted, wantDeleted) {
		t.Errorf("deleted %q, want %q", deleted, wantDeleted)
	}

	// What the hub says now.
	state := hubState(t, hub)
	want := map[string]string{
		"active-default": `running:[""]`,
		"mixed":          `running:[""]`, // nb was removed: not even listed as stopped
		"boss":           `running:[] stopped:[""]`,
	}
	for _, name := range []string{"idle-default", "multi", "never-started"} {
		if _, ok := state[name]; ok {
			t.Errorf("user %s still exists", name)
		}
	}
	for name, w := range want {
		if got := state[name]; got != w {
			t.Errorf("%s: %s, want %s", name, got, w)
		}
	}

	// A second pass finds nothing more to do.
	rep, err = cl.Once(t.Context())
	if err != nil || len(rep.Stopped) != 0 || len(rep.Deleted) != 0 {
		t.Errorf("second pass: %+v, %v", rep, err)
	}
}

// hubState describes each user as "running:[names] stopped:[names]"
// (stopped servers that still exist; removed ones are gone).
func hubState(t *testing.T, hub *testenv.JupyterHub) map[string]string {
	t.Helper()
	b := hub.MustDo(t, http.MethodGet, "/users?include_stopped_servers=1", nil, http.StatusOK)
	var users []struct {
		Name    string `json:"name"`
		Servers map[string]struct {
			Ready   bool `json:"ready"`
			Stopped bool `json:"stopped"`
		} `json:"servers"`
	}
	if err := json.Unmarshal(b, &users); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range users {
		var running, stopped []string
		for name, s := range u.Servers {
			if s.Ready {
				running = append(running, name)
			} else if s.Stopped {
				stopped = append(stopped, name)
			}
		}
		slices.Sort(running)
		slices.Sort(stopped)
		r, _ := json.Marshal(running)
		if running == nil {
			r = []byte("[]")
		}
		d := ""
		if len(stopped) > 0 {
			s, _ := json.Marshal(stopped)
			d = " stopped:" + string(s)
		} else if len(running) == 0 {
			d = " stopped:[]"
		}
		out[u.Name] = "running:" + string(r) + d
	}
	return out
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
