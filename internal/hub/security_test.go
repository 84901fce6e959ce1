package hub

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/spawner"
)

// cookieAPI calls the hub's API as the browser, with its session cookie
// and, unless xsrf is "", the X-XSRFToken header.
func (b *browser) cookieAPI(method, u, xsrf string, body any) (int, []byte) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = strings.NewReader(string(j))
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if xsrf != "" {
		req.Header.Set("X-XSRFToken", xsrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// loggedIn logs a new browser in as user and returns it with the
// anti-forgery value of its session.
func loggedIn(t *testing.T, th *testHub, user string) (*browser, string) {
	t.Helper()
	b := newBrowser(t)
	resp, page := b.login(th.url, user, "/hub/home")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("login as %s: %d at %s", user, resp.StatusCode, resp.Request.URL)
	}
	return b, xsrf(t, page)
}

// tokenIDs lists the IDs of the user's tokens from the store.
func (th *testHub) tokenIDs(user string) []int64 {
	th.t.Helper()
	list, err := th.db.ListTokens(context.Background(), store.TokenQuery{Owner: store.Owner{User: user}})
	if err != nil {
		th.t.Fatal(err)
	}
	var ids []int64
	for _, tok := range list {
		ids = append(ids, tok.ID)
	}
	return ids
}

// mustUnchanged fails when the user's model (as the service reads it)
// differs from before.
func (th *testHub) mustUnchanged(user string, before map[string]any) {
	th.t.Helper()
	after := th.userModel(user)
	a, _ := json.Marshal(after)
	b, _ := json.Marshal(before)
	if string(a) != string(b) {
		th.t.Errorf("%s changed:\nbefore %s\nafter  %s", user, b, a)
	}
}

// TestSecurityCredentials: requests without valid credentials are 403
// and change nothing.
func TestSecurityCredentials(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"alice", "gone"}}, 201)
	valid, _ := th.newToken("alice", nil)

	ctx := context.Background()
	expired, err := store.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := th.db.CreateToken(ctx, expired, store.Token{Owner: store.Owner{User: "alice"}, Scopes: []string{"inherit"},
		Expires: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	orphan, _ := th.newToken("gone", nil)
	th.mustAPI("DELETE", "/users/gone", serviceToken, nil, 204)

	before := th.userModel("alice")
	tokensBefore := len(th.tokenIDs("alice"))
	for _, cred := range []struct{ name, header string }{
		{"none", ""},
		{"forged", "token " + strings.Repeat("0123456789abcdef", 4)},
		{"forged bearer", "Bearer " + strings.Repeat("f", 64)},
		{"expired", "token " + expired},
		{"of a deleted user", "token " + orphan},
		{"service token with a typo", "token " + serviceToken + "x"},
		{"scheme only", "token"},
		{"unknown scheme", "Basic " + valid},
	} {
		for _, ep := range []struct{ method, path string }{
			{"GET", "/hub/api/user"},
			{"GET", "/hub/api/users"},
			{"GET", "/hub/api/users/alice"},
			{"POST", "/hub/api/users/alice/server"},
			{"POST", "/hub/api/users/alice/tokens"},
			{"PATCH", "/hub/api/users/alice"},
			{"DELETE", "/hub/api/users/alice"},
			{"GET", "/hub/metrics"},
		} {
			h := http.Header{}
			if cred.header != "" {
				h.Set("Authorization", cred.header)
			}
			body := any(nil)
			if ep.method == "PATCH" {
				body = map[string]any{"admin": true}
			}
			resp, b := th.request(ep.method, ep.path, "", body, h)
			if resp.StatusCode != 403 {
				t.Errorf("%s %s with %s credentials: %d %s, want 403", ep.method, ep.path, cred.name, resp.StatusCode, b)
			}
		}
	}
	th.mustUnchanged("alice", before)
	if n := len(th.tokenIDs("alice")); n != tokensBefore {
		t.Errorf("alice has %d tokens, had %d", n, tokensBefore)
	}
	if n := fake.startCount(spawner.Ref{User: "alice"}); n != 0 {
		t.Errorf("a server was started %d times", n)
	}
	// The valid token works, with either scheme.
	for _, scheme := range []string{"token ", "Bearer "} {
		resp, b := th.request("GET", "/hub/api/user", "", nil, http.Header{"Authorization": {scheme + valid}})
		if resp.StatusCode != 200 || object(t, b)["name"] != "alice" {
			t.Errorf("%sVALID: %d %s", scheme, resp.StatusCode, b)
		}
	}
}

// TestSecurityOtherUsers: alice's token on bob's endpoints finds nothing
// and changes nothing.
func TestSecurityOtherUsers(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"alice", "bob"}}, 201)
	alice, _ := th.newToken("alice", nil)
	bobTok, bobTokID := th.newToken("bob", nil)
	th.mustAPI("POST", "/users/bob/servers/lab", serviceToken, nil, 201)

	before := th.userModel("bob")
	bobTokens := th.tokenIDs("bob")
	for _, tt := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/users/bob", nil, 404},
		{"GET", "/users/nobody", nil, 404},
		{"PATCH", "/users/bob", map[string]any{"admin": true}, 404},
		{"DELETE", "/users/bob", nil, 404},
		{"POST", "/users/bob/server", nil, 404},
		{"DELETE", "/users/bob/servers/lab", nil, 404},
		{"GET", "/users/bob/servers/lab/progress", nil, 404},
		{"GET", "/users/bob/tokens", nil, 404},
		{"POST", "/users/bob/tokens", map[string]any{}, 404},
		{"GET", "/users/bob/tokens/" + bobTokID, nil, 404},
		{"DELETE", "/users/bob/tokens/" + bobTokID, nil, 404},
		{"POST", "/users/bob/activity", map[string]any{"last_activity": iso(time.Now())}, 404},
		// Her own admin flag is not hers to set.
		{"PATCH", "/users/alice", map[string]any{"admin": true}, 403},
		// Nor may she make users.
		{"POST", "/users/mallory", nil, 403},
		{"POST", "/users", map[string]any{"usernames": []string{"mallory"}}, 403},
	} {
		if code, b := th.api(tt.method, tt.path, alice, tt.body); code != tt.want {
			t.Errorf("alice: %s %s: %d %s, want %d", tt.method, tt.path, code, b, tt.want)
		}
	}
	th.mustUnchanged("bob", before)
	if ids := th.tokenIDs("bob"); len(ids) != len(bobTokens) {
		t.Errorf("bob's tokens: %v, were %v", ids, bobTokens)
	}
	th.mustAPI("GET", "/user", bobTok, nil, 200)
	if n := fake.startCount(spawner.Ref{User: "bob"}); n != 0 {
		t.Errorf("bob's default server was started %d times", n)
	}
	if !fake.isRunning(spawner.Ref{User: "bob", Server: "lab"}) {
		t.Error("bob/lab was stopped")
	}
	if m := th.userModel("alice"); m["admin"] != false {
		t.Error("alice made herself an admin")
	}
	th.mustAPI("GET", "/users/mallory", serviceToken, nil, 404)
	// The activity report was refused before it was recorded.
	if err := th.hub.batcher.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	th.mustUnchanged("bob", before)
}

