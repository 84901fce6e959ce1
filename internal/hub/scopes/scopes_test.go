package scopes_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hubkit/hubkit/internal/hub/scopes"
)

func TestParse(t *testing.T) {
	tests := []struct {
		scope        string
		base, filter string
		err          error
	}{
		{scope: "read:users", base: "read:users"},
		{scope: "read:users!user=alice", base: "read:users", filter: "user=alice"},
		{scope: "access:servers!server=alice/", base: "access:servers", filter: "server=alice/"},
		{scope: "access:servers!server=alice/gpu", base: "access:servers", filter: "server=alice/gpu"},
		{scope: "read:users!group=staff", base: "read:users", filter: "group=staff"},
		{scope: "access:services!service=grafana", base: "access:services", filter: "service=grafana"},
		{scope: "users:activity!user", base: "users:activity", filter: "user"},
		{scope: "access:servers!server", base: "access:servers", filter: "server"},
		{scope: "read:services!service", base: "read:services", filter: "service"},
		{scope: "read:users!user=a=b", base: "read:users", filter: "user=a=b"},
		{scope: "self", base: "self"},
		{scope: "inherit", base: "inherit"},
		{scope: "(no_scope)", base: "(no_scope)"},

		{scope: "", err: scopes.ErrUnknownScope},
		{scope: "nope", err: scopes.ErrUnknownScope},
		{scope: "Read:users", err: scopes.ErrUnknownScope},
		{scope: "all", err: scopes.ErrUnknownScope},
		{scope: "identify", err: scopes.ErrUnknownScope},
		{scope: "nope!user=alice", err: scopes.ErrUnknownScope},
		{scope: "!user=alice", err: scopes.ErrUnknownScope},
		{scope: "read:users!", err: scopes.ErrInvalidFilter},
		{scope: "read:users!user=", err: scopes.ErrInvalidFilter},
		{scope: "read:users!group=", err: scopes.ErrInvalidFilter},
		{scope: "read:users!=alice", err: scopes.ErrInvalidFilter},
		{scope: "read:users!users=alice", err: scopes.ErrInvalidFilter},
		{scope: "read:users!group", err: scopes.ErrInvalidFilter},
		{scope: "read:users!bogus", err: scopes.ErrInvalidFilter},
		{scope: "read:users!user=a!b", err: scopes.ErrInvalidFilter},
		{scope: "access:servers!server=alice", err: scopes.ErrInvalidFilter},
		{scope: "access:servers!server=/gpu", err: scopes.ErrInvalidFilter},
		{scope: "self!user=alice", err: scopes.ErrInvalidFilter},
		{scope: "self!user", err: scopes.ErrInvalidFilter},
		{scope: "inherit!user=alice", err: scopes.ErrInvalidFilter},
	}
	for _, tc := range tests {
		t.Run(tc.scope, func(t *testing.T) {
			base, filter, err := scopes.Parse(tc.scope)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Parse(%q) error = %v, want %v", tc.scope, err, tc.err)
				}
				if !strings.HasPrefix(err.Error(), "scopes: ") || !strings.Contains(err.Error(), strconv.Quote(tc.scope)) {
					t.Errorf("error %q does not name the scope with the package prefix", err)
				}
				return
			}
			if err != nil || base != tc.base || filter != tc.filter {
				t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q, nil", tc.scope, base, filter, err, tc.base, tc.filter)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	if err := scopes.Validate([]string{"self", "inherit", "admin:users", "read:users!group=g", "access:servers!server"}); err != nil {
		t.Errorf("Validate of good scopes: %v", err)
	}
	if err := scopes.Validate(nil); err != nil {
		t.Errorf("Validate(nil): %v", err)
	}
	err := scopes.Validate([]string{"read:users", "nope", "read:users!user="})
	if !errors.Is(err, scopes.ErrUnknownScope) || !errors.Is(err, scopes.ErrInvalidFilter) {
		t.Errorf("Validate of two bad scopes = %v, want both conditions", err)
	}
	if err != nil && (!strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), `"read:users!user="`)) {
		t.Errorf("error %q does not name both scopes", err)
	}
}

func mustExpand(t *testing.T, raw []string, o scopes.Owner) scopes.Set {
	t.Helper()
	s, err := scopes.Expand(raw, o)
	if err != nil {
		t.Fatalf("Expand(%q): %v", raw, err)
	}
	return s
}

