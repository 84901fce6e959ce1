// Package oidc implements authenticator.Authenticator for OpenID Connect
// providers (authorization-code flow with PKCE, state and nonce, ID tokens
// verified for signature, issuer, audience and expiry), with a Keycloak
// preset.
//
// # Status
//
// This package is being built; its API is not settled yet.
package oidc
