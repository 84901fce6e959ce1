package hub

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/spawner"
)

// fakeSpawner is a spawner.Spawner whose servers are httptest servers that
// record the requests they get. A start or stop of a ref that is held
// (hold, holdStop) waits until it is released. It stands in for a real spawner where what is
// tested is the hub's own logic — limits, scopes, routing, the REST
// API's bookkeeping — so that those tests need no server processes; the
// real jupyterhub-singleuser runs in TestAPIServers, the restart tests and
// TestSingleuserEndToEnd.
type fakeSpawner struct {
	closed chan struct{}

	mu        sync.Mutex
	holds     map[spawner.Ref]chan struct{}
	stopHolds map[spawner.Ref]chan struct{}
	starting  map[spawner.Ref]bool
	running   map[spawner.Ref]*fakeServer
	starts    map[spawner.Ref]int
	hits      []string // "user/server REQUEST-URI", every request any server got
}

type fakeServer struct {
	req spawner.Request
	srv *httptest.Server
}

var _ spawner.Spawner = (*fakeSpawner)(nil)

func newFakeSpawner() *fakeSpawner {
	return &fakeSpawner{
		closed:    make(chan struct{}),
		holds:     map[spawner.Ref]chan struct{}{},
		stopHolds: map[spawner.Ref]chan struct{}{},
		starting:  map[spawner.Ref]bool{},
		running:   map[spawner.Ref]*fakeServer{},
		starts:    map[spawner.Ref]int{},
	}
}

// startFakeHub starts a test hub with a fake spawner.
func startFakeHub(t *testing.T, change func(*Config)) (*testHub, *fakeSpawner) {
	t.Helper()
	f := newFakeSpawner()
	th := startHub(t, "", f, change)
	// Registered after startHub's cleanup, so it runs first: held starts
	// and stops end before the hub waits for its operations.
	t.Cleanup(f.close)
	return th, f
}

// hold makes the next starts of ref wait for release.
func (f *fakeSpawner) hold(ref spawner.Ref) { f.setHold(f.holds, ref) }

// release lets the held starts of ref finish.
func (f *fakeSpawner) release(ref spawner.Ref) { f.unsetHold(f.holds, ref) }

// holdStop makes the next stops of ref wait for releaseStop.
func (f *fakeSpawner) holdStop(ref spawner.Ref) { f.setHold(f.stopHolds, ref) }

// releaseStop lets the held stops of ref finish.
func (f *fakeSpawner) releaseStop(ref spawner.Ref) { f.unsetHold(f.stopHolds, ref) }

func (f *fakeSpawner) setHold(m map[spawner.Ref]chan struct{}, ref spawner.Ref) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m[ref] = make(chan struct{})
}

func (f *fakeSpawner) unsetHold(m map[spawner.Ref]chan struct{}, ref spawner.Ref) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch := m[ref]; ch != nil {
		close(ch)
		delete(m, ref)
	}
}

// wait waits for a hold to be released, the spawner to be closed or ctx
// to end.
func (f *fakeSpawner) wait(ctx context.Context, hold chan struct{}) error {
	if hold == nil {
		return nil
	}
	select {
	case <-hold:
		return nil
	case <-f.closed:
		return errors.New("fake: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeSpawner) close() {
	select {
	case <-f.closed:
		return
	default:
	}
	close(f.closed)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.running {
		s.srv.Close()
	}
}

// startCount is how many times Start was called for ref.
func (f *fakeSpawner) startCount(ref spawner.Ref) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts[ref]
}

// isRunning reports whether ref's fake server runs.
func (f *fakeSpawner) isRunning(ref spawner.Ref) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[ref] != nil
}

// token is the API token the hub gave ref's running server.
func (f *fakeSpawner) token(t *testing.T, ref spawner.Ref) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.running[ref]
	if s == nil || s.req.APIToken == "" {
		t.Fatalf("%s is not running on the fake spawner", refName(ref))
	}
	return s.req.APIToken
}

// requests returns what the fake servers were asked.
func (f *fakeSpawner) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hits)
}

func (f *fakeSpawner) Start(ctx context.Context, req spawner.Request) (spawner.Server, error) {
	ref := req.Ref
	f.mu.Lock()
	f.starts[ref]++
	f.starting[ref] = true
	hold := f.holds[ref]
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.starting, ref)
		f.mu.Unlock()
	}()
	if err := f.wait(ctx, hold); err != nil {
		return spawner.Server{}, err
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits = append(f.hits, refName(ref)+" "+r.RequestURI)
		f.mu.Unlock()
		fmt.Fprintf(w, "the server of %s", refName(ref))
	}))
	f.mu.Lock()
	f.running[ref] = &fakeServer{req: req, srv: srv}
	f.mu.Unlock()
	return spawner.Server{Ref: ref, URL: srv.URL, Started: time.Now(), State: map[string]string{"fake": "yes"}}, nil
}

func (f *fakeSpawner) Stop(ctx context.Context, ref spawner.Ref) error {
	f.mu.Lock()
	hold := f.stopHolds[ref]
	f.mu.Unlock()
	if err := f.wait(ctx, hold); err != nil {
		return err
	}
	f.mu.Lock()
	s := f.running[ref]
	delete(f.running, ref)
	f.mu.Unlock()
	if s != nil {
		s.srv.Close()
	}
	return nil
}

