package header_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/header"
)

const aud = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"

// access is a stand-in for a Cloudflare Access team domain: it publishes
// its keys at /cdn-cgi/access/certs, as Cloudflare does, and mints
// assertions as Cloudflare's edge would.
type access struct {
	srv     *httptest.Server
	key     *rsa.PrivateKey
	other   *rsa.PrivateKey // a key the team does not publish (until it rotates to it)
	rotated atomic.Bool
	ec      *ecdsa.PrivateKey
	now     time.Time
	hits    atomic.Int32
	issuer  string
}

func newAccess(t *testing.T) *access {
	t.Helper()
	a := &access{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	var err error
	if a.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if a.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if a.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cdn-cgi/access/certs" {
			http.NotFound(w, r)
			return
		}
		a.hits.Add(1)
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &a.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"},
			{Key: &a.ec.PublicKey, KeyID: "k2", Algorithm: "ES256", Use: "sig"},
		}}
		if a.rotated.Load() {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &a.other.PublicKey, KeyID: "k3", Algorithm: "RS256", Use: "sig"})
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(a.srv.Close)
	a.issuer = a.srv.URL
	return a
}

func (a *access) options(rules authenticator.Rules) header.Options {
	o := header.CloudflareAccess("ignored", aud)
	o.Issuer = a.issuer
	o.CertsURL = a.srv.URL + "/cdn-cgi/access/certs"
	o.Rules = rules
	o.Now = func() time.Time { return a.now }
	return o
}

func (a *access) claims() map[string]any {
	return map[string]any{
		"aud": []string{aud}, "email": "alice@example.com", "iss": a.issuer, "sub": "7335d417-61da-459d-899c-0a01c76812b6",
		"iat": a.now.Add(-time.Minute).Unix(), "nbf": a.now.Add(-time.Minute).Unix(), "exp": a.now.Add(23 * time.Hour).Unix(),
		"type": "app", "identity_nonce": "6ei69kawdKzMIAPF", "country": "DE",
	}
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, c map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

func request(h, v string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://hub.example/hub/home", nil)
	if v != "" {
		r.Header.Set(h, v)
	}
	return r
}

func TestCloudflareAccess(t *testing.T) {
	ac := newAccess(t)
	a, err := header.New(ac.options(authenticator.Rules{AllowAll: true, AdminUsers: []string{"root@example.com"}}))
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(map[string]any)) map[string]any { c := ac.claims(); f(c); return c }
	good := sign(t, jose.RS256, ac.key, "k1", ac.claims())
	parts := strings.Split(good, ".")
	tests := []struct {
		name    string
		req     *http.Request
		want    string
		wantErr error
		why     string
	}{
		{name: "genuine", req: request("Cf-Access-Jwt-Assertion", good), want: "alice@example.com"},
		{name: "genuine ES256", req: request("Cf-Access-Jwt-Assertion", sign(t, jose.ES256, ac.ec, "k2", ac.claims())), want: "alice@example.com"},
		{name: "from the CF_Authorization cookie", req: func() *http.Request {
			r := request("", "")
			r.AddCookie(&http.Cookie{Name: "CF_Authorization", Value: good})
			return r
		}(), want: "alice@example.com"},
		{name: "no header", req: request("", ""), wantErr: authenticator.ErrNoCredentials},
		{name: "plain X-Forwarded-User is ignored", req: request("X-Forwarded-User", "root@example.com"), wantErr: authenticator.ErrNoCredentials},
		{name: "bad signature", req: request("Cf-Access-Jwt-Assertion", parts[0]+"."+parts[1]+"."+flip(parts[2])), wantErr: header.ErrInvalidToken, why: "signature"},
		{name: "changed claims", req: request("Cf-Access-Jwt-Assertion", parts[0]+"."+encode(with(func(c map[string]any) { c["email"] = "root@example.com" }))+"."+parts[2]), wantErr: header.ErrInvalidToken, why: "signature"},
		{name: "unpublished key", req: request("Cf-Access-Jwt-Assertion", sign(t, jose.RS256, ac.other, "k1", ac.claims())), wantErr: header.ErrInvalidToken, why: "signature"},
		{name: "alg none", req: request("Cf-Access-Jwt-Assertion", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))+"."+parts[1]+"."), wantErr: header.ErrInvalidToken, why: "none"},
		{name: "HS256 with the public key as secret", req: request("Cf-Access-Jwt-Assertion", sign(t, jose.HS256, []byte("k1-public-key-bytes-as-hmac-secret"), "k1", ac.claims())), wantErr: header.ErrInvalidToken, why: "HS256"},
		{name: "wrong issuer", req: request("Cf-Access-Jwt-Assertion", sign(t, jose.RS256, ac.key, "k1", with(func(c map[string]any) { c["iss"] = "https://evil.cloudflareaccess.com" }))), wantErr: header.ErrInvalidToken, why: "issued by a different provider"},
		{name: "wrong audience", req: request("Cf-Access-Jwt-Assertion", sign(t, jose.RS256, ac.key, "k1", with(func(c map[string]any) { c["aud"] = []string{"another-app"} }))), wantErr: header.ErrInvalidToken, why: "audience"},
		{name: "expired", req: request("Cf-Access-Jwt-Assertion", sign(t, jose.RS256, ac.key, "k1", with(func(c map[string]any) { c["exp"] = ac.now.Add(-time.Second).Unix() }))), wantErr: header.ErrInvalidToken, why: "expired"},
		{name: "not yet valid", req: request("Cf-Access-Jwt-Assertion", sign(t, jose.RS256, ac.key, "k1", with(func(c map[string]any) { c["nbf"] = ac.now.Add(time.Hour).Unix() }))), wantErr: header.ErrInvalidToken, why: "nbf"},
		{name: "groups of the wrong type", req: request("Cf-Access-Jwt-Assertion", sign(t, jose.RS256, ac.key, "k1", with(func(c map[string]any) { c["groups"] = "admins" }))), why: `claim "groups" is string`},
		{name: "not a JWT", req: request("Cf-Access-Jwt-Assertion", "hello"), wantErr: header.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.AuthenticateRequest(t.Context(), tt.req)
			if tt.want != "" {
				if err != nil || id.Username != tt.want || id.Email != tt.want {
					t.Fatalf("identity %+v, err %v", id, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", id)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("err = %v, want it to mention %q", err, tt.why)
			}
		})
	}
	var te *gooidc.TokenExpiredError
	_, err = a.AuthenticateRequest(t.Context(), tests[12].req)
	if !errors.As(err, &te) {
		t.Errorf("expired: %v, want a TokenExpiredError inside", err)
	}
	if ac.hits.Load() > 3 {
		t.Errorf("fetched the certs %d times; keys must be cached", ac.hits.Load())
	}
}

