package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStmtCacheCap: the cache holds at most max texts; the others, and
// every text once it is closed, run unprepared all the same.
func TestStmtCacheCap(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hub.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newStmtCache(s.r, 2)
	run := func(n int) {
		t.Helper()
		tx, err := s.r.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		q := &cachedTx{tx: tx, cache: c}
		for i := range n {
			var got int
			if err := q.QueryRowContext(ctx, fmt.Sprintf("SELECT %d + ?", i), 1).Scan(&got); err != nil || got != i+1 {
				t.Fatalf("query %d = %d, %v", i, got, err)
			}
		}
		tx.Rollback()
		c.add(ctx, q.missed)
	}
	run(5)
	run(5) // from the cache, and unprepared beyond the cap
	if n := c.len(); n != 2 {
		t.Errorf("cached %d statements, want the cap, 2", n)
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	run(5)
	if n := c.len(); n != 0 {
		t.Errorf("closed cache holds %d statements", n)
	}
}

// TestJSONEach: the SQLite of modernc.org/sqlite has the JSON functions
// that fillUsers' fixed texts need.
func TestJSONEach(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n, sum int64
	err = s.read(context.Background(), "test", func(tx queryer) error {
		return tx.QueryRowContext(t.Context(), `SELECT count(*), sum(value) FROM json_each(?)`, idArray([]int64{1, 2, 40})).Scan(&n, &sum)
	})
	if err != nil || n != 3 || sum != 43 {
		t.Errorf("json_each = %d values, sum %d, %v; want 3, 43", n, sum, err)
	}
	if got := idArray(nil); got != "[]" {
		t.Errorf("idArray(nil) = %q", got)
	}
}
