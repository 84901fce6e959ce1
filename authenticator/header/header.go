package header

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/internal/claims"
)

// ErrInvalidToken: the assertion failed verification (signature,
// algorithm, issuer, audience, expiry) or is not a JWT.
var ErrInvalidToken = errors.New("header: invalid token")

// Options configure [New]. Issuer and Audience are required; every other
// field has a default, written on it.
type Options struct {
	// Header carries the signed JWT. Default "Cf-Access-Jwt-Assertion"
	// (Cloudflare Access). For "Authorization" the "Bearer " scheme is
	// stripped.
	Header string
	// Cookie, when set, is read when the header is absent (Cloudflare
	// Access also sets "CF_Authorization"). Default "": header only.
	Cookie string
	// Issuer is the expected "iss": "https://<team>.cloudflareaccess.com",
	// or the identity provider behind an oauth2-proxy.
	Issuer string
	// Audience must be in "aud": the Cloudflare Access application's AUD
	// tag, or the oauth2-proxy's client id.
	Audience string
	// CertsURL is the JWKS with the signing keys. Default: discovered from
	// Issuer (/.well-known/openid-configuration).
	CertsURL string
	// SigningAlgs accepted. Default RS256, ES256 ("none" is never
	// accepted).
	SigningAlgs []string
	// UsernameClaim names the user. Default "email" (Cloudflare Access
	// asserts an e-mail address).
	UsernameClaim string
	// EmailClaim is the e-mail claim. Default "email".
	EmailClaim string
	// GroupsClaims are claims holding arrays of groups (nil: ["groups"]).
	GroupsClaims []string
	// RolesClaims are claims holding arrays of roles. Default none.
	RolesClaims []string
	// MapClaims adds to the identity from the raw claims (for Keycloak
	// tokens: oidc.KeycloakClaims). Default nil.
	MapClaims func(claims []byte, id *authenticator.Identity) error
	// Rules decide who may log in and who is an admin, on every request.
	Rules authenticator.Rules
	// HTTPClient fetches the keys. Default: a client of its own.
	HTTPClient *http.Client
	// Logger receives key-fetch failures. Default: discard.
	Logger *slog.Logger
	// Now is the clock for expiry. Default time.Now.
	Now func() time.Time
}

// CloudflareAccess returns options for an application behind Cloudflare
// Access: team is the team name ("acme") or its domain
// ("acme.cloudflareaccess.com"), audience the application's AUD tag. The
// JWT comes in Cf-Access-Jwt-Assertion (or the CF_Authorization cookie),
// is checked against https://<team>.cloudflareaccess.com/cdn-cgi/access/certs,
// and names the user by e-mail.
func CloudflareAccess(team, audience string) Options {
	team = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(team, "https://"), "http://"), "/")
	if !strings.Contains(team, ".") {
		team += ".cloudflareaccess.com"
	}
	iss := "https://" + team
	return Options{
		Header:        "Cf-Access-Jwt-Assertion",
		Cookie:        "CF_Authorization",
		Issuer:        iss,
		Audience:      audience,
		CertsURL:      iss + "/cdn-cgi/access/certs",
		UsernameClaim: "email",
	}
}

// OAuth2Proxy returns options for a hub behind oauth2-proxy run with
// --pass-authorization-header: the provider's ID token arrives as
// "Authorization: Bearer …", issued by issuer to oauth2-proxy's clientID,
// and is checked against the provider's keys (discovered). The username is
// preferred_username; for Keycloak set MapClaims to oidc.KeycloakClaims.
func OAuth2Proxy(issuer, clientID string) Options {
	return Options{
		Header:        "Authorization",
		Issuer:        issuer,
		Audience:      clientID,
		UsernameClaim: "preferred_username",
	}
}

