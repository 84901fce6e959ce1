// Package authenticator defines how a hub logs people in: the
// Authenticator interface, the Identity a login yields (username, email,
// groups, roles, admin, auth state), the allow/admin rules and sessions.
// It imports no identity-provider library; authenticator/oidc implements it
// for OpenID Connect providers such as Keycloak.
//
// # Status
//
// This package is being built; its API is not settled yet.
package authenticator
