package oidc_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/internal/testenv"
)

// hub is a small site behind an authenticator.Gate with the Keycloak
// preset, on loopback, logging in through the real provider.
type hub struct {
	e   *env
	url string
}

func newHub(t *testing.T, ttl testenv.OIDCTTL, rules authenticator.Rules) *hub {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	e := newEnv(t, ttl, base+"/hub/oauth_callback")
	o := e.options(rules)
	o.RedirectURL = base + "/hub/oauth_callback"
	o.PostLogoutRedirectURL = base + "/hub/logged-out"
	a := e.newAuth(o)
	sessions, err := authenticator.NewSessions(authenticator.SessionOptions{Keys: e.keys, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	gate, err := authenticator.NewGate(a, authenticator.GateOptions{Sessions: sessions, Home: "/hub/home", AfterLogout: "/hub/logged-out", Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/hub/", gate.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := authenticator.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s admin=%v groups=%s path=%s", id.Username, id.Admin, strings.Join(id.Groups, ","), r.URL.RequestURI())
	})))
	mux.Handle("/hub/login", gate.Login())
	mux.Handle("/hub/oauth_callback", gate.Callback())
	mux.Handle("/hub/logout", gate.Logout())
	mux.HandleFunc("/hub/logged-out", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "logged out") })
	ts.Config.Handler = mux
	ts.Start()
	t.Cleanup(ts.Close)
	return &hub{e: e, url: base}
}

func TestGateEndToEnd(t *testing.T) {
	h := newHub(t, testenv.OIDCTTL{AccessToken: 60 * time.Second, IDToken: 60 * time.Second},
		authenticator.Rules{AllowedGroups: []string{"jupyter-users"}, AdminGroups: []string{"jupyter-admins"}})
	p := h.e.p
	b := testenv.NewBrowser(t)

	page := p.LoginThrough(t, b, h.url+"/hub/user/bob/lab?x=1", "bob", "bob-pw")
	if page.Status != http.StatusOK || page.Body != "hello bob admin=true groups=jupyter-admins,jupyter-users path=/hub/user/bob/lab?x=1" {
		t.Fatalf("after login: %d %q", page.Status, page.Body)
	}

	// Tokens expire; the next requests — several at once, as a browser
	// loading a page sends them — refresh once (the refresh token rotates
	// and can be spent only once) and all succeed.
	grants := p.CountEvents(t, "grant")
	h.e.advance(61 * time.Second)
	var wg sync.WaitGroup
	bodies := make([]string, 6)
	for i := range bodies {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, h.url+"/hub/home", nil)
			res, err := b.Client.Do(req)
			if err != nil {
				bodies[i] = err.Error()
				return
			}
			defer res.Body.Close()
			buf := new(strings.Builder)
			_, _ = fmt.Fprint(buf, res.StatusCode, " ")
			b := make([]byte, 256)
			n, _ := res.Body.Read(b)
			buf.Write(b[:n])
			bodies[i] = buf.String()
		})
	}
	wg.Wait()
	for _, body := range bodies {
		if !strings.HasPrefix(body, "200 hello bob") {
			t.Errorf("request after expiry: %q", body)
		}
	}
	if got := p.CountEvents(t, "grant") - grants; got != 1 {
		t.Errorf("refreshes at the provider = %d, want 1", got)
	}

	// Logout ends the hub session and the provider's.
	toProvider := b.Follow(h.url+"/hub/logout", func(u *url.URL) bool { return strings.HasPrefix(u.String(), p.BaseURL) })
	back, ok := p.EndSession(t, b, toProvider.URL.String())
	if !ok || back.String() != h.url+"/hub/logged-out" {
		t.Fatalf("logout ended at %s", back)
	}
	if p.CountEvents(t, "end_session") != 1 {
		t.Error("the provider's end-session endpoint was not reached")
	}
	page = b.Follow(h.url+"/hub/home", nil)
	if !strings.Contains(page.Body, "kc-form-login") {
		t.Fatalf("after logout /hub/home did not lead to the provider's login form: %d %q", page.Status, page.Body)
	}
}

func TestGateRefusedRefreshForcesLogin(t *testing.T) {
	h := newHub(t, testenv.OIDCTTL{AccessToken: 60 * time.Second, IDToken: 60 * time.Second}, authenticator.Rules{AllowAll: true})
	p := h.e.p
	b := testenv.NewBrowser(t)
	if page := p.LoginThrough(t, b, h.url+"/hub/home", "alice", "alice-pw"); page.Status != http.StatusOK {
		t.Fatalf("login: %d %q", page.Status, page.Body)
	}
	// The provider session ends behind the hub's back (an admin kills it
	// in Keycloak); it kills the refresh token with it.
	p.EndSession(t, b, p.Issuer+"/protocol/openid-connect/logout?client_id="+clientID)
	if p.CountEvents(t, "end_session") != 1 {
		t.Fatal("could not end the provider session")
	}
	h.e.advance(61 * time.Second)
	page := b.Follow(h.url+"/hub/home", nil)
	if !strings.Contains(page.Body, "kc-form-login") {
		t.Fatalf("a refused refresh did not lead to a new login: %d %q", page.Status, page.Body)
	}
	if p.CountEvents(t, "grant.error") != 1 {
		t.Errorf("provider events %+v, want one refused refresh", p.Events(t))
	}
	page = b.Submit(page, "kc-form-login", url.Values{"username": {"alice"}, "password": {"alice-pw"}}, nil)
	if page.Status != http.StatusOK || !strings.HasPrefix(page.Body, "hello alice") {
		t.Fatalf("after the new login: %d %q", page.Status, page.Body)
	}
}

func TestGateRefusesNotAllowed(t *testing.T) {
	h := newHub(t, testenv.OIDCTTL{}, authenticator.Rules{AllowedGroups: []string{"jupyter-users"}})
	b := testenv.NewBrowser(t)
	page := h.e.p.LoginThrough(t, b, h.url+"/hub/home", "eve", "eve-pw")
	if page.Status != http.StatusForbidden {
		t.Fatalf("eve: %d %q, want 403", page.Status, page.Body)
	}
	for _, c := range b.Client.Jar.Cookies(mustURL(t, h.url+"/hub/home")) {
		if c.Name == "hubkit-session" {
			t.Error("a refused login got a session cookie")
		}
	}
}

// TestGateOpenRedirect: a crafted ?next= never leaves the hub.
func TestGateOpenRedirect(t *testing.T) {
	h := newHub(t, testenv.OIDCTTL{}, authenticator.Rules{AllowAll: true})
	b := testenv.NewBrowser(t)
	page := h.e.p.LoginThrough(t, b, h.url+"/hub/login?next="+url.QueryEscape("//evil.example/x"), "alice", "alice-pw")
	if page.URL.String() != h.url+"/hub/home" {
		t.Fatalf("login with next=//evil.example landed on %s", page.URL)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
