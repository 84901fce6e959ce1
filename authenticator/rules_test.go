package authenticator_test

import (
	"errors"
	"testing"

	"github.com/hubkit/hubkit/authenticator"
)

func TestRules(t *testing.T) {
	alice := authenticator.Identity{Username: "alice", Groups: []string{"jupyter-users"}, Roles: []string{"akko-engineer"}}
	bob := authenticator.Identity{Username: "bob", Groups: []string{"jupyter-admins"}, Roles: []string{"akko-admin"}}
	eve := authenticator.Identity{Username: "eve", Groups: []string{"others"}, Admin: true} // Admin claimed, never trusted
	tests := []struct {
		name      string
		rules     authenticator.Rules
		id        authenticator.Identity
		wantErr   error
		wantAdmin bool
	}{
		{"zero rules allow nobody", authenticator.Rules{}, alice, authenticator.ErrNotAllowed, false},
		{"allow all", authenticator.Rules{AllowAll: true}, alice, nil, false},
		{"allowed user", authenticator.Rules{AllowedUsers: []string{"alice"}}, alice, nil, false},
		{"not an allowed user", authenticator.Rules{AllowedUsers: []string{"alice"}}, eve, authenticator.ErrNotAllowed, false},
		{"allowed group", authenticator.Rules{AllowedGroups: []string{"jupyter-users"}}, alice, nil, false},
		{"allowed role", authenticator.Rules{AllowedRoles: []string{"akko-engineer"}}, alice, nil, false},
		{"admin user is allowed", authenticator.Rules{AdminUsers: []string{"alice"}}, alice, nil, true},
		{"admin group is allowed", authenticator.Rules{AdminGroups: []string{"jupyter-admins"}}, bob, nil, true},
		{"admin role", authenticator.Rules{AllowAll: true, AdminRoles: []string{"akko-admin"}}, bob, nil, true},
		{"identity's own admin flag is overwritten", authenticator.Rules{AllowAll: true}, eve, nil, false},
		{"blocked beats allow all", authenticator.Rules{AllowAll: true, BlockedUsers: []string{"alice"}}, alice, authenticator.ErrBlocked, false},
		{"blocked beats admin", authenticator.Rules{AdminUsers: []string{"bob"}, BlockedUsers: []string{"bob"}}, bob, authenticator.ErrBlocked, false},
		{"case sensitive", authenticator.Rules{AllowedUsers: []string{"Alice"}}, alice, authenticator.ErrNotAllowed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rules.Apply(tt.id)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && got.Admin != tt.wantAdmin {
				t.Errorf("admin = %v, want %v", got.Admin, tt.wantAdmin)
			}
		})
	}
}