// TestSecurityServerToken: a server's own token acts only as that server
// of its user.
func TestSecurityServerToken(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"alice", "bob"}}, 201)
	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 201)
	tok := fake.token(t, spawner.Ref{User: "alice"})

	before := map[string]map[string]any{"alice": th.userModel("alice"), "bob": th.userModel("bob")}
	aliceTokens := th.tokenIDs("alice")
	for _, tt := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/users", nil, 403},
		{"GET", "/info", nil, 403},
		{"POST", "/users/carol", nil, 403},
		{"POST", "/users", map[string]any{"usernames": []string{"carol"}}, 403},
		{"POST", "/users/alice/tokens", map[string]any{}, 404},
		{"GET", "/users/alice/tokens", nil, 404},
		{"PATCH", "/users/alice", map[string]any{"admin": true}, 404},
		{"DELETE", "/users/bob", nil, 404},
		{"DELETE", "/users/alice/server", nil, 404},
		{"POST", "/users/alice/servers/other", nil, 404},
		{"POST", "/users/bob/server", nil, 404},
		{"POST", "/users/bob/activity", map[string]any{"last_activity": iso(time.Now())}, 404},
	} {
		if code, b := th.api(tt.method, tt.path, tok, tt.body); code != tt.want {
			t.Errorf("server token: %s %s: %d %s, want %d", tt.method, tt.path, code, b, tt.want)
		}
	}
	if err := th.hub.batcher.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for user, m := range before {
		th.mustUnchanged(user, m)
	}
	if ids := th.tokenIDs("alice"); len(ids) != len(aliceTokens) {
		t.Errorf("alice's tokens: %v, were %v", ids, aliceTokens)
	}
	th.mustAPI("GET", "/users/carol", serviceToken, nil, 404)
	if !fake.isRunning(spawner.Ref{User: "alice"}) || fake.startCount(spawner.Ref{User: "bob"}) != 0 {
		t.Error("the server token started or stopped a server")
	}
	// What it is for: its user's activity.
	th.mustAPI("POST", "/users/alice/activity", tok, map[string]any{"last_activity": iso(time.Now()),
		"servers": map[string]any{"": map[string]any{"last_activity": iso(time.Now())}}}, 200)
}

