package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/proxy"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner"
)

// request returns the spawner.Request of ref's running fake server.
func (f *fakeSpawner) request(ref spawner.Ref) (spawner.Request, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.running[ref]
	if s == nil {
		return spawner.Request{}, false
	}
	return s.req, true
}

// attackProfiles: a default profile with a choice for one group only and
// no free-form values, and a profile for that group only.
const attackProfiles = `
- display_name: Small
  slug: small
  default: true
  profile_options:
    image:
      display_name: Image
      choices:
        base: {display_name: Base image, default: true, kubespawner_override: {image: base:1}}
        gpu: {display_name: GPU image, allowed_groups: [gpu], kubespawner_override: {image: gpu:1}}
- display_name: GPU machine
  slug: gpu
  allowed_groups: [gpu]
  kubespawner_override: {extra_resource_limits: {nvidia.com/gpu: "1"}}
`

// TestSecurityProfileForm: what a user may start is what the spawn form
// offers them. Posting the form with a profile, choice or free-form value
// it does not offer (another group's profile, a choice of another group,
// an unlisted value where none is allowed) is refused and starts nothing;
// the same through the API's user_options.
func TestSecurityProfileForm(t *testing.T) {
	t.Parallel()
	list, err := profiles.Parse([]byte(attackProfiles))
	if err != nil {
		t.Fatal(err)
	}
	th, fake := startFakeHub(t, func(c *Config) { c.Profiles = list })
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"alice", "bob"}}, 201)
	th.mustAPI("PATCH", "/users/bob", serviceToken, map[string]any{"groups": []string{"gpu"}}, 200)
	alice, x := loggedIn(t, th, "alice")
	aliceRef := spawner.Ref{User: "alice"}

	resp, page := alice.do("GET", th.url+"/hub/spawn/alice", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "Base image") {
		t.Fatalf("alice's spawn form: %d\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, "GPU machine") || strings.Contains(page, "GPU image") {
		t.Fatalf("alice's spawn form offers the gpu group's choices:\n%s", page)
	}

	for _, tt := range []struct {
		name string
		form url.Values
	}{
		{"another group's profile", url.Values{"profile": {"gpu"}}},
		{"another group's choice", url.Values{"profile": {"small"}, "profile-option-small--image": {"gpu"}}},
		{"a choice that does not exist", url.Values{"profile": {"small"}, "profile-option-small--image": {"evil:latest"}}},
		{"a free-form value", url.Values{"profile": {"small"}, "profile-option-small--image--unlisted-choice": {"evil:latest"}}},
		{"the free-form marker", url.Values{"profile": {"small"}, "profile-option-small--image": {"unlisted-choice"},
			"profile-option-small--image--unlisted-choice": {"evil:latest"}}},
		{"an option that does not exist", url.Values{"profile": {"small"}, "profile-option-small--cpu_limit": {"64"}}},
		{"a profile that does not exist", url.Values{"profile": {"huge"}}},
		{"two profiles", url.Values{"profile": {"small", "gpu"}}},
		{"two choices", url.Values{"profile": {"small"}, "profile-option-small--image": {"base", "gpu"}}},
	} {
		form := url.Values{"_xsrf": {x}}
		for k, v := range tt.form {
			form[k] = v
		}
		resp, page := alice.do("POST", th.url+"/hub/spawn/alice", form)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("spawn form with %s: %d at %s, want 400\n%.300s", tt.name, resp.StatusCode, resp.Request.URL, page)
		}
	}
	// The same choices through the API, with alice's own token.
	tok, _ := th.newToken("alice", nil)
	for _, opts := range []string{
		`{"profile": "gpu"}`,
		`{"profile": "small", "image": "gpu"}`,
		`{"profile": "small", "image--unlisted-choice": "evil:latest"}`,
		`{"profile": "small", "image": "unlisted-choice", "image--unlisted-choice": "evil:latest"}`,
		`{"profile": "small", "cpu_limit": 64}`,
		`{"profile": "small", "kubespawner_override": {"image": "evil:latest"}}`,
		`{"profile": "huge"}`,
	} {
		if code, b := th.api("POST", "/users/alice/server", tok, opts); code != http.StatusBadRequest {
			t.Errorf("start with user_options %s: %d %s, want 400", opts, code, b)
		}
	}
	// Nor may alice start bob's server with bob's choices.
	form := url.Values{"_xsrf": {x}, "profile": {"gpu"}}
	if resp, _ := alice.do("POST", th.url+"/hub/spawn/bob", form); resp.StatusCode != http.StatusNotFound {
		t.Errorf("alice posting bob's spawn form: %d, want 404", resp.StatusCode)
	}
	if n := fake.startCount(aliceRef) + fake.startCount(spawner.Ref{User: "bob"}); n != 0 {
		t.Fatalf("refused forms started %d servers", n)
	}

	// What is offered works: alice's default, and bob's gpu profile.
	resp, _ = alice.do("POST", th.url+"/hub/spawn/alice", url.Values{"_xsrf": {x}, "profile": {"small"}, "profile-option-small--image": {"base"}})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.Path, "/hub/spawn-pending/alice") && !strings.HasPrefix(resp.Request.URL.Path, "/user/alice/") {
		t.Fatalf("the offered choice: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	th.waitReady("alice", "", 30*time.Second)
	if req, ok := fake.request(aliceRef); !ok || req.Override["image"] != "base:1" {
		t.Errorf("alice's server started with override %v, want the base image", req.Override)
	}
	bob, bx := loggedIn(t, th, "bob")
	if resp, _ := bob.do("POST", th.url+"/hub/spawn/bob", url.Values{"_xsrf": {bx}, "profile": {"gpu"}}); resp.StatusCode != 200 {
		t.Fatalf("bob's gpu profile: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	th.waitReady("bob", "", 30*time.Second)
	if req, _ := fake.request(spawner.Ref{User: "bob"}); fmt.Sprint(req.Override["extra_resource_limits"]) != "map[nvidia.com/gpu:1]" {
		t.Errorf("bob's server started with override %v, want the gpu profile's", req.Override)
	}
}

// rawRequest sends head (with "Host" and the blank line added) to addr
// and returns the status of the answer; 0 when the connection closed
// without one.
func rawRequest(t *testing.T, addr, head string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	go func() { _, _ = io.WriteString(conn, head+"Host: "+addr+"\r\nConnection: close\r\n\r\n") }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSecurityOversizedHeaders: a request head beyond net/http's limit
// (1 MiB) is answered 431 on both fronts the hub is served with (an
// http.Server, and proxy.Serve as the example hub does), before it
// reaches the hub or a server; a long but ordinary head (a big cookie)
// still works, and other connections are not disturbed.
func TestSecurityOversizedHeaders(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)
	th.mustAPI("POST", "/users/alice", serviceToken, nil, 201)
	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 201)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- th.hub.Proxy().Serve(ctx, ln, proxy.ServeOptions{}) }()
	t.Cleanup(func() { cancel(); <-served })

	huge := strings.Repeat("a", 1<<20+8192)
	for front, addr := range map[string]string{"http.Server": strings.TrimPrefix(th.url, "http://"), "proxy.Serve": ln.Addr().String()} {
		t.Run(front, func(t *testing.T) {
			before := len(fake.requests())
			for _, tt := range []struct {
				name, head string
				want       int
			}{
				{"huge header to the hub", "GET /hub/api/ HTTP/1.1\r\nX-Big: " + huge + "\r\n", 431},
				{"huge cookie to a server", "GET /user/alice/tree HTTP/1.1\r\nCookie: c=" + huge + "\r\n", 431},
				{"many header lines to a server", "GET /user/alice/tree HTTP/1.1\r\n" + strings.Repeat("X-Many: 1234567890\r\n", 60000), 431},
				{"huge request line", "GET /user/alice/" + huge + " HTTP/1.1\r\n", 431},
			} {
				if code := rawRequest(t, addr, tt.head); code != tt.want {
					t.Errorf("%s: %d, want %d", tt.name, code, tt.want)
				}
			}
			if n := len(fake.requests()); n != before {
				t.Errorf("an oversized request reached alice's server")
			}
			// A long cookie, as browsers send them, still goes through.
			long := "GET /user/alice/tree HTTP/1.1\r\nCookie: c=" + strings.Repeat("b", 32<<10) + "\r\n" +
				strings.Repeat("X-Many: 1\r\n", 100)
			if code := rawRequest(t, addr, long); code != 200 {
				t.Errorf("a 32 KiB cookie and 100 header lines: %d, want 200", code)
			}
			if code := rawRequest(t, addr, "GET /hub/api/ HTTP/1.1\r\n"); code != 200 {
				t.Errorf("an ordinary request after the oversized ones: %d", code)
			}
		})
	}
}

// TestSecurityIsolationScopes: no credential of alice's — her session,
// her API token, her server's token, the OAuth token her server got for
// her browser — carries a scope on bob's server, and alice's OAuth code
// is no use to bob's server.
func TestSecurityIsolationScopes(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"alice", "bob"}}, 201)
	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 201)
	th.mustAPI("POST", "/users/bob/server", serviceToken, nil, 201)
	aliceSrv, bobSrv := fake.token(t, spawner.Ref{User: "alice"}), fake.token(t, spawner.Ref{User: "bob"})
	alice, _ := loggedIn(t, th, "alice")
	personal, _ := th.newToken("alice", nil)

	nofollow := &http.Client{Jar: alice.c.Jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(c *http.Client, client, redirect string) (int, string) {
		t.Helper()
		q := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s"}}
		resp, err := c.Get(th.url + "/hub/api/oauth2/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil {
			return resp.StatusCode, ""
		}
		return resp.StatusCode, loc.Query().Get("code")
	}
	exchange := func(client, secret, code, redirect string) (int, map[string]any) {
		t.Helper()
		resp, err := http.PostForm(th.url+"/hub/api/oauth2/token", url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "client_id": {client}, "client_secret": {secret}, "redirect_uri": {redirect}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}

	// Alice's code for her server is refused to bob's server.
	st, code := authorize(nofollow, "jupyterhub-user-alice", "/user/alice/oauth_callback")
	if st != http.StatusFound || code == "" {
		t.Fatalf("alice authorizing her server: %d", st)
	}
	if st, m := exchange("jupyterhub-user-bob", bobSrv, code, "/user/alice/oauth_callback"); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("alice's code at bob's server: %d %v", st, m)
	}
	// A code presented by the wrong client is spent.
	if st, _ := exchange("jupyterhub-user-alice", aliceSrv, code, "/user/alice/oauth_callback"); st != 400 {
		t.Errorf("alice's code after bob's server presented it: %d, want 400", st)
	}
	_, code = authorize(nofollow, "jupyterhub-user-alice", "/user/alice/oauth_callback")
	st, m := exchange("jupyterhub-user-alice", aliceSrv, code, "/user/alice/oauth_callback")
	oauthTok, _ := m["access_token"].(string)
	if st != 200 || oauthTok == "" {
		t.Fatalf("alice's server exchanging her code: %d %v", st, m)
	}
	// Alice may not authorize bob's server for herself.
	if st, code := authorize(nofollow, "jupyterhub-user-bob", "/user/bob/oauth_callback"); st != http.StatusForbidden || code != "" {
		t.Errorf("alice authorizing bob's server: %d (code %q), want 403", st, code)
	}

	creds := map[string]func() (int, []byte){
		"personal token": func() (int, []byte) { return th.api("GET", "/user", personal, nil) },
		"server token":   func() (int, []byte) { return th.api("GET", "/user", aliceSrv, nil) },
		"OAuth token":    func() (int, []byte) { return th.api("GET", "/user", oauthTok, nil) },
		"session": func() (int, []byte) {
			return alice.cookieAPI("GET", th.url+"/hub/api/user", "", nil)
		},
	}
	for name, get := range creds {
		code, b := get()
		if code != 200 {
			t.Fatalf("%s: GET /user: %d %s", name, code, b)
		}
		var self struct {
			Name   string
			Scopes []string
		}
		if err := json.Unmarshal(b, &self); err != nil || self.Name != "alice" {
			t.Fatalf("%s: %s", name, b)
		}
		for _, sc := range self.Scopes {
			if strings.HasPrefix(sc, "access:servers") && sc != "access:servers!user=alice" && sc != "access:servers!server=alice/" {
				t.Errorf("%s of alice holds %q", name, sc)
			}
			if strings.Contains(sc, "bob") || sc == "admin:users" || sc == "admin:servers" {
				t.Errorf("%s of alice holds %q", name, sc)
			}
		}
	}
}
