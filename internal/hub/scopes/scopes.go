package scopes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Conditions reported by Parse, Validate and Expand. Test for them with
// errors.Is; the errors returned wrap these and name the scope.
var (
	// ErrUnknownScope: the part before "!" is not a scope in the table
	// (see the package documentation), or the scope is empty.
	ErrUnknownScope = errors.New("scopes: unknown scope")

	// ErrInvalidFilter: the part after "!" is not one of user=NAME,
	// server=USER/NAME, group=NAME, service=NAME or the bare user, server
	// and service; or a name is empty or contains "!"; or a metascope
	// (self, inherit) has a filter.
	ErrInvalidFilter = errors.New("scopes: invalid filter")

	// ErrInherit: Expand was given the inherit metascope, which only the
	// caller can resolve (a token with it holds its owner's expanded
	// scopes, nothing to intersect).
	ErrInherit = errors.New("scopes: inherit must be resolved by the caller")
)

// The metascopes, which stand for other scopes.
const (
	// Self is all of a user's own user scopes: the user role's one scope.
	// It takes no filter, and means nothing for an owner that is not a
	// user.
	Self = "self"
	// Inherit is everything the owner of a token holds: the token role's
	// one scope. It takes no filter.
	Inherit = "inherit"
)

// subscopes is JupyterHub 3/4's scope_definitions: each scope and the
// scopes it directly implies. The package documentation shows it as a
// tree; keep the two in step.
var subscopes = map[string][]string{
	"(no_scope)": nil,
	"admin-ui":   nil,

	"admin:users":         {"admin:auth_state", "users", "read:roles:users", "delete:users"},
	"admin:auth_state":    nil,
	"users":               {"read:users", "list:users", "users:activity"},
	"delete:users":        nil,
	"list:users":          {"read:users:name"},
	"read:users":          {"read:users:name", "read:users:groups", "read:users:activity"},
	"read:users:name":     nil,
	"read:users:groups":   nil,
	"read:users:activity": nil,
	"users:activity":      {"read:users:activity"},

	"read:roles":          {"read:roles:users", "read:roles:services", "read:roles:groups"},
	"read:roles:users":    nil,
	"read:roles:services": nil,
	"read:roles:groups":   nil,

	"admin:servers":      {"admin:server_state", "servers"},
	"admin:server_state": nil,
	"servers":            {"read:servers", "delete:servers"},
	"read:servers":       {"read:users:name"},
	"delete:servers":     nil,

	"tokens":      {"read:tokens"},
	"read:tokens": nil,

	"admin:groups":     {"groups", "read:roles:groups", "delete:groups"},
	"groups":           {"read:groups", "list:groups"},
	"list:groups":      {"read:groups:name"},
	"read:groups":      {"read:groups:name"},
	"read:groups:name": nil,
	"delete:groups":    nil,

	"list:services":      {"read:services:name"},
	"read:services":      {"read:services:name"},
	"read:services:name": nil,

	"read:hub":        nil,
	"access:servers":  nil,
	"access:services": nil,
	"proxy":           nil,
	"shutdown":        nil,
	"read:metrics":    nil,
}

// implied maps each scope to itself and every scope below it, sorted.
var implied = func() map[string][]string {
	m := make(map[string][]string, len(subscopes))
	for base := range subscopes {
		var all []string
		var walk func(string)
		walk = func(s string) {
			if slices.Contains(all, s) {
				return
			}
			all = append(all, s)
			for _, sub := range subscopes[s] {
				walk(sub)
			}
		}
		walk(base)
		slices.Sort(all)
		m[base] = all
	}
	return m
}()

// selfScopes are the scopes Self stands for, each filtered to the user
// (JupyterHub's _expand_self_scope). They include neither users (writing
// the user model) nor admin:server_state nor admin:auth_state.
var selfScopes = []string{
	"read:users", "read:users:name", "read:users:groups",
	"users:activity", "read:users:activity",
	"servers", "delete:servers", "read:servers",
	"tokens", "read:tokens",
	"access:servers",
}