func TestExpandHierarchy(t *testing.T) {
	alice := scopes.Owner{User: "alice"}
	tests := []struct {
		name string
		raw  []string
		want []string // the exact expansion, when given
		all  []string // held unfiltered
		not  []string // not held at all
	}{
		{
			name: "admin:users",
			raw:  []string{"admin:users"},
			want: []string{
				"admin:auth_state", "admin:users", "delete:users", "list:users",
				"read:roles:users", "read:users", "read:users:activity", "read:users:groups",
				"read:users:name", "users", "users:activity",
			},
		},
		{
			name: "admin:servers",
			raw:  []string{"admin:servers"},
			want: []string{"admin:server_state", "admin:servers", "delete:servers", "read:servers", "read:users:name", "servers"},
		},
		{
			name: "admin:groups",
			raw:  []string{"admin:groups"},
			want: []string{"admin:groups", "delete:groups", "groups", "list:groups", "read:groups", "read:groups:name", "read:roles:groups"},
		},
		{
			name: "read:roles",
			raw:  []string{"read:roles"},
			want: []string{"read:roles", "read:roles:groups", "read:roles:services", "read:roles:users"},
		},
		{
			name: "services",
			raw:  []string{"list:services", "read:services"},
			want: []string{"list:services", "read:services", "read:services:name"},
		},
		{
			name: "tokens",
			raw:  []string{"tokens"},
			want: []string{"read:tokens", "tokens"},
		},
		{
			name: "leaves stay leaves",
			raw:  []string{"access:servers", "read:users:name", "shutdown"},
			want: []string{"access:servers", "read:users:name", "shutdown"},
		},
		{
			name: "filter carried down",
			raw:  []string{"users!user=alice"},
			want: []string{
				"list:users!user=alice", "read:users!user=alice", "read:users:activity!user=alice",
				"read:users:groups!user=alice", "read:users:name!user=alice", "users!user=alice",
				"users:activity!user=alice",
			},
		},
		{
			name: "server filter reads the user's name",
			raw:  []string{"read:servers!server=bob/gpu"},
			want: []string{"read:servers!server=bob/gpu", "read:users:name!server=bob/gpu", "read:users:name!user=bob"},
		},
		{
			name: "server filter without reads",
			raw:  []string{"access:servers!server=bob/"},
			want: []string{"access:servers!server=bob/"},
		},
		{
			name: "unfiltered swallows filtered",
			raw:  []string{"read:users!user=bob", "read:users:name", "read:users!group=g"},
			want: []string{
				"read:users!group=g", "read:users!user=bob", "read:users:activity!group=g",
				"read:users:activity!user=bob", "read:users:groups!group=g", "read:users:groups!user=bob",
				"read:users:name",
			},
		},
		{
			name: "bare filters",
			raw:  []string{"read:users!user", "access:services!service"},
			want: []string{
				"read:users!user=alice", "read:users:activity!user=alice",
				"read:users:groups!user=alice", "read:users:name!user=alice",
			},
		},
		{
			name: "implied scopes only",
			raw:  []string{"users:activity", "read:servers"},
			all:  []string{"read:users:activity", "read:users:name"},
			not:  []string{"users", "read:users", "list:users", "servers", "read:users:groups", "admin:server_state"},
		},
		{
			name: "nothing",
			raw:  nil,
			not:  []string{"self", "read:users:name", "access:servers"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustExpand(t, tc.raw, alice)
			if tc.want != nil && !slices.Equal(s.Strings(), tc.want) {
				t.Errorf("Expand(%q) =\n%q\nwant\n%q", tc.raw, s.Strings(), tc.want)
			}
			for _, b := range tc.all {
				if !s.HasAll(b) {
					t.Errorf("Expand(%q) does not hold %s unfiltered", tc.raw, b)
				}
			}
			for _, b := range tc.not {
				if s.Has(b) {
					t.Errorf("Expand(%q) holds %s", tc.raw, b)
				}
			}
		})
	}
}

