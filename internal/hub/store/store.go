package store

import (
	"context"
	"time"
)

// Store is the hub's state: users, groups, servers, API tokens, OAuth
// clients and codes, and last-activity times; and what hub replicas share
// to work as one: leases that elect one of them for periodic work, and
// values with an expiry (sealed login state, single-use OAuth states). It
// is the union of the small interfaces below, each of which a hub
// component can depend on alone.
//
// Contract for every method of every part:
//   - It blocks until the backend has answered or ctx ends; a write that
//     returned nil is durable and visible to every later call on any Store
//     over the same database (a hub replica included).
//   - It is safe for concurrent use by many goroutines, and by many Store
//     values (processes, replicas) over the same database.
//   - Input is validated before any I/O with the Validate… functions of
//     this package; invalid input is ErrInvalid and nothing is written.
//   - A failed write changes nothing (each method is one transaction).
//   - Errors match ErrNotFound, ErrConflict, ErrInvalid, ErrExpired,
//     ErrUnavailable or ctx's error with errors.Is, never a backend's own
//     error types; messages begin with "store: " or the backend's name.
//   - Values returned are the caller's: slices and maps are fresh copies,
//     and values passed in are not retained.
//   - Times follow the rule written on User (UTC, microseconds, zero is
//     never).
//   - Names, lease names and value keys compare and sort bytewise (Go
//     string order; COLLATE "C" in PostgreSQL), case-sensitively.
type Store interface {
	Users
	AuthStates
	Groups
	Servers
	Tokens
	OAuth
	ActivityWriter
	Purger
	Leases
	Values

	// Ping checks that the backend answers, for readiness probes.
	Ping(ctx context.Context) error
}

// Users is the user part of a Store.
type Users interface {
	// CreateUser stores a new user with u's Name, Admin and Groups
	// (creating missing groups); Created is the store's clock when zero.
	// LastActivity and Servers are ignored. It returns the stored user,
	// or ErrConflict when the name is taken. Not idempotent.
	CreateUser(ctx context.Context, u User) (User, error)

	// GetUser returns the user with their groups and servers, or
	// ErrNotFound.
	GetUser(ctx context.Context, name string) (User, error)

	// UpdateUser applies upd atomically and returns the user as it is
	// afterwards. ErrNotFound when the user does not exist, ErrConflict
	// when a rename's name is taken. An empty update is a read.
	UpdateUser(ctx context.Context, name string, upd UserUpdate) (User, error)

	// DeleteUser removes the user with their group memberships, servers
	// (whatever their state: stop them first), tokens, OAuth clients and
	// codes. ErrNotFound when there is no such user.
	DeleteUser(ctx context.Context, name string) error

	// ListUsers returns the users that q selects, ordered by name, with
	// their groups and servers, from one consistent snapshot.
	ListUsers(ctx context.Context, q UserQuery) ([]User, error)

	// CountUsers returns how many users q selects, ignoring q.Offset and
	// q.Limit: the total of a paginated listing.
	CountUsers(ctx context.Context, q UserQuery) (int, error)

	// ListUsersPage returns what ListUsers and CountUsers return for q,
	// the page and the total of a paginated listing, from one consistent
	// snapshot.
	ListUsersPage(ctx context.Context, q UserQuery) ([]User, int, error)
}

// AuthStates keeps each user's auth state: the authenticator's tokens,
// already encrypted by the caller. The store treats it as opaque bytes and
// never returns it from GetUser or ListUsers.
type AuthStates interface {
	// AuthState returns the user's auth state; nil when none was set.
	// ErrNotFound when there is no such user.
	AuthState(ctx context.Context, user string) ([]byte, error)

	// SetAuthState replaces the user's auth state; nil or empty clears
	// it. Idempotent. ErrNotFound when there is no such user.
	SetAuthState(ctx context.Context, user string, state []byte) error
}

// Groups is the group part of a Store. Users join groups through
// CreateUser/UpdateUser (replace) and UpdateGroup (add, remove).
type Groups interface {
	// CreateGroup creates an empty group, or returns ErrConflict when
	// it exists.
	CreateGroup(ctx context.Context, name string) (Group, error)

	// GetGroup returns the group with its members, or ErrNotFound.
	GetGroup(ctx context.Context, name string) (Group, error)

	// ListGroups returns all groups with their members, ordered by name.
	ListGroups(ctx context.Context) ([]Group, error)

	// UpdateGroup adds and removes members atomically and returns the
	// group afterwards. ErrNotFound when the group or one of the users
	// does not exist (and then nothing changes).
	UpdateGroup(ctx context.Context, name string, upd GroupUpdate) (Group, error)

	// DeleteGroup removes the group and its memberships (not its
	// users). ErrNotFound when there is no such group.
	DeleteGroup(ctx context.Context, name string) error
}

