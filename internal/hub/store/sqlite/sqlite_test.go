package sqlite_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
	"github.com/hubkit/hubkit/internal/hub/store/storetest"
)

func openT(t *testing.T, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, clock func() time.Time) store.Store {
			return openT(t, filepath.Join(t.TempDir(), "hub.db"), sqlite.Options{Now: clock})
		},
		// A second Store on the same file: its own writer connection and
		// read pool, as a second process has. SQLite's file lock (BEGIN
		// IMMEDIATE) is then what serialises the two.
		Replica: func(t *testing.T, s store.Store, clock func() time.Time) store.Store {
			return openT(t, s.(*sqlite.Store).Path(), sqlite.Options{Now: clock})
		},
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, store.User{Name: "alice", Groups: []string{"g"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimServer(ctx, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishServer(ctx, "alice", "", "hub", store.PhaseSpawn, store.Outcome{URL: "http://a", State: map[string]string{"pvc_name": "claim-alice"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.GetUser(ctx, "alice"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetUser after Close: error = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after Close: error = %v, want ErrUnavailable", err)
	}

	s = openT(t, path, sqlite.Options{})
	srvs, err := s.ListServers(ctx, store.ServerQuery{Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(srvs) != 1 || srvs[0].URL != "http://a" || srvs[0].State["pvc_name"] != "claim-alice" {
		t.Errorf("after reopen: %+v", srvs)
	}
	v, err := s.Version(ctx)
	if err != nil || v != sqlite.SchemaVersion() {
		t.Errorf("Version = %d, %v; want %d", v, err, sqlite.SchemaVersion())
	}
}

func TestOpenRejects(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:hub.db", "file:///tmp/hub.db?mode=memory"} {
		if _, err := sqlite.Open(t.Context(), path, sqlite.Options{}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Open(%q): error = %v, want ErrInvalid", path, err)
		}
	}
	// A directory that does not exist.
	_, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "hub.db"), sqlite.Options{})
	if err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir with spaces?and#marks%20")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hub.db")
	s := openT(t, path, sqlite.Options{})
	if _, err := s.CreateUser(t.Context(), store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database is not at %s: %v", path, err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	s := openT(t, path, sqlite.Options{})
	if _, err := s.WriterDB().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, 'future', 0)`,
		sqlite.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(ctx, path, sqlite.Options{})
	if !errors.Is(err, store.ErrSchema) {
		t.Fatalf("Open of a newer schema: error = %v, want ErrSchema", err)
	}
	t.Log(err)
}

// TestConcurrentOpen: hub processes started at the same moment on a new
// file migrate it once, and all of them open.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	var wg sync.WaitGroup
	stores := make([]*sqlite.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(t.Context(), path, sqlite.Options{}) })
	}
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
	var n int
	if err := stores[0].WriterDB().QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != sqlite.SchemaVersion() {
		t.Errorf("schema_migrations has %d rows, want %d", n, sqlite.SchemaVersion())
	}
}

// TestBusyIsUnavailable: a write blocked by another connection's lock for
// longer than BusyTimeout reports ErrUnavailable, not a driver error.
func TestBusyIsUnavailable(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	a := openT(t, path, sqlite.Options{})
	b := openT(t, path, sqlite.Options{BusyTimeout: 50 * time.Millisecond})
	tx, err := a.BeginWriteForTest(ctx) // holds the file's write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = b.CreateUser(ctx, store.User{Name: "alice"})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("CreateUser while another process writes: error = %v, want ErrUnavailable", err)
	}
}

// TestStatementCache: reads go through a bounded set of prepared
// statements, whatever the number of users they read, and Close closes
// them.
func TestStatementCache(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// More users than one IN list of the old chunked queries held, in one
	// transaction.
	const users = 1200
	tx, err := s.WriterDB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO groups (id, name, created) VALUES (1, 'g', 0)`); err != nil {
		t.Fatal(err)
	}
	for i := range users {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, created) VALUES (?, ?, 0)`, i+1, fmt.Sprintf("user-%04d", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_groups (user_id, group_id) VALUES (?, 1)`, i+1); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO servers (user_id, name, created) VALUES (?, '', 0)`, i+1); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	reads := func() {
		t.Helper()
		for _, q := range []store.UserQuery{{}, {Limit: 1}, {Offset: 500, Limit: 200}, {State: store.UserInactive, NameContains: "user-1"}} {
			page, err := s.ListUsers(ctx, q)
			if err != nil || len(page) == 0 {
				t.Fatalf("ListUsers(%+v) = %d users, %v", q, len(page), err)
			}
			for _, u := range page {
				if len(u.Groups) != 1 || len(u.Servers) != 1 {
					t.Fatalf("ListUsers(%+v): %s has groups %v and %d servers", q, u.Name, u.Groups, len(u.Servers))
				}
			}
		}
		all, err := s.ListUsers(ctx, store.UserQuery{})
		if err != nil || len(all) != users {
			t.Fatalf("ListUsers = %d users, %v", len(all), err)
		}
		if _, err := s.GetUser(ctx, "user-0042"); err != nil {
			t.Fatal(err)
		}
	}
	before := s.CachedReadStmts()
	reads()
	cached := s.CachedReadStmts()
	if cached <= before {
		t.Fatalf("statements cached: %d before the reads, %d after", before, cached)
	}
	reads()
	if n := s.CachedReadStmts(); n != cached {
		t.Errorf("the same reads again cached %d statements, first %d", n, cached)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.CachedReadStmts(); n != 0 {
		t.Errorf("%d statements left after Close", n)
	}
}
