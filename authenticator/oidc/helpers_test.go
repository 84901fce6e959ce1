package oidc_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/oidc"
	"github.com/hubkit/hubkit/internal/testenv"
)

// The realm every test logs in to: Keycloak-shaped claims.
const (
	clientID     = "jupyterhub"
	clientSecret = "s3cret-of-the-hub"
	redirectURL  = "http://127.0.0.1:1/hub/oauth_callback" // never fetched: the browser stops there
	postLogout   = "http://127.0.0.1:1/hub/logged-out"
)

func users() []testenv.OIDCUser {
	defaults := []any{"offline_access", "uma_authorization", "default-roles-hubkit"}
	account := map[string]any{"roles": []any{"manage-account", "manage-account-links", "view-profile"}}
	return []testenv.OIDCUser{
		{Username: "alice", Password: "alice-pw", Claims: map[string]any{
			"name":            "Alice Analyst",
			"groups":          []any{"/jupyter-users"},
			"realm_access":    map[string]any{"roles": append(defaults, "akko-engineer")},
			"resource_access": map[string]any{clientID: map[string]any{"roles": []any{"user"}}, "account": account},
		}},
		{Username: "bob", Password: "bob-pw", Claims: map[string]any{
			"groups":       []any{"/jupyter-admins", "/jupyter-users"},
			"realm_access": map[string]any{"roles": append(defaults, "akko-admin")},
		}},
		{Username: "eve", Password: "eve-pw", Claims: map[string]any{
			"groups": []any{"/others"},
		}},
		// Wrong JSON types, as a misconfigured mapper sends them.
		{Username: "mallory", Password: "mallory-pw", Claims: map[string]any{
			"groups": "jupyter-users",
		}},
		{Username: "roland", Password: "roland-pw", Claims: map[string]any{
			"groups":       []any{"/jupyter-users"},
			"realm_access": map[string]any{"roles": "akko-admin"},
		}},
		// No username claim at all.
		{Username: "nameless", Password: "nameless-pw", Claims: map[string]any{
			"preferred_username": nil,
		}},
	}
}

// clock is an injected clock that tests move together with the provider's.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one provider, one hub client registration, one clock.
type env struct {
	t     testing.TB
	p     *testenv.OIDCProvider
	clock *clock
	keys  *authenticator.Keyring
}

func newEnv(t testing.TB, ttl testenv.OIDCTTL, redirects ...string) *env {
	t.Helper()
	redirects = append([]string{redirectURL}, redirects...)
	var logouts []string
	for _, r := range redirects {
		logouts = append(logouts, strings.TrimSuffix(r, "oauth_callback")+"logged-out")
	}
	p := testenv.StartOIDCProvider(t, testenv.OIDCProviderConfig{
		Realm: "hubkit",
		Clients: []testenv.OIDCClient{
			{ID: clientID, Secret: clientSecret, RedirectURIs: redirects, PostLogoutRedirectURIs: logouts},
			{ID: "other-app", Secret: "other-secret", RedirectURIs: []string{"http://127.0.0.1:1/other/callback"}},
		},
		Users: users(),
		TTL:   ttl,
	})
	keys, err := authenticator.NewKeyring(authenticator.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, p: p, clock: newClock(), keys: keys}
}

// keycloak returns the Keycloak preset for the env's realm.
func (e *env) keycloak() oidc.Keycloak {
	return oidc.Keycloak{
		URL:                   e.p.BaseURL,
		Realm:                 e.p.Realm,
		ClientID:              clientID,
		ClientSecret:          clientSecret,
		RedirectURL:           redirectURL,
		PostLogoutRedirectURL: postLogout,
	}
}

// options returns Keycloak options with the env's keys and clock; change
// them before calling newAuth.
func (e *env) options(rules authenticator.Rules) oidc.Options {
	o := e.keycloak().Options()
	o.Keys = e.keys
	o.Rules = rules
	o.Now = e.clock.Now
	return o
}

func (e *env) newAuth(o oidc.Options) *oidc.Authenticator {
	e.t.Helper()
	a, err := oidc.New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

var allowAll = authenticator.Rules{AllowAll: true}

// started is a login begun by the hub: the authorization URL and the
// cookies StartLogin set in the browser.
type started struct {
	authURL *url.URL
	cookies []*http.Cookie
}

func (e *env) start(a *oidc.Authenticator, next string) started {
	e.t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:1/hub/login", nil)
	if err := a.StartLogin(e.t.Context(), rec, req, next); err != nil {
		e.t.Fatalf("StartLogin: %v", err)
	}
	res := rec.Result()
	if res.StatusCode != http.StatusFound {
		e.t.Fatalf("StartLogin: status %d", res.StatusCode)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return started{authURL: u, cookies: res.Cookies()}
}

// callback sends the provider's redirect back to the hub with cookies.
func (e *env) callback(a *oidc.Authenticator, cb *url.URL, cookies []*http.Cookie) (authenticator.Login, *httptest.ResponseRecorder, error) {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodGet, cb.String(), nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	login, err := a.FinishLogin(e.t.Context(), rec, req)
	return login, rec, err
}

// login runs a whole login of user through the real provider.
func (e *env) login(a *oidc.Authenticator, b *testenv.Browser, user string) (authenticator.Login, error) {
	e.t.Helper()
	s := e.start(a, "/hub/home")
	cb, _ := e.p.Login(e.t, b, s.authURL.String(), user, user+"-pw")
	login, _, err := e.callback(a, cb, s.cookies)
	return login, err
}

// advance moves the provider's and the hub's clocks together.
func (e *env) advance(d time.Duration) {
	e.p.AdvanceClock(e.t, d)
	e.clock.Advance(d)
}

// tamper is a proxy in front of the real provider's token endpoint that
// hands the hub a forged ID token in place of the real one, and a JWKS with
// the provider's keys plus the test's own key. The code exchange itself
// still happens at the real provider.
type tamper struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	forge  func(real string) string
	issuer string
}

func newTamper(t *testing.T, p *testenv.OIDCProvider) *tamper {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tp := &tamper{key: key, issuer: p.Issuer}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, p.Issuer+"/protocol/openid-connect/token", bytes.NewReader(body))
		req.Header = r.Header.Clone()
		res, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if raw, ok := m["id_token"].(string); ok && tp.forge != nil {
			m["id_token"] = tp.forge(raw)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(res.StatusCode)
		_ = json.NewEncoder(w).Encode(m)
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		res, err := client.Get(p.Issuer + "/protocol/openid-connect/certs")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		var set jose.JSONWebKeySet
		if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &key.PublicKey, KeyID: "test-key", Algorithm: "RS256", Use: "sig"})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sub":"someone-else","preferred_username":"root","groups":["/jupyter-admins"]}`))
	})
	tp.srv = httptest.NewServer(mux)
	t.Cleanup(tp.srv.Close)
	return tp
}

// endpoints points the hub at the proxy for tokens and keys.
func (tp *tamper) endpoints() oidc.Endpoints {
	return oidc.Endpoints{
		AuthURL:       tp.issuer + "/protocol/openid-connect/auth",
		TokenURL:      tp.srv.URL + "/token",
		UserInfoURL:   tp.issuer + "/protocol/openid-connect/userinfo",
		JWKSURL:       tp.srv.URL + "/jwks",
		EndSessionURL: tp.issuer + "/protocol/openid-connect/logout",
	}
}

// claimsOf decodes a JWT's payload without verifying it (test side only:
// the forger copies the real claims).
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// sign signs claims with the test's key (trusted through the proxy's JWKS).
func (tp *tamper) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: tp.key, KeyID: "test-key"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
