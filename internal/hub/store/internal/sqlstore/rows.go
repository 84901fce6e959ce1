package sqlstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// Scanner is one row to scan: *sql.Row, *sql.Rows, pgx.Row, pgx.Rows.
type Scanner interface {
	Scan(dest ...any) error
}

// Codec scans one backend's rows into the store's types. T is the type its
// time columns scan into, S the type its scope lists scan into. Byte
// columns (secret hashes, token prefixes, spawner state, user options)
// scan into []byte, text into string. The zero value is not usable; a
// backend makes one for the package and uses it from any goroutine.
type Codec[T, S any] struct {
	// Backend names the backend in messages ("sqlite").
	Backend string
	// Time converts a time column; NULL is the zero time, others UTC.
	Time func(T) time.Time
	// Scopes converts a scope list; nil for an empty one.
	Scopes func(S) ([]string, error)
}

// ScanUser scans the columns id, name, admin, created, last_activity of a
// user, and returns the row's ID with the user (whose Groups and Servers
// are left to a UserSet).
func (c Codec[T, S]) ScanUser(sc Scanner) (int64, store.User, error) {
	// One allocation for all the destinations, as in ScanServer.
	var r struct {
		id                int64
		u                 store.User
		created, activity T
	}
	err := sc.Scan(&r.id, &r.u.Name, &r.u.Admin, &r.created, &r.activity)
	u := r.u
	u.Created, u.LastActivity = c.Time(r.created), c.Time(r.activity)
	return r.id, u, err
}

// ScanGroup scans the columns id, name, created of a group, and returns
// the row's ID with the group (whose Members are left to a GroupSet).
func (c Codec[T, S]) ScanGroup(sc Scanner) (int64, store.Group, error) {
	var (
		id      int64
		g       store.Group
		created T
	)
	if err := sc.Scan(&id, &g.Name, &created); err != nil {
		return 0, store.Group{}, err
	}
	g.Created = c.Time(created)
	return id, g, nil
}

// ScanServer scans the columns name, state, url, started, last_activity,
// user_options, pending, pending_owner, pending_expires, created of a
// server, preceded by one more column into first when first is not nil.
// The server's User is left to the caller. State must be a JSON object of
// strings; user options are JSON or NULL.
func (c Codec[T, S]) ScanServer(sc Scanner, first any) (store.Server, error) {
	// One allocation for all the destinations, rather than one each: a
	// page of users scans hundreds of servers.
	var r struct {
		srv                                        store.Server
		state, options                             []byte
		pending                                    string
		started, activity, pendingExpires, created T
		dest                                       [11]any
	}
	dest := r.dest[:0]
	if first != nil {
		dest = append(dest, first)
	}
	dest = append(dest, &r.srv.Name, &r.state, &r.srv.URL, &r.started, &r.activity, &r.options, &r.pending,
		&r.srv.PendingOwner, &r.pendingExpires, &r.created)
	if err := sc.Scan(dest...); err != nil {
		return store.Server{}, err
	}
	srv := r.srv
	var err error
	if srv.State, err = decodeState(r.state); err != nil {
		return store.Server{}, fmt.Errorf("%s: server %q: stored state is not a JSON object of strings: %w", c.Backend, srv.Name, err)
	}
	if r.options != nil {
		srv.UserOptions = json.RawMessage(r.options)
	}
	srv.Pending = store.Phase(r.pending)
	srv.Started, srv.LastActivity = c.Time(r.started), c.Time(r.activity)
	srv.PendingExpires, srv.Created = c.Time(r.pendingExpires), c.Time(r.created)
	return srv, nil
}

// ScanToken scans the columns id, prefix, hash, owner user (or ""), owner
// service (or ""), client_id (or ""), scopes, note, created, expires,
// last_activity of an API token.
func (c Codec[T, S]) ScanToken(sc Scanner) (store.Token, error) {
	var (
		t                          store.Token
		prefix                     []byte
		scopes                     S
		created, expires, activity T
	)
	err := sc.Scan(&t.ID, &prefix, &t.Hash, &t.Owner.User, &t.Owner.Service, &t.ClientID,
		&scopes, &t.Note, &created, &expires, &activity)
	if err != nil {
		return store.Token{}, err
	}
	t.Prefix = string(prefix)
	t.Scopes, err = c.Scopes(scopes)
	t.Created, t.Expires, t.LastActivity = c.Time(created), c.Time(expires), c.Time(activity)
	return t, err
}

