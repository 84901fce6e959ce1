package oidc_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/oidc"
	"github.com/hubkit/hubkit/internal/testenv"
)

// TestLoginWithPKCE logs alice in through the real provider with the
// Keycloak preset and checks every part of the identity and auth state.
func TestLoginWithPKCE(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	b := testenv.NewBrowser(t)

	s := e.start(a, "/user/alice/lab?reset")
	q := s.authURL.Query()
	for k, want := range map[string]string{"response_type": "code", "client_id": clientID, "redirect_uri": redirectURL,
		"code_challenge_method": "S256", "scope": "openid profile email"} {
		if got := q.Get(k); got != want {
			t.Errorf("authorization request %s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Errorf("authorization request %s = %q, want >= 256 random bits", k, q.Get(k))
		}
	}
	if len(s.cookies) != 1 || !s.cookies[0].HttpOnly || s.cookies[0].SameSite != http.SameSiteLaxMode || s.cookies[0].Path != "/hub/oauth_callback" {
		t.Errorf("login-state cookie = %+v, want one HttpOnly SameSite=Lax cookie scoped to the callback", s.cookies)
	}
	if strings.Contains(s.cookies[0].Value, q.Get("state")) || strings.Contains(s.cookies[0].Value, q.Get("nonce")) {
		t.Error("login-state cookie shows the state or nonce in clear")
	}

	cb, prompted := e.p.Login(t, b, s.authURL.String(), "alice", "alice-pw")
	if !prompted {
		t.Error("the provider did not show its login form")
	}
	login, _, err := e.callback(a, cb, s.cookies)
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	id := login.Identity
	if login.Next != "/user/alice/lab?reset" {
		t.Errorf("Next = %q", login.Next)
	}
	if id.Username != "alice" || id.Email != "alice@example.test" || id.Admin {
		t.Errorf("identity = %+v", id)
	}
	if !slices.Equal(id.Groups, []string{"jupyter-users"}) {
		t.Errorf("groups = %q, want [jupyter-users] (leading / removed)", id.Groups)
	}
	if !slices.Equal(id.Roles, []string{"akko-engineer", "jupyterhub:user"}) {
		t.Errorf("roles = %q, want realm and client roles without Keycloak's defaults", id.Roles)
	}
	st := id.AuthState
	if st == nil || st.AccessToken == "" || st.RefreshToken == "" || st.IDToken == "" || st.Subject == "" {
		t.Fatalf("auth state = %+v, want access, refresh and ID tokens", st)
	}
	if !st.RefreshAt.After(e.clock.Now()) || st.RefreshAt.After(st.IDTokenExpiry) {
		t.Errorf("RefreshAt %v not between now and the ID token's expiry %v", st.RefreshAt, st.IDTokenExpiry)
	}
	if !strings.Contains(string(st.Claims), `"name":"Alice Analyst"`) {
		t.Errorf("auth state claims = %s", st.Claims)
	}
}

// TestLoginNeedsPKCE: the provider requires PKCE, so a client that sent no
// challenge could not log in; hubkit's succeeded above. Here the provider
// refuses a hand-made request without one.
func TestLoginNeedsPKCE(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	s := e.start(a, "/")
	q := s.authURL.Query()
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	s.authURL.RawQuery = q.Encode()
	b := testenv.NewBrowser(t)
	page := b.Follow(s.authURL.String(), func(u *url.URL) bool { return strings.HasPrefix(u.String(), redirectURL) })
	if got := page.URL.Query().Get("error"); got != "invalid_request" || page.Status != 0 {
		t.Fatalf("authorization request without PKCE ended at %s (%d), want a redirect back with error=invalid_request", page.URL, page.Status)
	}
}

func TestAllowAndAdminRules(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	rules := authenticator.Rules{
		AllowedGroups: []string{"jupyter-users"},
		AdminGroups:   []string{"jupyter-admins"},
		BlockedUsers:  []string{"carol"},
	}
	tests := []struct {
		user      string
		rules     authenticator.Rules
		wantErr   error
		wantAdmin bool
	}{
		{user: "alice", rules: rules},
		{user: "bob", rules: rules, wantAdmin: true},
		{user: "eve", rules: rules, wantErr: authenticator.ErrNotAllowed},
		{user: "alice", rules: authenticator.Rules{AllowAll: true, BlockedUsers: []string{"alice"}}, wantErr: authenticator.ErrBlocked},
		{user: "eve", rules: authenticator.Rules{AdminRoles: []string{"akko-admin"}}, wantErr: authenticator.ErrNotAllowed},
		{user: "bob", rules: authenticator.Rules{AdminRoles: []string{"akko-admin"}}, wantAdmin: true},
		{user: "alice", rules: authenticator.Rules{}, wantErr: authenticator.ErrNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			a := e.newAuth(e.options(tt.rules))
			login, err := e.login(a, testenv.NewBrowser(t), tt.user)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if login.Identity.Admin != tt.wantAdmin {
				t.Errorf("admin = %v, want %v", login.Identity.Admin, tt.wantAdmin)
			}
		})
	}
}

