package local

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/spawner"
)

// singleuserInstall is the command that installs jupyterhub-singleuser.
const singleuserInstall = "hack/install-jupyterhub.sh"

// fakeHub answers the hub API calls jupyterhub-singleuser makes: the
// version check at start-up (GET /hub/api/), token checks of incoming
// requests (GET /hub/api/user) and activity reports (POST
// /hub/api/users/{name}/activity).
type fakeHub struct {
	t           *testing.T
	user        string
	serverToken string // the server's own API token
	userToken   string // a token the user presents to the server

	mu    sync.Mutex
	calls []string
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	h.mu.Lock()
	h.calls = append(h.calls, r.Method+" "+r.URL.Path)
	h.mu.Unlock()
	w.Header().Set("X-JupyterHub-Version", "3.0.0")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && (r.URL.Path == "/hub/api/" || r.URL.Path == "/hub/api"):
		json.NewEncoder(w).Encode(map[string]string{"version": "3.0.0"})
	case r.Method == http.MethodGet && r.URL.Path == "/hub/api/user":
		if auth != "token "+h.userToken && auth != "Bearer "+h.userToken {
			http.Error(w, `{"status": 403, "message": "bad token"}`, http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"kind":   "user",
			"name":   h.user,
			"admin":  false,
			"groups": []string{},
			"scopes": []string{"access:servers!user=" + h.user, "read:users:activity!user=" + h.user},
		})
	case r.Method == http.MethodPost && r.URL.Path == "/hub/api/users/"+h.user+"/activity":
		if auth != "token "+h.serverToken {
			http.Error(w, `{"status": 403}`, http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, `{"status": 404}`, http.StatusNotFound)
	}
}

func (h *fakeHub) saw(call string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.calls {
		if c == call {
			return true
		}
	}
	return false
}

// TestJupyterHubSingleuser runs the real jupyterhub-singleuser (Debian's
// jupyterhub package) through the spawner, against a fake hub API.
func TestJupyterHubSingleuser(t *testing.T) {
	bin := testenv.LookPath(t, "jupyterhub-singleuser", singleuserInstall)
	out, err := exec.CommandContext(t.Context(), bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	t.Logf("jupyterhub-singleuser %s", strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]))

	hub := &fakeHub{t: t, user: "alice", serverToken: "server-token-4f1c2a", userToken: "user-token-9d8e7f"}
	hubSrv := httptest.NewServer(hub)
	defer hubSrv.Close()

	sp := newHelperSpawner(t, func(o *Options) {
		o.Cmd = []string{bin}
		o.Env = nil
		if os.Geteuid() == 0 {
			// CI runs as root; the notebook server refuses that by default.
			o.Args = []string{"--allow-root"}
		}
	})
	ref := spawner.Ref{User: "alice"}
	prefix := "/user/alice/"
	apiURL := hubSrv.URL + "/hub/api"
	req := spawner.Request{
		Ref:      ref,
		APIToken: hub.serverToken,
		Env: map[string]string{
			"JUPYTERHUB_API_URL":             apiURL,
			"JUPYTERHUB_ACTIVITY_URL":        apiURL + "/users/alice/activity",
			"JUPYTERHUB_BASE_URL":            "/",
			"JUPYTERHUB_CLIENT_ID":           "jupyterhub-user-alice",
			"JUPYTERHUB_HOST":                "",
			"JUPYTERHUB_OAUTH_CALLBACK_URL":  prefix + "oauth_callback",
			"JUPYTERHUB_OAUTH_SCOPES":        `["access:servers!server=alice/", "access:servers!user=alice"]`,
			"JUPYTERHUB_OAUTH_ACCESS_SCOPES": `["access:servers!server=alice/", "access:servers!user=alice"]`,
			"JUPYTERHUB_SERVER_NAME":         "",
			"JUPYTERHUB_SERVICE_PREFIX":      prefix,
			"JUPYTERHUB_USER":                "alice",
			"JUPYTERHUB_ADMIN_ACCESS":        "0",
		},
		Override: map[string]any{"start_timeout": 90},
	}
	srv, err := sp.Start(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(srv.State["pid"])

	// Unauthenticated: the prefix redirects to the default URL, and that
	// sends the browser to the hub's OAuth.
	if code, _ := get(t, srv.URL+prefix); code != http.StatusFound {
		t.Errorf("GET %s without a token = %d, want 302", prefix, code)
	}
	loc := redirect(t, srv.URL+prefix+"tree/")
	if !strings.Contains(loc, "/hub/api/oauth2/authorize") || !strings.Contains(loc, "client_id=jupyterhub-user-alice") {
		t.Errorf("redirect to %q, want the hub's OAuth authorize URL for the server's client", loc)
	}

	// With the user's token the server asks the hub who it is and answers.
	code, body := get(t, srv.URL+prefix+"api/status", "Authorization", "token "+hub.userToken)
	if code != http.StatusOK {
		t.Fatalf("GET %sapi/status = %d %s", prefix, code, body)
	}
	var status struct {
		Started string `json:"started"`
	}
	if err := json.Unmarshal([]byte(body), &status); err != nil || status.Started == "" {
		t.Errorf("api/status body %q: %v", body, err)
	}
	if !hub.saw("GET /hub/api") || !hub.saw("GET /hub/api/user") || !hub.saw("POST /hub/api/users/alice/activity") {
		t.Errorf("hub API calls %q, want the version check, an activity report and a token check", hub.calls)
	}
	// A wrong token is refused.
	if code, _ := get(t, srv.URL+prefix+"api/status", "Authorization", "token wrong"); code != http.StatusForbidden {
		t.Errorf("GET api/status with a wrong token = %d, want 403", code)
	}

	// The token is in the server's environment only.
	cmdline, err := os.ReadFile("/proc/" + srv.State["pid"] + "/cmdline")
	if err == nil && strings.Contains(string(cmdline), hub.serverToken) {
		t.Error("API token on the server's command line")
	}

	if err := sp.Stop(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Errorf("jupyterhub-singleuser %d survived Stop", pid)
	}
	assertNoState(t, sp)
}

// redirect returns the Location of a redirect answer.
func redirect(t *testing.T, u string) string {
	t.Helper()
	c := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.QueryUnescape(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