// ScanOAuthClient scans the columns id, secret_hash, redirect_uri,
// description, owner user (or ""), owner service (or ""), scopes, created
// of an OAuth client.
func (c Codec[T, S]) ScanOAuthClient(sc Scanner) (store.OAuthClient, error) {
	var (
		cl      store.OAuthClient
		scopes  S
		created T
	)
	err := sc.Scan(&cl.ID, &cl.SecretHash, &cl.RedirectURI, &cl.Description, &cl.Owner.User, &cl.Owner.Service, &scopes, &created)
	if err != nil {
		return store.OAuthClient{}, err
	}
	cl.Created = c.Time(created)
	cl.Scopes, err = c.Scopes(scopes)
	return cl, err
}

// ScanOAuthCode scans the columns client_id, user name, redirect_uri,
// code_challenge, code_challenge_method, scopes, created, expires of an
// authorization code.
func (c Codec[T, S]) ScanOAuthCode(sc Scanner) (store.OAuthCode, error) {
	var (
		code             store.OAuthCode
		scopes           S
		created, expires T
	)
	err := sc.Scan(&code.ClientID, &code.User, &code.RedirectURI, &code.CodeChallenge, &code.CodeChallengeMethod,
		&scopes, &created, &expires)
	if err != nil {
		return store.OAuthCode{}, err
	}
	code.Created, code.Expires = c.Time(created), c.Time(expires)
	code.Scopes, err = c.Scopes(scopes)
	return code, err
}

// UserSet assembles users with their groups and servers from rows keyed by
// the users' row IDs: first the users, in the order to return them, then
// their group and server rows, in any number of queries, each user's rows
// sorted by group or server name. The zero value is an empty set. It is
// not safe for concurrent use.
type UserSet struct{ rows byID[store.User] }

// Add appends the user whose row ID is id.
func (s *UserSet) Add(id int64, u store.User) { s.rows.add(id, u) }

// AddGroup appends group to the groups of user id.
func (s *UserSet) AddGroup(id int64, group string) {
	u := s.rows.get(id)
	u.Groups = append(u.Groups, group)
}

// AddServer appends srv, with its User set, to the servers of user id.
func (s *UserSet) AddServer(id int64, srv store.Server) {
	u := s.rows.get(id)
	srv.User = u.Name
	u.Servers = append(u.Servers, srv)
}

// IDs returns the users' row IDs in the order they were added (the set's
// own slice: do not change it).
func (s *UserSet) IDs() []int64 { return s.rows.ids }

// Users returns the users in the order they were added; nil when none
// was.
func (s *UserSet) Users() []store.User { return s.rows.items }

// GroupSet assembles groups with their members from rows keyed by the
// groups' row IDs: first the groups, in the order to return them, then
// the membership rows, sorted by user name. The zero value is an empty
// set. It is not safe for concurrent use.
type GroupSet struct{ rows byID[store.Group] }

// Add appends the group whose row ID is id.
func (s *GroupSet) Add(id int64, g store.Group) { s.rows.add(id, g) }

// AddMember appends user to the members of group id.
func (s *GroupSet) AddMember(id int64, user string) {
	g := s.rows.get(id)
	g.Members = append(g.Members, user)
}

// Groups returns the groups in the order they were added; nil when none
// was.
func (s *GroupSet) Groups() []store.Group { return s.rows.items }

// byID is a list of items with the row ID of each.
type byID[T any] struct {
	items []T
	ids   []int64
	index map[int64]int
}

func (b *byID[T]) add(id int64, item T) {
	if b.index == nil {
		b.index = map[int64]int{}
	}
	b.index[id] = len(b.items)
	b.ids = append(b.ids, id)
	b.items = append(b.items, item)
}

// get returns the item of row id, to change in place.
func (b *byID[T]) get(id int64) *T { return &b.items[b.index[id]] }