// Servers is the server part of a Store. A server's pending operation is
// changed only through ClaimServer and FinishServer, which make it safe
// for several hub replicas to act on the same server: of two claims made at
// the same moment, exactly one succeeds.
type Servers interface {
	// GetServer returns the user's server, or ErrNotFound (for the user
	// or the server).
	GetServer(ctx context.Context, user, server string) (Server, error)

	// ListServers returns the servers q selects, ordered by user name
	// and server name; a user that does not exist has none. With q.Active
	// it is the start-up query: it reads only active servers, however
	// many users there are.
	ListServers(ctx context.Context, q ServerQuery) ([]Server, error)

	// ClaimServer atomically marks an operation as pending on the server,
	// owned by c.Owner, and returns the server as it is afterwards. It
	// succeeds when:
	//   - nothing is pending, or
	//   - the pending claim has the same Owner and Phase (a renewal: its
	//     Expires is updated; idempotent), or
	//   - the pending claim has expired (its Expires is not zero and not
	//     after the store's clock): a takeover from a dead replica;
	// and, for PhaseSpawn, the server is not running. A PhaseSpawn claim
	// creates the server when it does not exist yet (the user must);
	// other phases need an existing server. Otherwise it returns a
	// *ClaimError (ErrConflict) describing the claim that is held or the
	// running server, ErrNotFound, or ErrInvalid.
	ClaimServer(ctx context.Context, user, server string, c Claim) (Server, error)

	// FinishServer ends the pending operation that owner claimed for
	// phase, applies out (running at out.URL, or stopped) and returns the
	// server afterwards. When the server is not pending phase under
	// owner — the claim expired and another owner took it over, or it
	// was never made — it returns a *ClaimError and changes nothing: the
	// caller has lost the server and must not act as its owner.
	FinishServer(ctx context.Context, user, server, owner string, phase Phase, out Outcome) (Server, error)

	// DeleteServer removes the server and its state (the hub's "remove
	// named server"). ErrNotFound when it does not exist, ErrConflict
	// when it is active (running or pending): stop it first.
	DeleteServer(ctx context.Context, user, server string) error
}

// Tokens is the API token part of a Store. Secrets go in and are
// hashed; they never come out.
type Tokens interface {
	// CreateToken stores a token for secret with t's Owner, Scopes,
	// ClientID, Note and Expires, and returns it with ID, Prefix, Hash
	// and Created set. The secret must pass ValidateSecret (make it with
	// NewSecret). ErrNotFound when the owner user or the client does not
	// exist, ErrConflict when a token with the same secret exists.
	CreateToken(ctx context.Context, secret string, t Token) (Token, error)

	// LookupToken returns the token whose secret this is: ErrNotFound when
	// none is (also for an invalid secret), ErrExpired when it has
	// expired by the store's clock (it is not deleted; see Purger). The
	// comparison is by hash, in constant time. It does not record
	// activity.
	LookupToken(ctx context.Context, secret string) (Token, error)

	// LookupTokenUser returns what LookupToken returns for secret, with
	// the same errors, and, when the token's owner is a user, that user
	// as GetUser returns them, from one consistent snapshot: what
	// authenticating a request by token needs. User is the zero value
	// when the owner is a service. It does not record activity.
	LookupTokenUser(ctx context.Context, secret string) (Token, User, error)

	// ListTokens returns the tokens q selects, expired ones included,
	// ordered by ID.
	ListTokens(ctx context.Context, q TokenQuery) ([]Token, error)

	// DeleteToken removes the token. ErrNotFound when there is none.
	DeleteToken(ctx context.Context, id int64) error
}

// OAuth is the OAuth 2 provider part of a Store: clients and
// authorization codes.
type OAuth interface {
	// PutOAuthClient creates or replaces the client c.ID with secret
	// (hashed), c's RedirectURI, Description, Owner and Scopes, keeping
	// Created of an existing one, and returns it. The hub calls it at
	// every spawn with the server's new secret. Idempotent. ErrNotFound
	// when the owner user does not exist.
	PutOAuthClient(ctx context.Context, c OAuthClient, secret string) (OAuthClient, error)

	// GetOAuthClient returns the client, or ErrNotFound.
	GetOAuthClient(ctx context.Context, id string) (OAuthClient, error)

	// DeleteOAuthClient removes the client with its codes and the tokens
	// it issued. ErrNotFound when there is none.
	DeleteOAuthClient(ctx context.Context, id string) error

	// CreateOAuthCode stores an authorization code (hashed) for c.
	// ErrNotFound when the client or user does not exist, ErrConflict
	// when the code exists.
	CreateOAuthCode(ctx context.Context, code string, c OAuthCode) (OAuthCode, error)

	// ConsumeOAuthCode atomically removes the code and returns it: of
	// any number of concurrent calls with one code, at most one gets it.
	// ErrNotFound when there is no such code or it was issued to another
	// client (the code is removed all the same), ErrExpired when it has
	// expired (removed as well).
	ConsumeOAuthCode(ctx context.Context, code, clientID string) (OAuthCode, error)
}

