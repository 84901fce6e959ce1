package oidc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"crypto/rand"

	"github.com/hubkit/hubkit/authenticator"
)

// Endpoints name a provider's endpoints by hand, for providers without
// discovery or with discovery at an odd path (OAuthenticator's
// authorize_url, token_url, userdata_url). When AuthURL, TokenURL and
// JWKSURL are all set no discovery is done; the issuer is still checked in
// every ID token.
type Endpoints struct {
	AuthURL       string
	TokenURL      string
	UserInfoURL   string
	JWKSURL       string
	EndSessionURL string
}

func (e Endpoints) complete() bool { return e.AuthURL != "" && e.TokenURL != "" && e.JWKSURL != "" }

// Options configure [New]. Issuer, ClientID, RedirectURL and Keys are
// required; every other field has a default, written on it.
type Options struct {
	// Issuer is the provider's issuer URL, exactly as in its ID tokens
	// ("https://auth.example.com/realms/demo"). Discovery reads
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are the hub's OAuth client. An empty
	// secret makes a public client (PKCE alone).
	ClientID     string
	ClientSecret string
	// RedirectURL is the absolute URL of the callback
	// ("https://hub.example.com/hub/oauth_callback"), registered at the
	// provider. The login-state cookie is scoped to its path.
	RedirectURL string
	// PostLogoutRedirectURL is where the provider sends the browser after
	// RP-initiated logout; registered at the provider. Default "": the
	// provider shows its own logged-out page.
	PostLogoutRedirectURL string
	// Scopes requested. Default openid, profile, email; "openid" is always
	// requested.
	Scopes []string
	// AuthParams are extra authorization request parameters (kc_idp_hint,
	// prompt, acr_values, …). Protocol parameters (state, nonce,
	// code_challenge, redirect_uri, …) cannot be set here.
	AuthParams map[string]string
	// Endpoints skip discovery when AuthURL, TokenURL and JWKSURL are set.
	Endpoints Endpoints
	// SigningAlgs accepted for ID tokens. Default: what discovery
	// advertises (never "none"), else RS256.
	SigningAlgs []string
	// UserInfo fetches the userinfo endpoint after each login and refresh
	// and merges its claims over the ID token's (its "sub" must match).
	// Default false.
	UserInfo bool
	// UsernameClaim is the claim that names the user. Default
	// "preferred_username". A login without it fails with a
	// *authenticator.ClaimError naming it.
	UsernameClaim string
	// EmailClaim is the claim of the e-mail address. Default "email".
	EmailClaim string
	// GroupsClaims are claims holding arrays of groups; a claim path is a
	// top-level name, else dotted ("realm_access.roles"). Default
	// ["groups"] (nil gets the default; an empty non-nil slice reads none).
	GroupsClaims []string
	// RolesClaims are claims holding arrays of roles. Default none.
	RolesClaims []string
	// MapClaims runs after the claims above are read, with the raw
	// (merged) claims, to add to or change the identity — the Keycloak
	// preset reads realm and client roles here. Default nil.
	MapClaims func(claims []byte, id *authenticator.Identity) error
	// Rules decide who may log in and who is an admin, at every login and
	// refresh. The zero value allows nobody.
	Rules authenticator.Rules
	// Keys seal the login-state cookie (state, nonce, PKCE verifier, next).
	Keys *authenticator.Keyring
	// UsedStates makes each state single-use. Default: an in-process
	// authenticator.MemoryStore; a hub with several replicas passes shared
	// storage.
	UsedStates authenticator.OnceStore
	// LoginTimeout is how long a started login may take. Default 10m.
	LoginTimeout time.Duration
	// ProbeInterval: StartLogin checks that the provider answers (one
	// GET of its authorization endpoint, 5 s at most) before sending a
	// browser there, unless it answered within this interval, so that
	// people get a clear error page from the hub instead of a browser
	// error when the provider is down. Default 10s; negative: never
	// check.
	ProbeInterval time.Duration
	// RefreshBefore is how long before the access or ID token expires a
	// refresh is due (at most half the token's lifetime). Default 1m.
	RefreshBefore time.Duration
	// CookiePrefix names the login-state cookies: prefix + "." + a piece of
	// the state, one per login in flight. Default "hubkit-oauth".
	CookiePrefix string
	// AlwaysSecureCookies sets Secure on the login-state cookie even over
	// plain HTTP (behind a TLS-terminating proxy). Default: when the
	// request came over TLS.
	AlwaysSecureCookies bool
	// HTTPClient talks to the provider. Default: a client of its own (30s
	// timeout, proxy from the environment); never http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives provider errors. Default: discard.
	Logger *slog.Logger
	// Now is the clock for token expiry and state lifetime. Default
	// time.Now.
	Now func() time.Time
	// Rand makes states, nonces and PKCE verifiers. Default
	// crypto/rand.Reader.
	Rand io.Reader
}