func (f *fakeSpawner) Status(ctx context.Context, ref spawner.Ref) (spawner.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.running[ref]; s != nil {
		return spawner.Status{Ref: ref, Phase: spawner.PhaseRunning,
			Server: &spawner.Server{Ref: ref, URL: s.srv.URL, State: map[string]string{"fake": "yes"}}}, nil
	}
	if f.starting[ref] {
		return spawner.Status{Ref: ref, Phase: spawner.PhasePending}, nil
	}
	return spawner.Status{Ref: ref, Phase: spawner.PhaseStopped}, nil
}

// object decodes a JSON object.
func object(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return m
}

// names returns the "name" of each user model in a JSON list.
func names(t *testing.T, list any) []string {
	t.Helper()
	items, ok := list.([]any)
	if !ok {
		t.Fatalf("not a list: %v", list)
	}
	out := []string{}
	for _, it := range items {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	return out
}

// userNames lists users through the API (not paginated).
func (th *testHub) userNames(query string) []string {
	th.t.Helper()
	resp, b := th.request("GET", "/hub/api/users"+query, serviceToken, nil, nil)
	if resp.StatusCode != 200 {
		th.t.Fatalf("GET /users%s: %d %s", query, resp.StatusCode, b)
	}
	var list []any
	if err := json.Unmarshal(b, &list); err != nil {
		th.t.Fatalf("GET /users%s is not a list: %s", query, b)
	}
	return names(th.t, list)
}

// newToken makes an API token for user with the service token and body
// (nil: {}) and returns its secret and ID.
func (th *testHub) newToken(user string, body any) (secret, id string) {
	th.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	m := object(th.t, th.mustAPI("POST", "/users/"+user+"/tokens", serviceToken, body, 201))
	secret, _ = m["token"].(string)
	id, _ = m["id"].(string)
	if secret == "" || id == "" {
		th.t.Fatalf("token model without token or id: %v", m)
	}
	return secret, id
}

// servers returns the servers of the user's model.
func (th *testHub) servers(user string) map[string]any {
	th.t.Helper()
	s, ok := th.userModel(user)["servers"].(map[string]any)
	if !ok {
		th.t.Fatalf("%s's model has no servers", user)
	}
	return s
}

// storedServer reads a server from the store.
func (th *testHub) storedServer(user, server string) (store.Server, error) {
	return th.db.GetServer(context.Background(), user, server)
}

// iso is t as the hub writes times.
func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

var pagination = http.Header{"Accept": {paginationType}}

// TestAPIRootAndSelf: GET /hub/api/ and GET /hub/api/user for the three
// kinds of token.
func TestAPIRootAndSelf(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)

	resp, b := th.request("GET", "/hub/api/", "", nil, nil)
	if resp.StatusCode != 200 || object(t, b)["version"] != APIVersion || resp.Header.Get("X-JupyterHub-Version") != APIVersion {
		t.Errorf("GET /hub/api/: %d %s, X-JupyterHub-Version %q", resp.StatusCode, b, resp.Header.Get("X-JupyterHub-Version"))
	}
	// Errors carry the version too, and JupyterHub's error body.
	resp, b = th.request("GET", "/hub/api/users", "", nil, nil)
	if resp.StatusCode != 403 || resp.Header.Get("X-JupyterHub-Version") != APIVersion || object(t, b)["status"] != 403.0 {
		t.Errorf("GET /hub/api/users without a token: %d %s, X-JupyterHub-Version %q", resp.StatusCode, b, resp.Header.Get("X-JupyterHub-Version"))
	}

	th.mustAPI("POST", "/users/alice", serviceToken, nil, 201)
	secret, id := th.newToken("alice", nil)

	t.Run("user token", func(t *testing.T) {
		m := object(t, th.mustAPI("GET", "/user", secret, nil, 200))
		if m["kind"] != "user" || m["name"] != "alice" || m["admin"] != false || m["token_id"] != id || m["session_id"] != nil {
			t.Errorf("GET /user: %v", m)
		}
		if s, ok := m["servers"].(map[string]any); !ok || len(s) != 0 {
			t.Errorf("servers: %v", m["servers"])
		}
		if sc := stringList(m["scopes"]); !slices.Contains(sc, "servers!user=alice") || slices.Contains(sc, "list:users") {
			t.Errorf("scopes of alice's token: %v", sc)
		}
	})
	t.Run("service token", func(t *testing.T) {
		m := object(t, th.mustAPI("GET", "/user", serviceToken, nil, 200))
		if m["kind"] != "service" || m["name"] != "tester" || !slices.Contains(stringList(m["scopes"]), "admin:users") {
			t.Errorf("GET /user: %v", m)
		}
	})
	t.Run("server token", func(t *testing.T) {
		th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 201)
		tok := fake.token(t, spawner.Ref{User: "alice"})
		m := object(t, th.mustAPI("GET", "/user", tok, nil, 200))
		if m["kind"] != "user" || m["name"] != "alice" {
			t.Errorf("GET /user: %v", m)
		}
		if _, ok := m["admin"]; ok {
			t.Errorf("a server's token reads the user's admin flag: %v", m)
		}
		sc := stringList(m["scopes"])
		for _, want := range []string{"access:servers!server=alice/", "users:activity!user=alice"} {
			if !slices.Contains(sc, want) {
				t.Errorf("server token scopes %v lack %s", sc, want)
			}
		}
		for _, not := range []string{"servers!user=alice", "tokens!user=alice", "read:users!user=alice"} {
			if slices.Contains(sc, not) {
				t.Errorf("server token scopes %v include %s", sc, not)
			}
		}
	})
}

