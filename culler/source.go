package culler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"
)

// Source is where the culler reads users and their servers and what it asks
// to stop servers and delete users: a JupyterHub REST API (package
// culler/hubapi) or a hub's own state, in process. Implementations are safe
// for concurrent use: the culler calls StopServer, RemoveServer and
// DeleteUser from several goroutines while it iterates Users.
type Source interface {
	// Users lists the users a pass looks at. It does not block until it is
	// iterated; iterating blocks on I/O and honours ctx. The sequence is
	// iterated at most once. It yields each user with a nil error, and a
	// non-nil error for a user the source could not read (the User then
	// carries whatever the source knows, at least Name when it could read
	// it) or for a failure of the listing itself, after which the sequence
	// may end early. Breaking out of the loop stops the listing.
	//
	// q says which users the pass needs; a source that cannot filter
	// (an old JupyterHub) may yield more users than asked for, but never
	// fewer, and yields each user at most once per list it reads.
	Users(ctx context.Context, q Query) iter.Seq2[User, error]

	// StopServer asks for the server to be stopped and blocks until it has
	// stopped, the source gives up waiting, or ctx ends. It returns nil when
	// the server has stopped (or was not running), ErrStopPending when the
	// stop was accepted but is still in progress (JupyterHub's HTTP 202),
	// and another error when the stop failed. It is idempotent. It never
	// deletes the user's storage. server is "" for the default server.
	StopServer(ctx context.Context, user, server string) error

	// RemoveServer stops the named server like StopServer and then removes
	// it from the user's list of servers (JupyterHub's DELETE
	// /users/{name}/servers/{server} with {"remove": true}). Its results are
	// those of StopServer; when it returns ErrStopPending the removal
	// follows once the stop completes. Whether the hub keeps the server's
	// storage is the hub's policy, not the culler's (see the package
	// documentation).
	RemoveServer(ctx context.Context, user, server string) error

	// DeleteUser deletes the user from the hub. The culler calls it only
	// for a user whose servers have all stopped. It blocks until the hub
	// has answered or ctx ends.
	DeleteUser(ctx context.Context, user string) error
}

// Query says which users a pass needs from [Source.Users].
type Query struct {
	// Ready asks for the users that have at least one ready server
	// (JupyterHub's state=ready). Every pass sets it.
	Ready bool
	// Inactive asks for the users that have no active server, neither
	// ready nor pending (JupyterHub's state=inactive). Passes that cull
	// users set it.
	Inactive bool
}

// User is a hub user as the culler sees it.
type User struct {
	// Name is the user's name, as the hub spells it.
	Name string
	// Admin is true for hub administrators.
	Admin bool
	// Created is when the user was created; zero when the source does not
	// say (JupyterHub shows it only to tokens with read:users).
	Created time.Time
	// LastActivity is the user's most recent activity; zero when none was
	// ever recorded, in which case the culler measures inactivity from
	// Created.
	LastActivity time.Time
	// Servers are the user's active (ready or pending) servers. Stopped
	// servers may be listed too; the culler skips them as not ready.
	Servers []Server
}

// Server is one of a user's servers.
type Server struct {
	// User is the name of the server's owner.
	User string
	// Name is the server's name; "" is the user's default server.
	Name string
	// Ready is true when the server is running and answering.
	Ready bool
	// Pending names an action in progress ("spawn", "stop"), "" for none.
	// The culler never touches a pending server.
	Pending string
	// Started is when the server was started; zero when the source does not
	// say (JupyterHub before 0.9). Without it MaxAge cannot apply.
	Started time.Time
	// LastActivity is the server's most recent activity; zero when none was
	// recorded yet, in which case the culler measures inactivity from
	// Started.
	LastActivity time.Time
	// Model is the server's model as the source received it (for hubapi,
	// the JSON object of the server in the user model; nil for sources
	// that have none). The culler does not read it; an [Arbiter] may
	// decode it into a struct of its own, for example to look at
	// user_options or spawner state.
	Model json.RawMessage
}

// Ref returns the server's reference, user/name.
func (s Server) Ref() ServerRef { return ServerRef{User: s.User, Server: s.Name} }

// ServerRef names one server.
type ServerRef struct {
	// User is the owner's name.
	User string
	// Server is the server's name, "" for the default server.
	Server string
}

// String returns "user" for a default server and "user/server" for a
// named one, as jupyterhub-idle-culler writes them in its logs.
func (r ServerRef) String() string {
	if r.Server == "" {
		return r.User
	}
	return r.User + "/" + r.Server
}

// ErrStopPending is returned by [Source.StopServer] and
// [Source.RemoveServer] when the stop was accepted but has not finished
// (JupyterHub answers HTTP 202 when a server is slow to stop). The culler
// then does not count the server as stopped, so it does not delete the
// user in the same pass; the next pass sees the result.
var ErrStopPending = errors.New("culler: server is slow to stop")

// Error is the error of one user or server in a pass: reading it from the
// source, stopping or removing a server, or deleting a user. The pass goes
// on with the other users.
type Error struct {
	// Op is "list", "stop", "remove" or "delete".
	Op string
	// User is the user's name; "" when a listing failed as a whole.
	User string
	// Server is the server's name for "stop" and "remove".
	Server string
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	switch {
	case e.Op == "list" && e.User == "":
		return fmt.Sprintf("culler: listing users: %v", e.Err)
	case e.Op == "list":
		return fmt.Sprintf("culler: reading user %s: %v", e.User, e.Err)
	case e.Op == "delete":
		return fmt.Sprintf("culler: deleting user %s: %v", e.User, e.Err)
	default:
		return fmt.Sprintf("culler: %s server %s: %v", verb(e.Op), ServerRef{e.User, e.Server}, e.Err)
	}
}

func verb(op string) string {
	switch op {
	case "stop":
		return "stopping"
	case "remove":
		return "removing"
	}
	return op
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
