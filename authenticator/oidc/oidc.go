package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/internal/claims"
	"github.com/hubkit/hubkit/authenticator/internal/cookie"
)

// Errors of this package; each is wrapped with details.
var (
	// ErrInvalidIDToken: the ID token failed verification (signature,
	// algorithm, issuer, audience, expiry, nonce, authorized party, access
	// token hash) or is missing.
	ErrInvalidIDToken = errors.New("oidc: invalid ID token")
	// ErrCodeExchange: the token endpoint refused the authorization code
	// (already used, expired, wrong PKCE verifier, wrong client).
	ErrCodeExchange = errors.New("oidc: code exchange failed")
	// ErrDiscovery: the provider's configuration could not be read.
	ErrDiscovery = errors.New("oidc: discovery failed")
	// ErrUserInfo: the userinfo endpoint failed or answered for another
	// subject.
	ErrUserInfo = errors.New("oidc: userinfo failed")
)

// ProviderError is an error the provider sent back to the callback
// (?error=access_denied&error_description=…).
type ProviderError struct {
	Code        string
	Description string
}

func (e *ProviderError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("oidc: provider returned %s: %s", e.Code, e.Description)
	}
	return "oidc: provider returned " + e.Code
}

// Authenticator logs people in with the OpenID Connect authorization-code
// flow. Create it with [New]; the zero value is not usable. Safe for
// concurrent use.
type Authenticator struct {
	opts     Options
	cbPath   string
	mapping  claims.Mapping
	discover sync.Mutex   // serialises discovery
	prov     *provider    // set once discovered (under discover)
	answered atomic.Int64 // when the provider last answered a probe (UnixNano)
}

var (
	_ authenticator.Authenticator = (*Authenticator)(nil)
	_ authenticator.Refresher     = (*Authenticator)(nil)
	_ authenticator.Logouter      = (*Authenticator)(nil)
)

// provider is what discovery yields.
type provider struct {
	p          *gooidc.Provider
	verifier   *gooidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
	userInfo   string
}

// New returns an authenticator. It does no I/O: discovery happens on first
// use (and is retried after a failure); call [Authenticator.Discover] to
// check the provider at startup.
func New(opts Options) (*Authenticator, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	u, _ := url.Parse(o.RedirectURL)
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return &Authenticator{
		opts:   o,
		cbPath: path,
		mapping: claims.Mapping{
			Username: o.UsernameClaim,
			Email:    o.EmailClaim,
			Groups:   o.GroupsClaims,
			Roles:    o.RolesClaims,
		},
	}, nil
}

// clientCtx carries the authenticator's HTTP client for go-oidc and
// x/oauth2, which would otherwise use http.DefaultClient.
func (a *Authenticator) clientCtx(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, a.opts.HTTPClient)
}

// Discover reads the provider's configuration (once; again after a
// failure). Errors wrap [ErrDiscovery].
func (a *Authenticator) Discover(ctx context.Context) error {
	_, err := a.provider(ctx)
	return err
}

func (a *Authenticator) provider(ctx context.Context) (*provider, error) {
	a.discover.Lock()
	defer a.discover.Unlock()
	if a.prov != nil {
		return a.prov, nil
	}
	// The key set lives as long as the authenticator: give it a context
	// without the caller's deadline, carrying only the HTTP client.
	cctx := a.clientCtx(context.WithoutCancel(ctx))
	var (
		p    *gooidc.Provider
		meta struct {
			EndSession string `json:"end_session_endpoint"`
		}
	)
	e := a.opts.Endpoints
	if e.complete() {
		p = (&gooidc.ProviderConfig{
			IssuerURL:   a.opts.Issuer,
			AuthURL:     e.AuthURL,
			TokenURL:    e.TokenURL,
			UserInfoURL: e.UserInfoURL,
			JWKSURL:     e.JWKSURL,
			Algorithms:  a.opts.SigningAlgs,
		}).NewProvider(cctx)
	} else {
		dctx, cancel := context.WithTimeout(a.clientCtx(ctx), 30*time.Second)
		defer cancel()
		var err error
		p, err = gooidc.NewProvider(dctx, a.opts.Issuer)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrDiscovery, a.opts.Issuer, err)
		}
		// NewProvider keeps dctx's client but the key set needs a context
		// that outlives dctx: rebuild from the discovered metadata.
		var cfg gooidc.ProviderConfig
		if err := p.Claims(&cfg); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
		}
		if err := p.Claims(&meta); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
		}
		cfg.IssuerURL = a.opts.Issuer
		if a.opts.SigningAlgs != nil {
			cfg.Algorithms = a.opts.SigningAlgs
		} else {
			cfg.Algorithms = slices.DeleteFunc(cfg.Algorithms, func(alg string) bool { return !supportedAlg(alg) })
		}
		for _, override := range []struct {
			dst *string
			v   string
		}{
			{&cfg.AuthURL, e.AuthURL}, {&cfg.TokenURL, e.TokenURL}, {&cfg.UserInfoURL, e.UserInfoURL}, {&cfg.JWKSURL, e.JWKSURL},
		} {
			if override.v != "" {
				*override.dst = override.v
			}
		}
		p = cfg.NewProvider(cctx)
	}
	if e.EndSessionURL != "" {
		meta.EndSession = e.EndSessionURL
	}
	algs := a.opts.SigningAlgs
	a.prov = &provider{
		p: p,
		verifier: p.Verifier(&gooidc.Config{
			ClientID:             a.opts.ClientID,
			SupportedSigningAlgs: algs,
			Now:                  a.opts.Now,
		}),
		oauth: oauth2.Config{
			ClientID:     a.opts.ClientID,
			ClientSecret: a.opts.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  a.opts.RedirectURL,
			Scopes:       a.opts.Scopes,
		},
		endSession: meta.EndSession,
		userInfo:   p.UserInfoEndpoint(),
	}
	return a.prov, nil
}

