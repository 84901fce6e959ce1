package store

import (
	"encoding/json"
	"time"
)

// Times. Every time a Store returns is in UTC, truncated to the
// microsecond (PostgreSQL's timestamp precision), and the zero time stands
// for "never" / "not set" (NULL in SQL). Times given to a Store are
// converted the same way before they are compared or written.

// User is a hub user as stored. AuthState is not part of it: it is read
// and written with AuthState and SetAuthState, so that listing users never
// loads anyone's tokens.
type User struct {
	// Name is the user's name as the authenticator normalised it. Unique.
	Name string
	// Admin grants the hub's admin role.
	Admin bool
	// Groups are the names of the groups the user belongs to, sorted.
	// CreateUser and UpdateUser create missing groups.
	Groups []string
	// Created is when the user was created (set by the store from its
	// clock when zero on CreateUser).
	Created time.Time
	// LastActivity is the latest activity recorded for the user or any
	// of their servers (see Activity); zero when there was none.
	LastActivity time.Time
	// Servers are the user's servers, sorted by name (the default server,
	// named "", first), filled by GetUser and ListUsers and ignored on
	// writes. A server exists from its first claim until DeleteServer or
	// DeleteUser; a stopped server keeps its State.
	Servers []Server
}

// Server returns the user's server with the given name, if the user has
// one.
func (u User) Server(name string) (Server, bool) {
	for _, s := range u.Servers {
		if s.Name == name {
			return s, true
		}
	}
	return Server{}, false
}

// UserUpdate changes some of a user's fields; nil fields are left alone.
type UserUpdate struct {
	// Name renames the user. ErrConflict when the name is taken.
	Name *string
	// Admin sets the admin flag.
	Admin *bool
	// Groups replaces the user's memberships with exactly these groups
	// (creating missing ones). An empty, non-nil slice removes the user
	// from all groups.
	Groups *[]string
}

// UserState filters users by the state of their servers, with
// JupyterHub's meanings for GET /hub/api/users?state=.
type UserState string

// The user states.
const (
	// UserAny: no filter.
	UserAny UserState = ""
	// UserActive: users with at least one active server (Server.Active:
	// running, or pending spawn, stop or check).
	UserActive UserState = "active"
	// UserReady: users with at least one ready server (Server.Ready:
	// running and not pending).
	UserReady UserState = "ready"
	// UserInactive: users with no active server; the complement of
	// UserActive.
	UserInactive UserState = "inactive"
)

// UserQuery selects users for ListUsers, CountUsers and ListUsersPage.
type UserQuery struct {
	// State filters by server state; UserAny for all users.
	State UserState
	// NameContains keeps users whose name contains this string. ASCII
	// letters match case-insensitively (JupyterHub's name_filter);
	// backends may fold other letters too. Empty: no filter.
	NameContains string
	// Offset skips this many users of the ordered result (ListUsers
	// only; CountUsers ignores it). Negative is ErrInvalid.
	Offset int
	// Limit caps the number of users returned (ListUsers only); zero or
	// negative means no limit.
	Limit int
}

// Group is a named set of users.
type Group struct {
	Name string
	// Members are the names of the group's users, sorted.
	Members []string
	// Created is when the group was created.
	Created time.Time
}

// GroupUpdate adds and removes members. A user named in both is removed.
// Adding a member twice or removing a non-member is not an error; naming a
// user that does not exist is ErrNotFound and changes nothing.
type GroupUpdate struct {
	Add    []string
	Remove []string
}

// Phase is the pending operation on a server, JupyterHub's
// Spawner.pending: none, "spawn", "stop" or "check".
type Phase string

// The pending phases.
const (
	// PhaseNone: nothing is pending.
	PhaseNone Phase = ""
	// PhaseSpawn: the server is being started.
	PhaseSpawn Phase = "spawn"
	// PhaseStop: the server is being stopped.
	PhaseStop Phase = "stop"
	// PhaseCheck: the hub is checking a server it found running (after a
	// restart, or on a poll) and may update or stop it.
	PhaseCheck Phase = "check"
)

// Valid reports whether p is one of the phases above.
func (p Phase) Valid() bool {
	switch p {
	case PhaseNone, PhaseSpawn, PhaseStop, PhaseCheck:
		return true
	}
	return false
}