// TestSecurityCSRF: requests authenticated by the session cookie that
// change something need the session's anti-forgery value.
func TestSecurityCSRF(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)
	alice, aliceXSRF := loggedIn(t, th, "alice")
	_, bobXSRF := loggedIn(t, th, "bob")
	admin, adminXSRF := loggedIn(t, th, "admin")
	api := th.url + "/hub/api"
	aliceRef := spawner.Ref{User: "alice"}

	t.Run("API", func(t *testing.T) {
		n := len(th.tokenIDs("alice"))
		for _, x := range []string{"", bobXSRF, "forged"} {
			if code, b := alice.cookieAPI("POST", api+"/users/alice/tokens", x, map[string]any{}); code != 403 {
				t.Errorf("token by cookie with X-XSRFToken %q: %d %s", x, code, b)
			}
			if code, b := alice.cookieAPI("POST", api+"/users/alice/server", x, nil); code != 403 {
				t.Errorf("start by cookie with X-XSRFToken %q: %d %s", x, code, b)
			}
		}
		if got := len(th.tokenIDs("alice")); got != n {
			t.Fatalf("forged requests made %d tokens", got-n)
		}
		if fake.startCount(aliceRef) != 0 {
			t.Fatal("a forged request started a server")
		}
		code, b := alice.cookieAPI("POST", api+"/users/alice/tokens", aliceXSRF, map[string]any{})
		if code != 201 {
			t.Fatalf("token by cookie with the right X-XSRFToken: %d %s", code, b)
		}
		id := object(t, b)["id"].(string)
		for _, x := range []string{"", bobXSRF} {
			if code, _ := alice.cookieAPI("DELETE", api+"/users/alice/tokens/"+id, x, nil); code != 403 {
				t.Errorf("token deletion by cookie with X-XSRFToken %q: %d", x, code)
			}
		}
		th.mustAPI("GET", "/users/alice/tokens/"+id, serviceToken, nil, 200)
		if code, _ := alice.cookieAPI("GET", api+"/user", "", nil); code != 200 {
			t.Errorf("GET by cookie without X-XSRFToken: %d", code)
		}
	})

	// form posts as the browser at path with the given _xsrf ("": none)
	// and reports the status it ended with.
	form := func(b *browser, path, x string, v url.Values) int {
		t.Helper()
		if v == nil {
			v = url.Values{}
		}
		if x != "" {
			v.Set("_xsrf", x)
		}
		resp, _ := b.do("POST", th.url+path, v)
		return resp.StatusCode
	}
	forged := []string{"", bobXSRF, "forged"}

	t.Run("spawn and stop", func(t *testing.T) {
		for _, x := range forged {
			if code := form(alice, "/hub/spawn/alice", x, nil); code != 403 {
				t.Errorf("spawn with _xsrf %q: %d", x, code)
			}
		}
		if fake.startCount(aliceRef) != 0 {
			t.Fatal("a forged form started a server")
		}
		th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 201)
		for _, x := range forged {
			if code := form(alice, "/hub/stop/alice", x, nil); code != 403 {
				t.Errorf("stop with _xsrf %q: %d", x, code)
			}
		}
		if !fake.isRunning(aliceRef) {
			t.Fatal("a forged form stopped the server")
		}
		if code := form(alice, "/hub/stop/alice", aliceXSRF, nil); code != 200 || fake.isRunning(aliceRef) {
			t.Errorf("stop with the right _xsrf: %d, running %v", code, fake.isRunning(aliceRef))
		}
	})

	t.Run("admin", func(t *testing.T) {
		for _, x := range []string{"", bobXSRF, aliceXSRF, "forged"} {
			if code := form(admin, "/hub/admin/users", x, url.Values{"usernames": {"mallory"}}); code != 403 {
				t.Errorf("add user with _xsrf %q: %d", x, code)
			}
			if code := form(admin, "/hub/admin/users/bob/delete", x, nil); code != 403 {
				t.Errorf("delete user with _xsrf %q: %d", x, code)
			}
		}
		th.mustAPI("GET", "/users/mallory", serviceToken, nil, 404)
		th.mustAPI("GET", "/users/bob", serviceToken, nil, 200)
		if code := form(admin, "/hub/admin/users", adminXSRF, url.Values{"usernames": {"mallory"}}); code != 200 {
			t.Errorf("add user with the right _xsrf: %d", code)
		}
		th.mustAPI("GET", "/users/mallory", serviceToken, nil, 200)
	})

	t.Run("tokens", func(t *testing.T) {
		before := th.tokenIDs("alice")
		for _, x := range forged {
			if code := form(alice, "/hub/token", x, url.Values{"note": {"forged"}}); code != 403 {
				t.Errorf("token with _xsrf %q: %d", x, code)
			}
		}
		if got := th.tokenIDs("alice"); len(got) != len(before) {
			t.Fatalf("forged forms made tokens: %v, were %v", got, before)
		}
		secret, id := th.newToken("alice", nil)
		for _, x := range forged {
			if code := form(alice, "/hub/token/"+id+"/revoke", x, nil); code != 403 {
				t.Errorf("revoke with _xsrf %q: %d", x, code)
			}
		}
		th.mustAPI("GET", "/user", secret, nil, 200)
		if code := form(alice, "/hub/token/"+id+"/revoke", aliceXSRF, nil); code != 200 {
			t.Errorf("revoke with the right _xsrf: %d", code)
		}
		th.mustAPI("GET", "/user", secret, nil, 403)
	})

	t.Run("logout", func(t *testing.T) {
		for _, x := range forged {
			if code := form(alice, "/hub/logout", x, nil); code != 403 {
				t.Errorf("logout with _xsrf %q: %d", x, code)
			}
		}
		if code, _ := alice.cookieAPI("GET", api+"/user", "", nil); code != 200 {
			t.Errorf("a forged logout ended the session: %d", code)
		}
	})
}

