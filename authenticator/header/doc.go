// Package header implements authenticator.Authenticator for hubs behind a
// front proxy that authenticates people before the hub sees them and
// signs every request: Cloudflare Access (the Cf-Access-Jwt-Assertion
// header) and oauth2-proxy (the provider's ID token in
// "Authorization: Bearer", with --pass-authorization-header).
//
// # Trust
//
// Nothing in a request is trusted until its JWT verifies: signature against
// the issuer's published keys (Cloudflare's certs URL, or the provider's
// JWKS from discovery), algorithm (RS256/ES256, never "none"), issuer,
// audience (the Access application's AUD tag, or the proxy's client id) and
// expiry — all by go-oidc. A plain header such as X-Forwarded-User is never
// read: anyone who reaches the hub without the proxy could set it.
//
// # Use
//
// The authenticator is an authenticator.RequestAuthenticator: a Gate
// verifies the JWT on every request and needs no session cookie.
//
//	a, err := header.New(header.CloudflareAccess("acme", audTag))
//	gate, err := authenticator.NewGate(a, authenticator.GateOptions{})
//	mux.Handle("/", gate.Protect(app))
//
// Usernames come from the "email" claim by default (Cloudflare Access
// asserts an e-mail address); groups from "groups" when the proxy sends
// them. The rules (authenticator.Rules) are applied on every request.
package header
