// Package postgres is the hub's store for more than one hub replica: a
// store.Store in a PostgreSQL database, through github.com/jackc/pgx/v5
// and its connection pool. A single hub is better served by store/sqlite
// (no service to run, faster per call); use this package when two or more
// hub replicas share their state, or where PostgreSQL is what the operators
// already run and back up. It passes the same conformance suite
// (store/storetest) as the SQLite store, with every concurrency test run
// across two Stores — two connection pools, as two replicas have — on one
// database. Its SQL needs PostgreSQL 11 or later; it is tested on
// Debian's PostgreSQL 15.
//
// # Connecting
//
// Open takes a URL or keyword/value string as libpq does
// ("postgres://hub@db.example:5432/hub?sslmode=verify-full"), and what it
// leaves out comes from the libpq environment variables (PGHOST, PGPORT,
// PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, …) and ~/.pgpass, which pgx
// honours: the password can come from PGPASSWORD, set from a Kubernetes
// Secret, and stay out of the URL and the hub's configuration. The URL also
// sets the pool (pool_max_conns, or Options.MaxConns) and any server
// setting, such as search_path to keep the hub's tables in a schema of
// their own ("…?search_path=hub"). Without connect_timeout in the URL,
// connecting gives up after Options.ConnectTimeout (5 s), so that a
// database that is down makes calls fail with store.ErrUnavailable instead
// of hanging. Migrations hold a session advisory lock: behind PgBouncer,
// use session pooling, or open the store once directly to migrate.
//
// # Schema and migrations
//
// Migrations are the embedded files migrations/NNNN_name.sql, numbered
// without gaps and applied forward only, each in its own transaction that
// records it in schema_migrations. Open reads the version first: a
// database that is up to date costs two queries and takes no lock.
// Otherwise Open takes a session advisory lock (pg_advisory_lock) on one
// connection, reads the version again and applies what is missing, so
// that replicas started together migrate once: the others wait, then find
// nothing to do. Open refuses a database whose schema is newer than the
// program (store.ErrSchema), so an old replica never writes into a schema
// it does not know.
//
// The tables are those of store/sqlite: users, user_auth_states (apart,
// so that listing users never reads tokens), groups, user_groups, servers
// (one row per user and server name, with the claim columns and a partial
// covering index of active servers, which start-up and the state filters
// read), oauth_clients, oauth_codes and api_tokens, and for what replicas
// share, leases (one row per lease name: holder and expiry), kv_values
// (store.Values' values, bytea) and used_keys (the keys UseOnce marked).
// Names — of users, groups, servers, services, OAuth clients and leases,
// and lease holders and value keys — are text COLLATE "C": they
// compare and sort bytewise, like Go strings and SQLite, whatever the
// database's default collation (often a linguistic one, such as
// en_US.UTF-8, that would sort "Zed" after "aaron" and page differently
// from the SQLite store). Times are timestamptz, which keeps microseconds,
// the store's precision; the server's time zone plays no part. Spawner
// state and user options are jsonb (user options come back reformatted, as
// the same JSON value); scopes are text[]; secrets' hashes and token
// prefixes are bytea. IDs are identity columns, whose sequences never
// reuse a value. The tables the activity batcher updates keep 10% of each
// page free (fillfactor 90), so that those frequent updates stay on the
// page and touch no index.
//
// # Claims and other races
//
// Writes run in READ COMMITTED transactions that lock the rows they decide
// on. ClaimServer and FinishServer read the server's row with SELECT … FOR
// UPDATE, apply store.CheckClaim or store.CheckFinish, and update it:
// claims on one server, from this process or another replica, queue on the
// row lock, and each decides on what the one before it committed, so
// exactly one of simultaneous claims wins and the others get a
// *store.ClaimError naming the winner. A server's first claim inserts its
// row with INSERT … ON CONFLICT DO NOTHING: of claimants racing to create
// it, one inserts; the others wait for its commit, find its row, lock it
// and lose to its claim like any other — never with a raw unique
// violation. ConsumeOAuthCode is one DELETE … RETURNING, so a code is
// given out once however many calls race for it. AcquireLease is one
// INSERT … ON CONFLICT DO UPDATE … WHERE (the holder is the caller, or has
// expired) RETURNING: of replicas racing for a free lease one inserts its
// row, and the others wait for that commit, lock the row, find it held and
// change nothing; a loser then reads the holder under that lock, in the
// same transaction. UseOnce is the same upsert on used_keys (WHERE the
// mark has expired), and reports whether it changed a row. RecordActivity applies a
// whole batch in one transaction of at most three statements (users,
// servers, tokens) sent in one round trip, each locking its rows in ID
// order before updating them, so that two replicas flushing overlapping
// batches queue instead of deadlocking.
//
// Reads that take several queries run in one REPEATABLE READ READ ONLY
// transaction (one snapshot) whose BEGIN and COMMIT travel in the same
// batches as the queries: GetUser is one round trip, ListUsers and
// ListUsersPage two (the page, then its users' groups and servers, with
// the count for ListUsersPage unless the page tells the total: the last
// page); LookupTokenUser is one round trip, its queries keyed by the
// token's prefix (the candidate tokens, and the users who own them with
// their groups and servers); single-query reads run without an explicit
// transaction.
//
// # Errors and retries
//
// Errors are translated at the boundary: a unique violation is
// store.ErrConflict; a foreign-key violation (a user or client deleted by
// a concurrent call) store.ErrNotFound; a data exception (text PostgreSQL
// cannot store, such as a NUL byte in a token's note) store.ErrInvalid; a
// connection that cannot be made or broke, a server shutting down, too
// many connections, a read-only standby after a failover, and a lock or
// statement timeout store.ErrUnavailable. A transaction that PostgreSQL
// aborted with a serialization failure or a deadlock, or whose connection
// was lost before its COMMIT was sent (so that nothing was written), runs
// again, up to Options.Retries times, after a short jittered pause: after a
// database restart the first call on each stale pooled connection
// succeeds on a fresh one. A connection lost during COMMIT is not retried,
// since the commit may have happened; the call reports ErrUnavailable.
//
// # Clocks
//
// Claim, token, code, lease and value expiry are decided by the replica's
// clock (Options.Now), not the database's, as in the SQLite store and so
// that tests can set it. Keep the replicas' clocks in sync (NTP); a
// claim's expiry and a lease's ttl should exceed the clock skew by far.
//
// # Speed
//
// On the 50,000-user database of the SQLite store's benchmarks, against a
// server on loopback on a loaded 2-core machine: GetUser 0.08–0.12 ms, a
// page of 200 users with its total 3–52 ms depending on the filter and
// offset (of the same order as SQLite), a ClaimServer or FinishServer
// transaction about 0.3 ms, a flush of 1,000 activities 17–44 ms (faster
// than SQLite's one UPDATE per entry). Figures, the command and the
// SQLite peer are in bench/README.md.
//
// # Tests
//
// The tests start a real PostgreSQL (internal/testenv: Debian's package,
// installed by hack/install-postgres.sh) once per test run, with a fresh
// database per test, its default collation ICU's en-US (where the server
// supports it) so that a name column without COLLATE "C" shows, and a
// time zone that is not UTC.
package postgres
