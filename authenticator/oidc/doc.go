// Package oidc implements authenticator.Authenticator for OpenID Connect
// providers, with a Keycloak preset. It is built on
// github.com/coreos/go-oidc/v3 (discovery, ID-token verification) and
// golang.org/x/oauth2 (the code and refresh grants).
//
// # The login
//
// StartLogin sends the browser to the provider's authorization endpoint
// with a fresh state, a nonce, and a PKCE (S256) challenge. The state is
// bound to the browser by a sealed, HttpOnly, SameSite=Lax cookie scoped
// to the callback path (one per login in flight, so two tabs do not clash)
// and is single-use (Options.UsedStates). FinishLogin checks the state,
// exchanges the code with the PKCE verifier, and verifies the ID token —
// signature against the provider's keys, algorithm (never "none"), issuer,
// audience, expiry, nonce, authorized party, access-token hash — before
// reading a single claim. There is no unverified decoding anywhere:
// GenericOAuthenticator's userdata_from_id_token skips the signature, this
// package never does. Userinfo, when enabled, must name the same subject
// and is merged over the ID token's claims.
//
// # Claims
//
// The username comes from Options.UsernameClaim (preferred_username by
// default; a login without it fails with an *authenticator.ClaimError
// naming the claim), groups and roles from configurable claim paths. Every
// value is decoded into the type it must have: "groups" sent as a string
// is an error naming the claim, never a panic.
//
// # Refresh and logout
//
// Refresh renews the tokens with the refresh token when the access token
// or the ID token has expired or is about to (OAuthenticator #793 refreshed
// on the access token alone and then choked on the expired ID token),
// verifies the new ID token, re-reads the identity and re-applies the
// rules. A refused refresh wraps authenticator.ErrLoginRequired. LogoutURL
// is OpenID Connect RP-initiated logout: the provider's
// end_session_endpoint with id_token_hint, post_logout_redirect_uri and
// client_id, which ends Keycloak's SSO session (OAuthenticator never did;
// its PR #531 closed unmerged).
//
// # Keycloak
//
// Keycloak{URL, Realm, ...}.Options() sets the realm's issuer and reads
// preferred_username, groups (without the leading "/" of Keycloak's group
// mapper, unless KeepGroupSlash), realm_access.roles and
// resource_access.<client>.roles, leaving out the roles every Keycloak
// user has unless KeepDefaultRoles.
//
// # Providers without discovery
//
// Options.Endpoints names the endpoints by hand, as GenericOAuthenticator's
// authorize_url, token_url and userdata_url do; the issuer is still checked
// in every ID token.
package oidc
