package authenticator

import (
	"context"
	"net/http"
)

// Authenticator logs people in. Implementations: authenticator/oidc
// (OpenID Connect, Keycloak), authenticator/header (a signed JWT from a
// front proxy such as Cloudflare Access), authenticator/dev (a development
// login, not for production). A [Gate] drives it; a hub may call it
// directly.
//
// Both methods are safe for concurrent use.
type Authenticator interface {
	// StartLogin begins a login for the browser that sent r and writes the
	// response: a redirect to the identity provider, or a login form. next
	// is where the browser goes once logged in; it must be a local path
	// ([SafeNext]). It does I/O only to discover the provider and returns an
	// error, without writing, when it cannot start a login.
	StartLogin(ctx context.Context, w http.ResponseWriter, r *http.Request, next string) error

	// FinishLogin completes a login from the request that came back (the
	// OAuth callback, the posted login form). It may set or clear cookies on
	// w but never writes a body or a status. It applies the authenticator's
	// [Rules]: a person who may not log in gets an error wrapping
	// [ErrNotAllowed] or [ErrBlocked]. Not idempotent: a callback can be
	// used once.
	FinishLogin(ctx context.Context, w http.ResponseWriter, r *http.Request) (Login, error)
}

// Login is the result of a finished login.
type Login struct {
	Identity Identity
	// Next is the local path the login started for ([SafeNext] applied).
	Next string
}

// Refresher is an Authenticator whose logins expire and can be renewed
// without the person (OAuth refresh tokens).
type Refresher interface {
	// Refresh renews id.AuthState when its tokens have expired or are about
	// to ([AuthState.RefreshDue]); otherwise it returns id unchanged without
	// I/O. It re-reads the identity from the renewed tokens and re-applies
	// the [Rules]. An error wrapping [ErrLoginRequired] means the provider
	// refused (session ended, refresh token revoked or expired): the person
	// must log in again. Safe for concurrent use; not idempotent at the
	// provider (a rotated refresh token is spent).
	Refresh(ctx context.Context, id Identity) (Identity, error)
}

// Logouter is an Authenticator that can end the person's session at the
// identity provider too (OpenID Connect RP-initiated logout).
type Logouter interface {
	// LogoutURL returns where to send the browser to end the provider's
	// session for id, coming back to the configured post-logout URL; ""
	// when there is nothing to end (no provider session known). No I/O
	// beyond discovery. Safe for concurrent use.
	LogoutURL(ctx context.Context, id Identity) (string, error)
}

// RequestAuthenticator is an Authenticator that can authenticate every
// request on its own, with no session (a front proxy that signs each
// request, such as Cloudflare Access).
type RequestAuthenticator interface {
	// AuthenticateRequest verifies the credentials r carries and returns
	// the identity, with the [Rules] applied. An error wrapping
	// [ErrNoCredentials] means r carries none. Safe for concurrent use.
	AuthenticateRequest(ctx context.Context, r *http.Request) (Identity, error)
}
