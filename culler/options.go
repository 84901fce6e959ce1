package culler

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options are the culling policy and the culler's plumbing. The zero value
// works and gives jupyterhub-idle-culler's defaults: servers idle for ten
// minutes are stopped, every five minutes; users are not deleted.
//
// jupyterhub-idle-culler's boolean switches that default to true
// (--cull-admin-users, --cull-default-servers, --cull-named-servers) are
// the negated Skip… fields here, so that their zero value keeps the
// default.
type Options struct {
	// Timeout is how long a server (and, with CullUsers, a user) must be
	// inactive to be culled (--timeout). Default 600 s.
	Timeout time.Duration

	// Every is the time between the starts of two passes of Run
	// (--cull-every). Default Timeout/2, and at least one second.
	Every time.Duration

	// MaxAge, when positive, culls servers (and, with CullUsers, users)
	// older than this even if they are active (--max-age). Age is measured
	// from the server's start (the user's creation). Default 0: off.
	MaxAge time.Duration

	// CullUsers deletes users that have no running server left and are
	// inactive for Timeout, or older than MaxAge (--cull-users). The hub
	// forgets a deleted user; what happens to the user's storage is the
	// hub's policy (see the package documentation). Default false.
	CullUsers bool

	// SkipAdminUsers never deletes admin users (--cull-admin-users=false).
	// It applies to MaxAge as well (jupyterhub-idle-culler deletes admin
	// users older than --max-age even with --cull-admin-users=false).
	// Their servers are culled like everyone's. Default false.
	SkipAdminUsers bool

	// SkipDefaultServers never culls users' default servers
	// (--cull-default-servers=false), neither for inactivity nor for
	// MaxAge. Default false.
	SkipDefaultServers bool

	// SkipNamedServers never culls named servers
	// (--cull-named-servers=false), neither for inactivity nor for MaxAge.
	// Default false.
	SkipNamedServers bool

	// RemoveNamedServers removes culled named servers from the user's list
	// of servers instead of only stopping them (--remove-named-servers).
	// Default false.
	RemoveNamedServers bool

	// Concurrency bounds the users handled at once and the stop, remove
	// and delete calls in flight (--concurrency). Default 10; a negative
	// value means no bound.
	Concurrency int

	// Arbiter decides whether an inactive server is culled (the
	// cull_arbiter_hook of jupyterhub-idle-culler). Default
	// [DefaultArbiter]: inactive for at least Timeout. Users are always
	// judged by DefaultArbiter's rule.
	Arbiter Arbiter

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Logger receives one line per culled server or user and per error.
	// Default: discard.
	Logger *slog.Logger

	// Registerer, when set, receives the culler's Prometheus metrics (see
	// the package documentation). Pass a registry of your own, or
	// prometheus.DefaultRegisterer to use the global one. Two cullers on
	// the same Registerer share the metrics. Default nil: not registered.
	Registerer prometheus.Registerer
}

// Arbiter decides whether a server that has been inactive for inactive
// (usually positive; clock skew can make it negative) is culled, given the
// configured Timeout as limit. It is called for every ready, not pending
// server whose inactivity is known and whose kind (default or named) is
// culled, concurrently from several goroutines, and must not block. The
// culler stops the server when it returns true; MaxAge applies
// independently of it. s.Model holds the source's model of the server for
// arbiters that decide by profile, user options or spawner state.
type Arbiter func(inactive, limit time.Duration, s Server) bool

// DefaultArbiter is jupyterhub-idle-culler's rule: cull when the server has
// been inactive for at least limit.
func DefaultArbiter(inactive, limit time.Duration, _ Server) bool { return inactive >= limit }

// Defaults of Options.
const (
	DefaultTimeout     = 600 * time.Second
	DefaultConcurrency = 10
)

// ErrInvalidOptions is wrapped by New when the options cannot work.
var ErrInvalidOptions = errors.New("culler: invalid options")

// withDefaults returns a copy of o with every default applied.
func (o Options) withDefaults() (Options, error) {
	if o.Timeout < 0 || o.Every < 0 || o.MaxAge < 0 {
		return o, fmt.Errorf("%w: Timeout, Every and MaxAge must not be negative", ErrInvalidOptions)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Every == 0 {
		o.Every = max(o.Timeout/2, time.Second)
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Arbiter == nil {
		o.Arbiter = DefaultArbiter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o, nil
}
