package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/storebench"
	"github.com/hubkit/hubkit/internal/hub/store/postgres"
	"github.com/hubkit/hubkit/internal/testenv"
)

// The benchmarks run against one database of storebench.Users users on the
// package's test server, built once per process with COPY: the same data as
// the SQLite store's benchmarks (internal/hub/store/sqlite/bench_test.go),
// whose figures they are compared with in bench/README.md. See storebench
// for what it holds.
//
// The test server runs with fsync and synchronous_commit off (see
// testenv.Postgres): commits cost a round trip, not a disk flush. That is
// the right peer for the SQLite figures with UnsafeSyncNormal, not for
// those with synchronous=FULL.
var fixture struct {
	once  sync.Once
	url   string
	users []storebench.FixtureUser
	build time.Duration
	err   error
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
		fixture.users, fixture.err = buildFixture(ctx, fixture.url, storebench.Users)
		fixture.build = time.Since(start)
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.url
}

func buildFixture(ctx context.Context, url string, n int) ([]storebench.FixtureUser, error) {
	users, err := storebench.Fixture(n)
	if err != nil {
		return nil, err
	}
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	now := storebench.Epoch
	copyRows := func(table string, cols []string, rows [][]any) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	}
	var groups [][]any
	for g := range storebench.Groups {
		groups = append(groups, []any{storebench.GroupName(g), now})
	}
	if err := copyRows("groups", []string{"name", "created"}, groups); err != nil {
		return nil, err
	}
	userRows := make([][]any, n)
	for i, u := range users {
		userRows[i] = []any{u.Name, u.Admin, now, u.Activity}
	}
	if err := copyRows("users", []string{"name", "admin", "created", "last_activity"}, userRows); err != nil {
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
	authState := make([]byte, storebench.AuthStateSize)
	var auth, members, servers, tokens [][]any
	for _, u := range users {
		id := ids[u.Name]
		auth = append(auth, []any{id, authState})
		for _, g := range u.Groups {
			members = append(members, []any{id, ids[storebench.GroupName(g)]})
		}
		var started any
		if u.URL != "" {
			started = now
		}
		servers = append(servers, []any{id, "", u.State, u.URL, started, u.Activity,
			storebench.ServerUserOptions, u.Pending, u.PendingOwner, now})
		tokens = append(tokens, []any{[]byte(store.SecretPrefix(u.Secret)), store.HashSecret(u.Secret), id,
			[]string{storebench.TokenScope}, "bench", now})
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"user_auth_states", []string{"user_id", "state"}, auth},
		{"user_groups", []string{"user_id", "group_id"}, members},
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
	return users, nil
}

// BenchmarkBuild50k reports how long building the fixture took: 50k
// users, servers, tokens, auth states and 75k memberships by COPY, in one
// transaction, and ANALYZE.
func BenchmarkBuild50k(b *testing.B) {
	benchDB(b)
	storebench.ReportBuild(b, fixture.build)
}

// BenchmarkStartup50k is what the hub does when it starts
// (storebench.Startup).
func BenchmarkStartup50k(b *testing.B) {
	url := benchDB(b)
	storebench.Startup(b, func(ctx context.Context) (storebench.Store, error) {
		return postgres.Open(ctx, url, postgres.Options{})
	})
}

// BenchmarkListUsersPage50k is GET /hub/api/users with pagination
// (storebench.ListUsersPage).
func BenchmarkListUsersPage50k(b *testing.B) {
	s := openBench(b)
	storebench.ListUsersPage(b, s)
}

// BenchmarkListUsersPageOneCall50k is BenchmarkListUsersPage50k with the
// page and its total read by one ListUsersPage call
// (storebench.ListUsersPageOneCall).
func BenchmarkListUsersPageOneCall50k(b *testing.B) {
	s := openBench(b)
	storebench.ListUsersPageOneCall(b, s)
}

// BenchmarkReads50k: the per-request reads (storebench.Reads), serial and
// from 4 goroutines per core.
func BenchmarkReads50k(b *testing.B) {
	s := openBench(b)
	storebench.Run(b, storebench.Reads(s, fixture.users))
}

// BenchmarkWrites50k: the hub's writes on the 50k database
// (storebench.Writes). New users' names carry the time, so that runs with
// -count above 1 on the one database do not collide.
func BenchmarkWrites50k(b *testing.B) {
	s := openBench(b)
	newUser := func(i int) string { return fmt.Sprintf("new-%d-%d", time.Now().UnixNano(), i) }
	storebench.Run(b, storebench.Writes(s, newUser, "bench"))
}

// openBench opens a store on the shared 50k-user database, closed when b
// ends.
func openBench(b *testing.B) *postgres.Store {
	url := benchDB(b)
	s, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