// Server is one of a user's servers: the default one (Name "") or a named
// one.
type Server struct {
	// User is the owner's name.
	User string
	// Name is the server's name; "" for the default server.
	Name string
	// State is the spawner's opaque state (spawner.Server.State): for
	// spawner/kube the namespace, pod name and PVC name. It survives
	// stops; only a FinishServer with a non-nil State replaces it.
	State map[string]string
	// URL is where the proxy sends the server's traffic; set while the
	// server is running, "" otherwise.
	URL string
	// Started is when the server became ready; zero when not running.
	Started time.Time
	// LastActivity is the latest activity recorded for the server.
	LastActivity time.Time
	// UserOptions is the JSON object of options the last spawn was
	// requested with (JupyterHub's user_options), or nil.
	UserOptions json.RawMessage
	// Pending is the operation in progress, PhaseNone when there is none.
	Pending Phase
	// PendingOwner is who claimed the pending operation (a hub replica's
	// ID); "" when nothing is pending.
	PendingOwner string
	// PendingExpires is when the claim may be taken over by another
	// owner; zero when it never expires or nothing is pending.
	PendingExpires time.Time
	// Created is when the server was first claimed.
	Created time.Time
}

// Running reports whether the server is running (has a URL), whatever is
// pending.
func (s Server) Running() bool { return s.URL != "" }

// Ready reports whether the server is running and nothing is pending
// (JupyterHub's Spawner.ready).
func (s Server) Ready() bool { return s.URL != "" && s.Pending == PhaseNone }

// Active reports whether the server is running or an operation is pending
// (JupyterHub's Spawner.active).
func (s Server) Active() bool { return s.URL != "" || s.Pending != PhaseNone }

// ServerQuery selects servers for ListServers. Zero value: every server.
type ServerQuery struct {
	// User keeps the servers of this user only; "" for all users.
	User string
	// Active keeps only active servers (running or pending): what a
	// starting hub must re-adopt or clean up.
	Active bool
}

// Claim is a request to start an operation on a server, made with
// ClaimServer.
type Claim struct {
	// Phase is the operation: PhaseSpawn, PhaseStop or PhaseCheck.
	Phase Phase
	// Owner identifies the claimant: a hub replica's ID, unique per
	// process. Required.
	Owner string
	// Expires is when another owner may take the claim over, because the
	// claimant is presumed dead. Zero: never (a single-replica hub).
	// Renew a claim by claiming again with the same Phase and Owner.
	Expires time.Time
	// UserOptions, for PhaseSpawn, replaces the server's UserOptions;
	// nil keeps them. Ignored for other phases. Must be JSON if set.
	UserOptions json.RawMessage
}

// Outcome is the result of a claimed operation, given to FinishServer.
type Outcome struct {
	// URL is the server's URL when it is running after the operation
	// (a successful spawn, a check that found it alive); "" when it is
	// stopped (a stop, a failed spawn, a check that found it gone).
	URL string
	// Started is when the server became ready; with URL set and Started
	// zero, the store's clock is used. Ignored when URL is "".
	Started time.Time
	// State replaces the server's spawner state when non-nil; nil keeps
	// the stored state (a stop that must remember the PVC name passes nil
	// or the state it got). An empty non-nil map clears it.
	State map[string]string
}

// Owner is who a token or OAuth client belongs to: exactly one of User and
// Service is set.
type Owner struct {
	User    string
	Service string
}

// String returns "user:NAME" or "service:NAME".
func (o Owner) String() string {
	if o.Service != "" {
		return "service:" + o.Service
	}
	return "user:" + o.User
}

