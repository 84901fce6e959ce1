package hub

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/dev"
	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner"
)

// instantSpawner starts and stops servers at once, without running
// anything: the fuzz target exercises the hub's own handling of requests.
type instantSpawner struct {
	mu      sync.Mutex
	running map[spawner.Ref]bool
}

func (s *instantSpawner) Start(ctx context.Context, req spawner.Request) (spawner.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running[req.Ref] = true
	return spawner.Server{Ref: req.Ref, URL: "http://127.0.0.1:9", Started: time.Now()}, nil
}

func (s *instantSpawner) Stop(ctx context.Context, ref spawner.Ref) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, ref)
	return nil
}

func (s *instantSpawner) Status(ctx context.Context, ref spawner.Ref) (spawner.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[ref] {
		return spawner.Status{Ref: ref, Phase: spawner.PhaseRunning, Server: &spawner.Server{Ref: ref, URL: "http://127.0.0.1:9"}}, nil
	}
	return spawner.Status{Ref: ref, Phase: spawner.PhaseStopped}, nil
}

// fuzzEndpoints are the API endpoints that read a body.
var fuzzEndpoints = []struct{ method, path string }{
	{"POST", "/hub/api/users"},
	{"POST", "/hub/api/users/fuzz"},
	{"PATCH", "/hub/api/users/fuzz"},
	{"POST", "/hub/api/users/fuzz/server"},
	{"POST", "/hub/api/users/fuzz/servers/lab"},
	{"DELETE", "/hub/api/users/fuzz/server"},
	{"DELETE", "/hub/api/users/fuzz/servers/lab"},
	{"POST", "/hub/api/users/fuzz/activity"},
	{"POST", "/hub/api/users/fuzz/tokens"},
	{"POST", "/hub/api/oauth2/token"},
	{"POST", "/hub/api/users/fuzz/servers/%F0%9F%A6%80"},
	{"DELETE", "/hub/api/users/fuzz"},
}

// fuzzStatuses are the answers a request may get. A 5xx is a failure: a
// body, whatever it is, is the client's mistake or fine.
var fuzzStatuses = map[int]bool{200: true, 201: true, 202: true, 204: true, 400: true, 401: true, 403: true,
	404: true, 405: true, 409: true, 413: true, 415: true, 429: true}

const fuzzProfiles = `
- display_name: Small
  slug: small
  default: true
  profile_options:
    image:
      display_name: Image
      choices:
        base: {display_name: Base, default: true, kubespawner_override: {image: base}}
        gpu: {display_name: GPU, allowed_groups: [gpu], kubespawner_override: {image: gpu}}
      unlisted_choice: {enabled: true, validation_regex: '^[a-z]+$', kubespawner_override: {image: '{value}'}}
- display_name: GPU
  slug: gpu
  allowed_groups: [gpu]
`

// FuzzAPI sends arbitrary bodies to the hub's API endpoints, as an
// administrator, as the user and as the user's server: never a panic,
// never a 5xx, always a status of the known set.
func FuzzAPI(f *testing.F) {
	for _, seed := range []struct {
		endpoint, who uint8
		body          string
	}{
		{0, 0, `{"usernames": ["fuzz", "other"], "admin": false}`},
		{1, 0, `{"admin": false, "groups": ["gpu"]}`},
		{2, 0, `{"name": "fuzz", "admin": true, "groups": ["x"]}`},
		{3, 1, `{"profile": "small", "image": "base"}`},
		{3, 1, `{"profile": "gpu"}`},
		{4, 1, `{"profile": "small", "image--unlisted-choice": "custom"}`},
		{5, 1, `{"remove": true}`},
		{7, 2, `{"last_activity": "2024-01-01T00:00:00Z", "servers": {"": {"last_activity": "2024-01-01T00:00:00.000000Z"}}}`},
		{8, 1, `{"note": "n", "expires_in": 60, "scopes": ["read:users!user=fuzz"]}`},
		{9, 3, "grant_type=authorization_code&code=x&client_id=jupyterhub-user-fuzz&client_secret=y"},
		{10, 1, `{}`},
		{2, 0, `{"admin": true} {"admin": false}`},
		{2, 0, `{"admin": true}]`},
		{3, 0, `[]`},
		{7, 2, `{"last_activity": "not a time"}`},
		{8, 1, `{"expires_in": -1}`},
		{11, 0, ``},
	} {
		f.Add(seed.endpoint, seed.who, []byte(seed.body))
	}

	ctx := context.Background()
	dir := f.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "hub.sqlite"), sqlite.Options{UnsafeSyncNormal: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	keys, err := authenticator.NewKeyring(authenticator.NewKey())
	if err != nil {
		f.Fatal(err)
	}
	auth, err := dev.NewInsecure(dev.Options{Users: []string{"fuzz"}, Password: devPassword,
		Rules: authenticator.Rules{AllowAll: true}, Keys: keys, CallbackPath: "/hub/oauth_callback"})
	if err != nil {
		f.Fatal(err)
	}
	list, err := profiles.Parse([]byte(fuzzProfiles))
	if err != nil {
		f.Fatal(err)
	}
	h, err := New(Config{
		Store: db, Spawner: &instantSpawner{running: map[spawner.Ref]bool{}}, Authenticator: auth, Keys: keys,
		Services:     []Service{{Name: "fuzzer", APIToken: serviceToken, Admin: true}},
		Profiles:     list,
		Limits:       Limits{AllowNamedServers: true, NamedServersPerUser: 3},
		MaxBodyBytes: 4096,
	})
	if err != nil {
		f.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(runCtx) }()
	f.Cleanup(func() { cancel(); <-done; h.Proxy().Close() })
	for !h.Ready() {
		time.Sleep(5 * time.Millisecond)
	}

	// The user, a token of theirs and their server's token.
	if _, err := db.CreateUser(ctx, store.User{Name: "fuzz"}); err != nil {
		f.Fatal(err)
	}
	userToken, err := store.NewSecret(nil)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := db.CreateToken(ctx, userToken, store.Token{Owner: store.Owner{User: "fuzz"}, Scopes: []string{"inherit"}}); err != nil {
		f.Fatal(err)
	}
	serverToken, err := store.NewSecret(nil)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := db.CreateToken(ctx, serverToken, store.Token{Owner: store.Owner{User: "fuzz"},
		Scopes: serverScopes(spawner.Ref{User: "fuzz"})}); err != nil {
		f.Fatal(err)
	}
	tokens := []string{serviceToken, userToken, serverToken, ""}
	handler := h.Handler()

	f.Fuzz(func(t *testing.T, endpoint, who uint8, body []byte) {
		ep := fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)]
		req := httptest.NewRequest(ep.method, ep.path, bytes.NewReader(body))
		if tok := tokens[int(who)%len(tokens)]; tok != "" {
			req.Header.Set("Authorization", "token "+tok)
		}
		if ep.path == "/hub/api/oauth2/token" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if !fuzzStatuses[rec.Code] {
			t.Fatalf("%s %s with %q: %d %s", ep.method, ep.path, body, rec.Code, rec.Body.Bytes())
		}
	})
}