// supportedAlg reports the asymmetric algorithms go-oidc verifies.
func supportedAlg(alg string) bool {
	switch alg {
	case gooidc.RS256, gooidc.RS384, gooidc.RS512, gooidc.ES256, gooidc.ES384, gooidc.ES512,
		gooidc.PS256, gooidc.PS384, gooidc.PS512, gooidc.EdDSA:
		return true
	}
	return false
}

// pending is a login in flight, sealed into the login-state cookie.
type pending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"`
}

const purposeLogin = "oidc-login"

func (a *Authenticator) random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(a.opts.Rand, b); err != nil {
		return "", fmt.Errorf("oidc: randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// cookieSpec is the login-state cookie of state: one per login in flight,
// so that logins started in two tabs do not overwrite each other.
func (a *Authenticator) cookieSpec(state string) cookie.Spec {
	sum := sha256.Sum256([]byte(state))
	return cookie.Spec{
		Name:         a.opts.CookiePrefix + "." + hex.EncodeToString(sum[:6]),
		Path:         a.cbPath,
		AlwaysSecure: a.opts.AlwaysSecureCookies,
	}
}

// StartLogin redirects the browser to the provider's authorization
// endpoint with a fresh state (bound to this browser by a sealed,
// HttpOnly, SameSite=Lax cookie scoped to the callback path), a nonce, and
// a PKCE S256 challenge. Implements [authenticator.Authenticator].
func (a *Authenticator) StartLogin(ctx context.Context, w http.ResponseWriter, r *http.Request, next string) error {
	prov, err := a.provider(ctx)
	if err != nil {
		return err
	}
	if err := a.probe(ctx, prov); err != nil {
		return err
	}
	var p pending
	if p.State, err = a.random(32); err != nil {
		return err
	}
	if p.Nonce, err = a.random(32); err != nil {
		return err
	}
	if p.Verifier, err = a.random(32); err != nil {
		return err
	}
	now := a.opts.Now()
	exp := now.Add(a.opts.LoginTimeout)
	p.Next = authenticator.SafeNext(next, "/")
	p.Expires = exp.Unix()
	v, err := cookie.Seal(a.opts.Keys, purposeLogin, p)
	if err != nil {
		return fmt.Errorf("oidc: login-state cookie: %w", err)
	}
	a.cookieSpec(p.State).Set(w, r, v, now, exp)

	opts := []oauth2.AuthCodeOption{gooidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier)}
	keys := make([]string, 0, len(a.opts.AuthParams))
	for k := range a.opts.AuthParams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		opts = append(opts, oauth2.SetAuthURLParam(k, a.opts.AuthParams[k]))
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, prov.oauth.AuthCodeURL(p.State, opts...), http.StatusFound)
	return nil
}