// stringList reads a JSON list of strings.
func stringList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, s := range l {
		if s, ok := s.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestAPIListUsers: GET /hub/api/users, plain and paginated, with offset,
// limit, state and name filters.
func TestAPIListUsers(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, func(c *Config) { c.SlowSpawnTimeout = time.Second })
	all := []string{"alice", "bob", "carol", "dave", "erin"}
	var created []any
	if err := json.Unmarshal(th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": all}, 201), &created); err != nil {
		t.Fatal(err)
	}
	if got := names(t, created); !slices.Equal(got, all) {
		t.Fatalf("POST /users created %v", got)
	}
	// alice's server is ready, bob's is starting, the rest have none.
	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 201, 202)
	th.waitReady("alice", "", 10*time.Second)
	fake.hold(spawner.Ref{User: "bob"})
	th.mustAPI("POST", "/users/bob/server", serviceToken, nil, 202)

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", all},
		{"?offset=1&limit=2", []string{"bob", "carol"}},
		{"?offset=4", []string{"erin"}},
		{"?offset=9", []string{}},
		{"?state=active", []string{"alice", "bob"}},
		{"?state=ready", []string{"alice"}},
		{"?state=inactive", []string{"carol", "dave", "erin"}},
		{"?name_filter=AR", []string{"carol"}},
		{"?state=inactive&name_filter=e", []string{"dave", "erin"}},
	} {
		if got := th.userNames(tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("GET /users%s: %v, want %v", tt.query, got, tt.want)
		}
	}

	page := func(u string) (items []string, pg map[string]any) {
		t.Helper()
		resp, b := th.request("GET", strings.TrimPrefix(u, th.url), serviceToken, nil, pagination)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
		}
		m := object(t, b)
		pg, _ = m["_pagination"].(map[string]any)
		if pg == nil {
			t.Fatalf("GET %s: no _pagination: %s", u, b)
		}
		return names(t, m["items"]), pg
	}
	items, pg := page("/hub/api/users?limit=2")
	next, _ := pg["next"].(map[string]any)
	if !slices.Equal(items, []string{"alice", "bob"}) || pg["total"] != 5.0 || pg["offset"] != 0.0 || pg["limit"] != 2.0 || next == nil ||
		next["offset"] != 2.0 || next["limit"] != 2.0 || next["url"] != th.url+"/hub/api/users?limit=2&offset=2" {
		t.Fatalf("first page: %v %v", items, pg)
	}
	items, pg = page(next["url"].(string))
	next, _ = pg["next"].(map[string]any)
	if !slices.Equal(items, []string{"carol", "dave"}) || next == nil || next["offset"] != 4.0 {
		t.Fatalf("second page: %v %v", items, pg)
	}
	items, pg = page(next["url"].(string))
	if !slices.Equal(items, []string{"erin"}) || pg["next"] != nil || pg["total"] != 5.0 {
		t.Fatalf("last page: %v %v", items, pg)
	}
	items, pg = page("/hub/api/users?state=active")
	if !slices.Equal(items, []string{"alice", "bob"}) || pg["total"] != 2.0 || pg["limit"] != float64(defaultPageLimit) || pg["next"] != nil {
		t.Errorf("active users, paginated: %v %v", items, pg)
	}
	if _, pg = page("/hub/api/users?limit=100000"); pg["limit"] != float64(maxPageLimit) {
		t.Errorf("limit is not capped: %v", pg)
	}

	for _, q := range []string{"?state=running", "?offset=-1", "?limit=many"} {
		if code, b := th.api("GET", "/users"+q, serviceToken, nil); code != 400 {
			t.Errorf("GET /users%s: %d %s, want 400", q, code, b)
		}
	}
	alice, _ := th.newToken("alice", nil)
	if code, b := th.api("GET", "/users", alice, nil); code != 403 {
		t.Errorf("GET /users with a user's token: %d %s, want 403", code, b)
	}
}

