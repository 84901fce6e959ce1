package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/storebench"
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
)

// The benchmarks run against one database of storebench.Users users (see
// storebench for what it holds), built once per process by the same INSERT
// statements the store uses, in one transaction. See bench/README.md ("The hub's state store")
// for the figures and bench/store.sh to re-run them.
var fixture struct {
	dirOnce sync.Once
	dir     string
	dirErr  error

	once  sync.Once
	path  string
	users []storebench.FixtureUser
	build time.Duration
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// benchDir returns the directory of the benchmarks' databases, removed by
// TestMain.
func benchDir(b *testing.B) string {
	b.Helper()
	fixture.dirOnce.Do(func() {
		fixture.dir, fixture.dirErr = os.MkdirTemp("", "hubkit-store-bench")
	})
	if fixture.dirErr != nil {
		b.Fatal(fixture.dirErr)
	}
	return fixture.dir
}

// benchDB returns the path of the shared 50k-user database.
func benchDB(b *testing.B) string {
	b.Helper()
	dir := benchDir(b)
	fixture.once.Do(func() {
		fixture.path = filepath.Join(dir, "hub.sqlite")
		start := time.Now()
		fixture.users, fixture.err = buildFixture(context.Background(), fixture.path, storebench.Users)
		fixture.build = time.Since(start)
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.path
}

func buildFixture(ctx context.Context, path string, n int) ([]storebench.FixtureUser, error) {
	users, err := storebench.Fixture(n)
	if err != nil {
		return nil, err
	}
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	tx, err := s.WriterDB().BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := storebench.Epoch.UnixMicro()
	for g := range storebench.Groups {
		if _, err := tx.ExecContext(ctx, `INSERT INTO groups (id, name, created) VALUES (?, ?, ?)`, g+1, storebench.GroupName(g), now); err != nil {
			return nil, err
		}
	}
	user, _ := tx.PrepareContext(ctx, `INSERT INTO users (id, name, admin, created, last_activity) VALUES (?, ?, ?, ?, ?)`)
	auth, _ := tx.PrepareContext(ctx, `INSERT INTO user_auth_states (user_id, state) VALUES (?, ?)`)
	member, _ := tx.PrepareContext(ctx, `INSERT INTO user_groups (user_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	server, _ := tx.PrepareContext(ctx, `INSERT INTO servers (user_id, name, state, url, started, last_activity, user_options, pending, pending_owner, created)
VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, ?)`)
	token, _ := tx.PrepareContext(ctx, `INSERT INTO api_tokens (prefix, hash, user_id, scopes, note, created) VALUES (?, ?, ?, ?, 'bench', ?)`)
	authState := make([]byte, storebench.AuthStateSize)
	scopes := `["` + storebench.TokenScope + `"]`
	for i, u := range users {
		id := i + 1
		activity := u.Activity.UnixMicro()
		if _, err := user.ExecContext(ctx, id, u.Name, u.Admin, now, activity); err != nil {
			return nil, err
		}
		if _, err := auth.ExecContext(ctx, id, authState); err != nil {
			return nil, err
		}
		for _, g := range u.Groups {
			if _, err := member.ExecContext(ctx, id, g+1); err != nil {
				return nil, err
			}
		}
		var started any
		if u.URL != "" {
			started = now
		}
		if _, err := server.ExecContext(ctx, id, u.State, u.URL, started, activity, storebench.ServerUserOptions, u.Pending, u.PendingOwner, now); err != nil {
			return nil, err
		}
		if _, err := token.ExecContext(ctx, store.SecretPrefix(u.Secret), store.HashSecret(u.Secret), id, scopes, now); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	// The hub's own Close runs PRAGMA optimize, as it would after a day
	// of use; a freshly bulk-loaded file without statistics is measured
	// by BenchmarkStartup50k/first-open below all the same.
	return users, nil
}

// BenchmarkBuild50k reports how long building the fixture took: 50k
// users, servers, tokens and 75k memberships in one transaction.
func BenchmarkBuild50k(b *testing.B) {
	benchDB(b)
	storebench.ReportBuild(b, fixture.build)
}

// BenchmarkStartup50k times a hub's start on this file (storebench.Startup):
// JupyterHub #2928 reports over 15 minutes at this size.
func BenchmarkStartup50k(b *testing.B) {
	path := benchDB(b)
	storebench.Startup(b, func(ctx context.Context) (storebench.Store, error) {
		return sqlite.Open(ctx, path, sqlite.Options{})
	})
}

// BenchmarkStartupSteps50k times each start-up step alone.
func BenchmarkStartupSteps50k(b *testing.B) {
	path := benchDB(b)
	ctx := context.Background()
	b.Run("Open+Close", func(b *testing.B) {
		for b.Loop() {
			s, err := sqlite.Open(ctx, path, sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("CountUsers", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.CountUsers(ctx, store.UserQuery{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListServersActive", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.ListServers(ctx, store.ServerQuery{Active: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListServersAll", func(b *testing.B) { // what not to do at start-up
		for b.Loop() {
			if _, err := s.ListServers(ctx, store.ServerQuery{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListUsersPage50k times paged GET /hub/api/users
// (storebench.ListUsersPage) on the default read pool.
func BenchmarkListUsersPage50k(b *testing.B) {
	path := benchDB(b)
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storebench.ListUsersPage(b, s)
}

// BenchmarkListUsersPageOneCall50k is BenchmarkListUsersPage50k with the
// page and its total read by one ListUsersPage call
// (storebench.ListUsersPageOneCall).
func BenchmarkListUsersPageOneCall50k(b *testing.B) {
	path := benchDB(b)
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storebench.ListUsersPageOneCall(b, s)
}

// pageFixture is a database of pageUsers users for BenchmarkListUsersPage,
// built once per process.
var pageFixture struct {
	once sync.Once
	path string
	err  error
}

const pageUsers = 10_000

// BenchmarkListUsersPage times ListUsers of one page of
// storebench.Page users, with their groups and servers, at the start,
// middle and end of 10,000 users who each have a stopped default server
// (with spawner state and user options); a third of them are in one or
// two groups. It is the query side of the hub's paginated user list,
// without the count.
func BenchmarkListUsersPage(b *testing.B) {
	dir := benchDir(b)
	pageFixture.once.Do(func() {
		pageFixture.path = filepath.Join(dir, "page.sqlite")
		pageFixture.err = buildPageFixture(context.Background(), pageFixture.path)
	})
	if pageFixture.err != nil {
		b.Fatal(pageFixture.err)
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, pageFixture.path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, offset := range []int{0, pageUsers / 2, pageUsers - storebench.Page} {
		b.Run(fmt.Sprintf("offset=%d", offset), func(b *testing.B) {
			for b.Loop() {
				users, err := s.ListUsers(ctx, store.UserQuery{Offset: offset, Limit: storebench.Page})
				if err != nil || len(users) != storebench.Page || len(users[0].Servers) != 1 {
					b.Fatalf("ListUsers = %d users, %v", len(users), err)
				}
			}
		})
	}
}

// buildPageFixture makes BenchmarkListUsersPage's database at path, in one
// transaction.
func buildPageFixture(ctx context.Context, path string) error {
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	tx, err := s.WriterDB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := storebench.Epoch.UnixMicro()
	for g := range storebench.Groups {
		if _, err := tx.ExecContext(ctx, `INSERT INTO groups (id, name, created) VALUES (?, ?, ?)`, g+1, storebench.GroupName(g), now); err != nil {
			return err
		}
	}
	for i := range pageUsers {
		id := i + 1
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, admin, created, last_activity) VALUES (?, ?, ?, ?, ?)`,
			id, storebench.UserName(i), i%1000 == 0, now, now+int64(i)*1e6); err != nil {
			return err
		}
		if i%3 == 0 {
			for _, g := range []int{i % storebench.Groups, (i*7 + 1) % storebench.Groups} {
				if _, err := tx.ExecContext(ctx, `INSERT INTO user_groups (user_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, g+1); err != nil {
					return err
				}
			}
		}
		state := fmt.Sprintf(`{"namespace":"jhub","pod_name":"jupyter-user-%05d","pvc_name":"claim-user-%05d"}`, i, i)
		if _, err := tx.ExecContext(ctx, `INSERT INTO servers (user_id, name, state, url, last_activity, user_options, pending, pending_owner, created)
VALUES (?, '', ?, '', ?, ?, '', '', ?)`, id, state, now+int64(i)*1e6, storebench.ServerUserOptions, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// BenchmarkReads50k: the per-request reads (storebench.Reads), serial and
// from all cores, with read pools of 1 and 4 connections
// (Options.ReadConns).
func BenchmarkReads50k(b *testing.B) {
	path := benchDB(b)
	for _, conns := range []int{1, 4} {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{ReadConns: conns})
		if err != nil {
			b.Fatal(err)
		}
		for _, bm := range storebench.Reads(s, fixture.users) {
			b.Run(fmt.Sprintf("%s/conns=%d", bm.Name, conns), bm.F)
		}
		s.Close()
	}
}

// BenchmarkWrites50k: the hub's writes on the 50k database
// (storebench.Writes), with the default synchronous=FULL and with
// UnsafeSyncNormal. Each transaction is committed, fsync included.
func BenchmarkWrites50k(b *testing.B) {
	path := benchDB(b)
	for _, unsafe := range []bool{false, true} {
		mode := "full"
		if unsafe {
			mode = "normal"
		}
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{UnsafeSyncNormal: unsafe})
		if err != nil {
			b.Fatal(err)
		}
		newUser := func(i int) string { return fmt.Sprintf("new-%s-%d", mode, i) }
		for _, bm := range storebench.Writes(s, newUser, mode) {
			b.Run(bm.Name+"/sync="+mode, bm.F)
		}
		s.Close()
	}
}

// BenchmarkActivityBatcher: Record on the request path, from all cores.
func BenchmarkActivityBatcher(b *testing.B) {
	w := store.ActivityWriterFunc(func(context.Context, []store.Activity) error { return nil })
	bt := store.NewActivityBatcher(w, store.BatcherOptions{MaxEntries: 1 << 30})
	names := make([]string, 1000)
	for i := range names {
		names[i] = storebench.UserName(i)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		t := time.Now()
		for pb.Next() {
			i++
			bt.Record(store.Activity{Kind: store.ActivityServer, User: names[i%len(names)], Time: t})
		}
	})
}

// BenchmarkRestartDeadServers50k is a hub restart after a crash in which
// every running server died too (JupyterHub's "appears to have stopped
// while the Hub was down"): open, read the active servers, and for each
// running one claim a check and finish it as stopped — two transactions
// per server, 5,000 servers. Each iteration starts from a fresh copy of
// the 50k database (not timed).
func BenchmarkRestartDeadServers50k(b *testing.B) {
	src := benchDB(b)
	ctx := context.Background()
	for _, unsafe := range []bool{false, true} {
		mode := "full"
		if unsafe {
			mode = "normal"
		}
		b.Run("sync="+mode, func(b *testing.B) {
			dead := 0
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "copy.sqlite")
				if err := copyFile(src, path); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				s, err := sqlite.Open(ctx, path, sqlite.Options{UnsafeSyncNormal: unsafe})
				if err != nil {
					b.Fatal(err)
				}
				srvs, err := s.ListServers(ctx, store.ServerQuery{Active: true})
				if err != nil {
					b.Fatal(err)
				}
				dead = 0
				for _, srv := range srvs {
					if !srv.Ready() {
						continue // pending: the old process's claims, left to expire
					}
					if _, err := s.ClaimServer(ctx, srv.User, srv.Name, store.Claim{Phase: store.PhaseCheck, Owner: "hub-1"}); err != nil {
						b.Fatal(err)
					}
					if _, err := s.FinishServer(ctx, srv.User, srv.Name, "hub-1", store.PhaseCheck, store.Outcome{}); err != nil {
						b.Fatal(err)
					}
					dead++
				}
				s.Close()
			}
			b.ReportMetric(float64(dead), "dead-servers")
		})
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}
