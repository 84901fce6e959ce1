package scopes

import (
	"fmt"
	"slices"
	"strings"
)

// Owner is whom scopes are resolved for: the user or service holding a
// role or owning a token. Expand fills the metascope self and the bare
// filters in from it.
type Owner struct {
	// User is the owning user's name: "!user" becomes user=User, self
	// becomes the user's own scopes. Empty for a service.
	User string
	// Server is the name of the owner's server, "" for the default
	// server, meaningful only with HasServer: "!server" becomes
	// server=User/Server.
	Server string
	// HasServer says the scopes belong to one of User's servers (a
	// server's API token). Without it "!server" resolves to nothing, so
	// that the zero value never stands for the default server.
	HasServer bool
	// Service is the owning service's name: "!service" becomes
	// service=Service. Empty for a user.
	Service string
}

// Target is the resource a request acts on, checked with Set.Allows.
type Target struct {
	// User is the user acted on, or whose server is acted on.
	User string
	// Server is the server's name, "" for the default server; it counts
	// only with HasServer.
	Server string
	// HasServer says the target is User's server named Server, not the
	// user itself.
	HasServer bool
	// Groups are the groups User is a member of, for group= filters.
	Groups []string
	// Service is the service acted on.
	Service string
}

// filter is one restriction on a scope: to a user, a server or a
// service (kind and name) and/or to the members of a group. Parse makes
// filters with either an entity or a group; only Intersect makes the
// ones with both, which allow a target only when both match.
type filter struct {
	kind  string // "user", "server", "service", or "" for a group alone
	name  string // user name, "user/server", or service name
	group string // group name, or "" for no group condition
}

func (f filter) String() string {
	switch {
	case f.kind == "":
		return "group=" + f.group
	case f.group == "":
		return f.kind + "=" + f.name
	}
	return f.kind + "=" + f.name + "!group=" + f.group
}

// allows reports whether f lets a request act on t.
func (f filter) allows(t Target) bool {
	if f.group != "" && !slices.Contains(t.Groups, f.group) {
		return false
	}
	switch f.kind {
	case "user":
		return t.User == f.name
	case "server":
		user, server, _ := strings.Cut(f.name, "/")
		return t.HasServer && t.User == user && t.Server == server
	case "service":
		return t.Service == f.name
	}
	return true // group alone, checked above
}

// meet is the filter allowing exactly what both a and b allow, and false
// when that is nothing or cannot be written as one filter (two different
// groups).
func meet(a, b filter) (filter, bool) {
	var m filter
	switch {
	case a.kind == "":
		m.kind, m.name = b.kind, b.name
	case b.kind == "" || a.kind == b.kind && a.name == b.name:
		m.kind, m.name = a.kind, a.name
	case a.kind == "user" && b.kind == "server" && serverUser(b.name) == a.name:
		m.kind, m.name = b.kind, b.name
	case b.kind == "user" && a.kind == "server" && serverUser(a.name) == b.name:
		m.kind, m.name = a.kind, a.name
	default:
		return filter{}, false
	}
	switch {
	case a.group == "":
		m.group = b.group
	case b.group == "" || b.group == a.group:
		m.group = a.group
	default:
		return filter{}, false
	}
	if m.kind == "service" && m.group != "" {
		return filter{}, false // services are in no group
	}
	return m, true
}

func serverUser(name string) string {
	user, _, _ := strings.Cut(name, "/")
	return user
}

// Set is a set of expanded scopes: for each scope held, either "all"
// (held unfiltered) or the filters it is held with. Every scope implied
// by one held is held too, with the same filters. Make one with Expand
// or Intersect; the zero Set holds nothing. A Set is never changed after
// it is made and is safe for concurrent use.
type Set struct {
	grants map[string]grant
}

// grant is how one scope is held.
type grant struct {
	all     bool
	filters map[filter]struct{} // nil when all
}

// add records base held with f, or unfiltered when all.
func (s *Set) add(base string, f filter, all bool) {
	if s.grants == nil {
		s.grants = make(map[string]grant)
	}
	g := s.grants[base]
	switch {
	case g.all:
	case all:
		g = grant{all: true}
	default:
		if g.filters == nil {
			g.filters = make(map[filter]struct{})
		}
		g.filters[f] = struct{}{}
	}
	s.grants[base] = g
}

// addExpanded records base and every scope below it, with f or
// unfiltered. Like JupyterHub, read access through a server filter also
// gives read:users:name for the server's user.
func (s *Set) addExpanded(base string, f filter, all bool) {
	reads := false
	for _, sub := range implied[base] {
		s.add(sub, f, all)
		reads = reads || strings.HasPrefix(sub, "read:")
	}
	if !all && f.kind == "server" && f.group == "" && reads {
		s.add("read:users:name", filter{kind: "user", name: serverUser(f.name)}, false)
	}
}

// reduce drops the filters with both an entity and a group that another
// filter of the same scope already covers.
func (s *Set) reduce() {
	for _, g := range s.grants {
		for f := range g.filters {
			if f.kind == "" || f.group == "" {
				continue
			}
			for o := range g.filters {
				if m, ok := meet(o, f); o != f && ok && m == f {
					delete(g.filters, f)
					break
				}
			}
		}
	}
}