// TestSecuritySessionCookie: a session cookie that was tampered with is
// no session.
func TestSecuritySessionCookie(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)
	alice, x := loggedIn(t, th, "alice")
	hubURL, _ := url.Parse(th.url + "/hub/")
	var sess *http.Cookie
	for _, c := range alice.c.Jar.Cookies(hubURL) {
		if c.Name == "hubkit-session" {
			sess = c
		}
	}
	if sess == nil {
		t.Fatal("no session cookie")
	}
	if code, _ := alice.cookieAPI("GET", th.url+"/hub/api/user", "", nil); code != 200 {
		t.Fatalf("the genuine cookie: %d", code)
	}
	v := []byte(sess.Value)
	i := len(v) / 2
	if v[i] == 'A' {
		v[i] = 'B'
	} else {
		v[i] = 'A'
	}
	for name, value := range map[string]string{"flipped": string(v), "truncated": sess.Value[:len(sess.Value)-4], "garbage": "not-a-session"} {
		t.Run(name, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			jar.SetCookies(hubURL, []*http.Cookie{{Name: "hubkit-session", Value: value, Path: "/hub/"}})
			m := &browser{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
			resp, _ := m.do("GET", th.url+"/hub/home", nil)
			if resp.Request.URL.Path != "/hub/login" {
				t.Errorf("/hub/home with a %s cookie: %d at %s, want the login page", name, resp.StatusCode, resp.Request.URL)
			}
			if code, _ := m.cookieAPI("GET", th.url+"/hub/api/user", "", nil); code != 403 {
				t.Errorf("API with a %s cookie: %d", name, code)
			}
			if code, _ := m.cookieAPI("POST", th.url+"/hub/api/users/alice/server", x, nil); code != 403 {
				t.Errorf("start with a %s cookie and the genuine X-XSRFToken: %d", name, code)
			}
			resp, _ = m.do("POST", th.url+"/hub/spawn/alice", url.Values{"_xsrf": {x}})
			if resp.StatusCode != 403 {
				t.Errorf("spawn form with a %s cookie: %d", name, resp.StatusCode)
			}
		})
	}
	if fake.startCount(spawner.Ref{User: "alice"}) != 0 {
		t.Error("a tampered cookie started a server")
	}
}

