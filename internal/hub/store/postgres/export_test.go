package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenAtVersion opens the database at url migrated to schema version v
// only.
func OpenAtVersion(ctx context.Context, url string, opts Options, v int) (*Store, error) {
	return open(ctx, url, opts, v)
}

// Pool exposes the connection pool, for schema dumps and test setups.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
