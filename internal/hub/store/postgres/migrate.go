package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are the embedded migrations/NNNN_name.sql in version order,
// numbered 1, 2, 3, … without gaps (checked when the package loads).
var migrations = sqlstore.MustLoadMigrations("postgres", migrationFS)

// SchemaVersion is the schema version this package migrates to.
func SchemaVersion() int { return migrations.Latest() }

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
	if err := migrations.CheckVersion(current, "the database"); err != nil || current >= target {
		return err
	}
	return migrations.Migrate(ctx, &schema{s: s}, target, "the database", s.opts.Logger)
}

// schema is the database's schema for the migration runner: its lock is
// the session advisory lock, held on the connection that then runs every
// migration.
type schema struct {
	s    *Store
	conn *pgxpool.Conn // set by Lock
}

var _ sqlstore.Schema = (*schema)(nil)

func (m *schema) Lock(ctx context.Context) (unlock func(), err error) {
	conn, err := m.s.pool.Acquire(ctx)
	if err != nil {
		return nil, m.s.wrap(ctx, err, "migrate")
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		conn.Release()
		return nil, m.s.wrap(ctx, err, "taking the migration lock")
	}
	unlock = func() {
		// A broken connection has lost the lock already.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
		conn.Release()
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer     PRIMARY KEY,
    name    text        NOT NULL,
    applied timestamptz NOT NULL
)`); err != nil {
		unlock()
		return nil, fmt.Errorf("postgres: %w: creating schema_migrations: %w", store.ErrSchema, m.s.wrap(ctx, err, "migrate"))
	}
	m.conn = conn
	return unlock, nil
}

func (m *schema) InTx(ctx context.Context, fn func(sqlstore.SchemaTx) error) error {
	return pgx.BeginFunc(ctx, m.conn, func(tx pgx.Tx) error { return fn(schemaTx{m.s, tx}) })
}

func (m *schema) Wrap(ctx context.Context, err error, op string) error { return m.s.wrap(ctx, err, op) }

type schemaTx struct {
	s  *Store
	tx pgx.Tx
}

func (t schemaTx) Version(ctx context.Context) (int, error) { return schemaVersion(ctx, t.tx) }

func (t schemaTx) Apply(ctx context.Context, m sqlstore.Migration) error {
	if _, err := t.tx.Exec(ctx, m.SQL); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`,
		m.Version, m.Name, t.s.now())
	return err
}