// TestAPIUsersCreatePatchDelete: POST, PATCH and DELETE of users.
func TestAPIUsersCreatePatchDelete(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)

	m := object(t, th.mustAPI("POST", "/users/frank", serviceToken, nil, 201))
	if m["name"] != "frank" || m["admin"] != false || m["kind"] != "user" {
		t.Errorf("created %v", m)
	}
	th.mustAPI("POST", "/users/frank", serviceToken, nil, 409)
	if m := object(t, th.mustAPI("POST", "/users/root", serviceToken, map[string]any{"admin": true}, 201)); m["admin"] != true {
		t.Errorf("created admin %v", m)
	}
	for _, bad := range []string{"a%0Ab", strings.Repeat("x", 256)} {
		th.mustAPI("POST", "/users/"+bad, serviceToken, nil, 400)
		th.mustAPI("GET", "/users/"+bad, serviceToken, nil, 404)
	}

	var list []any
	if err := json.Unmarshal(th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"frank", "gina"}}, 201), &list); err != nil {
		t.Fatal(err)
	}
	if got := names(t, list); !slices.Equal(got, []string{"gina"}) {
		t.Errorf("POST /users with one existing user returned %v, want only gina", got)
	}
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"frank", "gina"}}, 409)
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{}}, 400)
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"ok", "bad\x01"}}, 400)
	th.mustAPI("GET", "/users/ok", serviceToken, nil, 404)

	m = object(t, th.mustAPI("PATCH", "/users/frank", serviceToken, map[string]any{"name": "fred"}, 200))
	if m["name"] != "fred" {
		t.Errorf("renamed: %v", m)
	}
	th.mustAPI("GET", "/users/frank", serviceToken, nil, 404)
	m = object(t, th.mustAPI("PATCH", "/users/fred", serviceToken, map[string]any{"admin": true, "groups": []string{"physics", "chem"}}, 200))
	if m["admin"] != true || !slices.Equal(stringList(m["groups"]), []string{"chem", "physics"}) {
		t.Errorf("patched: %v", m)
	}
	if m := th.userModel("fred"); m["admin"] != true || len(stringList(m["groups"])) != 2 {
		t.Errorf("after PATCH: %v", m)
	}
	m = object(t, th.mustAPI("PATCH", "/users/fred", serviceToken, map[string]any{"groups": []string{}}, 200))
	if g, ok := m["groups"].([]any); !ok || len(g) != 0 {
		t.Errorf("groups after removing all: %v", m["groups"])
	}
	th.mustAPI("PATCH", "/users/fred", serviceToken, map[string]any{"name": "gina"}, 400)
	th.mustAPI("GET", "/users/fred", serviceToken, nil, 200)
	th.mustAPI("PATCH", "/users/nobody", serviceToken, map[string]any{"admin": true}, 404)

	th.mustAPI("DELETE", "/users/fred", serviceToken, nil, 204)
	th.mustAPI("GET", "/users/fred", serviceToken, nil, 404)
	th.mustAPI("DELETE", "/users/fred", serviceToken, nil, 404)

	// A user with a running server: the server is stopped first.
	th.mustAPI("POST", "/users/gina/server", serviceToken, nil, 201)
	th.mustAPI("DELETE", "/users/gina", serviceToken, nil, 204)
	if fake.isRunning(spawner.Ref{User: "gina"}) {
		t.Error("gina's server still runs after her deletion")
	}
	if _, err := th.db.GetUser(context.Background(), "gina"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("gina after deletion: %v", err)
	}

	// Nobody deletes themself.
	root, _ := th.newToken("root", nil)
	th.mustAPI("DELETE", "/users/root", root, nil, 400)
	th.mustAPI("GET", "/users/root", serviceToken, nil, 200)
}

