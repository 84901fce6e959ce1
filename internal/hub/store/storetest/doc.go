// Package storetest is the conformance suite for store.Store. Every
// implementation runs it from its own tests — the embedded SQLite store
// and the PostgreSQL store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			New: func(t *testing.T, clock func() time.Time) store.Store {
//				s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"), sqlite.Options{Now: clock})
//				if err != nil {
//					t.Fatal(err)
//				}
//				t.Cleanup(func() { s.Close() })
//				return s
//			},
//		})
//	}
//
// # What it checks
//
// The contracts written on the store interfaces, through the interfaces
// only: users (create, conflicts, rename, delete with everything that
// hangs off a user, auth state kept apart), paging and counting with
// JupyterHub's state=active|ready|inactive filters and name filter, in
// bytewise name order; groups and memberships; servers and their claims
// (every row of the claim rules, renewal, takeover after expiry, a stale
// owner locked out, spawner state such as the PVC name surviving stops);
// tokens (hash and prefix only, lookup, expiry, purge, owners, cascades);
// OAuth clients and single-use codes; activity that never moves backwards
// and the ActivityBatcher over the real store; leases (taken, refused,
// renewed, taken over exactly at expiry, released, names bytewise) and
// shared values (put, get, copies, expiry, delete, the size limit,
// UseOnce, purging with the tokens and codes); time precision (UTC,
// microseconds); ErrInvalid before any I/O; a cancelled context.
//
// # Concurrency and replicas
//
// The concurrency tests race eight goroutines for one server (spawn, then
// stop, ten rounds; then a takeover of an expired claim), for one
// authorization code, for one lease (free, released or expired, ten
// rounds) and for the first use of one key (UseOnce), and require exactly
// one winner each time. With
// Harness.Replica set, half of the goroutines use a second store over the
// same database, as a second hub replica would; this is what makes
// exactly-once spawning a property of the database, not of one process's
// mutex. Run the suite with -race.
//
// # Time
//
// The suite controls each store's clock (Harness.New gets it), starting
// at a time that is neither UTC nor whole microseconds, so that expiry is
// tested without sleeping and a store that does not normalise times shows.
//
// # Writing a backend
//
// Backends decide claims with store.CheckClaim and store.CheckFinish and
// validate input with the store.Validate… functions, so that every
// backend agrees on the rules; what remains backend-specific is making the
// read-decide-write of a claim atomic (SQLite: BEGIN IMMEDIATE;
// PostgreSQL: SELECT … FOR UPDATE, or INSERT … ON CONFLICT for the first
// claim) and sorting names bytewise (COLLATE "C"). The two SQL backends
// also share the Go code around their SQL (input normalisation, rows into
// users, servers and tokens, the migration runner) in
// internal/hub/store/internal/sqlstore, and their benchmarks in
// internal/hub/store/internal/storebench.
package storetest
