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
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
)

// The benchmarks run against one database of benchUsers users, built once
// per process by the same INSERT statements the store uses, in one
// transaction: every user has a default server (10% running, 1% pending a
// spawn, the rest stopped, all with spawner state and user options), is
// in one or two of 20 groups, has an API token and auth state. See
// bench/README-store.md for the figures and bench/store.sh to re-run them.
const (
	benchUsers  = 50_000
	benchPage   = 200 // JupyterHub's default and maximum page size
	benchGroups = 20
)

var fixture struct {
	once    sync.Once
	dir     string
	path    string
	secrets []string // one token secret per user
	build   time.Duration
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// benchDB returns the path of the shared 50k-user database.
func benchDB(b *testing.B) string {
	b.Helper()
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "hubkit-store-bench")
		if fixture.err != nil {
			return
		}
		fixture.path = filepath.Join(fixture.dir, "hub.sqlite")
		start := time.Now()
		fixture.secrets, fixture.err = buildFixture(context.Background(), fixture.path, benchUsers)
		fixture.build = time.Since(start)
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.path
}

func benchUserName(i int) string { return fmt.Sprintf("user-%05d@example.org", i) }

func buildFixture(ctx context.Context, path string, n int) ([]string, error) {
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	secrets := make([]string, n)
	tx, err := s.WriterDB().BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	for g := range benchGroups {
		if _, err := tx.ExecContext(ctx, `INSERT INTO groups (id, name, created) VALUES (?, ?, ?)`, g+1, fmt.Sprintf("group-%02d", g), now); err != nil {
			return nil, err
		}
	}
	user, _ := tx.PrepareContext(ctx, `INSERT INTO users (id, name, admin, created, last_activity) VALUES (?, ?, ?, ?, ?)`)
	auth, _ := tx.PrepareContext(ctx, `INSERT INTO user_auth_states (user_id, state) VALUES (?, ?)`)
	member, _ := tx.PrepareContext(ctx, `INSERT INTO user_groups (user_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	server, _ := tx.PrepareContext(ctx, `INSERT INTO servers (user_id, name, state, url, started, last_activity, user_options, pending, pending_owner, created)
VALUES (?, '', ?, ?, ?, ?, '{"profile":"default"}', ?, ?, ?)`)
	token, _ := tx.PrepareContext(ctx, `INSERT INTO api_tokens (prefix, hash, user_id, scopes, note, created) VALUES (?, ?, ?, '["access:servers!user"]', 'bench', ?)`)
	authState := make([]byte, 2048) // an OIDC access, refresh and ID token, encrypted
	for i := range n {
		id := i + 1
		name := benchUserName(i)
		activity := now + int64(i)*1_000_000
		if _, err := user.ExecContext(ctx, id, name, i%1000 == 0, now, activity); err != nil {
			return nil, err
		}
		if _, err := auth.ExecContext(ctx, id, authState); err != nil {
			return nil, err
		}
		for _, g := range []int{i % benchGroups, (i * 7) % benchGroups} {
			if _, err := member.ExecContext(ctx, id, g+1); err != nil {
				return nil, err
			}
		}
		var (
			url, pending, owner string
			started             any
		)
		switch {
		case i%10 == 0:
			url, started = fmt.Sprintf("http://10.%d.%d.%d:8888", i>>16&255, i>>8&255, i&255), now
		case i%100 == 1:
			pending, owner = "spawn", "hub-0"
		}
		state := fmt.Sprintf(`{"namespace":"jhub","pod_name":"jupyter-user-%05d","pvc_name":"claim-user-%05d"}`, i, i)
		if _, err := server.ExecContext(ctx, id, state, url, started, activity, pending, owner, now); err != nil {
			return nil, err
		}
		secret, err := store.NewSecret(nil)
		if err != nil {
			return nil, err
		}
		secrets[i] = secret
		if _, err := token.ExecContext(ctx, store.SecretPrefix(secret), store.HashSecret(secret), id, now); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	// The hub's own Close runs PRAGMA optimize, as it would after a day
	// of use; a freshly bulk-loaded file without statistics is measured
	// by BenchmarkStartup50k/first-open below all the same.
	return secrets, nil
}

// BenchmarkBuild50k reports how long building the fixture took: 50k
// users, servers, tokens and 75k memberships in one transaction.
func BenchmarkBuild50k(b *testing.B) {
	benchDB(b)
	for b.Loop() {
	}
	b.ReportMetric(fixture.build.Seconds(), "s-build")
}

// BenchmarkStartup50k is what the hub does when it starts: open the
// database (schema check), count users for the metrics, load the active
// servers to re-adopt them, count running servers, and serve the first
// page of the admin list. JupyterHub #2928: over 15 minutes at this size.
func BenchmarkStartup50k(b *testing.B) {
	path := benchDB(b)
	ctx := context.Background()
	var active int
	for b.Loop() {
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		total, err := s.CountUsers(ctx, store.UserQuery{})
		if err != nil || total != benchUsers {
			b.Fatalf("CountUsers = %d, %v", total, err)
		}
		srvs, err := s.ListServers(ctx, store.ServerQuery{Active: true})
		if err != nil {
			b.Fatal(err)
		}
		active = len(srvs)
		if _, err := s.CountUsers(ctx, store.UserQuery{State: store.UserActive}); err != nil {
			b.Fatal(err)
		}
		if page, err := s.ListUsers(ctx, store.UserQuery{Limit: benchPage}); err != nil || len(page) != benchPage {
			b.Fatalf("ListUsers = %d users, %v", len(page), err)
		}
		s.Close()
	}
	b.ReportMetric(float64(active), "active-servers")
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

// BenchmarkListUsersPage50k is GET /hub/api/users with pagination: one
// page of 200 users with groups and servers, plus the count for the
// pagination total.
func BenchmarkListUsersPage50k(b *testing.B) {
	path := benchDB(b)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name string
		q    store.UserQuery
	}{
		{"all/first", store.UserQuery{Limit: benchPage}},
		{"all/middle", store.UserQuery{Offset: benchUsers / 2, Limit: benchPage}},
		{"all/last", store.UserQuery{Offset: benchUsers - benchPage, Limit: benchPage}},
		{"active/first", store.UserQuery{State: store.UserActive, Limit: benchPage}},
		{"ready/middle", store.UserQuery{State: store.UserReady, Offset: 2500, Limit: benchPage}},
		{"inactive/first", store.UserQuery{State: store.UserInactive, Limit: benchPage}},
		{"inactive/last", store.UserQuery{State: store.UserInactive, Offset: 44300, Limit: benchPage}},
		{"name_filter", store.UserQuery{NameContains: "user-4242", Limit: benchPage}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				users, err := s.ListUsers(ctx, tc.q)
				if err != nil || len(users) == 0 {
					b.Fatalf("ListUsers = %d, %v", len(users), err)
				}
				if _, err := s.CountUsers(ctx, tc.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReads50k: the per-request reads, serial and from all cores,
// with read pools of 1 and 4 connections (Options.ReadConns).
func BenchmarkReads50k(b *testing.B) {
	path := benchDB(b)
	ctx := context.Background()
	for _, conns := range []int{1, 4} {
		s, err := sqlite.Open(ctx, path, sqlite.Options{ReadConns: conns})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("GetUser/conns=%d", conns), func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := s.GetUser(ctx, benchUserName(i*7919%benchUsers)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("GetUserParallel/conns=%d", conns), func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := s.GetUser(ctx, benchUserName(i*7919%benchUsers)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(fmt.Sprintf("LookupToken/conns=%d", conns), func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := s.LookupToken(ctx, fixture.secrets[i*7919%benchUsers]); err != nil {
					b.Fatal(err)
				}
			}
		})
		s.Close()
	}
}

// BenchmarkWrites50k: the hub's writes on the 50k database, with the
// default synchronous=FULL and with UnsafeSyncNormal. Each iteration is one
// committed transaction (fsync included).
func BenchmarkWrites50k(b *testing.B) {
	path := benchDB(b)
	ctx := context.Background()
	for _, unsafe := range []bool{false, true} {
		mode := "full"
		if unsafe {
			mode = "normal"
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{UnsafeSyncNormal: unsafe})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("CreateUser/sync="+mode, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := s.CreateUser(ctx, store.User{Name: fmt.Sprintf("new-%s-%d", mode, i), Groups: []string{"group-01"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ClaimFinishSpawn/sync="+mode, func(b *testing.B) {
			// Spawn and stop one inactive user's server per iteration:
			// four transactions.
			i := 0
			for b.Loop() {
				i++
				u := benchUserName((i*10 + 5) % benchUsers)
				if _, err := s.ClaimServer(ctx, u, mode, store.Claim{Phase: store.PhaseSpawn, Owner: "bench"}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.FinishServer(ctx, u, mode, "bench", store.PhaseSpawn, store.Outcome{URL: "http://x"}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.ClaimServer(ctx, u, mode, store.Claim{Phase: store.PhaseStop, Owner: "bench"}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.FinishServer(ctx, u, mode, "bench", store.PhaseStop, store.Outcome{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/4, "µs/tx")
		})
		b.Run("RecordActivity1000/sync="+mode, func(b *testing.B) {
			// One batcher flush of 1000 distinct servers.
			acts := make([]store.Activity, 1000)
			t := time.Now()
			for b.Loop() {
				t = t.Add(time.Second)
				for j := range acts {
					acts[j] = store.Activity{Kind: store.ActivityServer, User: benchUserName(j * 50), Time: t}
				}
				if err := s.RecordActivity(ctx, acts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "µs/entry")
		})
		s.Close()
	}
}

// BenchmarkActivityBatcher: Record on the request path, from all cores.
func BenchmarkActivityBatcher(b *testing.B) {
	w := store.ActivityWriterFunc(func(context.Context, []store.Activity) error { return nil })
	bt := store.NewActivityBatcher(w, store.BatcherOptions{MaxEntries: 1 << 30})
	names := make([]string, 1000)
	for i := range names {
		names[i] = benchUserName(i)
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