// Expand resolves scopes for their owner o and applies the hierarchy:
// self becomes the user's own scopes, the bare filters "!user",
// "!server" and "!service" become o's, and every scope brings those
// below it. A metascope or bare filter that o cannot fill (self or
// "!user" for a service, "!server" without o.HasServer) grants nothing,
// as in JupyterHub. Inherit is an error (ErrInherit): a token holding it
// holds its owner's set, which the caller has. Scopes that do not parse
// are an error too; the set is then empty.
func Expand(scopes []string, o Owner) (Set, error) {
	var s Set
	for _, raw := range scopes {
		p, err := parse(raw)
		if err != nil {
			return Set{}, err
		}
		switch {
		case p.base == Inherit:
			return Set{}, fmt.Errorf("%w: %q", ErrInherit, raw)
		case p.base == Self:
			if o.User == "" {
				continue
			}
			for _, base := range selfScopes {
				s.addExpanded(base, filter{kind: "user", name: o.User}, false)
			}
		case p.filter == "":
			s.addExpanded(p.base, filter{}, true)
		case p.bare == "":
			s.addExpanded(p.base, p.f, false)
		case p.bare == "user" && o.User != "":
			s.addExpanded(p.base, filter{kind: "user", name: o.User}, false)
		case p.bare == "server" && o.User != "" && o.HasServer:
			s.addExpanded(p.base, filter{kind: "server", name: o.User + "/" + o.Server}, false)
		case p.bare == "service" && o.Service != "":
			s.addExpanded(p.base, filter{kind: "service", name: o.Service}, false)
		}
	}
	return s, nil
}

// Intersect returns what both a and b allow: JupyterHub's intersection
// of a token's scopes with its owner's. For each scope held by both, an
// unfiltered one yields the other's filters, and each pair of filters
// yields what both allow: user=a and server=a/x give server=a/x, equal
// filters themselves, different users, servers, services or groups
// nothing. A group and a user or server, which only the user's groups
// can decide, give a filter that requires both (written
// "user=a!group=g", which Parse does not accept); a group and a service
// give nothing.
func Intersect(a, b Set) Set {
	var s Set
	for base, ga := range a.grants {
		gb, ok := b.grants[base]
		switch {
		case !ok:
		case ga.all && gb.all:
			s.add(base, filter{}, true)
		case ga.all || gb.all:
			fs := ga.filters
			if ga.all {
				fs = gb.filters
			}
			for f := range fs {
				s.add(base, f, false)
			}
		default:
			for fa := range ga.filters {
				for fb := range gb.filters {
					if m, ok := meet(fa, fb); ok {
						s.add(base, m, false)
					}
				}
			}
		}
	}
	s.reduce()
	return s
}

// Strings returns the expanded scopes, sorted and unique: a scope held
// unfiltered as its bare name ("read:users"), one held with filters once
// per filter ("read:users!user=alice"). A filter made by Intersect that
// needs both a user or server and a group is written
// "read:users!user=alice!group=staff".
func (s Set) Strings() []string {
	var out []string
	for base, g := range s.grants {
		if g.all {
			out = append(out, base)
			continue
		}
		for f := range g.filters {
			out = append(out, base+"!"+f.String())
		}
	}
	slices.Sort(out)
	return out
}

// Has reports whether s holds base at all, filtered or not: whether a
// request needing base may proceed to filter what it returns. An unknown
// base is never held.
func (s Set) Has(base string) bool {
	_, ok := s.grants[base]
	return ok
}

// HasAll reports whether s holds base unfiltered, for every target.
func (s Set) HasAll(base string) bool {
	return s.grants[base].all
}

// Allows reports whether s holds base for target t: unfiltered, or with
// a filter that t matches. user=X matches t.User == X, also for X's
// servers; server=X/Y matches only t.HasServer with t.User == X and
// t.Server == Y; group=G matches when t.Groups contains G; service=S
// matches t.Service == S. Names compare exactly.
func (s Set) Allows(base string, t Target) bool {
	g, ok := s.grants[base]
	if !ok {
		return false
	}
	if g.all {
		return true
	}
	for f := range g.filters {
		if f.allows(t) {
			return true
		}
	}
	return false
}

// Filter says whom base is held for, for listing endpoints: all when it
// is held unfiltered (the lists are then nil), otherwise the users, the
// servers ("user/name", "user/" for a default server) and the groups
// named by its filters, each sorted. A listing shows the users named,
// the members of the groups, and — for listings of servers — the
// servers. Service filters are not reported, nor are the filters that
// need both a user or server and a group: a listing that must show
// those checks each candidate with Allows.
func (s Set) Filter(base string) (all bool, users, servers, groups []string) {
	g := s.grants[base]
	if g.all {
		return true, nil, nil, nil
	}
	for f := range g.filters {
		switch {
		case f.kind == "":
			groups = append(groups, f.group)
		case f.group != "":
		case f.kind == "user":
			users = append(users, f.name)
		case f.kind == "server":
			servers = append(servers, f.name)
		}
	}
	slices.Sort(users)
	slices.Sort(servers)
	slices.Sort(groups)
	return false, users, servers, groups
}