// ActivityWriter applies last-activity observations. The hub calls it
// through an ActivityBatcher, never on the request path.
type ActivityWriter interface {
	// RecordActivity applies all of acts in one transaction: each user's,
	// server's and token's LastActivity becomes the later of its stored
	// value and the activity's Time (an ActivityServer raises the user's
	// too). Activities for users, servers or tokens that do not exist,
	// and activities with a zero Time, are skipped without error; an
	// invalid one (see ValidateActivity) fails the whole call with
	// ErrInvalid. Idempotent.
	RecordActivity(ctx context.Context, acts []Activity) error
}

// ActivityWriterFunc adapts a function to ActivityWriter.
type ActivityWriterFunc func(ctx context.Context, acts []Activity) error

// RecordActivity calls f.
func (f ActivityWriterFunc) RecordActivity(ctx context.Context, acts []Activity) error {
	return f(ctx, acts)
}

// Purger removes what has expired. A hub runs it periodically (on one
// replica at a time when there are several, though running it on two is
// harmless).
type Purger interface {
	// PurgeExpired deletes tokens, authorization codes, values and
	// used-once keys (see Values) whose expiry is not after the store's
	// clock, and returns how many it deleted. Leases are left alone: there
	// is one per name, and an expired one is taken over in place.
	// Idempotent.
	PurgeExpired(ctx context.Context) (int, error)
}

// Leases elects one hub replica for periodic work (the idle culler,
// PurgeExpired): a named lease is held by one owner (a replica's ID) until
// it expires by the store's clock. The holder renews it well before then,
// and works only while it holds it; another replica takes it over when the
// holder stopped renewing (it died, or lost the database).
type Leases interface {
	// AcquireLease takes or renews the lease name for owner until the
	// store's clock plus ttl (truncated to the microsecond). It succeeds
	// when nobody holds the lease, when owner holds it (a renewal), or
	// when the holder's lease has expired (its Expires is not after the
	// store's clock). It returns the lease afterwards: Held says whether
	// owner holds it, Holder and Expires who does (owner or the other one)
	// and until when. Losing is not an error. Of concurrent calls for a
	// lease nobody holds, from any number of replicas, exactly one gets
	// Held. ErrInvalid for a name or owner that fails ValidateKey, or a
	// ttl that is not positive.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error)

	// ReleaseLease gives the lease up if owner holds it (expired or not),
	// so that another replica may take it at once; a replica calls it
	// when it stops. Releasing a lease that owner does not hold (nobody
	// does, or another owner) changes nothing and is not an error.
	// Idempotent.
	ReleaseLease(ctx context.Context, name, owner string) error
}

// Values is a small key/value space with expiry shared by every replica:
// the sealed auth state of login sessions, single-use OAuth states. A
// value is at most MaxValueSize bytes; keys pass ValidateKey.
//
// Keys marked with UseOnce are apart from those of PutValue: a key may
// hold a value and be marked used, and DeleteValue does not unmark it.
type Values interface {
	// PutValue stores a copy of value under key until expires (zero:
	// never), replacing what was there. An expiry that is not after the
	// store's clock stores a value that is already gone. ErrInvalid for a
	// key that fails ValidateKey or a value longer than MaxValueSize.
	PutValue(ctx context.Context, key string, value []byte, expires time.Time) error

	// GetValue returns the value stored under key (non-nil, empty for an
	// empty value), or ErrNotFound when there is none or it has expired
	// by the store's clock.
	GetValue(ctx context.Context, key string) ([]byte, error)

	// DeleteValue removes the value under key. Idempotent: deleting a
	// key that has no value is not an error.
	DeleteValue(ctx context.Context, key string) error

	// UseOnce marks key as used until expires (zero: for ever) and
	// reports true, when it is not marked already; it reports false,
	// changing nothing, on every later call until the mark expires by
	// the store's clock (after that the key may be used again). Of
	// concurrent calls with one key, from any number of replicas, exactly
	// one gets true.
	UseOnce(ctx context.Context, key string, expires time.Time) (bool, error)
}
