package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

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
			panic(fmt.Sprintf("sqlite: migration %s: want version %d in a name NNNN_name.sql", f, i+1))
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

// Version returns the schema version of the open database.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.read(ctx, "schema version", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	})
	return v, err
}

// migrate brings the schema to version target, one migration per
// transaction. Each transaction is BEGIN IMMEDIATE and re-reads the current
// version, so that processes opening one file at the same moment apply each
// migration once.
func (s *Store) migrate(ctx context.Context, target int) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name    TEXT    NOT NULL,
    applied INTEGER NOT NULL
) STRICT`); err != nil {
		return fmt.Errorf("sqlite: %w: creating schema_migrations: %w", store.ErrSchema, s.wrap(err, "migrate"))
	}
	for {
		done, err := s.migrateOne(ctx, target)
		if err != nil || done {
			return err
		}
	}
}

func (s *Store) migrateOne(ctx context.Context, target int) (done bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, s.wrap(err, "migrate")
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, s.wrap(err, "migrate")
	}
	if current > len(migrations) {
		return false, fmt.Errorf("sqlite: %w: database %s has schema version %d, newer than this program's %d",
			store.ErrSchema, s.path, current, len(migrations))
	}
	if current >= target {
		return true, nil
	}
	m := migrations[current]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("sqlite: %w: migration %d (%s): %w", store.ErrSchema, m.version, m.name, s.wrap(err, "migrate"))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
		m.version, m.name, s.now().UnixMicro()); err != nil {
		return false, fmt.Errorf("sqlite: %w: recording migration %d: %w", store.ErrSchema, m.version, s.wrap(err, "migrate"))
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: %w: migration %d: %w", store.ErrSchema, m.version, s.wrap(err, "migrate"))
	}
	s.opts.Logger.Info("sqlite: migrated schema", "path", s.path, "version", m.version, "name", m.name)
	return false, nil
}
