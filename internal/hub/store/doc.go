// Package store is the hub's state behind one interface: users and their
// groups, servers with their spawner state, API tokens, the OAuth 2
// provider's clients and codes, and last-activity times. The hub is its
// only user; implementations are store/sqlite (embedded, the default) and,
// for more than one hub replica, store/postgres. Both pass the conformance
// suite in store/storetest.
//
// # The interface
//
// Store is the union of small interfaces — Users, AuthStates, Groups,
// Servers, Tokens, OAuth, ActivityWriter, Purger — so that a hub component
// can depend on the part it uses (the OAuth handlers on OAuth and Tokens,
// the activity batcher on ActivityWriter alone). The contract written on
// Store holds for every method: blocking, safe for concurrent use by many
// goroutines and many processes over one database, one transaction per
// call, validation before I/O, sentinel errors (ErrNotFound, ErrConflict,
// ErrInvalid, ErrExpired, ErrUnavailable, ErrSchema) matched with
// errors.Is, fresh copies in and out, UTC microsecond times, bytewise name
// order.
//
// # What it keeps, and what not
//
// Secrets are never stored: API tokens, OAuth client secrets and
// authorization codes are kept as SHA-256 hashes (NewSecret makes 256-bit
// secrets, for which a fast hash is enough), tokens with a four-character
// public prefix to find them. Auth state is stored as the opaque bytes the
// hub gives (the hub encrypts it) and is read only through AuthState,
// never with a user. Spawner state (spawner.Server.State) is kept per
// server across stops: the PVC name that spawner/kube found under a legacy
// z2jh name stays with the user until the server is deleted (issue 11).
//
// # Claims: exactly-once spawns
//
// A server's pending operation (JupyterHub's Spawner.pending: "spawn",
// "stop", "check") changes only through ClaimServer and FinishServer. A
// claim names its owner (a hub replica's ID) and may expire; of two claims
// made at the same moment by two replicas, exactly one succeeds and the
// other gets a *ClaimError saying who holds the server. A claim is renewed
// by claiming again, taken over by another owner once expired (the
// claimant died mid-spawn), and a stale owner can no longer finish: the
// store is the fence. The rules are in one function, CheckClaim, that
// every backend applies inside its own atomic read-decide-write.
//
// # Activity off the request path
//
// JupyterHub writes last-activity times synchronously through its one
// database connection, its documented bottleneck at scale. Here the hub
// calls ActivityBatcher.Record on the request path (a map update under a
// mutex, about 100 ns), and the batcher's Run loop writes the latest time
// per user, server and token in one transaction every second, or sooner
// when many are pending, and once more when it stops.
//
// # High availability: leases (not yet)
//
// Periodic loops (the culler, PurgeExpired, token renewal) must run on one
// replica at a time. That is a lease, a separate concern from the state
// kept here, and a separate optional capability when it comes:
//
//	// Leaser grants named leases; a backend that can implements it
//	// (PostgreSQL: an advisory lock or a leases table; the Kubernetes
//	// API's Lease objects in cluster mode).
//	type Leaser interface {
//		// Acquire blocks until this owner holds the lease name, renews
//		// it until ctx ends or it is lost, and returns a context that
//		// ends when it is lost.
//		Acquire(ctx context.Context, name, owner string, ttl time.Duration) (context.Context, error)
//	}
//
// Single-replica SQLite hubs need none. Claims above already carry what a
// replica needs to adopt another's spawn (owner and expiry).
package store
