package oidc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubkit/hubkit/authenticator"
)

// Refresh renews the tokens of id with its refresh token when the access
// token or the ID token has expired or is about to (AuthState.RefreshAt) —
// both, unlike OAuthenticator, which let expired ID tokens through its
// refresh (jupyterhub/oauthenticator#793). The new ID token is verified
// like a login's and must name the same subject; the identity is read
// again and the rules re-applied, so a person removed from the allowed
// group is logged out at the next refresh. When nothing is due it re-applies
// the rules and returns without I/O.
//
// A refused refresh (invalid_grant: the provider session ended, the refresh
// token expired or was revoked) and a missing refresh token give an error
// wrapping [authenticator.ErrLoginRequired]. Implements
// [authenticator.Refresher].
func (a *Authenticator) Refresh(ctx context.Context, id authenticator.Identity) (authenticator.Identity, error) {
	st := id.AuthState
	if st == nil {
		return authenticator.Identity{}, fmt.Errorf("%w: no auth state to refresh", authenticator.ErrLoginRequired)
	}
	if !st.RefreshDue(a.opts.Now()) {
		out, err := a.opts.Rules.Apply(id)
		if err != nil {
			return authenticator.Identity{}, err
		}
		out.AuthState = st
		return out, nil
	}
	if st.RefreshToken == "" {
		return authenticator.Identity{}, fmt.Errorf("%w: tokens expired and there is no refresh token", authenticator.ErrLoginRequired)
	}
	prov, err := a.provider(ctx)
	if err != nil {
		return authenticator.Identity{}, err
	}
	cctx := a.clientCtx(ctx)
	// An expired token makes the token source use the refresh token now.
	tok, err := prov.oauth.TokenSource(cctx, &oauth2.Token{RefreshToken: st.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
			return authenticator.Identity{}, fmt.Errorf("%w: provider refused the refresh: %w", authenticator.ErrLoginRequired, err)
		}
		return authenticator.Identity{}, fmt.Errorf("oidc: refresh: %w", err)
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = st.RefreshToken // not rotated: keep using the old one
	}
	if _, ok := tok.Extra("id_token").(string); !ok {
		// Some providers answer a refresh without an ID token; keep the
		// old one for logout hints but stop counting its expiry.
		return a.refreshWithoutIDToken(id, tok)
	}
	out, err := a.identify(cctx, prov, tok, "", st.Subject)
	if err != nil {
		if errors.Is(err, authenticator.ErrNotAllowed) || errors.Is(err, authenticator.ErrBlocked) {
			return authenticator.Identity{}, err
		}
		return authenticator.Identity{}, fmt.Errorf("%w: refreshed tokens rejected: %w", authenticator.ErrLoginRequired, err)
	}
	return out, nil
}

// refreshWithoutIDToken keeps the identity read at login, with the new
// access token.
func (a *Authenticator) refreshWithoutIDToken(id authenticator.Identity, tok *oauth2.Token) (authenticator.Identity, error) {
	out, err := a.opts.Rules.Apply(id)
	if err != nil {
		return authenticator.Identity{}, err
	}
	st := *id.AuthState
	st.AccessToken = tok.AccessToken
	st.TokenType = tok.Type()
	st.RefreshToken = tok.RefreshToken
	now := a.opts.Now()
	st.Expiry = a.expiry(now, tok)
	st.IDTokenExpiry = time.Time{}
	st.RefreshAt = a.refreshAt(now, &st)
	out.AuthState = &st
	return out, nil
}