// TestAPITokens: creating, listing, reading and deleting tokens; scopes
// and expiry.
func TestAPITokens(t *testing.T) {
	t.Parallel()
	th, _ := startFakeHub(t, nil)
	th.mustAPI("POST", "/users/alice", serviceToken, nil, 201)

	before := time.Now()
	m := object(t, th.mustAPI("POST", "/users/alice/tokens", serviceToken, map[string]any{"note": "laptop", "expires_in": 3600}, 201))
	secret, _ := m["token"].(string)
	id, _ := m["id"].(string)
	if secret == "" || !regexp.MustCompile(`^a[0-9]+$`).MatchString(id) || m["note"] != "laptop" || m["user"] != "alice" || m["kind"] != "api_token" {
		t.Fatalf("created token %v", m)
	}
	exp, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["expires_at"]))
	if err != nil || exp.Before(before.Add(3599*time.Second)) || exp.After(time.Now().Add(3601*time.Second)) {
		t.Errorf("expires_at %v for expires_in 3600 (%v)", m["expires_at"], err)
	}
	if m := object(t, th.mustAPI("GET", "/user", secret, nil, 200)); m["name"] != "alice" {
		t.Errorf("the new token is %v", m)
	}
	other, otherID := th.newToken("alice", nil)
	if n := object(t, th.mustAPI("GET", "/users/alice/tokens/"+otherID, serviceToken, nil, 200))["note"]; n != "Requested via api by service tester" {
		t.Errorf("default note %q", n)
	}

	list := object(t, th.mustAPI("GET", "/users/alice/tokens", secret, nil, 200))
	var ids []string
	for _, tok := range list["api_tokens"].([]any) {
		tm := tok.(map[string]any)
		ids = append(ids, tm["id"].(string))
		if _, leaked := tm["token"]; leaked {
			t.Errorf("a listed token carries its secret: %v", tm)
		}
	}
	if !slices.Contains(ids, id) || !slices.Contains(ids, otherID) {
		t.Errorf("listed %v, want %s and %s", ids, id, otherID)
	}
	if tm := object(t, th.mustAPI("GET", "/users/alice/tokens/"+id, secret, nil, 200)); tm["id"] != id || tm["token"] != nil {
		t.Errorf("GET token: %v", tm)
	}
	th.mustAPI("GET", "/users/alice/tokens/a999999", secret, nil, 404)
	th.mustAPI("GET", "/users/alice/tokens/xyz", secret, nil, 404)

	th.mustAPI("DELETE", "/users/alice/tokens/"+id, other, nil, 204)
	th.mustAPI("GET", "/users/alice/tokens/"+id, other, nil, 404)
	th.mustAPI("GET", "/user", secret, nil, 403)
	th.mustAPI("DELETE", "/users/alice/tokens/"+id, other, nil, 404)

	t.Run("limited scopes", func(t *testing.T) {
		m := object(t, th.mustAPI("POST", "/users/alice/tokens", other, map[string]any{"scopes": []string{"read:users!user=alice"}}, 201))
		ro := m["token"].(string)
		if !slices.Equal(stringList(m["scopes"]), []string{"read:users!user=alice"}) {
			t.Errorf("scopes %v", m["scopes"])
		}
		if u := object(t, th.mustAPI("GET", "/users/alice", ro, nil, 200)); u["name"] != "alice" || u["servers"] != nil {
			t.Errorf("alice's model with read:users only: %v", u)
		}
		th.mustAPI("POST", "/users/alice/server", ro, nil, 403)
		th.mustAPI("POST", "/users/alice/tokens", ro, nil, 403)
		th.mustAPI("GET", "/users/alice/tokens", ro, nil, 403)
		th.mustAPI("GET", "/users", ro, nil, 403)
		th.mustAPI("PATCH", "/users/alice", ro, map[string]any{"admin": true}, 403)
		if s := th.servers("alice"); len(s) != 0 {
			t.Errorf("a read-only token started a server: %v", s)
		}

		// A token that may make tokens makes none with more than it holds.
		tk := object(t, th.mustAPI("POST", "/users/alice/tokens", other, map[string]any{"scopes": []string{"tokens!user=alice"}}, 201))["token"].(string)
		th.mustAPI("POST", "/users/alice/tokens", tk, map[string]any{"scopes": []string{"servers!user=alice"}}, 403)
		th.mustAPI("POST", "/users/alice/tokens", tk, map[string]any{}, 403)
		th.mustAPI("POST", "/users/alice/tokens", tk, map[string]any{"scopes": []string{"read:tokens!user=alice"}}, 201)
	})

	t.Run("scopes the owner does not hold", func(t *testing.T) {
		// JupyterHub 3 refuses them with 400, whoever asks.
		n := len(object(t, th.mustAPI("GET", "/users/alice/tokens", serviceToken, nil, 200))["api_tokens"].([]any))
		th.mustAPI("POST", "/users/alice/tokens", serviceToken, map[string]any{"scopes": []string{"admin:users"}}, 400)
		th.mustAPI("POST", "/users/alice/tokens", other, map[string]any{"scopes": []string{"admin:users"}}, 400)
		th.mustAPI("POST", "/users/alice/tokens", serviceToken, map[string]any{"scopes": []string{"read:users!user=bob"}}, 400)
		th.mustAPI("POST", "/users/alice/tokens", serviceToken, map[string]any{"scopes": []string{"frobnicate"}}, 400)
		th.mustAPI("POST", "/users/alice/tokens", serviceToken, map[string]any{"roles": []string{"wizard"}}, 400)
		th.mustAPI("POST", "/users/alice/tokens", serviceToken, map[string]any{"expires_in": -5}, 400)
		if got := len(object(t, th.mustAPI("GET", "/users/alice/tokens", serviceToken, nil, 200))["api_tokens"].([]any)); got != n {
			t.Errorf("refused requests made tokens: %d, want %d", got, n)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		short, _ := th.newToken("alice", map[string]any{"expires_in": 2})
		th.mustAPI("GET", "/user", short, nil, 200)
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, _ := th.api("GET", "/user", short, nil)
			if code == 403 {
				break
			}
			if code != 200 || time.Now().After(deadline) {
				t.Fatalf("a token with expires_in 2 answers %d after %s", code, time.Since(deadline.Add(-10*time.Second)))
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// procToken reads the API token a local server process was started with
// from its environment (Linux).
func procToken(t *testing.T, th *testHub, user, server string) string {
	t.Helper()
	s, err := th.storedServer(user, server)
	if err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile("/proc/" + s.State["pid"] + "/environ")
	if err != nil {
		t.Skipf("reading the server's environment: %v", err)
	}
	for _, kv := range bytes.Split(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("JUPYTERHUB_API_TOKEN=")); ok {
			return string(v)
		}
	}
	t.Fatalf("%s/%s has no JUPYTERHUB_API_TOKEN", user, server)
	return ""
}

// stopOnCleanup stops the servers when the test ends, whatever happened,
// so that no server process outlives it.
func stopOnCleanup(t *testing.T, sp spawner.Spawner, refs ...spawner.Ref) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, ref := range refs {
			if err := sp.Stop(ctx, ref); err != nil {
				t.Errorf("stopping %s: %v", refName(ref), err)
			}
		}
	})
}

// patientStarts makes start and stop requests wait for the real server
// (201, 204) however loaded the machine is, rather than answer 202.
func patientStarts(c *Config) { c.SlowSpawnTimeout = 60 * time.Second }