// TestRefreshAfterExpiry: short token lifetimes at the provider; both
// clocks move past them; the expired access token no longer works at the
// provider and Refresh renews everything.
func TestRefreshAfterExpiry(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{AccessToken: 60 * time.Second, IDToken: 60 * time.Second})
	a := e.newAuth(e.options(allowAll))
	login, err := e.login(a, testenv.NewBrowser(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	id := login.Identity
	grants := e.p.CountEvents(t, "grant")

	// Not due: no call to the provider.
	same, err := a.Refresh(t.Context(), id)
	if err != nil || same.AuthState.AccessToken != id.AuthState.AccessToken || e.p.CountEvents(t, "grant") != grants {
		t.Fatalf("refresh before expiry: err %v, or it went to the provider", err)
	}

	e.advance(61 * time.Second)
	if code := userinfo(t, e.p, id.AuthState.AccessToken); code != http.StatusUnauthorized {
		t.Fatalf("userinfo with the expired access token: %d, want 401 (the provider must see it expired)", code)
	}
	fresh, err := a.Refresh(t.Context(), id)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if e.p.CountEvents(t, "grant") != grants+1 {
		t.Error("Refresh did not use the token endpoint")
	}
	fs := fresh.AuthState
	if fs.AccessToken == id.AuthState.AccessToken || fs.IDToken == id.AuthState.IDToken || fs.RefreshToken == id.AuthState.RefreshToken {
		t.Error("tokens not renewed (access, ID and rotated refresh token)")
	}
	if !fs.IDTokenExpiry.After(e.clock.Now()) || !fs.RefreshAt.After(e.clock.Now()) {
		t.Errorf("renewed ID token expires %v, refresh due %v; now %v", fs.IDTokenExpiry, fs.RefreshAt, e.clock.Now())
	}
	if fresh.Username != "alice" || !slices.Equal(fresh.Groups, []string{"jupyter-users"}) {
		t.Errorf("identity after refresh = %+v", fresh)
	}
	if code := userinfo(t, e.p, fs.AccessToken); code != http.StatusOK {
		t.Errorf("userinfo with the renewed access token: %d", code)
	}

	// The rotated-out refresh token is spent: using it again forces a login.
	e.advance(61 * time.Second)
	if _, err := a.Refresh(t.Context(), id); !errors.Is(err, authenticator.ErrLoginRequired) {
		t.Errorf("refresh with a spent refresh token: %v, want ErrLoginRequired", err)
	}
}

// TestRefreshWhenOnlyIDTokenExpired is OAuthenticator #793: a long-lived
// access token, a short-lived ID token. The refresh must still happen and
// yield a valid ID token.
func TestRefreshWhenOnlyIDTokenExpired(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{AccessToken: 30 * time.Minute, IDToken: 60 * time.Second})
	a := e.newAuth(e.options(allowAll))
	login, err := e.login(a, testenv.NewBrowser(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	e.advance(90 * time.Second)
	if !login.Identity.AuthState.RefreshDue(e.clock.Now()) {
		t.Fatal("refresh not due although the ID token expired")
	}
	fresh, err := a.Refresh(t.Context(), login.Identity)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if !fresh.AuthState.IDTokenExpiry.After(e.clock.Now()) {
		t.Errorf("ID token after refresh expires %v, before now %v", fresh.AuthState.IDTokenExpiry, e.clock.Now())
	}
}

// TestRefreshRechecksRules: a refresh re-reads the identity and re-applies
// the rules, so a hub whose rules changed refuses the person.
func TestRefreshRechecksRules(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{AccessToken: 60 * time.Second, IDToken: 60 * time.Second})
	a := e.newAuth(e.options(allowAll))
	login, err := e.login(a, testenv.NewBrowser(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	strict := e.newAuth(e.options(authenticator.Rules{AllowedGroups: []string{"jupyter-admins"}}))
	e.advance(61 * time.Second)
	if _, err := strict.Refresh(t.Context(), login.Identity); !errors.Is(err, authenticator.ErrNotAllowed) {
		t.Fatalf("refresh under rules that exclude alice: %v, want ErrNotAllowed", err)
	}
}

// TestLogoutEndsProviderSession: RP-initiated logout with id_token_hint
// reaches the provider's end-session endpoint, ends the SSO session (the
// next login asks for the password again) and kills the refresh token.
func TestLogoutEndsProviderSession(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{AccessToken: 60 * time.Second, IDToken: 60 * time.Second})
	a := e.newAuth(e.options(allowAll))
	b := testenv.NewBrowser(t)
	login, err := e.login(a, b, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// Single sign-on: a second login in the same browser needs no password.
	s := e.start(a, "/")
	if _, prompted := e.p.Login(t, b, s.authURL.String(), "alice", "alice-pw"); prompted {
		t.Fatal("the provider asked for the password although its session was alive")
	}

	u, err := a.LogoutURL(t.Context(), login.Identity)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, e.p.Issuer+"/protocol/openid-connect/logout?") ||
		!strings.Contains(u, "id_token_hint="+login.Identity.AuthState.IDToken) ||
		!strings.Contains(u, "post_logout_redirect_uri=") || !strings.Contains(u, "client_id="+clientID) {
		t.Fatalf("LogoutURL = %s", u)
	}
	back, ok := e.p.EndSession(t, b, u)
	if !ok || back.String() != postLogout {
		t.Fatalf("after end-session the browser went to %s, want %s", back, postLogout)
	}
	if n := e.p.CountEvents(t, "end_session"); n != 1 {
		t.Fatalf("provider end_session events = %d, want 1", n)
	}
	s = e.start(a, "/")
	if _, prompted := e.p.Login(t, b, s.authURL.String(), "alice", "alice-pw"); !prompted {
		t.Error("after logout the provider let the browser in without a password")
	}
	e.advance(61 * time.Second)
	if _, err := a.Refresh(t.Context(), login.Identity); !errors.Is(err, authenticator.ErrLoginRequired) {
		t.Errorf("refresh after logout: %v, want ErrLoginRequired", err)
	}
}

func TestWrongTypedClaims(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	tests := []struct {
		user, claim, got string
	}{
		{"mallory", "groups", "string"},
		{"roland", "realm_access.roles", "string"},
		{"nameless", "preferred_username", "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			_, err := e.login(a, testenv.NewBrowser(t), tt.user)
			var ce *authenticator.ClaimError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *authenticator.ClaimError", err)
			}
			if ce.Claim != tt.claim || ce.Got != tt.got {
				t.Errorf("ClaimError = %+v, want claim %q got %q", ce, tt.claim, tt.got)
			}
		})
	}
}

// TestProviderError: the person cancels at the provider; its error comes
// back as a *oidc.ProviderError, and the state is still spent.
func TestProviderError(t *testing.T) {
	e := newEnv(t, testenv.OIDCTTL{})
	a := e.newAuth(e.options(allowAll))
	s := e.start(a, "/")
	cb := *s.authURL
	cb.Scheme, cb.Host, cb.Path = "http", "127.0.0.1:1", "/hub/oauth_callback"
	cb.RawQuery = "error=access_denied&error_description=End-User+aborted&state=" + s.authURL.Query().Get("state")
	_, _, err := e.callback(a, &cb, s.cookies)
	var pe *oidc.ProviderError
	if !errors.As(err, &pe) || pe.Code != "access_denied" {
		t.Fatalf("err = %v, want ProviderError access_denied", err)
	}
}

func userinfo(t *testing.T, p *testenv.OIDCProvider, accessToken string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, p.Issuer+"/protocol/openid-connect/userinfo", nil)
	req.RequestURI = ""
	req.Header.Set("Authorization", "Bearer "+accessToken)
	res, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
