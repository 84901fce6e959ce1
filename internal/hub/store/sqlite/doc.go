// Package sqlite is the hub's embedded store: a store.Store in one SQLite
// file, with no service to run. It is the default of the example hub; a
// hub that needs more than one replica uses PostgreSQL instead.
//
// # Driver
//
// The driver is modernc.org/sqlite, SQLite 3.5x translated from C to Go:
// no cgo, so the hub cross-compiles and builds in a scratch image. It was
// chosen over github.com/ncruces/go-sqlite3 (SQLite compiled to Wasm and
// translated to Go) after measuring both on this project's machine
// (bench/store-drivers). On the store's workload neither was consistently
// faster: both bulk-insert 50,000 users with servers in about 0.7 s and
// reopen and run the start-up query in 10–20 ms, both build in about 30 s
// (60 s with -race), and which one led changed from run to run on this
// shared machine. So the choice rests on the rest: modernc has the longer
// record as a pure-Go SQLite (a v1 API, many GOOS/GOARCH pairs, the most
// users), and adding it moved only golang.org/x/sys and x/sync in go.mod,
// where ncruces v0.36 would have moved x/crypto, x/net, x/text and x/term
// under the authenticator and Vault code too. Its cost is a large module
// download (about 250 MB unpacked, once per module cache). Figures in
// bench/README.md ("The hub's state store").
//
// # Connections
//
// One writer connection does every write, in BEGIN IMMEDIATE
// transactions: writes in one process never fail with "database is
// locked", they queue in database/sql. A pool of ReadConns query-only
// connections does the reads; with WAL they never wait for the writer and
// each read method runs in one read transaction, a consistent snapshot.
// Every connection has foreign keys on, a busy timeout (for other
// processes on the same file), synchronous=FULL (a returned write survives
// a power loss; Options.UnsafeSyncNormal trades that for speed) and a
// memory map of the file (Options.MmapSize).
//
// # Prepared statements
//
// modernc.org/sqlite keeps no statement cache, and parsing and planning a
// statement costs more than running most of the store's: on the hub's
// per-request reads (a token and its user) it was over a quarter of the
// hub's CPU. So each pool, the readers and the writer, keeps one prepared
// statement per query text, which database/sql prepares once on each of
// its connections; a transaction runs it with Tx.StmtContext. A text is
// prepared after the first transaction that runs it has ended, as
// preparing needs a connection of the pool and a transaction holds one.
// The texts are fixed: lists of IDs are one JSON array argument
// (IN (SELECT value FROM json_each(?))), never a list of placeholders of
// varying length, and a cap on each cache keeps a text made by mistake
// from growing it without bound (texts beyond it run unprepared). Close
// closes the statements. On the 50,000-user benchmark database this made
// GetUser and LookupToken about a third faster, and CreateUser and claims
// 30% faster (40% with UnsafeSyncNormal).
//
// Several processes may open one file (the tests do, as two "replicas"):
// SQLite's file lock then serialises their writes, and claims stay
// exactly-once. A network file system is not supported; use PostgreSQL.
//
// # Schema and migrations
//
// Migrations are the embedded files migrations/NNNN_name.sql, numbered
// without gaps, applied forward only, each in its own BEGIN IMMEDIATE
// transaction that re-reads the version (so processes opening a new file at
// once apply each migration once) and records it in schema_migrations.
// Open refuses a file whose schema is newer than the program
// (store.ErrSchema). A test migrates an empty database and one left at
// every earlier version and requires the same schema.
//
// Tables: users, user_auth_states (apart, so that listing users never reads
// tokens), groups, user_groups, servers (one row per user and server name,
// with the claim columns and a partial covering index of active servers
// that start-up and the state filters read), oauth_clients, oauth_codes
// and api_tokens (SHA-256 hashes, a prefix index, AUTOINCREMENT IDs), and
// for hub replicas leases (one row per lease name: holder and expiry),
// kv_values (store.Values' values) and used_keys (the keys UseOnce
// marked), the last two with an index of their expiry for PurgeExpired.
// Times are INTEGER microseconds since the epoch, NULL for never.
//
// AcquireLease and UseOnce are conditional upserts (INSERT … ON CONFLICT
// DO UPDATE … WHERE the lease is the caller's or has expired, or the mark
// has expired) in a write transaction: as every write goes through the
// one writer connection, and SQLite's file lock orders the writes of
// other processes, of concurrent calls exactly one takes a free lease or
// uses a key first.
//
// # Start-up at scale
//
// JupyterHub #2928 reports start-up over 15 minutes with many users, as it
// loads every user. This store's start-up queries read only what is
// active: on 50,000 users with 5,500 active servers, Open plus the
// start-up queries take about 50 ms, and a page of 200 users with the
// pagination total 2–30 ms. JupyterHub 3.0.0 measured here on the same
// users starts in 2 s with no active server and in 30–39 s when 5,000
// servers it had recorded as running turned out dead; marking those 5,000
// stopped through this store takes 2.9 s (0.9 s with UnsafeSyncNormal).
// See bench/README.md ("The hub's state store").
package sqlite