func TestRoleScopes(t *testing.T) {
	for _, role := range []string{"user", "admin", "server", "token"} {
		s, ok := scopes.RoleScopes(role)
		if !ok || len(s) == 0 {
			t.Errorf("RoleScopes(%q) = %q, %v", role, s, ok)
		}
		if err := scopes.Validate(s); err != nil {
			t.Errorf("role %s: %v", role, err)
		}
	}
	if s, ok := scopes.RoleScopes("owner"); ok || s != nil {
		t.Errorf("RoleScopes(owner) = %q, %v; want nil, false", s, ok)
	}
	s, _ := scopes.RoleScopes("user")
	s[0] = "admin:users"
	if again, _ := scopes.RoleScopes("user"); !slices.Equal(again, []string{"self"}) {
		t.Errorf("RoleScopes shares its slice: user role is now %q", again)
	}
	if s, _ := scopes.RoleScopes("token"); !slices.Equal(s, []string{"inherit"}) {
		t.Errorf("token role = %q", s)
	}
}

func roleSet(t *testing.T, role string, o scopes.Owner) scopes.Set {
	t.Helper()
	raw, ok := scopes.RoleScopes(role)
	if !ok {
		t.Fatalf("no role %s", role)
	}
	return mustExpand(t, raw, o)
}

var (
	aliceUser    = scopes.Target{User: "alice"}
	aliceDefault = scopes.Target{User: "alice", HasServer: true}
	aliceGPU     = scopes.Target{User: "alice", HasServer: true, Server: "gpu"}
	bobUser      = scopes.Target{User: "bob"}
	bobDefault   = scopes.Target{User: "bob", HasServer: true}
)

func TestRoleAdmin(t *testing.T) {
	s := roleSet(t, "admin", scopes.Owner{User: "root"})
	for _, b := range []string{
		"admin-ui", "admin:users", "admin:auth_state", "users", "delete:users", "list:users",
		"admin:servers", "admin:server_state", "servers", "access:servers", "tokens", "read:tokens",
		"admin:groups", "groups", "list:services", "read:services:name", "read:hub", "proxy",
		"shutdown", "access:services", "read:roles", "read:roles:services", "read:metrics",
	} {
		if !s.HasAll(b) {
			t.Errorf("admin does not hold %s unfiltered", b)
		}
		if !s.Allows(b, bobDefault) {
			t.Errorf("admin may not %s on bob's server", b)
		}
	}
	if s.Has("(no_scope)") {
		t.Error("admin holds (no_scope)")
	}
}

func TestRoleUser(t *testing.T) {
	s := roleSet(t, "user", scopes.Owner{User: "alice"})
	want := []string{
		"access:servers!user=alice", "delete:servers!user=alice", "read:servers!user=alice",
		"read:tokens!user=alice", "read:users!user=alice", "read:users:activity!user=alice",
		"read:users:groups!user=alice", "read:users:name!user=alice", "servers!user=alice",
		"tokens!user=alice", "users:activity!user=alice",
	}
	if got := s.Strings(); !slices.Equal(got, want) {
		t.Fatalf("user role for alice =\n%q\nwant\n%q", got, want)
	}
	for _, str := range want {
		base, _, _ := scopes.Parse(str)
		if s.HasAll(base) {
			t.Errorf("self holds %s unfiltered", base)
		}
		for _, target := range []scopes.Target{aliceUser, aliceDefault, aliceGPU} {
			if !s.Allows(base, target) {
				t.Errorf("self does not allow %s on %+v", base, target)
			}
		}
		for _, target := range []scopes.Target{bobUser, bobDefault, {User: "Alice"}, {Service: "alice"}, {User: "bob", Groups: []string{"alice"}}} {
			if s.Allows(base, target) {
				t.Errorf("alice's self allows %s on %+v", base, target)
			}
		}
	}
	for _, b := range []string{"users", "list:users", "admin:users", "admin:auth_state", "admin:server_state", "admin:servers", "read:hub"} {
		if s.Has(b) {
			t.Errorf("self holds %s", b)
		}
	}
}