// TestSecurityAdminPages: the admin pages are for admins.
func TestSecurityAdminPages(t *testing.T) {
	t.Parallel()
	th, _ := startFakeHub(t, nil)
	alice, x := loggedIn(t, th, "alice")
	loggedIn(t, th, "bob")

	resp, _ := alice.do("GET", th.url+"/hub/admin", nil)
	if resp.StatusCode != 403 {
		t.Errorf("GET /hub/admin as a user: %d", resp.StatusCode)
	}
	resp, _ = alice.do("POST", th.url+"/hub/admin/users", url.Values{"_xsrf": {x}, "usernames": {"mallory"}, "admin": {"on"}})
	if resp.StatusCode != 403 {
		t.Errorf("POST /hub/admin/users as a user: %d", resp.StatusCode)
	}
	th.mustAPI("GET", "/users/mallory", serviceToken, nil, 404)
	resp, _ = alice.do("POST", th.url+"/hub/admin/users/bob/delete", url.Values{"_xsrf": {x}})
	if resp.StatusCode != 404 {
		t.Errorf("deleting bob as a user: %d", resp.StatusCode)
	}
	th.mustAPI("GET", "/users/bob", serviceToken, nil, 200)

	admin, _ := loggedIn(t, th, "admin")
	if resp, _ := admin.do("GET", th.url+"/hub/admin", nil); resp.StatusCode != 200 {
		t.Errorf("GET /hub/admin as an admin: %d", resp.StatusCode)
	}
}

