// Package authenticator is how a hub logs people in: the Authenticator
// interface, the Identity a login yields, the allow/admin Rules, sealed
// Sessions, and a Gate that puts all of it in front of an http.Handler.
// It imports no identity-provider library; the implementations live one
// level down:
//
//   - authenticator/oidc: OpenID Connect (go-oidc, x/oauth2) with a
//     Keycloak preset — authorization code + PKCE, state, nonce, verified
//     ID tokens, refresh, RP-initiated logout;
//   - authenticator/header: a signed JWT from a front proxy (Cloudflare
//     Access, oauth2-proxy);
//   - authenticator/dev: a development login, not for production.
//
// # Logins
//
// [Authenticator.StartLogin] sends the browser to the provider (or shows a
// form); [Authenticator.FinishLogin] turns what comes back into a [Login]:
// an [Identity] (username, email, groups, roles, admin, auth state) and the
// local path to return to. Optional capabilities are separate interfaces,
// found by type assertion: [Refresher] (renew expiring tokens),
// [Logouter] (end the provider's session too), [RequestAuthenticator]
// (verify each request on its own, no session).
//
// # Rules
//
// [Rules] are JupyterHub's allow_all, allowed_users, allowed_groups,
// admin_users, admin_groups and blocked_users (plus allowed and admin
// roles), evaluated in one documented order: blocked first, then admin,
// then allowed. Implementations apply them at every login and refresh. The
// zero value allows nobody.
//
// # Sessions and secrets
//
// A [Keyring] seals everything secret with AES-256-GCM under keys in
// JUPYTERHUB_CRYPT_KEY's format (hex or base64, several separated by ";",
// the first sealing, all opening — key rotation). [Sessions] keep the
// identity in a sealed cookie — encrypted and signed, HttpOnly,
// SameSite=Lax, Secure over TLS, with an expiry inside — and the tokens
// (auth state) sealed in a [StateStore] on the server, never in the
// cookie. A tampered, truncated, foreign or retired-key cookie is refused.
//
// # Redirects
//
// Every post-login and post-logout redirect goes through [SafeNext]: only
// a local path on this site, never "//evil.example", "https://…", "/\evil"
// or an encoded variant.
//
// # The Gate
//
// [Gate] wires an Authenticator, Sessions and the rules into handlers:
// Protect (log in first; refresh when due; [IdentityFrom] in the handler),
// Login, Callback and Logout. A hub with its own session handling calls
// the Authenticator directly instead.
package authenticator
