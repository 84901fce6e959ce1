package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/oidc"
	"github.com/hubkit/hubkit/internal/testenv"
)

// Every forged-token class is rejected, each in its own test. The login
// always runs through the real provider (real code, real PKCE exchange);
// where the provider cannot be made to misbehave, a proxy in front of its
// token endpoint swaps the real ID token for a forged one signed with the
// test's own key, which the proxy's JWKS publishes next to the provider's
// — so that exactly one property of the token is wrong and the signature
// of a forged token is otherwise trusted.

// forgedLogin logs alice in with forge applied to the ID token.
func forgedLogin(t *testing.T, forge func(tp *tamper, real string) string) error {
	t.Helper()
	e := newEnv(t, testenv.OIDCTTL{})
	tp := newTamper(t, e.p)
	tp.forge = func(real string) string { return forge(tp, real) }
	o := e.options(allowAll)
	o.Endpoints = tp.endpoints()
	a := e.newAuth(o)
	_, err := e.login(a, testenv.NewBrowser(t), "alice")
	return err
}

// wantRejected checks err is an ID-token rejection mentioning why.
func wantRejected(t *testing.T, err error, why string) {
	t.Helper()
	t.Logf("rejected: %v", err)
	if !errors.Is(err, oidc.ErrInvalidIDToken) {
		t.Fatalf("err = %v, want ErrInvalidIDToken", err)
	}
	if !strings.Contains(err.Error(), why) {
		t.Errorf("err = %v, want it to mention %q", err, why)
	}
}

// TestForgedUnchanged is the control: the same proxy passing the real
// token (re-signed with the test key) logs in, so the rejections below
// are caused by the one change each makes.
func TestForgedUnchanged(t *testing.T) {
	err := forgedLogin(t, func(tp *tamper, real string) string { return tp.sign(t, claimsOf(t, real)) })
	if err != nil {
		t.Fatalf("re-signed genuine token refused: %v", err)
	}
}

func TestRejectBadSignature(t *testing.T) {
	err := forgedLogin(t, func(_ *tamper, real string) string {
		parts := strings.Split(real, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sig[len(sig)/2] ^= 0x01
		return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	})
	wantRejected(t, err, "signature")
}

func TestRejectChangedClaimsUnderRealSignature(t *testing.T) {
	err := forgedLogin(t, func(_ *tamper, real string) string {
		parts := strings.Split(real, ".")
		c := claimsOf(t, real)
		c["groups"] = []any{"/jupyter-admins"}
		return parts[0] + "." + encodeClaims(t, c) + "." + parts[2]
	})
	wantRejected(t, err, "signature")
}

func TestRejectAlgNone(t *testing.T) {
	err := forgedLogin(t, func(_ *tamper, real string) string {
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		return header + "." + strings.Split(real, ".")[1] + "."
	})
	wantRejected(t, err, "none")
}

func TestRejectWrongIssuer(t *testing.T) {
	err := forgedLogin(t, func(tp *tamper, real string) string {
		c := claimsOf(t, real)
		c["iss"] = strings.Replace(tp.issuer, "/realms/hubkit", "/realms/other", 1)
		return tp.sign(t, c)
	})
	wantRejected(t, err, "issued by a different provider")
}

func TestRejectWrongAudience(t *testing.T) {
	err := forgedLogin(t, func(tp *tamper, real string) string {
		c := claimsOf(t, real)
		c["aud"] = "other-app"
		c["azp"] = "other-app"
		return tp.sign(t, c)
	})
	wantRejected(t, err, "audience")
}

// TestRejectAudienceNotAuthorizedParty: the hub is one of several
// audiences but the token was issued to another client (azp).
func TestRejectAudienceNotAuthorizedParty(t *testing.T) {
	err := forgedLogin(t, func(tp *tamper, real string) string {
		c := claimsOf(t, real)
		c["aud"] = []any{"other-app", clientID}
		c["azp"] = "other-app"
		return tp.sign(t, c)
	})
	wantRejected(t, err, "azp")
}

func TestRejectExpired(t *testing.T) {
	err := forgedLogin(t, func(tp *tamper, real string) string {
		c := claimsOf(t, real)
		now := time.Now().Unix()
		c["iat"] = now - 7200
		c["exp"] = now - 3600
		return tp.sign(t, c)
	})
	wantRejected(t, err, "expired")
	var te *gooidc.TokenExpiredError
	if !errors.As(err, &te) {
		t.Errorf("err = %v, want a go-oidc TokenExpiredError inside", err)
	}
}

// TestRejectExpiredFromProvider: a genuine ID token that expired in
// transit — the hub's clock is past the provider's short ID-token lifetime
// when the callback arrives.
func TestRejectExpiredFromProvider(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{IDToken: 60 * time.Second})
	a := e.newAuth(e.options(allowAll))
	s := e.start(a, "/")
	cb, _ := e.p.Login(t, testenv.NewBrowser(t), s.authURL.String(), "alice", "alice-pw")
	e.clock.Advance(2 * time.Minute) // the hub only: the code is still fresh at the provider
	_, _, err := e.callback(a, cb, s.cookies)
	wantRejected(t, err, "expired")
}

