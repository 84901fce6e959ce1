// Package sqlstore is the Go code that the two SQL stores, store/sqlite and
// store/postgres, share around their SQL. It holds what does not depend on
// the database: how input is checked and normalised before a call touches
// the database, how rows become users, servers, tokens and OAuth clients,
// how a token is picked among the candidates that share its prefix, and
// the migration runner. It holds no SQL text and opens no connection: each
// backend keeps its dialect, its transactions, its locking and its error
// translation, and calls in here around them.
//
// # Input
//
// Every store method checks its arguments before any I/O, with the
// store.Validate… functions; where a method also normalises what it writes
// (sorted, unique group names and scopes, UTC microsecond times, a token's
// prefix and hash), the functions here do both in one step, so that both
// backends write the same values: NewUser, ValidateUserUpdate, ClaimValues,
// FinishValues, NewToken, NewOAuthCode and the others.
//
// # Rows
//
// A Codec turns a backend's column values into the store's types. The two
// backends store times and scope lists differently (SQLite: INTEGER
// microseconds and JSON text; PostgreSQL: timestamptz and text[]), so a
// Codec is made with the backend's two conversions, and scans every other
// column alike. The column order each Scan… method expects is written on
// it; the SELECT lists stay in the backends, next to their SQL.
//
// UserSet and GroupSet assemble users with their groups and servers, and
// groups with their members, from rows keyed by row ID, whatever the
// number of queries those rows come in (SQLite: queries taking the IDs as
// one JSON array; PostgreSQL: one batch).
//
// # Migrations
//
// MustLoadMigrations reads a backend's embedded migrations/NNNN_name.sql
// files, and Migrations.Migrate applies the missing ones in order, one
// transaction each, and refuses a schema newer than the program
// (store.ErrSchema). A backend gives the runner a Schema: how to take the
// migration lock, run a transaction, read the recorded version and apply
// one migration.
package sqlstore
