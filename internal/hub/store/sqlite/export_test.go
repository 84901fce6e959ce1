package sqlite

import (
	"context"
	"database/sql"
)

// OpenAtVersion opens path migrated to schema version v only.
func OpenAtVersion(ctx context.Context, path string, opts Options, v int) (*Store, error) {
	return open(ctx, path, opts, v)
}

// WriterDB exposes the writer pool, for schema dumps and test setups.
func (s *Store) WriterDB() *sql.DB { return s.w }

// BeginWriteForTest starts a write transaction (BEGIN IMMEDIATE): it
// holds the database's write lock until it ends.
func (s *Store) BeginWriteForTest(ctx context.Context) (*sql.Tx, error) { return s.w.BeginTx(ctx, nil) }

// CachedReadStmts returns the number of statements in the read pool's
// statement cache.
func (s *Store) CachedReadStmts() int { return s.rstmts.len() }