// pidAlive reports whether the process exists (and is not a zombie).
func pidAlive(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestAPIServers starts and stops servers of the real
// jupyterhub-singleuser through the API: status codes, the server model
// with user_options, the progress stream of a ready server, the server's
// own token, and the deletion of a user whose server runs.
func TestAPIServers(t *testing.T) {
	t.Parallel()
	th := startHub(t, "", nil, patientStarts)
	stopOnCleanup(t, th.sp, spawner.Ref{User: "alice"}, spawner.Ref{User: "alice", Server: "lab"})
	th.mustAPI("POST", "/users/alice", serviceToken, nil, 201)

	th.mustAPI("POST", "/users/alice/server", serviceToken, map[string]any{"flavour": "small", "n": 2}, 201)
	m := th.userModel("alice")
	s, _ := m["servers"].(map[string]any)[""].(map[string]any)
	if m["server"] != "/user/alice/" || m["pending"] != nil || s == nil || s["ready"] != true || s["pending"] != nil ||
		s["url"] != "/user/alice/" || s["progress_url"] != "/hub/api/users/alice/server/progress" || s["started"] == nil {
		t.Fatalf("model of a running server: %v", m)
	}
	if opts, _ := json.Marshal(s["user_options"]); string(opts) != `{"flavour":"small","n":2}` {
		t.Errorf("user_options %s", opts)
	}
	if st, _ := s["state"].(map[string]any); st["pid"] == nil || st[stateToken] != nil {
		t.Errorf("server state for an admin: %v (the spawner's, without the hub's)", s["state"])
	}
	code, b := th.api("POST", "/users/alice/server", serviceToken, nil)
	if code != 400 || !strings.Contains(string(b), "already running") {
		t.Errorf("second start: %d %s", code, b)
	}

	events := progressEvents(t, th, "/hub/api/users/alice/server/progress", serviceToken)
	if len(events) != 1 || !events[0].Ready || events[0].Progress != 100 || events[0].URL != "/user/alice/" {
		t.Errorf("progress of a ready server: %+v", events)
	}

	// The server's own token, as the server got it.
	tok := procToken(t, th, "alice", "")
	if me := object(t, th.mustAPI("GET", "/user", tok, nil, 200)); me["name"] != "alice" || me["kind"] != "user" {
		t.Errorf("GET /user with the server's token: %v", me)
	}
	th.mustAPI("GET", "/users", tok, nil, 403)

	// Through the proxy, with a token of alice's.
	userTok, _ := th.newToken("alice", nil)
	resp, body := th.request("GET", "/user/alice/api/status", userTok, nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "started") {
		t.Errorf("alice's server through the proxy: %d %.300s", resp.StatusCode, body)
	}

	th.mustAPI("DELETE", "/users/alice/server", serviceToken, nil, 204)
	if len(th.servers("alice")) != 0 {
		t.Errorf("servers after the stop: %v", th.servers("alice"))
	}
	st, err := th.storedServer("alice", "")
	if err != nil || st.URL != "" || st.Pending != store.PhaseNone {
		t.Errorf("stored server after the stop: %+v %v", st, err)
	}
	th.mustAPI("GET", "/user", tok, nil, 403) // the server's token went with it
	code, b = th.api("DELETE", "/users/alice/server", serviceToken, nil)
	if code != 400 || !strings.Contains(string(b), "not running") {
		t.Errorf("stopping a stopped server: %d %s", code, b)
	}
	th.mustAPI("GET", "/users/alice/server/progress", serviceToken, nil, 400)

	// Deleting a user with a running server stops it and keeps their files.
	th.mustAPI("POST", "/users/alice/servers/lab", serviceToken, nil, 201)
	lab, err := th.storedServer("alice", "lab")
	if err != nil || lab.State["pid"] == "" || lab.State["home"] == "" {
		t.Fatalf("alice/lab: %+v %v", lab, err)
	}
	homeRoot := filepath.Join(th.dir, "state", "home")
	if !strings.HasPrefix(lab.State["home"], homeRoot+string(filepath.Separator)) {
		t.Fatalf("alice/lab runs in %s, not under %s", lab.State["home"], homeRoot)
	}
	keep := filepath.Join(lab.State["home"], "notebook.ipynb")
	if err := os.WriteFile(keep, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	th.mustAPI("DELETE", "/users/alice", serviceToken, nil, 204)
	if pidAlive(lab.State["pid"]) {
		t.Errorf("alice/lab's process %s survived her deletion", lab.State["pid"])
	}
	th.mustAPI("GET", "/users/alice", serviceToken, nil, 404)
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("alice's files went with her: %v", err)
	}
	if _, err := os.Stat(filepath.Join(homeRoot, "alice")); err != nil {
		t.Errorf("alice's home directory went with her: %v", err)
	}
}

// progressStream is an open progress stream.
type progressStream struct {
	t  *testing.T
	sc *bufio.Scanner
}

// openProgress opens a progress stream and checks that it is one.
func openProgress(t *testing.T, th *testHub, path, token string) *progressStream {
	t.Helper()
	req, _ := http.NewRequest("GET", th.url+path, nil)
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &progressStream{t: t, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event; false at the end of the stream.
func (s *progressStream) next() (progressEvent, bool) {
	s.t.Helper()
	for s.sc.Scan() {
		line, ok := strings.CutPrefix(s.sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e progressEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			s.t.Fatalf("event %q: %v", line, err)
		}
		return e, true
	}
	return progressEvent{}, false
}

// rest returns the remaining events.
func (s *progressStream) rest() []progressEvent {
	s.t.Helper()
	var events []progressEvent
	for {
		e, ok := s.next()
		if !ok {
			return events
		}
		events = append(events, e)
	}
}

// progressEvents reads a progress stream to its end.
func progressEvents(t *testing.T, th *testHub, path, token string) []progressEvent {
	t.Helper()
	return openProgress(t, th, path, token).rest()
}

// TestAPIServerPending: a start or stop that outlasts SlowSpawnTimeout is
// 202; repeated starts join the start, the progress stream follows it to
// ready, and a start during a stop is refused.
func TestAPIServerPending(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, func(c *Config) { c.SlowSpawnTimeout = 200 * time.Millisecond })
	th.mustAPI("POST", "/users/alice", serviceToken, nil, 201)
	ref := spawner.Ref{User: "alice"}
	fake.hold(ref)

	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 202)
	m := th.userModel("alice")
	s, _ := m["servers"].(map[string]any)[""].(map[string]any)
	if m["pending"] != "spawn" || m["server"] != nil || s == nil || s["pending"] != "spawn" || s["ready"] != false {
		t.Errorf("model of a starting server: %v", m)
	}
	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 202)
	if n := fake.startCount(ref); n != 1 {
		t.Errorf("the spawner was asked %d times, want once", n)
	}

	stream := openProgress(t, th, "/hub/api/users/alice/server/progress", serviceToken)
	first, ok := stream.next()
	if !ok || first.Ready || first.Failed {
		t.Fatalf("first event of a pending start: %+v", first)
	}
	fake.release(ref)
	events := append([]progressEvent{first}, stream.rest()...)
	for i := 1; i < len(events); i++ {
		if events[i].Progress < events[i-1].Progress {
			t.Errorf("progress went backwards: %+v", events)
		}
	}
	if last := events[len(events)-1]; !last.Ready || last.Progress != 100 || last.URL != "/user/alice/" {
		t.Errorf("last event %+v", last)
	}
	th.waitReady("alice", "", 10*time.Second)
	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 400)

	fake.holdStop(ref)
	th.mustAPI("DELETE", "/users/alice/server", serviceToken, nil, 202)
	if m := th.userModel("alice"); m["pending"] != "stop" {
		t.Errorf("model of a stopping server: %v", m)
	}
	code, b := th.api("POST", "/users/alice/server", serviceToken, nil)
	if code != 400 || !strings.Contains(string(b), "pending stop") {
		t.Errorf("a start during the stop: %d %s", code, b)
	}
	th.mustAPI("DELETE", "/users/alice/server", serviceToken, nil, 202)
	fake.releaseStop(ref)
	deadline := time.Now().Add(10 * time.Second)
	for len(th.servers("alice")) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the stop did not finish: %v", th.userModel("alice"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := fake.startCount(ref); n != 1 || fake.isRunning(ref) {
		t.Errorf("after the stop: %d starts, running %v", n, fake.isRunning(ref))
	}
}