func TestRoleServer(t *testing.T) {
	s := roleSet(t, "server", scopes.Owner{User: "alice", HasServer: true})
	want := []string{"access:servers!server=alice/", "read:users:activity!user=alice", "users:activity!user=alice"}
	if got := s.Strings(); !slices.Equal(got, want) {
		t.Fatalf("server role for alice/ = %q, want %q", got, want)
	}
	tests := []struct {
		base   string
		target scopes.Target
		want   bool
	}{
		{"access:servers", aliceDefault, true},
		{"access:servers", aliceGPU, false},
		{"access:servers", aliceUser, false},
		{"access:servers", bobDefault, false},
		{"access:servers", scopes.Target{User: "alice", HasServer: true, Server: "other"}, false},
		{"users:activity", aliceUser, true},
		{"users:activity", aliceGPU, true},
		{"users:activity", bobUser, false},
		{"read:users:activity", aliceUser, true},
		{"admin:users", aliceUser, false},
		{"users", aliceUser, false},
		{"read:users", aliceUser, false},
		{"servers", aliceDefault, false},
	}
	for _, tc := range tests {
		if got := s.Allows(tc.base, tc.target); got != tc.want {
			t.Errorf("server token Allows(%s, %+v) = %v, want %v", tc.base, tc.target, got, tc.want)
		}
	}

	// The same role for a user, not a server: "!server" names nothing.
	u := roleSet(t, "server", scopes.Owner{User: "alice"})
	if u.Has("access:servers") {
		t.Errorf("server role without a server holds access:servers: %q", u.Strings())
	}
}