// reservedParams may not appear in AuthParams.
var reservedParams = []string{"state", "nonce", "code_challenge", "code_challenge_method", "redirect_uri",
	"response_type", "client_id", "scope", "response_mode", "request", "request_uri"}

func (o Options) withDefaults() Options {
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"openid", "profile", "email"}
	}
	if !slices.Contains(o.Scopes, "openid") {
		o.Scopes = append([]string{"openid"}, o.Scopes...)
	}
	if o.UsernameClaim == "" {
		o.UsernameClaim = "preferred_username"
	}
	if o.EmailClaim == "" {
		o.EmailClaim = "email"
	}
	if o.GroupsClaims == nil {
		o.GroupsClaims = []string{"groups"}
	}
	if o.UsedStates == nil {
		o.UsedStates = authenticator.NewMemoryStore(o.Now)
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = 10 * time.Second
	}
	if o.LoginTimeout == 0 {
		o.LoginTimeout = 10 * time.Minute
	}
	if o.RefreshBefore == 0 {
		o.RefreshBefore = time.Minute
	}
	if o.CookiePrefix == "" {
		o.CookiePrefix = "hubkit-oauth"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = newHTTPClient()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	if o.Issuer == "" {
		errs = append(errs, errors.New("Issuer is required"))
	} else if u, err := url.Parse(o.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		errs = append(errs, fmt.Errorf("Issuer %q is not an http(s) URL", o.Issuer))
	}
	if o.ClientID == "" {
		errs = append(errs, errors.New("ClientID is required"))
	}
	if u, err := url.Parse(o.RedirectURL); o.RedirectURL == "" || err != nil || u.Host == "" || u.Scheme == "" {
		errs = append(errs, fmt.Errorf("RedirectURL %q must be an absolute URL", o.RedirectURL))
	}
	if o.PostLogoutRedirectURL != "" {
		if u, err := url.Parse(o.PostLogoutRedirectURL); err != nil || u.Host == "" || u.Scheme == "" {
			errs = append(errs, fmt.Errorf("PostLogoutRedirectURL %q must be an absolute URL", o.PostLogoutRedirectURL))
		}
	}
	if o.Keys == nil {
		errs = append(errs, errors.New("Keys is required (it seals the login-state cookie)"))
	}
	for k := range o.AuthParams {
		if slices.Contains(reservedParams, k) {
			errs = append(errs, fmt.Errorf("AuthParams may not set %q", k))
		}
	}
	if slices.Contains(o.SigningAlgs, "none") {
		errs = append(errs, errors.New(`SigningAlgs may not contain "none"`))
	}
	if o.LoginTimeout < 0 || o.RefreshBefore < 0 {
		errs = append(errs, errors.New("LoginTimeout and RefreshBefore may not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("oidc: invalid options: %w", err)
	}
	return nil
}

// newHTTPClient is the default client: its own transport, never the
// process-wide default one.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
	}
}