// TestAPINamedServers: named servers, their limit, and their removal.
func TestAPINamedServers(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, func(c *Config) { c.Limits = Limits{AllowNamedServers: true, NamedServersPerUser: 1} })
	th.mustAPI("POST", "/users/alice", serviceToken, nil, 201)

	th.mustAPI("POST", "/users/alice/servers/one", serviceToken, map[string]any{"gpu": true}, 201)
	one, _ := th.servers("alice")["one"].(map[string]any)
	if one == nil || one["name"] != "one" || one["url"] != "/user/alice/one/" || one["ready"] != true ||
		one["progress_url"] != "/hub/api/users/alice/servers/one/progress" || fmt.Sprint(one["user_options"]) != "map[gpu:true]" {
		t.Fatalf("model of alice/one: %v", th.servers("alice"))
	}
	code, b := th.api("POST", "/users/alice/servers/two", serviceToken, nil)
	if code != 400 || !strings.Contains(string(b), "maximum") {
		t.Errorf("a second named server: %d %s, want 400", code, b)
	}
	if fake.startCount(spawner.Ref{User: "alice", Server: "two"}) != 0 {
		t.Error("the refused server was started")
	}
	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 201) // the default one does not count

	th.mustAPI("DELETE", "/users/alice/servers/one", serviceToken, nil, 204)
	if _, ok := th.servers("alice")["one"]; ok {
		t.Error("a stopped named server is listed")
	}
	if _, err := th.storedServer("alice", "one"); err != nil {
		t.Errorf("a stopped named server is forgotten: %v", err)
	}
	th.mustAPI("POST", "/users/alice/servers/two", serviceToken, nil, 400) // stopped servers count until removed
	th.mustAPI("DELETE", "/users/alice/servers/nope", serviceToken, nil, 404)
	th.mustAPI("DELETE", "/users/alice/server", serviceToken, map[string]any{"remove": true}, 400)
	if !fake.isRunning(spawner.Ref{User: "alice"}) {
		t.Error("a refused removal stopped the default server")
	}

	th.mustAPI("DELETE", "/users/alice/servers/one", serviceToken, map[string]any{"remove": true}, 204)
	if _, err := th.storedServer("alice", "one"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alice/one after its removal: %v", err)
	}
	th.mustAPI("POST", "/users/alice/servers/two", serviceToken, nil, 201)
	th.mustAPI("DELETE", "/users/alice/servers/two", serviceToken, map[string]any{"remove": true}, 204)
	if _, err := th.storedServer("alice", "two"); !errors.Is(err, store.ErrNotFound) || fake.isRunning(spawner.Ref{User: "alice", Server: "two"}) {
		t.Errorf("alice/two after stop-and-remove: %v, running %v", err, fake.isRunning(spawner.Ref{User: "alice", Server: "two"}))
	}

	t.Run("not enabled", func(t *testing.T) {
		th, fake := startFakeHub(t, func(c *Config) { c.Limits = Limits{} })
		th.mustAPI("POST", "/users/alice", serviceToken, nil, 201)
		th.mustAPI("POST", "/users/alice/servers/one", serviceToken, nil, 400)
		if fake.startCount(spawner.Ref{User: "alice", Server: "one"}) != 0 {
			t.Error("a named server started on a hub without named servers")
		}
	})
}

