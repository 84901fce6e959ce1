package authenticator

import (
	"encoding/json"
	"slices"
	"time"
)

// Identity is who a login says a person is. Authenticators fill it from
// the identity provider's claims; [Rules] then decide Admin and whether the
// person may log in at all.
type Identity struct {
	// Username is the hub's name for the person, from a configured claim
	// (preferred_username for Keycloak). Never empty in an Identity that an
	// Authenticator returns.
	Username string `json:"username"`
	// Email is the person's e-mail address, when the provider sent one.
	Email string `json:"email,omitempty"`
	// Groups the person belongs to (Keycloak's group paths without the
	// leading "/" unless configured otherwise).
	Groups []string `json:"groups,omitempty"`
	// Roles the person holds (Keycloak realm roles as "role", client roles
	// as "client:role").
	Roles []string `json:"roles,omitempty"`
	// Admin is set by [Rules.Apply] from the admin users, groups and roles.
	Admin bool `json:"admin,omitempty"`
	// AuthState holds the provider's tokens. It is nil for authenticators
	// that have none (trusted headers, the development login). It is never
	// written into a session cookie: [Sessions] keeps it encrypted in a
	// [StateStore].
	AuthState *AuthState `json:"-"`
}

// InGroup reports whether the identity belongs to any of groups.
func (id Identity) InGroup(groups ...string) bool {
	return slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(id.Groups, g) })
}

// HasRole reports whether the identity holds any of roles.
func (id Identity) HasRole(roles ...string) bool {
	return slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(id.Roles, r) })
}

// AuthState is what an OAuth 2.0 / OpenID Connect login leaves behind: the
// tokens, their expiry, and the claims they carried. It is secret: store it
// only sealed ([Keyring.SealAuthState]), the way JupyterHub encrypts
// auth_state with JUPYTERHUB_CRYPT_KEY.
type AuthState struct {
	AccessToken  string `json:"access_token,omitempty"`
	TokenType    string `json:"token_type,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	// Expiry is when the access token expires (zero: unknown).
	Expiry time.Time `json:"expiry,omitzero"`
	// IDTokenExpiry is the "exp" of the ID token (zero: no ID token).
	IDTokenExpiry time.Time `json:"id_token_expiry,omitzero"`
	// RefreshAt is when the authenticator wants the tokens renewed: a margin
	// before the earlier of Expiry and IDTokenExpiry. Zero means never.
	RefreshAt time.Time `json:"refresh_at,omitzero"`
	// Subject is the provider's "sub" for the person; a refresh must return
	// the same one.
	Subject string `json:"sub,omitempty"`
	// Claims are the merged claims of the ID token and userinfo, as JSON
	// (OAuthenticator's auth_state["oauth_user"]).
	Claims json.RawMessage `json:"claims,omitempty"`
}

// RefreshDue reports whether the tokens should be renewed at now.
func (s *AuthState) RefreshDue(now time.Time) bool {
	return s != nil && !s.RefreshAt.IsZero() && !now.Before(s.RefreshAt)
}
