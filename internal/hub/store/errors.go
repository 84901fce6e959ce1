package store

import (
	"errors"
	"fmt"
	"time"
)

// Conditions a Store reports. Test for them with errors.Is; the errors
// returned carry more detail (what was not found, who holds a claim) and
// wrap these. Backends translate their own errors (sql.ErrNoRows, unique
// violations, busy databases) into these at their boundary.
var (
	// ErrNotFound: the user, group, server, token, client, code or value
	// does not exist (or, for a lookup by secret, no token has that
	// secret; for a value, it has expired).
	ErrNotFound = errors.New("store: not found")

	// ErrConflict: the write contradicts the stored state: the name is
	// taken, the server is claimed by someone else or already running,
	// the claim being finished is no longer held, the server to delete is
	// active. Nothing was changed. A *ClaimError gives details for claims.
	ErrConflict = errors.New("store: conflict")

	// ErrInvalid: the input is not acceptable (an empty or overlong name,
	// an unknown phase, a token secret that is too short, both or neither
	// owner set). It is detected before any I/O; nothing was changed.
	ErrInvalid = errors.New("store: invalid input")

	// ErrExpired: the token or authorization code exists but its expiry
	// has passed. For a consumed authorization code, the code is gone
	// all the same.
	ErrExpired = errors.New("store: expired")

	// ErrUnavailable: the backend could not serve the request now (the
	// database is locked beyond its busy timeout, the connection is
	// down, the store is closed). Retrying later may succeed.
	ErrUnavailable = errors.New("store: backend unavailable")

	// ErrSchema: the database's schema is newer than this program knows,
	// or a migration failed. The store refuses to open.
	ErrSchema = errors.New("store: schema")
)

// ClaimError is the error of a ClaimServer or FinishServer that lost: the
// server is claimed by another owner, already running, or (for Finish) no
// longer claimed by the caller. It matches ErrConflict.
type ClaimError struct {
	User, Server string
	// Pending, Owner and Expires describe the claim that is held now;
	// Pending is PhaseNone when there is none.
	Pending Phase
	Owner   string
	Expires time.Time
	// Running is set when the server is running (has a URL).
	Running bool
	// Reason says why, for people: "claimed by replica-b for spawn",
	// "already running", "claim lost".
	Reason string
}

func (e *ClaimError) Error() string {
	return fmt.Sprintf("store: server %s: %s", RefString(e.User, e.Server), e.Reason)
}

// Is reports whether target is ErrConflict.
func (e *ClaimError) Is(target error) bool { return target == ErrConflict }

// RefString names a server for messages: "user" for a default server,
// "user/server" for a named one (spawner.Ref's spelling).
func RefString(user, server string) string {
	if server == "" {
		return user
	}
	return user + "/" + server
}

// NotFound returns an error that wraps ErrNotFound and names what is
// missing, for example NotFound("user", "alice"). Backends use it so
// that every implementation words the condition alike.
func NotFound(kind, name string) error {
	return fmt.Errorf("%w: %s %q", ErrNotFound, kind, name)
}

// Conflict returns an error that wraps ErrConflict with a reason, for
// example Conflict("user %q exists", name).
func Conflict(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}

// Invalid returns an error that wraps ErrInvalid with a reason.
func Invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