func TestRejectAccessTokenHashMismatch(t *testing.T) {
	err := forgedLogin(t, func(tp *tamper, real string) string {
		c := claimsOf(t, real)
		c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA"
		return tp.sign(t, c)
	})
	wantRejected(t, err, "access token hash")
}

// TestRejectNonceMismatch: the browser's authorization request is altered
// to carry another nonce; the real provider signs a token with it.
func TestRejectNonceMismatch(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	s := e.start(a, "/")
	q := s.authURL.Query()
	q.Set("nonce", "attacker-chosen-nonce-attacker-chosen-nonce")
	s.authURL.RawQuery = q.Encode()
	cb, _ := e.p.Login(t, testenv.NewBrowser(t), s.authURL.String(), "alice", "alice-pw")
	_, _, err := e.callback(a, cb, s.cookies)
	wantRejected(t, err, "nonce")
}

// TestRejectMissingNonce: a validly signed token without any nonce.
func TestRejectMissingNonce(t *testing.T) {
	err := forgedLogin(t, func(tp *tamper, real string) string {
		c := claimsOf(t, real)
		delete(c, "nonce")
		return tp.sign(t, c)
	})
	wantRejected(t, err, "nonce")
}

// TestRejectReplayedState: a completed callback (URL and cookie) sent
// again is refused by the state check before any code exchange.
func TestRejectReplayedState(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	s := e.start(a, "/")
	cb, _ := e.p.Login(t, testenv.NewBrowser(t), s.authURL.String(), "alice", "alice-pw")
	if _, rec, err := e.callback(a, cb, s.cookies); err != nil {
		t.Fatal(err)
	} else if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("the callback did not delete the login-state cookie: %+v", c)
	}
	grants := e.p.CountEvents(t, "grant")
	_, _, err := e.callback(a, cb, s.cookies)
	if !errors.Is(err, authenticator.ErrInvalidState) || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("replayed callback: %v, want ErrInvalidState (already used)", err)
	}
	if e.p.CountEvents(t, "grant") != grants {
		t.Error("the replayed callback reached the token endpoint")
	}
}

// TestRejectForeignState: the callback of a login another browser started
// (the attacker's code and state, a login-CSRF) lands in a browser that
// never started it.
func TestRejectForeignState(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	attacker := e.start(a, "/")
	cb, _ := e.p.Login(t, testenv.NewBrowser(t), attacker.authURL.String(), "eve", "eve-pw")
	victim := e.start(a, "/") // the victim has a login of its own in flight

	tests := []struct {
		name    string
		url     string
		cookies []*http.Cookie
	}{
		{"victim's cookies", cb.String(), victim.cookies},
		{"no cookies", cb.String(), nil},
		{"state never issued", strings.Replace(cb.String(), "state=", "state=x", 1), attacker.cookies},
		{"no state", stripParam(t, cb, "state"), attacker.cookies},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.url)
			_, _, err := e.callback(a, u, tt.cookies)
			if !errors.Is(err, authenticator.ErrInvalidState) {
				t.Fatalf("err = %v, want ErrInvalidState", err)
			}
		})
	}
}

