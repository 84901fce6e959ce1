package claims

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/hubkit/hubkit/authenticator"
)

var keycloakMapping = Mapping{Username: "preferred_username", Email: "email", Groups: []string{"groups"}}

func TestIdentity(t *testing.T) {
	tests := []struct {
		name    string
		claims  string
		m       Mapping
		want    authenticator.Identity
		wantErr *authenticator.ClaimError
	}{
		{
			name:   "keycloak",
			claims: `{"sub":"1","preferred_username":"alice","email":"a@x","groups":["/jupyter-users","/org/team"]}`,
			m:      keycloakMapping,
			want:   authenticator.Identity{Username: "alice", Email: "a@x", Groups: []string{"/jupyter-users", "/org/team"}},
		},
		{
			name:   "dotted and namespaced paths",
			claims: `{"sub":"1","u":"bob","https://example.com/groups":["g1"],"realm_access":{"roles":["r1","r1","r2"]}}`,
			m:      Mapping{Username: "u", Groups: []string{"https://example.com/groups"}, Roles: []string{"realm_access.roles"}},
			want:   authenticator.Identity{Username: "bob", Groups: []string{"g1"}, Roles: []string{"r1", "r2"}},
		},
		{
			name:   "null and missing optional claims",
			claims: `{"preferred_username":"carol","email":null,"groups":null}`,
			m:      keycloakMapping,
			want:   authenticator.Identity{Username: "carol"},
		},
		{name: "groups as a string", claims: `{"preferred_username":"m","groups":"jupyter-users"}`, m: keycloakMapping,
			wantErr: &authenticator.ClaimError{Claim: "groups", Want: "array of strings", Got: "string"}},
		{name: "groups with a number", claims: `{"preferred_username":"m","groups":["a",1]}`, m: keycloakMapping,
			wantErr: &authenticator.ClaimError{Claim: "groups", Want: "array of strings", Got: "array containing number"}},
		{name: "groups as an object", claims: `{"preferred_username":"m","groups":{"a":1}}`, m: keycloakMapping,
			wantErr: &authenticator.ClaimError{Claim: "groups", Want: "array of strings", Got: "object"}},
		{name: "username missing", claims: `{"sub":"1"}`, m: keycloakMapping,
			wantErr: &authenticator.ClaimError{Claim: "preferred_username", Want: "non-empty string (the username claim)", Got: "missing"}},
		{name: "username empty", claims: `{"preferred_username":""}`, m: keycloakMapping,
			wantErr: &authenticator.ClaimError{Claim: "preferred_username", Want: "non-empty string (the username claim)", Got: "empty string"}},
		{name: "username a number", claims: `{"preferred_username":42}`, m: keycloakMapping,
			wantErr: &authenticator.ClaimError{Claim: "preferred_username", Want: "string", Got: "number"}},
		{name: "email a bool", claims: `{"preferred_username":"x","email":true}`, m: keycloakMapping,
			wantErr: &authenticator.ClaimError{Claim: "email", Want: "string", Got: "boolean"}},
		{name: "path through a string", claims: `{"u":"x","realm_access":"admin"}`, m: Mapping{Username: "u", Roles: []string{"realm_access.roles"}},
			wantErr: &authenticator.ClaimError{Claim: "realm_access", Want: "object", Got: "string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.Identity([]byte(tt.claims))
			if tt.wantErr != nil {
				var ce *authenticator.ClaimError
				if !errors.As(err, &ce) || *ce != *tt.wantErr {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Username != tt.want.Username || got.Email != tt.want.Email || !slices.Equal(got.Groups, tt.want.Groups) || !slices.Equal(got.Roles, tt.want.Roles) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestKeycloak(t *testing.T) {
	raw := []byte(`{
		"preferred_username": "alice",
		"groups": ["/jupyter-users", "/org/team", "plain"],
		"realm_access": {"roles": ["offline_access", "uma_authorization", "default-roles-demo", "akko-admin"]},
		"resource_access": {
			"jupyterhub": {"roles": ["user"]},
			"account": {"roles": ["manage-account", "manage-account-links", "view-profile"]},
			"trino": {"roles": ["reader"]}
		}
	}`)
	tests := []struct {
		name       string
		k          Keycloak
		wantGroups []string
		wantRoles  []string
	}{
		{"defaults", Keycloak{Realm: "Demo"},
			[]string{"jupyter-users", "org/team", "plain"}, []string{"akko-admin", "jupyterhub:user", "trino:reader"}},
		{"keep slash", Keycloak{Realm: "demo", KeepGroupSlash: true},
			[]string{"/jupyter-users", "/org/team", "plain"}, []string{"akko-admin", "jupyterhub:user", "trino:reader"}},
		{"roles as groups", Keycloak{Realm: "demo", RolesAsGroups: true},
			[]string{"jupyter-users", "org/team", "plain", "akko-admin", "jupyterhub:user", "trino:reader"}, []string{"akko-admin", "jupyterhub:user", "trino:reader"}},
		{"keep default roles", Keycloak{Realm: "demo", KeepDefaultRoles: true},
			[]string{"jupyter-users", "org/team", "plain"},
			[]string{"offline_access", "uma_authorization", "default-roles-demo", "akko-admin", "account:manage-account", "account:manage-account-links", "account:view-profile", "jupyterhub:user", "trino:reader"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := keycloakMapping.Identity(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.k.Apply(raw, &id); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(id.Groups, tt.wantGroups) || !slices.Equal(id.Roles, tt.wantRoles) {
				t.Errorf("groups %q roles %q, want %q %q", id.Groups, id.Roles, tt.wantGroups, tt.wantRoles)
			}
		})
	}
}

func TestKeycloakWrongTypes(t *testing.T) {
	for _, raw := range []string{
		`{"realm_access":"admin"}`,
		`{"realm_access":{"roles":"admin"}}`,
		`{"realm_access":{"roles":[1,2]}}`,
		`{"resource_access":["x"]}`,
		`{"resource_access":{"jupyterhub":{"roles":{"a":"b"}}}}`,
		`{"resource_access":{"jupyterhub":"admin"}}`,
	} {
		var id authenticator.Identity
		err := Keycloak{Realm: "demo"}.Apply([]byte(raw), &id)
		var ce *authenticator.ClaimError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a ClaimError", raw, err)
		} else {
			t.Logf("%s: %v", raw, err)
		}
	}
}

func TestMerge(t *testing.T) {
	out, err := Merge([]byte(`{"sub":"1","iss":"a","groups":["x"],"name":"A"}`), []byte(`{"sub":"2","iss":"evil","groups":["y"],"email":"e"}`))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	if m["sub"] != "1" || m["iss"] != "a" || m["email"] != "e" || m["name"] != "A" {
		t.Errorf("merged = %s", out)
	}
	if g, _ := m["groups"].([]any); len(g) != 1 || g[0] != "y" {
		t.Errorf("userinfo groups did not win: %s", out)
	}
}

// FuzzIdentity: arbitrary claims never panic; an identity comes out only
// with a non-empty username, and any error about a claim is a ClaimError
// or a JSON error.
func FuzzIdentity(f *testing.F) {
	for _, s := range []string{
		`{"preferred_username":"alice","email":"a@x","groups":["/g"],"realm_access":{"roles":["r"]},"resource_access":{"c":{"roles":["x"]}}}`,
		`{"preferred_username":1,"groups":"g"}`,
		`{"groups":[null,{"a":[]}],"realm_access":{"roles":null}}`,
		`[]`, `null`, `"x"`, `{}`, `{"resource_access":{"c":null}}`,
	} {
		f.Add([]byte(s))
	}
	m := Mapping{Username: "preferred_username", Email: "email", Groups: []string{"groups"}, Roles: []string{"realm_access.roles", "a.b.c"}}
	kc := Keycloak{Realm: "demo", RolesAsGroups: true}
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, err := m.Identity(raw)
		if err == nil && id.Username == "" {
			t.Fatal("identity without a username")
		}
		var id2 authenticator.Identity
		_ = kc.Apply(raw, &id2)
		c, err := Parse(raw)
		if err == nil {
			_, _, _ = c.String("x.y")
			_, _ = c.Strings("groups")
		}
	})
}
