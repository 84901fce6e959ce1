package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are the embedded migrations/NNNN_name.sql in version order,
// numbered 1, 2, 3, … without gaps (checked when the package loads).
var migrations = sqlstore.MustLoadMigrations("sqlite", migrationFS)

// SchemaVersion is the schema version this package migrates to.
func SchemaVersion() int { return migrations.Latest() }

// Version returns the schema version of the open database.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.read(ctx, "schema version", func(tx queryer) error {
		return tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	})
	return v, err
}

// migrate brings the schema to version target, one migration per
// transaction. Each transaction is BEGIN IMMEDIATE and re-reads the current
// version, so that processes opening one file at the same moment apply each
// migration once.
func (s *Store) migrate(ctx context.Context, target int) error {
	return migrations.Migrate(ctx, schema{s}, target, "database "+s.path, s.opts.Logger.With("path", s.path))
}

// schema is the file's schema for the migration runner. It takes no lock
// of its own: each of its transactions is BEGIN IMMEDIATE on the writer,
// which holds the file's write lock from its start.
type schema struct{ s *Store }

var _ sqlstore.Schema = schema{}

func (m schema) Lock(ctx context.Context) (unlock func(), err error) {
	if _, err := m.s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name    TEXT    NOT NULL,
    applied INTEGER NOT NULL
) STRICT`); err != nil {
		return nil, fmt.Errorf("sqlite: %w: creating schema_migrations: %w", store.ErrSchema, m.s.wrap(err, "migrate"))
	}
	return func() {}, nil
}

func (m schema) InTx(ctx context.Context, fn func(sqlstore.SchemaTx) error) error {
	tx, err := m.s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(schemaTx{m.s, tx}); err != nil {
		return err
	}
	return tx.Commit()
}

func (m schema) Wrap(_ context.Context, err error, op string) error { return m.s.wrap(err, op) }

type schemaTx struct {
	s  *Store
	tx *sql.Tx
}

func (t schemaTx) Version(ctx context.Context) (int, error) {
	var v int
	err := t.tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func (t schemaTx) Apply(ctx context.Context, m sqlstore.Migration) error {
	if _, err := t.tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
		m.Version, m.Name, t.s.now().UnixMicro())
	return err
}
