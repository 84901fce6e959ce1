// Package store is the hub's state behind one interface: users and their
// groups, servers with their spawner state, API tokens, the OAuth 2
// provider's clients and codes, last-activity times, and what hub replicas
// share to work as one (leases, values with an expiry). The hub is its
// only user; implementations are store/sqlite (embedded, the default) and,
// for more than one hub replica, store/postgres. Both pass the conformance
// suite in store/storetest.
//
// # The interface
//
// Store is the union of small interfaces — Users, AuthStates, Groups,
// Servers, Tokens, OAuth, ActivityWriter, Purger, Leases, Values — so that
// a hub component can depend on the part it uses (the OAuth handlers on
// OAuth and Tokens, the activity batcher on ActivityWriter alone, the
// culler on Leases). The contract written on
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
// # High availability: leases and shared values
//
// Periodic loops (the idle culler, PurgeExpired) must run on one replica
// at a time. Leases elects it: each replica calls AcquireLease with its
// own ID every few seconds, with a ttl several times that period; the one
// that gets Held does the work, renewing as it goes, and calls
// ReleaseLease when it stops so that another takes over at once. A replica
// that dies stops renewing, and another takes the lease when it expires by
// the store's clock. Of replicas racing for a free or expired lease,
// exactly one wins, as with claims; the others learn who holds it and
// until when. A lease is advisory: it does not fence the holder's writes
// (claims do that for servers), so work done under it must be harmless if,
// rarely, two replicas do it at once, as PurgeExpired is.
//
// Values is a small key/value space with expiry that every replica sees:
// the sealed auth state of a login session, so that a request may land on
// any replica, and UseOnce, which marks a key (an OAuth state) as used and
// says whether it was the first use, exactly once across replicas, to
// refuse a replayed callback. Values are at most MaxValueSize bytes; keys
// may hold secrets, so errors never quote them. PurgeExpired deletes what
// has expired.
//
// Single-replica SQLite hubs use the same calls: their leases are won at
// once and their values live in the same file. Claims above already carry
// what a replica needs to adopt another's spawn (owner and expiry).
package store