// Token is an API token as stored: its secret is never stored, only its
// SHA-256 hash and a short public prefix (see HashSecret, SecretPrefix).
type Token struct {
	// ID is assigned by the store, unique, never reused for another
	// token by the same store.
	ID int64
	// Prefix is the first PrefixLength characters of the secret: public,
	// shown in lists so that people can tell their tokens apart, and used
	// to find candidates on lookup.
	Prefix string
	// Hash is SHA-256 of the secret.
	Hash []byte
	// Owner is the user or service the token acts for. A user must
	// exist; a service is a name from the hub's configuration.
	Owner Owner
	// Scopes are the token's scopes, sorted (JupyterHub scope strings,
	// e.g. "access:servers!server=alice/"). The store does not interpret
	// them.
	Scopes []string
	// ClientID is the OAuth client that issued the token ("" for tokens
	// made through the API or by the hub). Deleting that client deletes
	// the token.
	ClientID string
	// Note is free text for people.
	Note string
	// Created is set by the store.
	Created time.Time
	// Expires is when the token stops working; zero: never.
	Expires time.Time
	// LastActivity is the latest recorded use.
	LastActivity time.Time
}

// TokenQuery selects tokens for ListTokens. At least one field is set.
type TokenQuery struct {
	// Owner keeps the tokens of this user or service.
	Owner Owner
	// ClientID keeps the tokens issued by this OAuth client.
	ClientID string
}

// OAuthClient is an OAuth 2 client of the hub's provider, such as a
// single-user server ("jupyterhub-user-alice") or a service.
type OAuthClient struct {
	// ID is the client_id. Unique.
	ID string
	// SecretHash is SHA-256 of the client secret; check a presented
	// secret with CheckSecret.
	SecretHash []byte
	// RedirectURI is the one redirect URI the client may use.
	RedirectURI string
	// Description is shown on the authorization page.
	Description string
	// Owner is the user or service the client belongs to (a server's
	// client belongs to its user). A user must exist.
	Owner Owner
	// Scopes are the scopes the client may request, sorted.
	Scopes []string
	// Created is set by the store.
	Created time.Time
}

// CheckSecret reports, in constant time, whether secret is the client's
// secret.
func (c OAuthClient) CheckSecret(secret string) bool {
	return CheckHash(c.SecretHash, secret)
}

// OAuthCode is an OAuth 2 authorization code as stored: single use, kept
// by its hash only.
type OAuthCode struct {
	// ClientID is the client the code was issued to. The client must
	// exist; deleting it deletes its codes.
	ClientID string
	// User is the user who authorized. Must exist.
	User string
	// RedirectURI is the redirect_uri of the authorization request, to
	// be matched at the token endpoint.
	RedirectURI string
	// CodeChallenge and CodeChallengeMethod ("S256" or "plain") are the
	// PKCE parameters of the authorization request, if any.
	CodeChallenge       string
	CodeChallengeMethod string
	// Scopes granted, sorted.
	Scopes []string
	// Created is set by the store.
	Created time.Time
	// Expires is when the code stops working. Required.
	Expires time.Time
}

// ActivityKind says what an Activity is about.
type ActivityKind uint8

// The activity kinds.
const (
	// ActivityUser: a request by or for the user (hub API, UI).
	ActivityUser ActivityKind = iota + 1
	// ActivityServer: traffic to or activity reported by one of the
	// user's servers. Raises the user's LastActivity too.
	ActivityServer
	// ActivityToken: a use of the API token with the given ID.
	ActivityToken
)

// Activity is one last-activity observation. Recording one never moves a
// LastActivity backwards: the stored time becomes the later of the two.
type Activity struct {
	Kind ActivityKind
	// User names the user (ActivityUser, ActivityServer).
	User string
	// Server names the server (ActivityServer; "" is the default
	// server).
	Server string
	// TokenID is the token (ActivityToken).
	TokenID int64
	// Time is when the activity happened.
	Time time.Time
}

// ActivityKey identifies what an Activity updates; activities with the
// same key coalesce.
type ActivityKey struct {
	Kind    ActivityKind
	User    string
	Server  string
	TokenID int64
}

// Key returns the ActivityKey of a.
func (a Activity) Key() ActivityKey {
	return ActivityKey{Kind: a.Kind, User: a.User, Server: a.Server, TokenID: a.TokenID}
}

// Lease is the state of a lease after Leases.AcquireLease.
type Lease struct {
	// Name is the lease's name.
	Name string
	// Holder is the owner that holds the lease: the caller when Held,
	// another replica otherwise.
	Holder string
	// Expires is when the holder's lease ends, by the store's clock,
	// unless it is renewed.
	Expires time.Time
	// Held reports whether the caller holds the lease.
	Held bool
}
