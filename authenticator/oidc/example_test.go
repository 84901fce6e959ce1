package oidc_test

import (
	"fmt"
	"log"
	"os"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/oidc"
)

// Seed 002's GenericOAuthenticator settings (realm "demo", client
// "jupyterhub", username from preferred_username) as the Keycloak preset.
// Seed 004's Keycloak still serves under /auth: put it in the URL.
func ExampleKeycloak() {
	for _, kc := range []oidc.Keycloak{
		{URL: "https://keycloak.example:31093", Realm: "demo", ClientID: "jupyterhub"},
		{URL: "https://auth.254carbon.com/auth", Realm: "master", ClientID: "jupyterhub"},
	} {
		o := kc.Options()
		fmt.Println(o.Issuer, o.UsernameClaim, o.GroupsClaims, o.UserInfo)
	}
	// Output:
	// https://keycloak.example:31093/realms/demo preferred_username [groups] true
	// https://auth.254carbon.com/auth/realms/master preferred_username [groups] true
}

// A hub's authenticator: Keycloak, JUPYTERHUB_CRYPT_KEY for the sealed
// state, jupyter-users may log in, jupyter-admins are admins.
func ExampleNew() {
	keys, err := authenticator.ParseKeyring(os.Getenv("JUPYTERHUB_CRYPT_KEY"))
	if err != nil {
		keys, _ = authenticator.NewKeyring(authenticator.NewKey()) // for this example only
	}
	o := oidc.Keycloak{
		URL:                   "https://keycloak.example",
		Realm:                 "demo",
		ClientID:              "jupyterhub",
		ClientSecret:          os.Getenv("OAUTH_CLIENT_SECRET"),
		RedirectURL:           "https://hub.example/hub/oauth_callback",
		PostLogoutRedirectURL: "https://hub.example/hub/logout-done",
	}.Options()
	o.Keys = keys
	o.Rules = authenticator.Rules{AllowedGroups: []string{"jupyter-users"}, AdminGroups: []string{"jupyter-admins"}}
	a, err := oidc.New(o) // no I/O yet: discovery happens at the first login
	if err != nil {
		log.Fatal(err)
	}
	var _ authenticator.Refresher = a
	fmt.Println("ready")
	// Output: ready
}
