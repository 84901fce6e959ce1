//go:build linux

package hub

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
	"github.com/hubkit/hubkit/spawner"
)

// frontDoor is a stable address for the hub's API in front of whichever
// hub runs, as a Kubernetes Service is in front of the hub's pod: servers
// that one hub started reach its successor's API at the same URL.
type frontDoor struct {
	srv    *httptest.Server
	target atomic.Pointer[url.URL]
}

func newFrontDoor(t *testing.T) *frontDoor {
	d := &frontDoor{}
	d.srv = httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(d.target.Load())
		pr.Out.Host = pr.In.Host
	}})
	t.Cleanup(d.srv.Close)
	return d
}

// to sends the door's traffic to th.
func (d *frontDoor) to(th *testHub) {
	u, err := url.Parse(th.url)
	if err != nil {
		th.t.Fatal(err)
	}
	d.target.Store(u)
}

// behind makes the hub's servers reach its API through the door.
func (d *frontDoor) behind(c *Config) {
	patientStarts(c)
	c.HubAPIURL = d.srv.URL + "/hub/api"
}

// TestRestartReadopts: a server started by one hub is, after the hub's
// restart, ready at once, routed, reachable with its user's tokens,
// counted against the limits, still holding its credentials, and
// stoppable by the new hub.
func TestRestartReadopts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	door := newFrontDoor(t)
	th := startHub(t, dir, nil, door.behind)
	door.to(th)
	ref := spawner.Ref{User: "alice"}
	stopOnCleanup(t, th.sp, ref)

	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"alice", "bob"}}, 201)
	userTok, _ := th.newToken("alice", nil)
	th.mustAPI("POST", "/users/alice/server", serviceToken, map[string]any{"size": "s"}, 201)
	srvTok := procToken(t, th, "alice", "")
	before, err := th.storedServer("alice", "")
	if err != nil {
		t.Fatal(err)
	}
	if resp, b := th.request("GET", "/user/alice/api/status", userTok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("alice's server before the restart: %d %.300s", resp.StatusCode, b)
	}

	th.stop()
	if !pidAlive(before.State["pid"]) {
		t.Fatal("stopping the hub stopped alice's server")
	}
	th2 := startHub(t, dir, nil, func(c *Config) {
		door.behind(c)
		c.Limits.ActiveServers = 1
	})
	door.to(th2)

	s, _ := th2.servers("alice")[""].(map[string]any)
	opts, _ := json.Marshal(s["user_options"])
	if s == nil || s["ready"] != true || s["url"] != "/user/alice/" || s["started"] != iso(before.Started) || string(opts) != `{"size":"s"}` {
		t.Fatalf("alice's server right after the restart: %v (started before: %s)", s, iso(before.Started))
	}
	if _, ok := th2.hub.Proxy().Routes().Get("/user/alice/"); !ok {
		t.Error("no route to alice's server after the restart")
	}
	// A token made after the restart proves that the server checks it
	// with the new hub.
	newTok, _ := th2.newToken("alice", nil)
	for name, tok := range map[string]string{"old": userTok, "new": newTok} {
		if resp, b := th2.request("GET", "/user/alice/api/status", tok, nil, nil); resp.StatusCode != 200 || !strings.Contains(string(b), "started") {
			t.Errorf("alice's server through the new hub with her %s token: %d %.300s", name, resp.StatusCode, b)
		}
	}
	if me := object(t, th2.mustAPI("GET", "/user", srvTok, nil, 200)); me["name"] != "alice" {
		t.Errorf("the server's token after the restart: %v", me)
	}
	// The re-adopted server counts against ActiveServers.
	if resp, b := th2.request("POST", "/hub/api/users/bob/server", serviceToken, nil, nil); resp.StatusCode != 429 {
		t.Errorf("bob's start beyond the active-server limit: %d %s", resp.StatusCode, b)
	}

	th2.mustAPI("DELETE", "/users/alice/server", serviceToken, nil, 204)
	if pidAlive(before.State["pid"]) {
		t.Error("the new hub's stop left alice's server running")
	}
	th2.mustAPI("GET", "/user", srvTok, nil, 403)
}

// TestRestartCleansUp: after a restart, a server whose process died while
// the hub was down is recorded as stopped with its credentials revoked,
// and a start the previous run left unfinished (its claim, no process) is
// cleared; the users and their own tokens stay.
func TestRestartCleansUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	th := startHub(t, dir, nil, patientStarts)
	bob, carol := spawner.Ref{User: "bob"}, spawner.Ref{User: "carol"}
	stopOnCleanup(t, th.sp, bob, carol)

	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"bob", "carol"}}, 201)
	bobTok, _ := th.newToken("bob", nil)
	th.mustAPI("POST", "/users/bob/server", serviceToken, nil, 201)
	srvTok := procToken(t, th, "bob", "")
	srv, err := th.storedServer("bob", "")
	if err != nil {
		t.Fatal(err)
	}
	srvTokID, err := strconv.ParseInt(srv.State[stateToken], 10, 64)
	if err != nil || !slices.Contains(th.tokenIDs("bob"), srvTokID) {
		t.Fatalf("bob's server token %q is not among his tokens %v (%v)", srv.State[stateToken], th.tokenIDs("bob"), err)
	}
	th.stop()

	// Bob's server dies while the hub is down.
	pid, err := strconv.Atoi(srv.State["pid"])
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); pidAlive(srv.State["pid"]); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("bob's server survived SIGKILL")
		}
	}

	// The hub died during carol's start: its claim stays, no process.
	db, err := sqlite.Open(ctx, filepath.Join(dir, "hub.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimServer(ctx, "carol", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hubkit"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	th2 := startHub(t, dir, nil, patientStarts)

	t.Run("dead server", func(t *testing.T) {
		s, err := th2.storedServer("bob", "")
		if err != nil || s.URL != "" || s.Pending != store.PhaseNone || s.State[stateToken] != "" || s.State["home"] == "" {
			t.Errorf("bob's server after the restart: %+v %v (stopped, without the hub's token, with the spawner's state)", s, err)
		}
		if m := th2.userModel("bob"); m["server"] != nil || len(m["servers"].(map[string]any)) != 0 {
			t.Errorf("bob's model: %v", m)
		}
		if _, ok := th2.hub.Proxy().Routes().Get("/user/bob/"); ok {
			t.Error("a route to bob's dead server")
		}
		th2.mustAPI("GET", "/user", srvTok, nil, 403)
		if slices.Contains(th2.tokenIDs("bob"), srvTokID) {
			t.Error("the dead server's token is still stored")
		}
		if _, err := th2.db.GetOAuthClient(ctx, clientID(bob)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the dead server's OAuth client: %v", err)
		}
		if me := object(t, th2.mustAPI("GET", "/user", bobTok, nil, 200)); me["name"] != "bob" {
			t.Errorf("bob's own token: %v", me)
		}
	})

	t.Run("unfinished start", func(t *testing.T) {
		s, err := th2.storedServer("carol", "")
		if err != nil || s.URL != "" || s.Pending != store.PhaseNone || s.PendingOwner != "" {
			t.Fatalf("carol's server after the restart: %+v %v", s, err)
		}
		if m := th2.userModel("carol"); m["pending"] != nil || len(m["servers"].(map[string]any)) != 0 {
			t.Errorf("carol's model: %v", m)
		}
		// Nothing holds the server any more: it starts.
		th2.mustAPI("POST", "/users/carol/server", serviceToken, nil, 201)
		th2.mustAPI("DELETE", "/users/carol/server", serviceToken, nil, 204)
	})
}
