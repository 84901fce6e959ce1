package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// Migration is one forward-only schema change: a file
// migrations/NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations are one backend's migrations in version order, numbered 1, 2,
// 3, … without gaps. Make them with MustLoadMigrations.
type Migrations struct {
	backend string // prefixes messages: "sqlite", "postgres"
	list    []Migration
}

// MustLoadMigrations reads the files migrations/*.sql of fsys (a backend's
// embedded files) in name order, and panics unless they are named
// NNNN_name.sql and numbered 1, 2, 3, … without gaps. backend names the
// backend in messages ("sqlite"). Call it when the package loads.
func MustLoadMigrations(backend string, fsys fs.FS) Migrations {
	files, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	ms := Migrations{backend: backend}
	for i, f := range files { // fs.Glob sorts
		base := strings.TrimSuffix(path.Base(f), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			panic(fmt.Sprintf("%s: migration %s: want version %d in a name NNNN_name.sql", backend, f, i+1))
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			panic(err)
		}
		ms.list = append(ms.list, Migration{Version: v, Name: name, SQL: string(b)})
	}
	return ms
}

// Latest returns the version of the last migration: the schema version the
// backend migrates to.
func (ms Migrations) Latest() int { return len(ms.list) }

// CheckVersion returns an error matching store.ErrSchema when current, a
// database's schema version, is newer than ms know; db names the database
// in the message ("database /srv/hub.db", "the database").
func (ms Migrations) CheckVersion(current int, db string) error {
	if current > len(ms.list) {
		return fmt.Errorf("%s: %w: %s has schema version %d, newer than this program's %d",
			ms.backend, store.ErrSchema, db, current, len(ms.list))
	}
	return nil
}

// Schema is one database's schema as Migrate changes it: the backend's
// migration lock, its transactions and its schema_migrations table.
// Migrate calls its methods from one goroutine.
type Schema interface {
	// Lock makes schema_migrations exist and keeps other processes from
	// migrating until unlock is called. Where the transactions of InTx
	// already exclude each other (SQLite's BEGIN IMMEDIATE), it only
	// creates the table. It blocks until it holds the lock or ctx ends. Its
	// errors are translated already: Migrate returns them as they are.
	Lock(ctx context.Context) (unlock func(), err error)

	// InTx runs fn in one transaction, which it commits when fn returns
	// nil and rolls back otherwise. It returns fn's error as it is, and
	// its own (beginning, committing) untranslated.
	InTx(ctx context.Context, fn func(tx SchemaTx) error) error

	// Wrap translates an error of InTx or of a SchemaTx at the boundary,
	// naming the operation op, as the backend's methods do; store errors
	// pass through unchanged.
	Wrap(ctx context.Context, err error, op string) error
}

// SchemaTx is the transaction Schema.InTx gives its function.
type SchemaTx interface {
	// Version returns the latest version recorded in schema_migrations;
	// 0 when none is.
	Version(ctx context.Context) (int, error)

	// Apply runs m's SQL and records m in schema_migrations.
	Apply(ctx context.Context, m Migration) error
}

// Migrate brings the schema behind s to version target, holding s's lock:
// one transaction per migration, each of which reads the recorded version,
// refuses a schema newer than ms (store.ErrSchema), and applies the next
// migration, until the version is target. Processes migrating one database
// at the same moment thus apply each migration once. A migration that
// fails is an error matching store.ErrSchema (and what the backend's
// translation adds, such as store.ErrUnavailable); a transaction that
// cannot begin is not. Each migration applied is logged to log. db names
// the database in messages, as for CheckVersion.
func (ms Migrations) Migrate(ctx context.Context, s Schema, target int, db string, log *slog.Logger) error {
	unlock, err := s.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for {
		m, err := ms.step(ctx, s, target, db)
		if err != nil || m == nil {
			return err
		}
		log.Info(ms.backend+": migrated schema", "version", m.Version, "name", m.Name)
	}
}

// step applies the next migration towards target in one transaction and
// returns it; nil when the schema is at target already.
func (ms Migrations) step(ctx context.Context, s Schema, target int, db string) (*Migration, error) {
	var next *Migration
	err := s.InTx(ctx, func(tx SchemaTx) error {
		next = nil
		current, err := tx.Version(ctx)
		if err != nil {
			return err
		}
		if err := ms.CheckVersion(current, db); err != nil || current >= target {
			return err
		}
		next = &ms.list[current]
		return tx.Apply(ctx, *next)
	})
	switch {
	case err == nil:
		return next, nil
	case next != nil: // applying it, or committing
		return nil, fmt.Errorf("%s: %w: migration %d (%s): %w", ms.backend, store.ErrSchema, next.Version, next.Name, s.Wrap(ctx, err, "migrate"))
	}
	return nil, s.Wrap(ctx, err, "migrate")
}
