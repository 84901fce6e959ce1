package sqlite_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
)

// schema dumps a database's schema: every table, index and trigger with
// its SQL, and the recorded migrations (without their times). The
// statistics tables that PRAGMA optimize makes are not schema.
func schema(t *testing.T, s *sqlite.Store) string {
	t.Helper()
	var b strings.Builder
	rows, err := s.WriterDB().QueryContext(t.Context(),
		`SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema
WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ, name, tbl, sql string
		if err := rows.Scan(&typ, &name, &tbl, &sql); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s on %s:\n%s\n", typ, name, tbl, sql)
	}
	mrows, err := s.WriterDB().QueryContext(t.Context(), `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var v int
		var name string
		if err := mrows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "migration %d %s\n", v, name)
	}
	return b.String()
}

// TestMigrationsConverge: a new database and a database left at each
// earlier version end at the same schema, and data written at the earlier
// version survives.
func TestMigrationsConverge(t *testing.T) {
	ctx := t.Context()
	fresh, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "fresh.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	want := schema(t, fresh)
	if n := strings.Count(want, "migration "); n != sqlite.SchemaVersion() || n < 2 {
		t.Fatalf("fresh database records %d migrations, want %d:\n%s", n, sqlite.SchemaVersion(), want)
	}
	for v := 0; v < sqlite.SchemaVersion(); v++ {
		t.Run(fmt.Sprintf("from=%d", v), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			old, err := sqlite.OpenAtVersion(ctx, path, sqlite.Options{}, v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := old.Version(ctx)
			if err != nil || got != v {
				t.Fatalf("Version = %d, %v; want %d", got, err, v)
			}
			if v >= 1 { // users exist from version 1 on; the Store's
				// methods need the latest schema, so write SQL.
				if _, err := old.WriterDB().ExecContext(ctx, `INSERT INTO users (id, name, admin, created) VALUES (7, 'early', 1, 0);
INSERT INTO groups (id, name, created) VALUES (3, 'g', 0);
INSERT INTO user_groups (user_id, group_id) VALUES (7, 3);`); err != nil {
					t.Fatal(err)
				}
			}
			old.Close()
			s, err := sqlite.Open(ctx, path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
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

// TestMigrationsAreIdempotentOnOpen: opening a migrated database again
// applies nothing.
func TestMigrationsAreIdempotentOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	for i := range 3 {
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		var n int
		if err := s.WriterDB().QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if n != sqlite.SchemaVersion() {
			t.Fatalf("after open %d: %d migrations recorded, want %d", i, n, sqlite.SchemaVersion())
		}
	}
}
