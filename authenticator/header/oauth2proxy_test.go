package header_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/header"
	"github.com/hubkit/hubkit/authenticator/oidc"
	"github.com/hubkit/hubkit/internal/testenv"
)

// TestOAuth2ProxyWithKeycloakTokens: oauth2-proxy logs alice in at the
// real provider (as its own client) and forwards her ID token with
// --pass-authorization-header; the hub verifies it against the provider's
// keys and reads Keycloak's claims.
func TestOAuth2ProxyWithKeycloakTokens(t *testing.T) {
	const cb = "http://127.0.0.1:1/oauth2/callback"
	p := testenv.StartOIDCProvider(t, testenv.OIDCProviderConfig{
		Realm: "hubkit",
		Clients: []testenv.OIDCClient{
			{ID: "oauth2-proxy", Secret: "proxy-secret", RedirectURIs: []string{cb}},
			{ID: "jupyterhub", Secret: "hub-secret", RedirectURIs: []string{cb}},
		},
		Users: []testenv.OIDCUser{{Username: "alice", Password: "pw", Claims: map[string]any{
			"groups":       []any{"/jupyter-users"},
			"realm_access": map[string]any{"roles": []any{"offline_access", "default-roles-hubkit", "akko-analyst"}},
		}}},
	})
	idToken := func(client, secret string) (string, string) {
		conf := oauth2.Config{ClientID: client, ClientSecret: secret, RedirectURL: cb, Scopes: []string{"openid", "profile", "email"},
			Endpoint: oauth2.Endpoint{AuthURL: p.Issuer + "/protocol/openid-connect/auth", TokenURL: p.Issuer + "/protocol/openid-connect/token"}}
		verifier := oauth2.GenerateVerifier()
		back, _ := p.Login(t, testenv.NewBrowser(t), conf.AuthCodeURL("state-of-the-proxy", oauth2.S256ChallengeOption(verifier)), "alice", "pw")
		ctx := gooidc.ClientContext(t.Context(), &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}})
		tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		return raw, tok.AccessToken
	}
	proxyToken, accessToken := idToken("oauth2-proxy", "proxy-secret")
	hubToken, _ := idToken("jupyterhub", "hub-secret")

	o := header.OAuth2Proxy(p.Issuer, "oauth2-proxy")
	o.MapClaims = oidc.KeycloakClaims(oidc.Keycloak{Realm: "hubkit"})
	o.Rules = authenticator.Rules{AllowedGroups: []string{"jupyter-users"}}
	a, err := header.New(o)
	if err != nil {
		t.Fatal(err)
	}
	req := func(v string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://hub.example/", nil)
		r.Header.Set("Authorization", v)
		return r
	}
	id, err := a.AuthenticateRequest(t.Context(), req("Bearer "+proxyToken))
	if err != nil {
		t.Fatal(err)
	}
	if id.Username != "alice" || !slices.Equal(id.Groups, []string{"jupyter-users"}) || !slices.Equal(id.Roles, []string{"akko-analyst"}) {
		t.Errorf("identity = %+v", id)
	}
	for name, v := range map[string]string{
		"another client's ID token": "Bearer " + hubToken,
		"the opaque access token":   "Bearer " + accessToken,
		"basic auth":                "Basic YWxpY2U6cHc=",
		"token without bearer":      proxyToken,
	} {
		if _, err := a.AuthenticateRequest(t.Context(), req(v)); err == nil {
			t.Errorf("%s accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