// TestRejectTamperedStateCookie: the login-state cookie altered, or moved
// to the name of another state.
func TestRejectTamperedStateCookie(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	one := e.start(a, "/")
	two := e.start(a, "/")
	cb, _ := e.p.Login(t, testenv.NewBrowser(t), one.authURL.String(), "alice", "alice-pw")

	flipped := *one.cookies[0]
	b := []byte(flipped.Value)
	b[len(b)/2] ^= 0x02
	flipped.Value = string(b)
	swapped := *two.cookies[0]
	swapped.Name = one.cookies[0].Name
	for name, c := range map[string]*http.Cookie{"bit flipped": &flipped, "other login's cookie": &swapped} {
		t.Run(name, func(t *testing.T) {
			_, _, err := e.callback(a, cb, []*http.Cookie{c})
			if !errors.Is(err, authenticator.ErrInvalidState) {
				t.Fatalf("err = %v, want ErrInvalidState", err)
			}
		})
	}
}

// TestRejectCodeReuse: the same callback replayed against a second hub
// replica (its own memory of used states, same keys) passes the state
// check, and the real provider refuses the spent code.
func TestRejectCodeReuse(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	replica := e.newAuth(e.options(allowAll))
	s := e.start(a, "/")
	cb, _ := e.p.Login(t, testenv.NewBrowser(t), s.authURL.String(), "alice", "alice-pw")
	if _, _, err := e.callback(a, cb, s.cookies); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.callback(replica, cb, s.cookies)
	if !errors.Is(err, oidc.ErrCodeExchange) {
		t.Fatalf("reused code: %v, want ErrCodeExchange", err)
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("provider's answer = %v, want invalid_grant", err)
	}
}

// TestRejectUserInfoForAnotherSubject: userinfo that answers for another
// person (a confused or hostile endpoint) is not merged.
func TestRejectUserInfoForAnotherSubject(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	tp := newTamper(t, e.p)
	o := e.options(allowAll)
	o.Endpoints = tp.endpoints()
	o.Endpoints.UserInfoURL = tp.srv.URL + "/userinfo"
	a := e.newAuth(o)
	_, err := e.login(a, testenv.NewBrowser(t), "alice")
	if !errors.Is(err, oidc.ErrUserInfo) || !strings.Contains(err.Error(), "someone-else") {
		t.Fatalf("err = %v, want ErrUserInfo naming the other subject", err)
	}
}

// TestRejectIssuerMixUp: a callback that names another issuer (RFC 9207).
func TestRejectIssuerMixUp(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	s := e.start(a, "/")
	cb, _ := e.p.Login(t, testenv.NewBrowser(t), s.authURL.String(), "alice", "alice-pw")
	q := cb.Query()
	if q.Get("iss") != e.p.Issuer {
		t.Fatalf("provider sent iss=%q", q.Get("iss"))
	}
	q.Set("iss", "https://evil.example/realms/hubkit")
	cb.RawQuery = q.Encode()
	if _, _, err := e.callback(a, cb, s.cookies); !errors.Is(err, authenticator.ErrInvalidState) {
		t.Fatalf("err = %v, want ErrInvalidState", err)
	}
}

func encodeClaims(t *testing.T, c map[string]any) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func stripParam(t *testing.T, u *url.URL, name string) string {
	t.Helper()
	c := *u
	q := c.Query()
	q.Del(name)
	c.RawQuery = q.Encode()
	return c.String()
}
