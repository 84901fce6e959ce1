package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hubkit/hubkit/internal/hub/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one forward-only schema change: migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations are the embedded migrations in version order, numbered
// 1, 2, 3, … without gaps (checked when the package loads).
var migrations = mustLoadMigrations()

func mustLoadMigrations() []migration {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	var ms []migration
	for i, f := range files { // fs.Glob sorts
		base := strings.TrimSuffix(path.Base(f), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			panic(fmt.Sprintf("postgres: migration %s: want version %d in a name NNNN_name.sql", f, i+1))
		}
		b, err := migrationFS.ReadFile(f)
		if err != nil {
			panic(err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	return ms
}

// SchemaVersion is the schema version this package migrates to.
func SchemaVersion() int { return len(migrations) }

// migrationLock is the key of the session advisory lock held while
// migrating ("hubkit" in ASCII). Advisory locks are per database.
const migrationLock int64 = 0x6875626b6974

// Version returns the schema version of the open database.
func (s *Store) Version(ctx context.Context) (int, error) {
	if s.closed.Load() {
		return 0, errClosed
	}
	v, err := schemaVersion(ctx, s.pool)
	return v, s.wrap(ctx, err, "schema version")
}

// schemaVersion reads the latest applied migration: 0 for a database
// without schema_migrations (in the search path).
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var v int
	err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrate brings the schema to version target. A database already there
// (every start but the first after an upgrade) costs two queries and no
// lock. Otherwise the migrations run on one connection holding a session
// advisory lock, each in its own transaction that records it in
// schema_migrations: replicas that start at the same moment wait for the
// first, then find nothing left to do. The lock goes with the connection
// if the process dies.
func (s *Store) migrate(ctx context.Context, target int) error {
	current, err := schemaVersion(ctx, s.pool)
	if err != nil {
		return s.wrap(ctx, err, "reading the schema version")
	}
	if err := checkNotNewer(current); err != nil || current >= target {
		return err
	}

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.wrap(ctx, err, "migrate")
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return s.wrap(ctx, err, "taking the migration lock")
	}
	defer func() {
		// A broken connection has lost the lock already.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer     PRIMARY KEY,
    name    text        NOT NULL,
    applied timestamptz NOT NULL
)`); err != nil {
		return fmt.Errorf("postgres: %w: creating schema_migrations: %w", store.ErrSchema, s.wrap(ctx, err, "migrate"))
	}
	for {
		current, err := schemaVersion(ctx, conn)
		if err != nil {
			return s.wrap(ctx, err, "reading the schema version")
		}
		if err := checkNotNewer(current); err != nil || current >= target {
			return err
		}
		m := migrations[current]
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`,
				m.version, m.name, s.now())
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: %w: migration %d (%s): %w", store.ErrSchema, m.version, m.name, s.wrap(ctx, err, "migrate"))
		}
		s.opts.Logger.Info("postgres: migrated schema", "version", m.version, "name", m.name)
	}
}

func checkNotNewer(current int) error {
	if current > len(migrations) {
		return fmt.Errorf("postgres: %w: the database has schema version %d, newer than this program's %d",
			store.ErrSchema, current, len(migrations))
	}
	return nil
}
