package hub

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/oidc"
	"github.com/hubkit/hubkit/internal/testenv"
)

// startOIDCHub is a hub that logs people in with authenticator/oidc
// against the real OpenID provider (users dave and erin, group
// jupyter-users), with the recording spawner of the API tests.
func startOIDCHub(t *testing.T, ttl testenv.OIDCTTL) (*testHub, *testenv.OIDCProvider) {
	var provider *testenv.OIDCProvider
	f := newFakeSpawner()
	th := startHub(t, "", f, func(c *Config) {
		base := strings.TrimSuffix(c.HubAPIURL, "/hub/api")
		provider = testenv.StartOIDCProvider(t, testenv.OIDCProviderConfig{
			Clients: []testenv.OIDCClient{{ID: "hubkit", Secret: "hub-client-secret", RedirectURIs: []string{base + "/hub/oauth_callback"}}},
			Users: []testenv.OIDCUser{
				{Username: "dave", Password: "dave-pw", Claims: map[string]any{"groups": []string{"jupyter-users"}}},
				{Username: "erin", Password: "erin-pw", Claims: map[string]any{"groups": []string{"jupyter-users"}}},
			},
			TTL: ttl,
		})
		a, err := oidc.New(oidc.Options{
			Issuer: provider.Issuer, ClientID: "hubkit", ClientSecret: "hub-client-secret",
			RedirectURL: base + "/hub/oauth_callback",
			Rules:       authenticator.Rules{AllowedGroups: []string{"jupyter-users"}},
			Keys:        c.Keys,
			// A short probe interval, so that the test need not wait for
			// the hub to notice the provider is gone.
			ProbeInterval: 100 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Authenticator = a
	})
	t.Cleanup(f.close)
	return th, provider
}

// TestIdentityProviderDown: with the OpenID provider gone, a new login
// gets a clear 503 page, while people already logged in keep using the
// hub and their servers.
func TestIdentityProviderDown(t *testing.T) {
	th, provider := startOIDCHub(t, testenv.OIDCTTL{})
	b := testenv.NewBrowser(t)
	page := provider.LoginThrough(t, b, th.url+"/hub/home", "dave", "dave-pw")
	if page.Status != 200 || page.URL.Path != "/hub/home" {
		t.Fatalf("login: %d at %s", page.Status, page.URL)
	}

	provider.Kill()
	time.Sleep(200 * time.Millisecond) // the probe interval

	// dave's session needs no provider.
	page = b.Follow(th.url+"/hub/home", nil)
	if page.Status != 200 || page.URL.Path != "/hub/home" || !strings.Contains(page.Body, "dave") {
		t.Fatalf("existing session with the provider down: %d at %s", page.Status, page.URL)
	}
	// erin cannot log in now, and is told why.
	fresh := testenv.NewBrowser(t)
	page = fresh.Follow(th.url+"/hub/home", nil)
	if page.Status != http.StatusServiceUnavailable || !strings.Contains(page.Body, "not reachable") {
		t.Fatalf("new login with the provider down: %d at %s\n%.400s", page.Status, page.URL, page.Body)
	}
	// The hub's other users and the API are unaffected.
	if code, _ := th.api("GET", "/users/dave", serviceToken, nil); code != 200 {
		t.Fatalf("API with the provider down: %d", code)
	}
}

// TestRefreshRefusedKeepsServer: when the provider refuses to renew a
// session's tokens (its session ended), the person must log in again, and
// their running server is untouched.
func TestRefreshRefusedKeepsServer(t *testing.T) {
	th, provider := startOIDCHub(t, testenv.OIDCTTL{AccessToken: 2 * time.Second, IDToken: 2 * time.Second, RefreshToken: 3 * time.Second, Session: 3 * time.Second})
	b := testenv.NewBrowser(t)
	page := provider.LoginThrough(t, b, th.url+"/hub/home", "dave", "dave-pw")
	if page.URL.Path != "/hub/home" {
		t.Fatalf("login landed at %s", page.URL)
	}
	th.mustAPI("POST", "/users/dave/server", serviceToken, nil, 201, 202)
	th.waitReady("dave", "", 30*time.Second)

	// The provider's clock moves past the refresh token's and the
	// session's lifetimes; the hub's session is due for a refresh.
	provider.AdvanceClock(t, time.Hour)
	time.Sleep(2500 * time.Millisecond)
	page = b.Follow(th.url+"/hub/home", func(u *url.URL) bool { return u.Host != strings.TrimPrefix(th.url, "http://") })
	if page.URL.Path == "/hub/home" && page.Status == 200 {
		t.Fatalf("session still valid after the provider refused the refresh")
	}
	if s := th.userModel("dave")["servers"].(map[string]any); len(s) != 1 {
		t.Fatalf("dave's server after a refused refresh: %v", s)
	}
}
