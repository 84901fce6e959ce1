package oidc

import (
	"net/url"
	"strings"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/internal/claims"
)

// Keycloak is the preset for a Keycloak realm: [Keycloak.Options] turns it
// into [Options] with the issuer, claims and userinfo set the way
// Keycloak's OpenID Connect client works, and GenericOAuthenticator users
// configure by hand:
//
//   - issuer <URL>/realms/<realm>, discovered (the endpoints are
//     .../protocol/openid-connect/{auth,token,userinfo,certs,logout});
//   - username from preferred_username, email from email;
//   - groups from the "groups" claim (Keycloak's group membership mapper),
//     with the leading "/" of full group paths removed unless
//     KeepGroupSlash;
//   - roles from realm_access.roles ("role") and
//     resource_access.<client>.roles ("client:role"), without the roles
//     every user has (offline_access, uma_authorization,
//     default-roles-<realm>, the account client's) unless KeepDefaultRoles;
//   - userinfo merged after the ID token, so mappers that only add to
//     userinfo count too.
type Keycloak struct {
	// URL is Keycloak's base URL: "https://auth.example.com", or with the
	// "/auth" context path of Keycloak before 17
	// ("https://auth.example.com/auth").
	URL string
	// Realm is the realm name ("demo", "master").
	Realm string
	// ClientID, ClientSecret and RedirectURL as in [Options].
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// PostLogoutRedirectURL as in [Options]; Keycloak 18+ needs it (with the
	// ID token hint this preset sends) to log out without a confirmation
	// page. Add it to the client's "Valid post logout redirect URIs".
	PostLogoutRedirectURL string
	// KeepGroupSlash keeps "/jupyter-users" as is. Default: "jupyter-users".
	KeepGroupSlash bool
	// RolesAsGroups also puts the roles into Identity.Groups, for rules and
	// hubs that only know groups. Default false.
	RolesAsGroups bool
	// KeepDefaultRoles keeps the roles every Keycloak user holds. Default
	// false.
	KeepDefaultRoles bool
}

// Issuer returns the realm's issuer URL.
func (k Keycloak) Issuer() string {
	return strings.TrimSuffix(k.URL, "/") + "/realms/" + url.PathEscape(k.Realm)
}

// Options returns the options for this realm. Set Keys and Rules (and
// whatever else differs) on the result before calling [New].
func (k Keycloak) Options() Options {
	m := claims.Keycloak{
		Realm:            k.Realm,
		KeepGroupSlash:   k.KeepGroupSlash,
		RolesAsGroups:    k.RolesAsGroups,
		KeepDefaultRoles: k.KeepDefaultRoles,
	}
	return Options{
		Issuer:                k.Issuer(),
		ClientID:              k.ClientID,
		ClientSecret:          k.ClientSecret,
		RedirectURL:           k.RedirectURL,
		PostLogoutRedirectURL: k.PostLogoutRedirectURL,
		Scopes:                []string{"openid", "profile", "email"},
		UserInfo:              true,
		UsernameClaim:         "preferred_username",
		EmailClaim:            "email",
		GroupsClaims:          []string{"groups"},
		MapClaims:             func(raw []byte, id *authenticator.Identity) error { return m.Apply(raw, id) },
	}
}

// KeycloakClaims returns the claim mapping of the Keycloak preset, for
// authenticators that read Keycloak tokens another way (an oauth2-proxy in
// front, see authenticator/header).
func KeycloakClaims(k Keycloak) func(claims []byte, id *authenticator.Identity) error {
	return k.Options().MapClaims
}