// roles are JupyterHub's default roles.
var roles = map[string][]string{
	"user": {Self},
	"admin": {
		"admin-ui", "admin:users", "admin:servers", "tokens", "admin:groups",
		"list:services", "read:services", "read:hub", "proxy", "shutdown",
		"access:services", "access:servers", "read:roles", "read:metrics",
	},
	"server": {"users:activity!user", "access:servers!server"},
	"token":  {Inherit},
}

// RoleScopes returns the scopes of one of JupyterHub's default roles —
// user, admin, server, token — and whether role is one of them. The
// slice is a fresh copy. Scopes with a bare filter ("!user", "!server")
// and the metascopes are resolved by Expand for the role's holder.
func RoleScopes(role string) ([]string, bool) {
	s, ok := roles[role]
	return slices.Clone(s), ok
}

// Parse splits a scope into its base and its filter (without the "!"),
// and checks both: the base must be a known scope or a metascope, the
// filter empty or one of user=NAME, server=USER/NAME (NAME empty for the
// default server), group=NAME, service=NAME, or the bare user, server
// or service that Expand fills in for the owner. Names must be non-empty
// and must not contain "!". The error wraps ErrUnknownScope or
// ErrInvalidFilter and names the scope.
func Parse(s string) (base, filter string, err error) {
	p, err := parse(s)
	return p.base, p.filter, err
}

// Validate checks that every scope is well formed and known, as Parse
// does; the metascopes self and inherit are allowed. The error joins one
// error per bad scope.
func Validate(scopes []string) error {
	var errs []error
	for _, s := range scopes {
		if _, err := parse(s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parsed is a scope taken apart.
type parsed struct {
	base   string
	filter string // as written, without "!"
	bare   string // "user", "server" or "service": the owner's, set by Expand
	f      filter // the filter when it names someone; zero otherwise
}

func parse(s string) (parsed, error) {
	base, fs, hasFilter := strings.Cut(s, "!")
	p := parsed{base: base, filter: fs}
	switch _, known := subscopes[base]; {
	case base == Self || base == Inherit:
		if hasFilter {
			return parsed{}, fmt.Errorf("%w in %q: the metascope %s takes no filter", ErrInvalidFilter, s, base)
		}
		return p, nil
	case base == "all":
		return parsed{}, fmt.Errorf("%w %q (JupyterHub's draft scope all is called inherit)", ErrUnknownScope, s)
	case !known:
		return parsed{}, fmt.Errorf("%w %q", ErrUnknownScope, s)
	case !hasFilter:
		return p, nil
	}
	kind, name, hasName := strings.Cut(fs, "=")
	if !hasName {
		switch kind {
		case "user", "server", "service":
			p.bare = kind
			return p, nil
		case "":
			return parsed{}, fmt.Errorf("%w in %q: empty filter", ErrInvalidFilter, s)
		}
		return parsed{}, fmt.Errorf("%w in %q: want user=, server=, group=, service=, or a bare user, server or service", ErrInvalidFilter, s)
	}
	switch {
	case kind != "user" && kind != "server" && kind != "group" && kind != "service":
		return parsed{}, fmt.Errorf("%w in %q: unknown kind %q", ErrInvalidFilter, s, kind)
	case name == "":
		return parsed{}, fmt.Errorf("%w in %q: empty name", ErrInvalidFilter, s)
	case strings.Contains(name, "!"):
		return parsed{}, fmt.Errorf("%w in %q: a name may not contain \"!\"", ErrInvalidFilter, s)
	}
	switch kind {
	case "group":
		p.f = filter{group: name}
	case "server":
		if user, _, ok := strings.Cut(name, "/"); !ok || user == "" {
			return parsed{}, fmt.Errorf("%w in %q: want server=USER/NAME", ErrInvalidFilter, s)
		}
		fallthrough
	default:
		p.f = filter{kind: kind, name: name}
	}
	return p, nil
}
