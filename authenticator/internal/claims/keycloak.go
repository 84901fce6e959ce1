package claims

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/hubkit/hubkit/authenticator"
)

// Keycloak reads Keycloak's role claims and normalises its groups.
type Keycloak struct {
	// Realm is the realm name, for its default role "default-roles-<realm>".
	Realm string
	// KeepGroupSlash keeps the leading "/" that Keycloak's group mapper
	// puts before full group paths. Default: "/jupyter-users" becomes
	// "jupyter-users", "/org/team" becomes "org/team".
	KeepGroupSlash bool
	// RolesAsGroups adds the roles to the groups as well.
	RolesAsGroups bool
	// KeepDefaultRoles keeps the roles every Keycloak user has
	// (offline_access, uma_authorization, default-roles-<realm>, and the
	// account client's manage-account, manage-account-links,
	// view-profile). Default: dropped.
	KeepDefaultRoles bool
}

// keycloakRoles are the role claims of a Keycloak token, typed.
type keycloakRoles struct {
	RealmAccess *struct {
		Roles []string `json:"roles"`
	} `json:"realm_access"`
	ResourceAccess map[string]*struct {
		Roles []string `json:"roles"`
	} `json:"resource_access"`
}

// Apply adds realm roles ("role") and client roles ("client:role") to id
// and normalises its groups.
func (k Keycloak) Apply(raw []byte, id *authenticator.Identity) error {
	var kc keycloakRoles
	if err := json.Unmarshal(raw, &kc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &authenticator.ClaimError{Claim: te.Field, Want: wantFor(te), Got: te.Value}
		}
		return &authenticator.ClaimError{Claim: "realm_access/resource_access", Want: "object", Got: "malformed JSON"}
	}
	var roles []string
	if kc.RealmAccess != nil {
		roles = append(roles, kc.RealmAccess.Roles...)
	}
	clients := make([]string, 0, len(kc.ResourceAccess))
	for c := range kc.ResourceAccess {
		clients = append(clients, c)
	}
	slices.Sort(clients)
	for _, c := range clients {
		if ra := kc.ResourceAccess[c]; ra != nil {
			for _, r := range ra.Roles {
				roles = append(roles, c+":"+r)
			}
		}
	}
	if !k.KeepDefaultRoles {
		roles = dropDefaults(roles, k.Realm)
	}
	id.Roles = appendUnique(id.Roles, roles...)
	if !k.KeepGroupSlash {
		for i, g := range id.Groups {
			if t := strings.TrimPrefix(g, "/"); t != "" {
				id.Groups[i] = t
			}
		}
		id.Groups = appendUnique(nil, id.Groups...)
	}
	if k.RolesAsGroups {
		id.Groups = appendUnique(id.Groups, roles...)
	}
	return nil
}

func wantFor(te *json.UnmarshalTypeError) string {
	switch te.Type.Kind().String() {
	case "slice":
		return "array of strings"
	case "string":
		return "string"
	case "struct", "map", "ptr":
		return "object"
	}
	return te.Type.String()
}

func dropDefaults(roles []string, realm string) []string {
	def := map[string]bool{
		"offline_access":                          true,
		"uma_authorization":                       true,
		"default-roles-" + strings.ToLower(realm): true,
		"account:manage-account":                  true,
		"account:manage-account-links":            true,
		"account:view-profile":                    true,
	}
	out := roles[:0:0]
	for _, r := range roles {
		if !def[r] {
			out = append(out, r)
		}
	}
	return out
}