// TestKeyRotation: a token signed with a key the team published after the
// hub fetched its keys is accepted once the refetch interval has passed;
// forged tokens in between do not make the hub hammer the certs URL.
func TestKeyRotation(t *testing.T) {
	ac := newAccess(t)
	o := ac.options(authenticator.Rules{AllowAll: true})
	now := ac.now
	o.Now = func() time.Time { return now }
	a, err := header.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateRequest(t.Context(), request("Cf-Access-Jwt-Assertion", sign(t, jose.RS256, ac.key, "k1", ac.claims()))); err != nil {
		t.Fatal(err)
	}
	ac.rotated.Store(true)
	newTok := sign(t, jose.RS256, ac.other, "k3", ac.claims())
	for range 20 {
		_, _ = a.AuthenticateRequest(t.Context(), request("Cf-Access-Jwt-Assertion", newTok))
	}
	if n := ac.hits.Load(); n != 1 {
		t.Errorf("certs fetched %d times within the refresh interval, want 1", n)
	}
	now = now.Add(31 * time.Second)
	if _, err := a.AuthenticateRequest(t.Context(), request("Cf-Access-Jwt-Assertion", newTok)); err != nil {
		t.Fatalf("token of the rotated-in key after the interval: %v", err)
	}
}

func TestCloudflareAccessRulesAndGate(t *testing.T) {
	ac := newAccess(t)
	a, err := header.New(ac.options(authenticator.Rules{AllowedUsers: []string{"alice@example.com"}, AdminUsers: []string{"root@example.com"}}))
	if err != nil {
		t.Fatal(err)
	}
	gate, err := authenticator.NewGate(a, authenticator.GateOptions{}) // no sessions: every request carries its proof
	if err != nil {
		t.Fatal(err)
	}
	app := gate.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := authenticator.IdentityFrom(r.Context())
		_, _ = w.Write([]byte(id.Username))
	}))
	for _, tc := range []struct {
		email string
		want  int
	}{
		{"alice@example.com", http.StatusOK},
		{"root@example.com", http.StatusOK},
		{"mallory@example.com", http.StatusForbidden},
		{"", http.StatusUnauthorized},
	} {
		req := request("", "")
		if tc.email != "" {
			c := ac.claims()
			c["email"] = tc.email
			req.Header.Set("Cf-Access-Jwt-Assertion", sign(t, jose.RS256, ac.key, "k1", c))
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%q: %d, want %d", tc.email, rec.Code, tc.want)
		}
	}
}

func TestCloudflareAccessPreset(t *testing.T) {
	for _, team := range []string{"acme", "acme.cloudflareaccess.com", "https://acme.cloudflareaccess.com/"} {
		o := header.CloudflareAccess(team, aud)
		if o.Issuer != "https://acme.cloudflareaccess.com" || o.CertsURL != "https://acme.cloudflareaccess.com/cdn-cgi/access/certs" {
			t.Errorf("%q: issuer %q certs %q", team, o.Issuer, o.CertsURL)
		}
	}
	if _, err := header.New(header.Options{Issuer: "https://acme.cloudflareaccess.com"}); err == nil {
		t.Error("New without an audience succeeded")
	}
}

func flip(sig string) string {
	b, _ := base64.RawURLEncoding.DecodeString(sig)
	b[len(b)/2] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

func encode(c map[string]any) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}
