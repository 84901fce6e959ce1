package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/postgres"
	"github.com/hubkit/hubkit/internal/testenv"
)

// The benchmarks run against one database of benchUsers users on the
// package's test server, built once per process with COPY: the same data as
// the SQLite store's benchmarks (internal/hub/store/sqlite/bench_test.go),
// whose figures they are compared with in bench/README.md. Every user has a
// default server (10% running, 1% pending a spawn, the rest stopped, all
// with spawner state and user options), is in one or two of 20 groups, and
// has an API token and auth state.
//
// The test server runs with fsync and synchronous_commit off (see
// testenv.Postgres): commits cost a round trip, not a disk flush. That is
// the right peer for the SQLite figures with UnsafeSyncNormal, not for
// those with synchronous=FULL.
const (
	benchUsers  = 50_000
	benchPage   = 200 // JupyterHub's default and maximum page size
	benchGroups = 20
)

var fixture struct {
	once    sync.Once
	url     string
	secrets []string // one token secret per user
	build   time.Duration
	err     error
}

// benchDB returns the URL of the shared 50k-user database.
func benchDB(b *testing.B) string {
	b.Helper()
	srv := testenv.NeedPostgres(b, pg)
	fixture.once.Do(func() {
		ctx := context.Background()
		fixture.url, fixture.err = srv.CreateDatabase(ctx, "bench")
		if fixture.err != nil {
			return
		}
		start := time.Now()
		fixture.secrets, fixture.err = buildFixture(ctx, fixture.url, benchUsers)
		fixture.build = time.Since(start)
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.url
}

func benchUserName(i int) string { return fmt.Sprintf("user-%05d@example.org", i) }

func buildFixture(ctx context.Context, url string, n int) ([]string, error) {
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	secrets := make([]string, n)
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	copyRows := func(table string, cols []string, rows [][]any) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	}
	var groups [][]any
	for g := range benchGroups {
		groups = append(groups, []any{fmt.Sprintf("group-%02d", g), now})
	}
	if err := copyRows("groups", []string{"name", "created"}, groups); err != nil {
		return nil, err
	}
	users := make([][]any, n)
	for i := range n {
		users[i] = []any{benchUserName(i), i%1000 == 0, now, now.Add(time.Duration(i) * time.Second)}
	}
	if err := copyRows("users", []string{"name", "admin", "created", "last_activity"}, users); err != nil {
		return nil, err
	}
	ids := map[string]int64{}
	for _, table := range []string{"users", "groups"} {
		rows, _ := tx.Query(ctx, `SELECT name, id FROM `+table)
		var (
			name string
			id   int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&name, &id}, func() error { ids[name] = id; return nil }); err != nil {
			return nil, err
		}
	}
	authState := make([]byte, 2048) // an OIDC access, refresh and ID token, encrypted
	var auth, members, servers, tokens [][]any
	for i := range n {
		id := ids[benchUserName(i)]
		auth = append(auth, []any{id, authState})
		for _, g := range []int{i % benchGroups, (i * 7) % benchGroups} {
			members = append(members, []any{id, ids[fmt.Sprintf("group-%02d", g)]})
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
		servers = append(servers, []any{id, "", state, url, started, now.Add(time.Duration(i) * time.Second),
			`{"profile":"default"}`, pending, owner, now})
		secret, err := store.NewSecret(nil)
		if err != nil {
			return nil, err
		}
		secrets[i] = secret
		tokens = append(tokens, []any{[]byte(store.SecretPrefix(secret)), store.HashSecret(secret), id,
			[]string{"access:servers!user"}, "bench", now})
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"user_auth_states", []string{"user_id", "state"}, auth},
		{"user_groups", []string{"user_id", "group_id"}, dedupe(members)},
		{"servers", []string{"user_id", "name", "state", "url", "started", "last_activity", "user_options", "pending", "pending_owner", "created"}, servers},
		{"api_tokens", []string{"prefix", "hash", "user_id", "scopes", "note", "created"}, tokens},
	} {
		if err := copyRows(c.table, c.cols, c.rows); err != nil {
			return nil, fmt.Errorf("copying %s: %w", c.table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	// Statistics for the planner, as autovacuum would gather them.
	if _, err := s.Pool().Exec(ctx, `ANALYZE`); err != nil {
		return nil, err
	}
	return secrets, nil
}

// dedupe drops repeated (user, group) pairs (a user whose two groups are
// one).
func dedupe(rows [][]any) [][]any {
	seen := map[[2]int64]bool{}
	var out [][]any
	for _, r := range rows {
		k := [2]int64{r[0].(int64), r[1].(int64)}
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// BenchmarkBuild50k reports how long building the fixture took: 50k
// users, servers, tokens, auth states and 75k memberships by COPY, in one
// transaction, and ANALYZE.
func BenchmarkBuild50k(b *testing.B) {
	benchDB(b)
	for b.Loop() {
	}
	b.ReportMetric(fixture.build.Seconds(), "s-build")
}

// BenchmarkStartup50k is what the hub does when it starts: open (schema
// check), count users for the metrics, load the active servers to re-adopt
// them, count active users, and serve the first page of the admin list.
func BenchmarkStartup50k(b *testing.B) {
	url := benchDB(b)
	ctx := context.Background()
	var active int
	for b.Loop() {
		s, err := postgres.Open(ctx, url, postgres.Options{})
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

// BenchmarkListUsersPage50k is GET /hub/api/users with pagination: one
// page of 200 users with groups and servers, plus the count for the
// pagination total.
func BenchmarkListUsersPage50k(b *testing.B) {
	url := benchDB(b)
	ctx := context.Background()
	s, err := postgres.Open(ctx, url, postgres.Options{})
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

// BenchmarkReads50k: the per-request reads, serial and from 4 goroutines.
func BenchmarkReads50k(b *testing.B) {
	url := benchDB(b)
	ctx := context.Background()
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("GetUser", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, err := s.GetUser(ctx, benchUserName(i*7919%benchUsers)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetUserParallel", func(b *testing.B) {
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
	b.Run("LookupToken", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, err := s.LookupToken(ctx, fixture.secrets[i*7919%benchUsers]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWrites50k: the hub's writes on the 50k database. Each
// iteration of CreateUser is one transaction; of ClaimFinishSpawn, four
// (claim and finish a spawn, claim and finish a stop).
func BenchmarkWrites50k(b *testing.B) {
	url := benchDB(b)
	ctx := context.Background()
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("CreateUser", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, err := s.CreateUser(ctx, store.User{Name: fmt.Sprintf("new-%d-%d", time.Now().UnixNano(), i), Groups: []string{"group-01"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ClaimFinishSpawn", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			u := benchUserName((i*10 + 5) % benchUsers)
			if _, err := s.ClaimServer(ctx, u, "bench", store.Claim{Phase: store.PhaseSpawn, Owner: "bench"}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.FinishServer(ctx, u, "bench", "bench", store.PhaseSpawn, store.Outcome{URL: "http://x"}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.ClaimServer(ctx, u, "bench", store.Claim{Phase: store.PhaseStop, Owner: "bench"}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.FinishServer(ctx, u, "bench", "bench", store.PhaseStop, store.Outcome{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/4, "µs/tx")
	})
	b.Run("RecordActivity1000", func(b *testing.B) {
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
}
