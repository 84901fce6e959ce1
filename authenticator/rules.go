package authenticator

import (
	"fmt"
	"slices"
)

// Rules decide who may log in and who is an admin, as JupyterHub's and
// OAuthenticator's allow_all, allowed_users, allowed_groups, admin_users,
// admin_groups and blocked_users do, plus allowed and admin roles for
// providers (Keycloak) whose access model is roles.
//
// The zero value allows nobody: a hub must say who may log in (AllowAll, or
// a list), as JupyterHub 5 requires.
//
// # Order
//
// [Rules.Apply] evaluates, in this order:
//
//  1. BlockedUsers: a blocked user is refused ([ErrBlocked]), even an admin.
//  2. Admin: the user is an admin when listed in AdminUsers, or a member of
//     any AdminGroups, or holding any AdminRoles. Otherwise not: the
//     identity's own Admin field is overwritten.
//  3. Allowed: AllowAll, or admin, or listed in AllowedUsers, or a member
//     of any AllowedGroups, or holding any AllowedRoles.
//  4. Anyone else is refused ([ErrNotAllowed]).
//
// Names, groups and roles compare exactly (case-sensitive); Keycloak
// already lowercases usernames.
type Rules struct {
	AllowAll      bool     `json:"allow_all,omitempty"`
	AllowedUsers  []string `json:"allowed_users,omitempty"`
	AllowedGroups []string `json:"allowed_groups,omitempty"`
	AllowedRoles  []string `json:"allowed_roles,omitempty"`
	AdminUsers    []string `json:"admin_users,omitempty"`
	AdminGroups   []string `json:"admin_groups,omitempty"`
	AdminRoles    []string `json:"admin_roles,omitempty"`
	BlockedUsers  []string `json:"blocked_users,omitempty"`
}

// Apply returns id with Admin decided by the rules, or an error wrapping
// [ErrBlocked] or [ErrNotAllowed]. It does no I/O.
func (r Rules) Apply(id Identity) (Identity, error) {
	if slices.Contains(r.BlockedUsers, id.Username) {
		return Identity{}, fmt.Errorf("%w: %q is in blocked_users", ErrBlocked, id.Username)
	}
	id.Admin = slices.Contains(r.AdminUsers, id.Username) || id.InGroup(r.AdminGroups...) || id.HasRole(r.AdminRoles...)
	switch {
	case r.AllowAll, id.Admin, slices.Contains(r.AllowedUsers, id.Username),
		id.InGroup(r.AllowedGroups...), id.HasRole(r.AllowedRoles...):
		return id, nil
	}
	if !r.any() {
		return Identity{}, fmt.Errorf("%w: %q: no rule allows anyone (set AllowAll or list allowed users, groups or roles)", ErrNotAllowed, id.Username)
	}
	return Identity{}, fmt.Errorf("%w: %q is not in allowed users, groups or roles", ErrNotAllowed, id.Username)
}

func (r Rules) any() bool {
	return r.AllowAll || len(r.AllowedUsers)+len(r.AllowedGroups)+len(r.AllowedRoles)+
		len(r.AdminUsers)+len(r.AdminGroups)+len(r.AdminRoles) > 0
}