func (o Options) withDefaults() Options {
	if o.Header == "" {
		o.Header = "Cf-Access-Jwt-Assertion"
	}
	if len(o.SigningAlgs) == 0 {
		o.SigningAlgs = []string{gooidc.RS256, gooidc.ES256}
	}
	if o.UsernameClaim == "" {
		o.UsernameClaim = "email"
	}
	if o.EmailClaim == "" {
		o.EmailClaim = "email"
	}
	if o.GroupsClaims == nil {
		o.GroupsClaims = []string{"groups"}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
				TLSHandshakeTimeout: 10 * time.Second,
				IdleConnTimeout:     90 * time.Second,
			},
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Authenticator trusts a signed JWT that a front proxy adds to every
// request. Create it with [New]. Safe for concurrent use.
type Authenticator struct {
	opts    Options
	mapping claims.Mapping

	mu       sync.Mutex
	verifier *gooidc.IDTokenVerifier
}

var (
	_ authenticator.Authenticator        = (*Authenticator)(nil)
	_ authenticator.RequestAuthenticator = (*Authenticator)(nil)
)

// New returns an authenticator. It does no I/O; keys are fetched (and the
// issuer discovered, without CertsURL) on first use.
func New(opts Options) (*Authenticator, error) {
	var errs []error
	if u, err := url.Parse(opts.Issuer); opts.Issuer == "" || err != nil || u.Host == "" {
		errs = append(errs, fmt.Errorf("Issuer %q must be an absolute URL", opts.Issuer))
	}
	if opts.Audience == "" {
		errs = append(errs, errors.New("Audience is required (Cloudflare Access AUD tag, or the proxy's client id)"))
	}
	if slices.Contains(opts.SigningAlgs, "none") {
		errs = append(errs, errors.New(`SigningAlgs may not contain "none"`))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("header: invalid options: %w", err)
	}
	o := opts.withDefaults()
	return &Authenticator{opts: o, mapping: claims.Mapping{
		Username: o.UsernameClaim, Email: o.EmailClaim, Groups: o.GroupsClaims, Roles: o.RolesClaims,
	}}, nil
}

func (a *Authenticator) getVerifier(ctx context.Context) (*gooidc.IDTokenVerifier, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verifier != nil {
		return a.verifier, nil
	}
	certs := a.opts.CertsURL
	if certs == "" {
		dctx, cancel := context.WithTimeout(gooidc.ClientContext(ctx, a.opts.HTTPClient), 30*time.Second)
		defer cancel()
		p, err := gooidc.NewProvider(dctx, a.opts.Issuer)
		if err != nil {
			return nil, fmt.Errorf("header: discovering %s: %w", a.opts.Issuer, err)
		}
		var meta struct {
			JWKS string `json:"jwks_uri"`
		}
		if err := p.Claims(&meta); err != nil || meta.JWKS == "" {
			return nil, fmt.Errorf("header: %s advertises no jwks_uri", a.opts.Issuer)
		}
		certs = meta.JWKS
	}
	keys := &keySet{url: certs, client: a.opts.HTTPClient, now: a.opts.Now}
	a.verifier = gooidc.NewVerifier(a.opts.Issuer, keys, &gooidc.Config{
		ClientID:             a.opts.Audience,
		SupportedSigningAlgs: a.opts.SigningAlgs,
		Now:                  a.opts.Now,
	})
	return a.verifier, nil
}

// assertion returns the JWT that r carries, or "".
func (a *Authenticator) assertion(r *http.Request) string {
	v := strings.TrimSpace(r.Header.Get(a.opts.Header))
	if strings.EqualFold(a.opts.Header, "Authorization") {
		scheme, tok, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		v = strings.TrimSpace(tok)
	}
	if v == "" && a.opts.Cookie != "" {
		if c, err := r.Cookie(a.opts.Cookie); err == nil {
			v = c.Value
		}
	}
	return v
}

// AuthenticateRequest verifies the JWT that r carries (signature against
// the issuer's keys, algorithm, issuer, audience, expiry), reads the
// identity and applies the rules. Without a JWT the error wraps
// [authenticator.ErrNoCredentials]; a bad one wraps [ErrInvalidToken].
// Implements [authenticator.RequestAuthenticator].
func (a *Authenticator) AuthenticateRequest(ctx context.Context, r *http.Request) (authenticator.Identity, error) {
	raw := a.assertion(r)
	if raw == "" {
		return authenticator.Identity{}, fmt.Errorf("%w: no JWT in the %s header", authenticator.ErrNoCredentials, a.opts.Header)
	}
	v, err := a.getVerifier(ctx)
	if err != nil {
		return authenticator.Identity{}, err
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return authenticator.Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	var c json.RawMessage
	if err := tok.Claims(&c); err != nil {
		return authenticator.Identity{}, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	id, err := a.mapping.Identity(c)
	if err != nil {
		return authenticator.Identity{}, fmt.Errorf("header: reading identity: %w", err)
	}
	if a.opts.MapClaims != nil {
		if err := a.opts.MapClaims(c, &id); err != nil {
			return authenticator.Identity{}, fmt.Errorf("header: reading identity: %w", err)
		}
	}
	return a.opts.Rules.Apply(id)
}

// StartLogin sends the browser on to next: the front proxy has already
// logged the person in (or will, on this very request). Implements
// [authenticator.Authenticator].
func (a *Authenticator) StartLogin(_ context.Context, w http.ResponseWriter, r *http.Request, next string) error {
	http.Redirect(w, r, authenticator.SafeNext(next, "/"), http.StatusFound)
	return nil
}

// FinishLogin authenticates the request as [Authenticator.AuthenticateRequest]
// does, with ?next= as the target. Implements [authenticator.Authenticator].
func (a *Authenticator) FinishLogin(ctx context.Context, _ http.ResponseWriter, r *http.Request) (authenticator.Login, error) {
	id, err := a.AuthenticateRequest(ctx, r)
	if err != nil {
		return authenticator.Login{}, err
	}
	return authenticator.Login{Identity: id, Next: authenticator.SafeNext(r.URL.Query().Get("next"), "/")}, nil
}