// TestAPILimits: beyond ConcurrentSpawns or ActiveServers a start is 429
// with Retry-After, and nothing is started.
func TestAPILimits(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		limits Limits
		// afterReady: whether bob may start once alice's server is
		// ready (and no longer starting).
		afterReady bool
	}{
		{"concurrent spawns", Limits{ConcurrentSpawns: 1}, true},
		{"active servers", Limits{ActiveServers: 1}, false},
		{"both", Limits{ConcurrentSpawns: 1, ActiveServers: 1}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			th, fake := startFakeHub(t, func(c *Config) {
				c.Limits = tt.limits
				c.SlowSpawnTimeout = 100 * time.Millisecond
			})
			th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"alice", "bob"}}, 201)
			alice, bob := spawner.Ref{User: "alice"}, spawner.Ref{User: "bob"}
			fake.hold(alice)
			th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 202)

			refused := func(when string) {
				t.Helper()
				resp, b := th.request("POST", "/hub/api/users/bob/server", serviceToken, nil, nil)
				ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
				if resp.StatusCode != 429 || err != nil || ra <= 0 {
					t.Errorf("bob's start %s: %d %s, Retry-After %q", when, resp.StatusCode, b, resp.Header.Get("Retry-After"))
				}
				if n := fake.startCount(bob); n != 0 {
					t.Errorf("bob's server was started %d times", n)
				}
				if _, err := th.storedServer("bob", ""); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("the refused start left a server in the store: %v", err)
				}
			}
			refused("while alice's starts")

			fake.release(alice)
			th.waitReady("alice", "", 10*time.Second)
			if !tt.afterReady {
				refused("while alice's runs")
				th.mustAPI("DELETE", "/users/alice/server", serviceToken, nil, 204)
			}
			th.mustAPI("POST", "/users/bob/server", serviceToken, nil, 201, 202)
			th.waitReady("bob", "", 10*time.Second)
			if !fake.isRunning(bob) {
				t.Error("bob's start, once allowed, did not run")
			}
		})
	}
}

// TestAPIActivity: POST /users/{name}/activity, as servers report it.
func TestAPIActivity(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)
	th.mustAPI("POST", "/users/alice", serviceToken, nil, 201)
	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 201)
	tok := fake.token(t, spawner.Ref{User: "alice"})

	// activity waits until the user's and the server's last_activity, as
	// stored, satisfy done (activity is written by the batcher) and
	// returns them.
	activity := func(done func(user, server string) bool) (user, server string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			m := th.userModel("alice")
			user, _ = m["last_activity"].(string)
			server, _ = m["servers"].(map[string]any)[""].(map[string]any)["last_activity"].(string)
			if done(user, server) {
				return user, server
			}
			if time.Now().After(deadline) {
				t.Fatalf("activity not recorded as expected: user %q, server %q", user, server)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	report := func(ts string) map[string]any {
		return map[string]any{"last_activity": ts, "servers": map[string]any{"": map[string]any{"last_activity": ts}}}
	}

	t1 := iso(time.Now().Add(30 * time.Second))
	th.mustAPI("POST", "/users/alice/activity", tok, report(t1), 200)
	activity(func(u, s string) bool { return u == t1 && s == t1 })

	// A time in the future is clamped to (about) now.
	before := time.Now()
	th.mustAPI("POST", "/users/alice/activity", tok, report(iso(time.Now().Add(3*time.Hour))), 200)
	after := time.Now()
	u, s := activity(func(u, s string) bool { return u != t1 && s != t1 })
	for _, v := range []string{u, s} {
		got, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || got.Before(before.Add(59*time.Second)) || got.After(after.Add(61*time.Second)) {
			t.Errorf("a report 3 h ahead was recorded as %s (%v), want about a minute ahead", v, err)
		}
	}

	for _, tt := range []struct {
		name string
		body any
	}{
		{"malformed time", map[string]any{"last_activity": "yesterday"}},
		{"malformed server time", map[string]any{"servers": map[string]any{"": map[string]any{"last_activity": "2023-13-45"}}}},
		{"unknown server", map[string]any{"last_activity": iso(time.Now().Add(3 * time.Hour)), "servers": map[string]any{"nope": map[string]any{"last_activity": iso(time.Now())}}}},
		{"server without time", map[string]any{"servers": map[string]any{"": map[string]any{}}}},
		{"empty", map[string]any{}},
		{"not JSON", "last_activity=now"},
		{"not an object", "[1]"},
	} {
		if code, b := th.api("POST", "/users/alice/activity", tok, tt.body); code != 400 {
			t.Errorf("%s: %d %s, want 400", tt.name, code, b)
		}
	}
	if err := th.hub.batcher.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := th.userModel("alice"); m["last_activity"] != u {
		t.Errorf("refused reports changed last_activity from %s to %v", u, m["last_activity"])
	}
}
