package postgres_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/postgres"
)

// schema dumps a database's schema: every column with its type, collation,
// nullability and default, every index, every constraint, and the recorded
// migrations (without their times).
func schema(t *testing.T, s *postgres.Store) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT table_name || '.' || column_name || ' ' || data_type || coalesce(' collate ' || collation_name, '') ||
    CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END || coalesce(' default ' || column_default, '') ||
    CASE WHEN is_identity = 'YES' THEN ' identity ' || identity_generation ELSE '' END
FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
		`SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`,
		`SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
WHERE connamespace = current_schema()::regnamespace ORDER BY conrelid::regclass::text, conname`,
		`SELECT 'migration ' || version || ' ' || name FROM schema_migrations ORDER BY version`,
	} {
		rows, err := s.Pool().Query(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, line)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func migrationsRecorded(t *testing.T, s *postgres.Store) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMigrations: a fresh database gets every migration; opening it again
// applies nothing; a database left at each earlier version ends at the
// same schema, with its data.
func TestMigrations(t *testing.T) {
	ctx := t.Context()
	url := newDB(t)
	fresh := openT(t, url, postgres.Options{})
	want := schema(t, fresh)
	if n := strings.Count(want, "migration "); n != postgres.SchemaVersion() || n < 2 {
		t.Fatalf("fresh database records %d migrations, want %d:\n%s", n, postgres.SchemaVersion(), want)
	}
	if v, err := fresh.Version(ctx); err != nil || v != postgres.SchemaVersion() {
		t.Errorf("Version = %d, %v; want %d", v, err, postgres.SchemaVersion())
	}

	t.Run("reopen", func(t *testing.T) {
		var applied string
		read := func() string {
			var s string
			if err := fresh.Pool().QueryRow(ctx, `SELECT string_agg(version || '@' || applied, ' ' ORDER BY version) FROM schema_migrations`).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		applied = read()
		for range 3 {
			s, err := postgres.Open(ctx, url, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
		if got := read(); got != applied {
			t.Errorf("reopening changed schema_migrations:\n%s\nwas\n%s", got, applied)
		}
		if got := schema(t, fresh); got != want {
			t.Errorf("reopening changed the schema:\n%s", got)
		}
	})

	for v := 0; v < postgres.SchemaVersion(); v++ {
		t.Run(fmt.Sprintf("from=%d", v), func(t *testing.T) {
			url := newDB(t)
			old, err := postgres.OpenAtVersion(ctx, url, postgres.Options{}, v)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := old.Version(ctx); err != nil || got != v {
				t.Fatalf("Version = %d, %v; want %d", got, err, v)
			}
			if v >= 1 { // users exist from version 1 on; the Store's
				// methods need the latest schema, so write SQL.
				if _, err := old.Pool().Exec(ctx, `INSERT INTO users (name, admin, created) VALUES ('early', true, now());
INSERT INTO groups (name, created) VALUES ('g', now());
INSERT INTO user_groups (user_id, group_id) SELECT u.id, g.id FROM users u, groups g`); err != nil {
					t.Fatal(err)
				}
			}
			old.Close()
			s := openT(t, url, postgres.Options{})
			if got := schema(t, s); got != want {
				t.Errorf("schema migrated from version %d differs from a fresh one:\n--- got\n%s\n--- want\n%s", v, got, want)
			}
			if v >= 1 {
				u, err := s.GetUser(ctx, "early")
				if err != nil || !u.Admin || len(u.Groups) != 1 {
					t.Errorf("user written at version %d: %+v, %v", v, u, err)
				}
			}
		})
	}
}

// TestSchemaTooNew: a database migrated by a newer hub is refused.
func TestSchemaTooNew(t *testing.T) {
	ctx := t.Context()
	url := newDB(t)
	s := openT(t, url, postgres.Options{})
	if _, err := s.Pool().Exec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, 'future', now())`,
		postgres.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(ctx, url, postgres.Options{})
	if !errors.Is(err, store.ErrSchema) {
		t.Fatalf("Open of a newer schema: error = %v, want ErrSchema", err)
	}
	t.Log(err)
	if _, err := s.Version(ctx); err != nil {
		t.Error(err)
	}
}

// TestConcurrentOpen: replicas started at the same moment on an empty
// database migrate it once (the advisory lock), and all of them open.
func TestConcurrentOpen(t *testing.T) {
	url := newDB(t)
	stores := make([]*postgres.Store, 6)
	errs := make([]error, len(stores))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = postgres.Open(t.Context(), url, postgres.Options{})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	if n := migrationsRecorded(t, stores[0]); n != postgres.SchemaVersion() {
		t.Errorf("schema_migrations has %d rows, want %d", n, postgres.SchemaVersion())
	}
}

// TestNamesAreCollateC: every column holding a name, a lease's holder or
// a value's key compares bytewise.
func TestNamesAreCollateC(t *testing.T) {
	s := openT(t, newDB(t), postgres.Options{})
	rows, err := s.Pool().Query(t.Context(), `SELECT table_name || '.' || column_name, coalesce(collation_name, '')
FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' AND data_type = 'text'
AND (column_name IN ('name', 'service', 'client_id', 'holder', 'key') OR (table_name = 'oauth_clients' AND column_name = 'id'))
ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var col, collation string
		if err := rows.Scan(&col, &collation); err != nil {
			t.Fatal(err)
		}
		n++
		if collation != "C" {
			t.Errorf("%s has collation %q, want C", col, collation)
		}
	}
	if n != 12 {
		t.Errorf("found %d name columns, want 12", n)
	}
}
