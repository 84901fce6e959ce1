// Package storebench is the benchmarks the SQL stores run on one
// 50,000-user database: its content, and the benchmark bodies that both
// backends share. A backend loads the content its own way (SQLite: the
// store's INSERT statements in one transaction; PostgreSQL: COPY), opens
// stores on it, and runs the bodies from its own Benchmark… functions, so
// that the figures of the two backends (bench/README.md) measure the same
// calls on the same data.
//
// # The database
//
// Fixture returns Users users: every user has a default server (10%
// running, 1% pending a spawn, the rest stopped, all with spawner state
// and user options), is in one or two of Groups groups, and has an API
// token and an auth state of AuthStateSize bytes. Every time is Epoch or
// later.
//
// # The bodies
//
// Startup is what a hub does when it starts; ListUsersPage the paginated
// user list, by ListUsers and CountUsers, and ListUsersPageOneCall the
// same by one Users.ListUsersPage call; Reads the per-request reads;
// Writes the hub's writes. The
// last two return named benchmarks, so that a backend can run them under
// names of its own (per connection pool size, per sync mode).
package storebench
