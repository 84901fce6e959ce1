package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

func migrationFS(names ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, n := range names {
		fsys["migrations/"+n] = &fstest.MapFile{Data: []byte("-- " + n)}
	}
	return fsys
}

func TestMustLoadMigrations(t *testing.T) {
	ms := sqlstore.MustLoadMigrations("test", migrationFS("0002_b.sql", "0001_a.sql", "0003_c.sql"))
	if ms.Latest() != 3 {
		t.Errorf("Latest = %d, want 3", ms.Latest())
	}
	for _, names := range [][]string{
		{"0001_a.sql", "0003_c.sql"}, // a gap
		{"0002_b.sql"},               // not from 1
		{"0001a.sql"},                // no name
		{"one_a.sql"},                // no number
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "test: migration ") {
					t.Errorf("MustLoadMigrations(%v): panic %v, want one about the file's name", names, r)
				}
			}()
			sqlstore.MustLoadMigrations("test", migrationFS(names...))
		}()
	}
}

// fakeSchema is a database that records what the runner does to it.
type fakeSchema struct {
	version              int // recorded version
	lockErr, beginErr    error
	applyErr, commitErr  error
	failAt               int // the version whose Apply or commit fails
	applied, txs, unlock int
	locked               bool
}

var errDB = errors.New("database said no")

func (f *fakeSchema) Lock(context.Context) (func(), error) {
	if f.lockErr != nil {
		return nil, f.lockErr
	}
	f.locked = true
	return func() { f.unlock++; f.locked = false }, nil
}

func (f *fakeSchema) InTx(ctx context.Context, fn func(sqlstore.SchemaTx) error) error {
	if !f.locked {
		return errors.New("transaction without the lock")
	}
	if f.beginErr != nil {
		return f.beginErr
	}
	f.txs++
	tx := &fakeTx{f: f, version: f.version}
	if err := fn(tx); err != nil {
		return err
	}
	if f.commitErr != nil && tx.version == f.failAt {
		return f.commitErr
	}
	f.version = tx.version
	return nil
}

func (f *fakeSchema) Wrap(_ context.Context, err error, op string) error {
	if errors.Is(err, store.ErrSchema) {
		return err
	}
	return errors.Join(errors.New("test: "+op), err)
}

type fakeTx struct {
	f       *fakeSchema
	version int
}

func (tx *fakeTx) Version(context.Context) (int, error) { return tx.version, nil }

func (tx *fakeTx) Apply(_ context.Context, m sqlstore.Migration) error {
	if m.Version != tx.version+1 {
		return errors.New("out of order")
	}
	if tx.f.applyErr != nil && m.Version == tx.f.failAt {
		return tx.f.applyErr
	}
	tx.version = m.Version
	tx.f.applied++
	return nil
}

func TestMigrate(t *testing.T) {
	ms := sqlstore.MustLoadMigrations("test", migrationFS("0001_a.sql", "0002_b.sql", "0003_c.sql"))
	tests := []struct {
		name       string
		schema     fakeSchema
		target     int
		wantErr    error // nil, or what the error matches
		notSchema  bool  // the error must not match store.ErrSchema
		wantV      int
		wantApply  int
		wantUnlock int
	}{
		{name: "fresh", target: 3, wantV: 3, wantApply: 3, wantUnlock: 1},
		{name: "part of the way", schema: fakeSchema{version: 1}, target: 2, wantV: 2, wantApply: 1, wantUnlock: 1},
		{name: "up to date", schema: fakeSchema{version: 3}, target: 3, wantV: 3, wantUnlock: 1},
		{name: "newer", schema: fakeSchema{version: 4}, target: 3, wantErr: store.ErrSchema, wantV: 4, wantUnlock: 1},
		{name: "apply fails", schema: fakeSchema{applyErr: errDB, failAt: 2}, target: 3,
			wantErr: store.ErrSchema, wantV: 1, wantApply: 1, wantUnlock: 1},
		{name: "commit fails", schema: fakeSchema{commitErr: errDB, failAt: 2}, target: 3,
			wantErr: store.ErrSchema, wantV: 1, wantApply: 2, wantUnlock: 1},
		{name: "begin fails", schema: fakeSchema{beginErr: errDB}, target: 3, wantErr: errDB, notSchema: true, wantUnlock: 1},
		{name: "lock fails", schema: fakeSchema{lockErr: errDB}, target: 3, wantErr: errDB, notSchema: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			s := tc.schema
			err := ms.Migrate(t.Context(), &s, tc.target, "the database", slog.New(slog.NewTextHandler(&log, nil)))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Migrate: %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Migrate: error = %v, want %v", err, tc.wantErr)
			case tc.notSchema && errors.Is(err, store.ErrSchema):
				t.Errorf("Migrate: error = %v matches ErrSchema", err)
			}
			if err != nil {
				t.Log(err)
			}
			if s.version != tc.wantV || s.applied != tc.wantApply || s.unlock != tc.wantUnlock {
				t.Errorf("version %d, %d applied, %d unlocks; want %d, %d, %d", s.version, s.applied, s.unlock, tc.wantV, tc.wantApply, tc.wantUnlock)
			}
			// One line per migration committed.
			if got, want := strings.Count(log.String(), "test: migrated schema"), s.version-tc.schema.version; got != want {
				t.Errorf("%d migrations logged, want %d:\n%s", got, want, log.String())
			}
		})
	}
}

func TestMigrateErrorNamesTheMigration(t *testing.T) {
	ms := sqlstore.MustLoadMigrations("test", migrationFS("0001_users.sql", "0002_servers.sql"))
	s := &fakeSchema{applyErr: errDB, failAt: 2}
	err := ms.Migrate(t.Context(), s, 2, "the database", slog.New(slog.DiscardHandler))
	if want := "test: store: schema: migration 2 (servers): "; err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, errDB) {
		t.Errorf("error = %v, want %q… wrapping %v", err, want, errDB)
	}
	err = ms.CheckVersion(3, "database /srv/hub.db")
	if want := "test: store: schema: database /srv/hub.db has schema version 3, newer than this program's 2"; err == nil || err.Error() != want {
		t.Errorf("CheckVersion(3) = %v, want %q", err, want)
	}
	if err := ms.CheckVersion(2, "the database"); err != nil {
		t.Errorf("CheckVersion(2) = %v", err)
	}
}