func TestExpandOwners(t *testing.T) {
	svc := scopes.Owner{Service: "cull"}
	tests := []struct {
		name  string
		raw   []string
		owner scopes.Owner
		want  []string
	}{
		{"self for a service", []string{"self"}, svc, nil},
		{"!user for a service", []string{"users:activity!user"}, svc, nil},
		{"!service", []string{"read:services!service"}, svc, []string{"read:services!service=cull", "read:services:name!service=cull"}},
		{"!service for a user", []string{"read:services!service"}, scopes.Owner{User: "alice"}, nil},
		{"!server on a named server", []string{"access:servers!server"}, scopes.Owner{User: "alice", Server: "gpu", HasServer: true}, []string{"access:servers!server=alice/gpu"}},
		{"!server without a user", []string{"access:servers!server"}, scopes.Owner{Server: "gpu", HasServer: true}, nil},
		{"nobody", []string{"self", "read:users!user", "access:servers!server"}, scopes.Owner{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustExpand(t, tc.raw, tc.owner).Strings(); !slices.Equal(got, tc.want) {
				t.Errorf("Expand(%q, %+v) = %q, want %q", tc.raw, tc.owner, got, tc.want)
			}
		})
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct {
		raw []string
		err error
	}{
		{[]string{"inherit"}, scopes.ErrInherit},
		{[]string{"read:users", "inherit"}, scopes.ErrInherit},
		{[]string{"read:users", "nope"}, scopes.ErrUnknownScope},
		{[]string{"read:users!server=bob"}, scopes.ErrInvalidFilter},
	}
	for _, tc := range tests {
		s, err := scopes.Expand(tc.raw, scopes.Owner{User: "alice"})
		if !errors.Is(err, tc.err) {
			t.Errorf("Expand(%q) error = %v, want %v", tc.raw, err, tc.err)
		}
		if s.Has("read:users") {
			t.Errorf("Expand(%q) failed but returned scopes %q", tc.raw, s.Strings())
		}
	}
}

func TestAllows(t *testing.T) {
	tests := []struct {
		scope  string
		target scopes.Target
		want   bool
	}{
		{"read:users", scopes.Target{}, true},
		{"read:users", bobUser, true},
		{"read:users!user=alice", aliceUser, true},
		{"read:users!user=alice", aliceGPU, true},
		{"read:users!user=alice", bobUser, false},
		{"read:users!user=alice", scopes.Target{User: "Alice"}, false},
		{"read:users!user=alice", scopes.Target{User: "alice "}, false},
		{"read:users!user=alice", scopes.Target{Service: "alice"}, false},
		{"read:users!user=alice", scopes.Target{}, false},
		{"access:servers!server=alice/gpu", aliceGPU, true},
		{"access:servers!server=alice/gpu", aliceUser, false},
		{"access:servers!server=alice/gpu", aliceDefault, false},
		{"access:servers!server=alice/gpu", scopes.Target{User: "bob", HasServer: true, Server: "gpu"}, false},
		{"access:servers!server=alice/gpu", scopes.Target{User: "alice", Server: "gpu"}, false},
		{"access:servers!server=alice/", aliceDefault, true},
		{"access:servers!server=alice/", aliceUser, false},
		{"read:users!group=staff", scopes.Target{User: "bob", Groups: []string{"x", "staff"}}, true},
		{"read:users!group=staff", scopes.Target{User: "bob", Groups: []string{"staffing", "Staff"}}, false},
		{"read:users!group=staff", bobUser, false},
		{"access:servers!group=staff", scopes.Target{User: "bob", HasServer: true, Server: "gpu", Groups: []string{"staff"}}, true},
		{"access:services!service=grafana", scopes.Target{Service: "grafana"}, true},
		{"access:services!service=grafana", scopes.Target{Service: "prometheus"}, false},
		{"access:services!service=grafana", scopes.Target{User: "grafana"}, false},
	}
	for _, tc := range tests {
		s := mustExpand(t, []string{tc.scope}, scopes.Owner{})
		base, _, _ := scopes.Parse(tc.scope)
		if got := s.Allows(base, tc.target); got != tc.want {
			t.Errorf("%s: Allows(%s, %+v) = %v, want %v", tc.scope, base, tc.target, got, tc.want)
		}
	}
	s := mustExpand(t, []string{"admin:users"}, scopes.Owner{})
	if s.Allows("nope", bobUser) || s.Has("nope") || s.HasAll("nope") {
		t.Error("an unknown scope is held")
	}
	var zero scopes.Set
	if zero.Allows("read:users", bobUser) || zero.Has("read:users") || len(zero.Strings()) != 0 {
		t.Error("the zero Set holds something")
	}
}

func TestIntersect(t *testing.T) {
	alice := scopes.Owner{User: "alice"}
	tests := []struct {
		name        string
		a, b        []string
		want        []string
		allowed     map[string][]scopes.Target // base -> targets allowed
		notAllowed  map[string][]scopes.Target // base -> targets refused
		notHeld     []string
		commutative bool
	}{
		{
			name: "unfiltered and user",
			a:    []string{"read:users:name"},
			b:    []string{"read:users:name!user=alice"},
			want: []string{"read:users:name!user=alice"},
		},
		{
			name: "user and server",
			a:    []string{"access:servers!user=alice"},
			b:    []string{"access:servers!server=alice/x"},
			want: []string{"access:servers!server=alice/x"},
		},
		{
			name: "user and another's server",
			a:    []string{"access:servers!user=bob"},
			b:    []string{"access:servers!server=alice/x"},
			want: nil,
		},
		{
			name: "two users",
			a:    []string{"read:users:name!user=alice"},
			b:    []string{"read:users:name!user=bob"},
			want: nil,
		},
		{
			name: "two servers",
			a:    []string{"access:servers!server=alice/x"},
			b:    []string{"access:servers!server=alice/"},
			want: nil,
		},
		{
			name: "same group",
			a:    []string{"read:users:name!group=g"},
			b:    []string{"read:users:name!group=g"},
			want: []string{"read:users:name!group=g"},
		},
		{
			name: "two groups",
			a:    []string{"read:users:name!group=g"},
			b:    []string{"read:users:name!group=h"},
			want: nil,
		},
		{
			name: "group and service",
			a:    []string{"access:services!group=g"},
			b:    []string{"access:services!service=s"},
			want: nil,
		},
		{
			name: "group and user need both",
			a:    []string{"read:users:name!group=g"},
			b:    []string{"read:users:name!user=alice"},
			want: []string{"read:users:name!user=alice!group=g"},
			allowed: map[string][]scopes.Target{
				"read:users:name": {{User: "alice", Groups: []string{"g"}}},
			},
			notAllowed: map[string][]scopes.Target{
				"read:users:name": {aliceUser, {User: "alice", Groups: []string{"h"}}, {User: "bob", Groups: []string{"g"}}},
			},
		},
		{
			name: "group and server need both",
			a:    []string{"access:servers!group=g"},
			b:    []string{"access:servers!server=alice/x"},
			want: []string{"access:servers!server=alice/x!group=g"},
			allowed: map[string][]scopes.Target{
				"access:servers": {{User: "alice", HasServer: true, Server: "x", Groups: []string{"g"}}},
			},
			notAllowed: map[string][]scopes.Target{
				"access:servers": {{User: "alice", HasServer: true, Server: "x"}, {User: "alice", Groups: []string{"g"}}},
			},
		},
		{
			name: "covered compound dropped",
			a:    []string{"access:servers!user=alice", "access:servers!group=g"},
			b:    []string{"access:servers!user=alice"},
			want: []string{"access:servers!user=alice"},
		},
		{
			name: "token narrower than owner",
			a:    []string{"read:users!user=alice", "access:servers!server=alice/gpu"},
			b:    []string{"self"},
			want: []string{
				"access:servers!server=alice/gpu", "read:users!user=alice",
				"read:users:activity!user=alice", "read:users:groups!user=alice", "read:users:name!user=alice",
			},
			notAllowed: map[string][]scopes.Target{
				"access:servers": {aliceDefault},
				"read:tokens":    {aliceUser},
				"servers":        {aliceGPU},
			},
		},
		{
			name:    "token wider than owner",
			a:       []string{"admin:users", "admin:servers", "shutdown"},
			b:       []string{"self"},
			notHeld: []string{"admin:users", "admin:servers", "users", "list:users", "admin:auth_state", "admin:server_state", "shutdown", "tokens"},
			allowed: map[string][]scopes.Target{
				"read:users": {aliceUser},
				"servers":    {aliceGPU},
			},
			notAllowed: map[string][]scopes.Target{
				"admin:users": {aliceUser, bobUser},
				"read:users":  {bobUser},
				"servers":     {bobDefault},
			},
		},
		{
			name: "admin token of an admin",
			a:    []string{"admin:users"},
			b:    []string{"admin:users", "admin:servers"},
			allowed: map[string][]scopes.Target{
				"admin:users":      {bobUser},
				"admin:auth_state": {bobUser},
			},
			notHeld: []string{"admin:servers", "servers"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustExpand(t, tc.a, alice)
			b := mustExpand(t, tc.b, alice)
			got := scopes.Intersect(a, b)
			if tc.want != nil || (tc.allowed == nil && tc.notHeld == nil) {
				if !slices.Equal(got.Strings(), tc.want) {
					t.Errorf("Intersect =\n%q\nwant\n%q", got.Strings(), tc.want)
				}
			}
			if rev := scopes.Intersect(b, a).Strings(); !slices.Equal(rev, got.Strings()) {
				t.Errorf("Intersect is not commutative: %q vs %q", got.Strings(), rev)
			}
			for base, targets := range tc.allowed {
				for _, target := range targets {
					if !got.Allows(base, target) {
						t.Errorf("intersection refuses %s on %+v", base, target)
					}
				}
			}
			for base, targets := range tc.notAllowed {
				for _, target := range targets {
					if got.Allows(base, target) {
						t.Errorf("intersection allows %s on %+v", base, target)
					}
				}
			}
			for _, base := range tc.notHeld {
				if got.Has(base) {
					t.Errorf("intersection holds %s: %q", base, got.Strings())
				}
			}
		})
	}
}

// TestIntersectAllows checks Intersect against its definition on every
// pair of filters and a universe of targets: the intersection allows a
// target only when both sides do, and exactly then, except for the pairs
// no single filter can express (two groups; a group and a service).
func TestIntersectAllows(t *testing.T) {
	filters := []string{
		"", "user=alice", "user=bob", "server=alice/", "server=alice/x", "server=bob/x",
		"group=g", "group=h", "service=s", "service=t",
	}
	var targets []scopes.Target
	for _, user := range []string{"", "alice", "bob"} {
		for _, server := range []struct {
			has  bool
			name string
		}{{false, ""}, {true, ""}, {true, "x"}} {
			for _, groups := range [][]string{nil, {"g"}, {"h"}, {"g", "h"}} {
				targets = append(targets, scopes.Target{User: user, HasServer: server.has, Server: server.name, Groups: groups})
			}
		}
	}
	targets = append(targets, scopes.Target{Service: "s"}, scopes.Target{Service: "t"}, scopes.Target{Service: "s", Groups: []string{"g"}})

	set := func(f string) scopes.Set {
		s := "access:servers"
		if f != "" {
			s += "!" + f
		}
		return mustExpand(t, []string{s}, scopes.Owner{})
	}
	for _, fa := range filters {
		for _, fb := range filters {
			inexact := fa != fb && (strings.HasPrefix(fa, "group=") && (strings.HasPrefix(fb, "group=") || strings.HasPrefix(fb, "service=")) ||
				strings.HasPrefix(fb, "group=") && strings.HasPrefix(fa, "service="))
			a, b := set(fa), set(fb)
			got := scopes.Intersect(a, b)
			for _, target := range targets {
				both := a.Allows("access:servers", target) && b.Allows("access:servers", target)
				allowed := got.Allows("access:servers", target)
				if allowed && !both || !inexact && allowed != both {
					t.Errorf("%q ∩ %q = %q: Allows(%+v) = %v, both sides: %v", fa, fb, got.Strings(), target, allowed, both)
				}
			}
		}
	}
}

func TestFilter(t *testing.T) {
	s := mustExpand(t, []string{
		"list:users!user=bob", "list:users!user=alice", "list:users!group=staff",
		"list:users!server=carol/", "list:users!service=s", "read:hub",
	}, scopes.Owner{})
	all, users, servers, groups := s.Filter("list:users")
	if all || !slices.Equal(users, []string{"alice", "bob"}) || !slices.Equal(servers, []string{"carol/"}) || !slices.Equal(groups, []string{"staff"}) {
		t.Errorf("Filter(list:users) = %v, %q, %q, %q", all, users, servers, groups)
	}
	if all, users, servers, groups := s.Filter("read:hub"); !all || users != nil || servers != nil || groups != nil {
		t.Errorf("Filter(read:hub) = %v, %q, %q, %q; want all", all, users, servers, groups)
	}
	if all, users, servers, groups := s.Filter("list:groups"); all || users != nil || servers != nil || groups != nil {
		t.Errorf("Filter(list:groups), not held = %v, %q, %q, %q", all, users, servers, groups)
	}

	// A user and a group both required: not reported, Allows decides.
	owner := mustExpand(t, []string{"list:users!group=staff", "list:users!user=dave"}, scopes.Owner{})
	token := mustExpand(t, []string{"list:users!user=erin", "list:users!user=dave"}, scopes.Owner{})
	got := scopes.Intersect(token, owner)
	all, users, servers, groups = got.Filter("list:users")
	if all || !slices.Equal(users, []string{"dave"}) || servers != nil || groups != nil {
		t.Errorf("Filter of %q = %v, %q, %q, %q; want dave only", got.Strings(), all, users, servers, groups)
	}
	if !got.Allows("list:users", scopes.Target{User: "erin", Groups: []string{"staff"}}) || got.Allows("list:users", scopes.Target{User: "erin"}) {
		t.Errorf("%q: erin is listable regardless of group staff", got.Strings())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"read:users", "read:users!user=alice", "access:servers!server=alice/", "access:servers!server",
		"read:users!group=g", "access:services!service=s", "self", "inherit", "self!user", "all",
		"read:users!", "read:users!user=", "read:users!user=a!b", "!", "", "users!=", "admin:users!server=/",
	} {
		f.Add(s)
	}
	owner := scopes.Owner{User: "u", HasServer: true, Service: "svc"}
	f.Fuzz(func(t *testing.T, s string) {
		base, filter, err := scopes.Parse(s)
		if verr := scopes.Validate([]string{s}); (verr == nil) != (err == nil) {
			t.Fatalf("Parse(%q) error %v but Validate error %v", s, err, verr)
		}
		if err != nil {
			if !errors.Is(err, scopes.ErrUnknownScope) && !errors.Is(err, scopes.ErrInvalidFilter) {
				t.Fatalf("Parse(%q) error %v wraps no condition", s, err)
			}
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("Parse(%q) error %q does not name the scope", s, err)
			}
			return
		}
		re := base
		if filter != "" {
			re += "!" + filter
		}
		base2, filter2, err := scopes.Parse(re)
		if err != nil || base2 != base || filter2 != filter || re != s {
			t.Fatalf("Parse(%q) = %q, %q; reformatted %q parses as %q, %q, %v", s, base, filter, re, base2, filter2, err)
		}
		set, err := scopes.Expand([]string{s}, owner)
		if (err != nil) != (base == scopes.Inherit) {
			t.Fatalf("Expand(%q): %v", s, err)
		}
		for _, e := range set.Strings() {
			_, ef, err := scopes.Parse(e)
			if err != nil || ef == "user" || ef == "server" || ef == "service" {
				t.Fatalf("Expand(%q) gives %q, which parses as filter %q, %v", s, e, ef, err)
			}
		}
	})
}