// probe checks that the provider's authorization endpoint answers (any
// HTTP status will do), at most once per ProbeInterval while it does.
func (a *Authenticator) probe(ctx context.Context, prov *provider) error {
	if a.opts.ProbeInterval < 0 {
		return nil
	}
	now := a.opts.Now()
	if last := a.answered.Load(); last != 0 && now.Sub(time.Unix(0, last)) < a.opts.ProbeInterval {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, prov.oauth.Endpoint.AuthURL, nil)
	if err != nil {
		return fmt.Errorf("oidc: authorization endpoint: %w", err)
	}
	resp, err := a.opts.HTTPClient.Do(req)
	if err != nil {
		a.opts.Logger.Warn("oidc: the provider does not answer", "url", prov.oauth.Endpoint.AuthURL, "err", err)
		return fmt.Errorf("oidc: the identity provider is not reachable: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	a.answered.Store(now.UnixNano())
	return nil
}

// FinishLogin handles the provider's redirect back: it checks the state
// against this browser's login-state cookie and spends it (single use),
// exchanges the code with the PKCE verifier, verifies the ID token
// (signature, algorithm, issuer, audience, expiry, nonce, azp, at_hash),
// merges userinfo when configured, reads the identity and applies the
// rules. Implements [authenticator.Authenticator].
func (a *Authenticator) FinishLogin(ctx context.Context, w http.ResponseWriter, r *http.Request) (authenticator.Login, error) {
	q := r.URL.Query()
	p, err := a.takePending(ctx, w, r, q.Get("state"))
	if err != nil {
		return authenticator.Login{}, err
	}
	if code := q.Get("error"); code != "" {
		return authenticator.Login{}, &ProviderError{Code: code, Description: q.Get("error_description")}
	}
	// RFC 9207: a provider that names itself must be the one we started
	// with (mix-up defence).
	if iss := q.Get("iss"); iss != "" && iss != a.opts.Issuer {
		return authenticator.Login{}, fmt.Errorf("%w: callback from issuer %q, want %q", authenticator.ErrInvalidState, iss, a.opts.Issuer)
	}
	code := q.Get("code")
	if code == "" {
		return authenticator.Login{}, fmt.Errorf("%w: callback without a code", ErrCodeExchange)
	}
	prov, err := a.provider(ctx)
	if err != nil {
		return authenticator.Login{}, err
	}
	cctx := a.clientCtx(ctx)
	tok, err := prov.oauth.Exchange(cctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return authenticator.Login{}, fmt.Errorf("%w: %w", ErrCodeExchange, err)
	}
	id, err := a.identify(cctx, prov, tok, p.Nonce, "")
	if err != nil {
		return authenticator.Login{}, err
	}
	return authenticator.Login{Identity: id, Next: p.Next}, nil
}

// takePending finds, opens, clears and spends the login-state cookie of
// state. Every failure wraps [authenticator.ErrInvalidState].
func (a *Authenticator) takePending(ctx context.Context, w http.ResponseWriter, r *http.Request, state string) (pending, error) {
	if state == "" {
		return pending{}, fmt.Errorf("%w: callback without state", authenticator.ErrInvalidState)
	}
	spec := a.cookieSpec(state)
	ck, err := r.Cookie(spec.Name)
	if err != nil {
		return pending{}, fmt.Errorf("%w: no login was started for this state in this browser", authenticator.ErrInvalidState)
	}
	spec.Clear(w, r)
	var p pending
	if err := cookie.Open(a.opts.Keys, purposeLogin, ck.Value, &p); err != nil {
		return pending{}, fmt.Errorf("%w: login-state cookie: %v", authenticator.ErrInvalidState, err)
	}
	if subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) != 1 {
		return pending{}, fmt.Errorf("%w: state does not match this browser's login", authenticator.ErrInvalidState)
	}
	exp := time.Unix(p.Expires, 0)
	if !a.opts.Now().Before(exp) {
		return pending{}, fmt.Errorf("%w: login started too long ago (expired %s)", authenticator.ErrInvalidState, exp.UTC().Format(time.RFC3339))
	}
	sum := sha256.Sum256([]byte(state))
	first, err := a.opts.UsedStates.Use(ctx, "oidc-state:"+hex.EncodeToString(sum[:]), exp)
	if err != nil {
		return pending{}, fmt.Errorf("oidc: recording used state: %w", err)
	}
	if !first {
		return pending{}, fmt.Errorf("%w: state already used (replayed callback)", authenticator.ErrInvalidState)
	}
	return p, nil
}

// identify verifies tok's ID token and reads the identity. nonce is the
// login's nonce ("" on refresh); subject, when set, must match.
func (a *Authenticator) identify(ctx context.Context, prov *provider, tok *oauth2.Token, nonce, subject string) (authenticator.Identity, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return authenticator.Identity{}, fmt.Errorf("%w: the token response has no id_token (is the openid scope granted?)", ErrInvalidIDToken)
	}
	idt, err := prov.verifier.Verify(ctx, raw)
	if err != nil {
		return authenticator.Identity{}, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return authenticator.Identity{}, fmt.Errorf("%w: nonce mismatch", ErrInvalidIDToken)
	}
	if subject != "" && idt.Subject != subject {
		return authenticator.Identity{}, fmt.Errorf("%w: subject changed from %q to %q", ErrInvalidIDToken, subject, idt.Subject)
	}
	var std struct {
		AZP string `json:"azp"`
	}
	if err := idt.Claims(&std); err != nil {
		return authenticator.Identity{}, fmt.Errorf("%w: claims: %w", ErrInvalidIDToken, err)
	}
	if len(idt.Audience) > 1 && std.AZP != a.opts.ClientID {
		return authenticator.Identity{}, fmt.Errorf("%w: several audiences and azp %q is not this client", ErrInvalidIDToken, std.AZP)
	}
	if std.AZP != "" && std.AZP != a.opts.ClientID {
		return authenticator.Identity{}, fmt.Errorf("%w: issued to %q (azp), not this client", ErrInvalidIDToken, std.AZP)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return authenticator.Identity{}, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
		}
	}
	var merged json.RawMessage
	if err := idt.Claims(&merged); err != nil {
		return authenticator.Identity{}, fmt.Errorf("%w: claims: %w", ErrInvalidIDToken, err)
	}
	if a.opts.UserInfo && prov.userInfo != "" {
		ui, err := prov.p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return authenticator.Identity{}, fmt.Errorf("%w: %w", ErrUserInfo, err)
		}
		if ui.Subject != idt.Subject {
			return authenticator.Identity{}, fmt.Errorf("%w: userinfo is for subject %q, the ID token for %q", ErrUserInfo, ui.Subject, idt.Subject)
		}
		var uiRaw json.RawMessage
		if err := ui.Claims(&uiRaw); err != nil {
			return authenticator.Identity{}, fmt.Errorf("%w: %w", ErrUserInfo, err)
		}
		if merged, err = claims.Merge(merged, uiRaw); err != nil {
			return authenticator.Identity{}, fmt.Errorf("%w: %w", ErrUserInfo, err)
		}
	}
	id, err := a.mapping.Identity(merged)
	if err != nil {
		return authenticator.Identity{}, fmt.Errorf("oidc: reading identity: %w", err)
	}
	if a.opts.MapClaims != nil {
		if err := a.opts.MapClaims(merged, &id); err != nil {
			return authenticator.Identity{}, fmt.Errorf("oidc: reading identity: %w", err)
		}
	}
	id, err = a.opts.Rules.Apply(id)
	if err != nil {
		return authenticator.Identity{}, err
	}
	now := a.opts.Now()
	st := &authenticator.AuthState{
		AccessToken:   tok.AccessToken,
		TokenType:     tok.Type(),
		RefreshToken:  tok.RefreshToken,
		IDToken:       raw,
		Expiry:        a.expiry(now, tok),
		IDTokenExpiry: idt.Expiry,
		Subject:       idt.Subject,
		Claims:        merged,
	}
	st.RefreshAt = a.refreshAt(now, st)
	id.AuthState = st
	a.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "oidc identity", slog.String("user", id.Username),
		slog.Any("groups", id.Groups), slog.Any("roles", id.Roles), slog.Bool("admin", id.Admin))
	return id, nil
}

// expiry is when tok's access token expires, on the authenticator's clock
// (x/oauth2 computes Token.Expiry with time.Now).
func (a *Authenticator) expiry(now time.Time, tok *oauth2.Token) time.Time {
	if tok.ExpiresIn > 0 {
		return now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return tok.Expiry
}

// refreshAt is RefreshBefore (at most half the remaining lifetime) before
// the earlier of the access token's and the ID token's expiry; zero when
// neither expires or nothing can refresh.
func (a *Authenticator) refreshAt(now time.Time, st *authenticator.AuthState) time.Time {
	var exp time.Time
	for _, t := range []time.Time{st.Expiry, st.IDTokenExpiry} {
		if !t.IsZero() && (exp.IsZero() || t.Before(exp)) {
			exp = t
		}
	}
	if exp.IsZero() {
		return time.Time{}
	}
	margin := min(a.opts.RefreshBefore, exp.Sub(now)/2)
	return exp.Add(-max(margin, 0))
}