// TestSecurityBadBodies: oversized, malformed and unexpected bodies are
// refused and change nothing.
func TestSecurityBadBodies(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	th.mustAPI("POST", "/users/alice", serviceToken, nil, 201)
	th.mustAPI("POST", "/users/alice/servers/lab", serviceToken, nil, 201)
	srvTok := fake.token(t, spawner.Ref{User: "alice", Server: "lab"})

	big := `{"note": "` + strings.Repeat("x", 4096) + `"}`
	before := th.userModel("alice")
	tokens := th.tokenIDs("alice")
	for _, tt := range []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"POST", "/users/alice/tokens", serviceToken, big, 413},
		{"POST", "/users", serviceToken, `{"usernames": ["` + strings.Repeat("u", 4096) + `"]}`, 413},
		{"POST", "/users/bob", serviceToken, `{"admin": true, "groups": ["` + strings.Repeat("g", 4096) + `"]}`, 413},
		{"PATCH", "/users/alice", serviceToken, `{"admin": true, "groups": ["` + strings.Repeat("g", 4096) + `"]}`, 413},
		{"POST", "/users/alice/server", serviceToken, big, 413},
		{"DELETE", "/users/alice/servers/lab", serviceToken, `{"remove": true, "x": "` + strings.Repeat("x", 4096) + `"}`, 413},
		{"POST", "/users/alice/activity", srvTok, `{"last_activity": "` + iso(time.Now()) + `", "x": "` + strings.Repeat("x", 4096) + `"}`, 413},

		{"PATCH", "/users/alice", serviceToken, `{"admin": tru`, 400},
		{"PATCH", "/users/alice", serviceToken, `{"admn": true}`, 400},
		{"PATCH", "/users/alice", serviceToken, `{"admin": "yes"}`, 400},
		{"PATCH", "/users/alice", serviceToken, `{"admin": true} {"admin": false}`, 400},
		{"PATCH", "/users/alice", serviceToken, `{"admin": true}]`, 400},
		{"PATCH", "/users/alice", serviceToken, `{"admin": true}}`, 400},
		{"POST", "/users/bob", serviceToken, `{"admin": true, "extra": 1}`, 400},
		{"POST", "/users", serviceToken, `{"usernames": "bob"}`, 400},
		{"POST", "/users", serviceToken, `{"usernames": ["bob"], "admin": true, "x": 1}`, 400},
		{"POST", "/users/alice/tokens", serviceToken, `{"note": 1}`, 400},
		{"POST", "/users/alice/tokens", serviceToken, `{"scope": ["inherit"]}`, 400},
		{"POST", "/users/alice/tokens", serviceToken, `[]`, 400},
		{"POST", "/users/alice/server", serviceToken, `[1, 2]`, 400},
		{"POST", "/users/alice/server", serviceToken, `{"profile": `, 400},
		{"DELETE", "/users/alice/servers/lab", serviceToken, `{"remov": true}`, 400},
		{"DELETE", "/users/alice/servers/lab", serviceToken, `{`, 400},
	} {
		if code, b := th.api(tt.method, tt.path, tt.token, tt.body); code != tt.want {
			t.Errorf("%s %s with %.40s…: %d %s, want %d", tt.method, tt.path, fmt.Sprint(tt.body), code, b, tt.want)
		}
	}
	if err := th.hub.batcher.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	th.mustUnchanged("alice", before)
	th.mustAPI("GET", "/users/bob", serviceToken, nil, 404)
	if got := th.tokenIDs("alice"); len(got) != len(tokens) {
		t.Errorf("alice's tokens: %v, were %v", got, tokens)
	}
	if fake.startCount(spawner.Ref{User: "alice"}) != 0 || !fake.isRunning(spawner.Ref{User: "alice", Server: "lab"}) {
		t.Error("a refused request started or stopped a server")
	}

	// The forms of the pages have the same bound.
	alice, x := loggedIn(t, th, "alice")
	resp, _ := alice.do("POST", th.url+"/hub/token", url.Values{"_xsrf": {x}, "note": {strings.Repeat("n", 4096)}})
	if resp.StatusCode != 413 {
		t.Errorf("an oversized form: %d, want 413", resp.StatusCode)
	}
	if got := th.tokenIDs("alice"); len(got) != len(tokens) {
		t.Errorf("an oversized form made a token")
	}
}

// TestSecurityOAuth drives the OAuth provider as a client would, with a
// client registered in the store.
func TestSecurityOAuth(t *testing.T) {
	t.Parallel()
	th, _ := startFakeHub(t, nil)
	ctx := context.Background()
	alice, _ := loggedIn(t, th, "alice")

	clients := map[string]string{} // id → secret
	for _, c := range []store.OAuthClient{
		{ID: "app", RedirectURI: "/services/app/oauth_callback"},
		{ID: "other", RedirectURI: "/services/other/oauth_callback"},
	} {
		secret, err := store.NewSecret(nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Description = "Service " + c.ID
		c.Owner = store.Owner{User: "alice"}
		c.Scopes = []string{"access:servers!user=alice"}
		if _, err := th.db.PutOAuthClient(ctx, c, secret); err != nil {
			t.Fatal(err)
		}
		clients[c.ID] = secret
	}
	// A client that does not follow redirects, with alice's session.
	nofollow := &http.Client{Jar: alice.c.Jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(q url.Values) (*http.Response, string) {
		t.Helper()
		resp, err := nofollow.Get(th.url + "/hub/api/oauth2/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	params := func(kv ...string) url.Values {
		q := url.Values{"client_id": {"app"}, "response_type": {"code"}, "redirect_uri": {"/services/app/oauth_callback"}, "state": {"st8"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	// code authorizes with q and returns the code the client gets.
	code := func(q url.Values) string {
		t.Helper()
		resp, page := authorize(q)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || loc.Path != q.Get("redirect_uri") && loc.Path != "/services/app/oauth_callback" {
			t.Fatalf("authorize %v: %d Location %q\n%.300s", q, resp.StatusCode, resp.Header.Get("Location"), page)
		}
		if loc.Query().Get("state") != "st8" || loc.Query().Get("code") == "" {
			t.Fatalf("authorize returned to %s", loc)
		}
		return loc.Query().Get("code")
	}
	exchange := func(client, secret, c string, extra ...string) (int, map[string]any) {
		t.Helper()
		f := url.Values{"grant_type": {"authorization_code"}, "code": {c}, "client_id": {client}, "client_secret": {secret},
			"redirect_uri": {"/services/app/oauth_callback"}}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		resp, err := http.PostForm(th.url+"/hub/api/oauth2/token", f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, object(t, b)
	}

	t.Run("authorize refuses", func(t *testing.T) {
		for name, q := range map[string]url.Values{
			"unknown client":        params("client_id", "nobody"),
			"no client":             params("client_id", ""),
			"another host":          params("redirect_uri", "http://evil.example/services/app/oauth_callback"),
			"scheme-relative host":  params("redirect_uri", "//evil.example/services/app/oauth_callback"),
			"another path":          params("redirect_uri", "/services/app/elsewhere"),
			"path below":            params("redirect_uri", "/services/app/oauth_callback/more"),
			"dot segments":          params("redirect_uri", "/services/app/oauth_callback/../../evil"),
			"another client's path": params("redirect_uri", "/services/other/oauth_callback"),
			"javascript":            params("redirect_uri", "javascript:alert(1)"),
		} {
			resp, _ := authorize(q)
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
				t.Errorf("%s: %d, Location %q; want 400 and no redirect", name, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		// The registered path on the host the browser uses is fine.
		code(params("redirect_uri", th.url+"/services/app/oauth_callback"))
	})

	t.Run("token endpoint", func(t *testing.T) {
		c := code(params())
		if st, m := exchange("app", clients["other"], c); st != 401 || m["error"] != "invalid_client" {
			t.Errorf("wrong secret: %d %v", st, m)
		}
		if st, m := exchange("nobody", clients["app"], c); st != 401 || m["error"] != "invalid_client" {
			t.Errorf("unknown client: %d %v", st, m)
		}
		st, m := exchange("app", clients["app"], c)
		access, _ := m["access_token"].(string)
		if st != 200 || access == "" || m["token_type"] != "Bearer" {
			t.Fatalf("exchange: %d %v", st, m)
		}
		if me := object(t, th.mustAPI("GET", "/user", access, nil, 200)); me["name"] != "alice" {
			t.Errorf("the access token is %v", me)
		}
		th.mustAPI("GET", "/users", access, nil, 403)
		th.mustAPI("POST", "/users/alice/tokens", access, map[string]any{}, 404)
		if st, m := exchange("app", clients["app"], c); st != 400 || m["error"] != "invalid_grant" {
			t.Errorf("reused code: %d %v", st, m)
		}

		c = code(params())
		if st, m := exchange("other", clients["other"], c); st != 400 || m["error"] != "invalid_grant" {
			t.Errorf("another client's code: %d %v", st, m)
		}
		if st, _ := exchange("app", clients["app"], c); st != 400 {
			t.Errorf("a code presented by another client still works: %d", st)
		}

		c = code(params())
		if st, m := exchange("app", clients["app"], c, "redirect_uri", "/services/app/elsewhere"); st != 400 || m["error"] != "invalid_grant" {
			t.Errorf("another redirect_uri at the token endpoint: %d %v", st, m)
		}
		if st, m := exchange("app", clients["app"], "made-up-code-0123456789"); st != 400 || m["error"] != "invalid_grant" {
			t.Errorf("made-up code: %d %v", st, m)
		}
	})

	t.Run("PKCE", func(t *testing.T) {
		verifier := "a-verifier-of-enough-length-0123456789-abcdefghijklmnop"
		sum := sha256.Sum256([]byte(verifier))
		challenge := base64.RawURLEncoding.EncodeToString(sum[:])
		q := params("code_challenge", challenge, "code_challenge_method", "S256")
		if st, m := exchange("app", clients["app"], code(q), "code_verifier", verifier+"x"); st != 400 || m["error"] != "invalid_grant" {
			t.Errorf("wrong verifier: %d %v", st, m)
		}
		if st, m := exchange("app", clients["app"], code(q)); st != 400 || m["error"] != "invalid_grant" {
			t.Errorf("no verifier: %d %v", st, m)
		}
		if st, m := exchange("app", clients["app"], code(q), "code_verifier", challenge); st != 400 {
			t.Errorf("the challenge as verifier: %d %v", st, m)
		}
		if st, m := exchange("app", clients["app"], code(q), "code_verifier", verifier); st != 200 {
			t.Errorf("right verifier: %d %v", st, m)
		}
	})
}

// rawStatus sends a GET for path exactly as written (no client-side
// cleaning) and returns the status.
func rawStatus(t *testing.T, th *testHub, path, token string) int {
	t.Helper()
	host := strings.TrimPrefix(th.url, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: token %s\r\nConnection: close\r\n\r\n", path, host, token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSecurityPaths: paths that could be read as another user's never
// reach that user's server or data.
func TestSecurityPaths(t *testing.T) {
	t.Parallel()
	th, fake := startFakeHub(t, nil)
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"alice", "bob"}}, 201)
	th.mustAPI("POST", "/users/alice/server", serviceToken, nil, 201)
	th.mustAPI("POST", "/users/bob/server", serviceToken, nil, 201)
	alice, _ := th.newToken("alice", nil)

	bobHits := func() int {
		n := 0
		for _, h := range fake.requests() {
			if strings.HasPrefix(h, "bob ") {
				n++
			}
		}
		return n
	}
	for _, p := range []string{
		"/user/alice/../bob/",
		"/user/alice/%2e%2E/bob/",
		"/user/alice%2F..%2Fbob/",
		"/user/alice%2Fbob/",
		"/user//bob/",
		"/user/alice\\..\\bob/",
		"/hub/../user/bob/",
	} {
		if code := rawStatus(t, th, p, alice); code != 400 {
			t.Errorf("GET %s: %d, want 400", p, code)
		}
	}
	// Below alice's prefix the path is her server's business, as sent.
	if code := rawStatus(t, th, "/user/alice/..%2F..%2Fuser/bob/", alice); code != 200 {
		t.Errorf("GET /user/alice/..%%2F..%%2Fuser/bob/: %d, want alice's server", code)
	}
	// The hub's API reads names from paths the same way.
	for _, p := range []string{"/hub/api/users/alice%2F..%2Fbob", "/hub/api/users/alice/../bob", "/hub/api/users/%62ob"} {
		if code := rawStatus(t, th, p, alice); code == 200 {
			t.Errorf("GET %s with alice's token: 200", p)
		}
	}
	if n := bobHits(); n != 0 {
		t.Fatalf("bob's server was reached %d times: %v", n, fake.requests())
	}
	// Positive control: bob's server is there to be reached.
	if code := rawStatus(t, th, "/user/bob/tree", alice); code != 200 || bobHits() != 1 {
		t.Errorf("GET /user/bob/tree: %d, bob's server got %d requests", code, bobHits())
	}
}
