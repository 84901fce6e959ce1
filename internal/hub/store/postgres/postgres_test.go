package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/postgres"
	"github.com/hubkit/hubkit/internal/hub/store/storetest"
	"github.com/hubkit/hubkit/internal/testenv"
)

// pg is the package's PostgreSQL server; each test takes a fresh
// database on it.
var pg *testenv.Postgres

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithPostgres(m, &pg))
}

func openT(t *testing.T, url string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newDB returns a fresh database on the package's server.
func newDB(t *testing.T) string {
	t.Helper()
	return testenv.NeedPostgres(t, pg).Database(t)
}

func TestConformance(t *testing.T) {
	testenv.NeedPostgres(t, pg)
	var urls sync.Map // *postgres.Store → its database's URL
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, clock func() time.Time) store.Store {
			url := newDB(t)
			s := openT(t, url, postgres.Options{Now: clock})
			urls.Store(s, url)
			return s
		},
		// A second Store on the same database: its own connection pool,
		// as a second hub replica has.
		Replica: func(t *testing.T, s store.Store, clock func() time.Time) store.Store {
			url, ok := urls.Load(s)
			if !ok {
				t.Fatal("Replica of a store the harness did not make")
			}
			return openT(t, url.(string), postgres.Options{Now: clock})
		},
	})
}

// TestDefaultCollationIsNotBytewise checks the test server itself: on
// PostgreSQL 15 and later its databases sort linguistically by default
// (ICU en-US), so that the conformance suite's bytewise-order checks show
// a name column without COLLATE "C".
func TestDefaultCollationIsNotBytewise(t *testing.T) {
	s := openT(t, newDB(t), postgres.Options{})
	var version int
	var linguistic bool
	err := s.Pool().QueryRow(t.Context(), `SELECT current_setting('server_version_num')::int, NOT ('Zed' < 'aaron')`).Scan(&version, &linguistic)
	if err != nil {
		t.Fatal(err)
	}
	if version < 150000 {
		t.Skipf("PostgreSQL %d has no ICU default collation; the suite's order checks run under the C collation", version)
	}
	if !linguistic {
		t.Error("the test databases sort bytewise by default: the conformance suite cannot tell a column without COLLATE \"C\"")
	}
}

// TestClaimRace is issue 10's exactly-once spawn on two hub replicas: two
// Stores (two connection pools) on one database, 8 goroutines claiming the
// same server at the same moment, in rounds alternating a server's first
// claim (the row does not exist yet: racing INSERTs) with a claim of an
// existing, stopped server (racing row locks). Exactly one wins each
// round; every loser gets a *store.ClaimError naming the winner, never a
// raw unique violation; only the winner can finish.
func TestClaimRace(t *testing.T) {
	ctx := t.Context()
	url := newDB(t)
	// Small pools, so that claims also queue for connections.
	a := openT(t, url, postgres.Options{MaxConns: 3})
	b := openT(t, url, postgres.Options{MaxConns: 3})
	stores := []*postgres.Store{a, b}
	if _, err := a.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	const claimants, rounds = 8, 20
	for round := range rounds {
		server := fmt.Sprintf("s%02d", round/2) // even rounds create it, odd rounds reclaim it
		start := make(chan struct{})
		errs := make([]error, claimants)
		var wg sync.WaitGroup
		for i := range claimants {
			wg.Go(func() {
				<-start
				_, errs[i] = stores[i%2].ClaimServer(ctx, "alice", server, store.Claim{
					Phase: store.PhaseSpawn, Owner: fmt.Sprintf("hub-%d", i), Expires: time.Now().Add(time.Minute)})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			var ce *store.ClaimError
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: claimants %d and %d both won", round, winner, i)
			case err == nil:
				winner = i
			case !errors.As(err, &ce):
				t.Fatalf("round %d: claimant %d: %v is not a *store.ClaimError", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody won: %v", round, errs)
		}
		owner := fmt.Sprintf("hub-%d", winner)
		for i, err := range errs {
			var ce *store.ClaimError
			if errors.As(err, &ce) && (ce.Owner != owner || ce.Pending != store.PhaseSpawn) {
				t.Errorf("round %d: claimant %d lost to %q pending %q, want %q pending spawn", round, i, ce.Owner, ce.Pending, owner)
			}
		}
		for i := range claimants {
			_, err := stores[i%2].FinishServer(ctx, "alice", server, fmt.Sprintf("hub-%d", i), store.PhaseSpawn, store.Outcome{})
			switch {
			case i == winner && err != nil:
				t.Fatalf("round %d: the winner cannot finish: %v", round, err)
			case i != winner && !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: loser %d finished: %v", round, i, err)
			}
		}
	}
	srvs, err := b.ListServers(ctx, store.ServerQuery{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(srvs) != rounds/2 {
		t.Errorf("%d servers, want %d (no duplicates)", len(srvs), rounds/2)
	}
}

// TestConsumeRace: one authorization code, consumed by 8 goroutines on two
// Stores at once, is given to exactly one.
func TestConsumeRace(t *testing.T) {
	ctx := t.Context()
	url := newDB(t)
	stores := []*postgres.Store{openT(t, url, postgres.Options{}), openT(t, url, postgres.Options{})}
	if _, err := stores[0].CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	client := store.OAuthClient{ID: "jupyterhub-user-alice", RedirectURI: "/user/alice/oauth_callback", Owner: store.Owner{User: "alice"}}
	if _, err := stores[0].PutOAuthClient(ctx, client, "client-secret"); err != nil {
		t.Fatal(err)
	}
	for round := range 10 {
		code := fmt.Sprintf("authorization-code-%d", round)
		if _, err := stores[1].CreateOAuthCode(ctx, code, store.OAuthCode{ClientID: client.ID, User: "alice", Expires: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				<-start
				_, errs[i] = stores[i%2].ConsumeOAuthCode(ctx, code, client.ID)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("round %d: %v, want nil or ErrNotFound", round, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d consumers got the code, want 1", round, wins)
		}
	}
}

// TestActivityRace: two replicas flushing overlapping batches at once
// (users in opposite orders) neither deadlock nor move a time backwards.
func TestActivityRace(t *testing.T) {
	ctx := t.Context()
	url := newDB(t)
	a, b := openT(t, url, postgres.Options{Retries: -1}), openT(t, url, postgres.Options{Retries: -1})
	const users = 50
	var names []string
	for i := range users {
		n := fmt.Sprintf("u%02d", i)
		names = append(names, n)
		if _, err := a.CreateUser(ctx, store.User{Name: n}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.ClaimServer(ctx, n, "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub"}); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := func(round int, reverse bool) []store.Activity {
		var acts []store.Activity
		for i := range users {
			j := i
			if reverse {
				j = users - 1 - i
			}
			acts = append(acts, store.Activity{Kind: store.ActivityServer, User: names[j], Time: base.Add(time.Duration(round*users+j) * time.Second)})
		}
		return acts
	}
	for round := range 20 {
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { errA = a.RecordActivity(ctx, batch(round, false)) })
		wg.Go(func() { errB = b.RecordActivity(ctx, batch(round, true)) })
		wg.Wait()
		// Retries are off: a deadlock would show as an error here.
		if errA != nil || errB != nil {
			t.Fatalf("round %d: %v; %v", round, errA, errB)
		}
	}
	u, err := b.GetUser(ctx, names[users-1])
	if err != nil {
		t.Fatal(err)
	}
	want := base.Add(time.Duration(19*users+users-1) * time.Second)
	if !u.LastActivity.Equal(want) || !u.Servers[0].LastActivity.Equal(want) {
		t.Errorf("last activity %v (server %v), want %v", u.LastActivity, u.Servers[0].LastActivity, want)
	}
}

// TestDatabaseDown: with the server stopped, calls fail with
// store.ErrUnavailable well before the caller's deadline, Open too; once
// the server is back, the same Store works again without being reopened.
func TestDatabaseDown(t *testing.T) {
	srv := testenv.StartPostgres(t)
	url := srv.Database(t)
	s := openT(t, url, postgres.Options{})
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", s.Ping},
		{"GetUser", func(ctx context.Context) error { _, err := s.GetUser(ctx, "alice"); return err }},
		{"CreateUser", func(ctx context.Context) error { _, err := s.CreateUser(ctx, store.User{Name: "bob"}); return err }},
		{"ClaimServer", func(ctx context.Context) error {
			_, err := s.ClaimServer(ctx, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub"})
			return err
		}},
		{"Open", func(ctx context.Context) error {
			s2, err := postgres.Open(ctx, url, postgres.Options{})
			if err == nil {
				s2.Close()
			}
			return err
		}},
	}
	for _, c := range calls {
		// The deadline is far away: the call must fail on its own, not
		// wait for it.
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		began := time.Now()
		err := c.call(cctx)
		cancel()
		t.Logf("%s with the server down, after %v: %v", c.name, time.Since(began).Round(time.Millisecond), err)
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with the server down: error = %v, want ErrUnavailable", c.name, err)
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, store.User{Name: "bob"}); err != nil {
		t.Fatalf("CreateUser after the restart: %v", err)
	}
	users, err := s.ListUsers(ctx, store.UserQuery{})
	if err != nil || len(users) != 2 {
		t.Fatalf("ListUsers after the restart = %d users, %v; want alice and bob", len(users), err)
	}
}

// TestNobodyListening: a URL whose port has no server gives
// store.ErrUnavailable at once.
func TestNobodyListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = postgres.Open(ctx, fmt.Sprintf("postgres://hub@127.0.0.1:%d/hub?sslmode=disable", port), postgres.Options{})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open: error = %v, want ErrUnavailable", err)
	}
}

func TestOpenRejectsBadURL(t *testing.T) {
	for _, url := range []string{"postgres://hub@[::1/x", "host=db port=notaport", "postgres://h/db?sslmode=sometimes"} {
		_, err := postgres.Open(t.Context(), url, postgres.Options{})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Open(%q): error = %v, want ErrInvalid", url, err)
		}
	}
	_, err := postgres.Open(t.Context(), "postgres://hub:s3cret-pw@[::1/x", postgres.Options{})
	if err != nil && strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestCloseThenUnavailable(t *testing.T) {
	ctx := t.Context()
	url := newDB(t)
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.GetUser(ctx, "alice"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetUser after Close: error = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after Close: error = %v, want ErrUnavailable", err)
	}
	// The data stays for the next hub.
	s = openT(t, url, postgres.Options{})
	if _, err := s.GetUser(ctx, "alice"); err != nil {
		t.Errorf("GetUser after reopening: %v", err)
	}
}

// TestTextPostgresCannotStore: PostgreSQL text cannot hold a NUL byte,
// which the interface's validation lets through in free-text fields; the
// store reports ErrInvalid and writes nothing.
func TestTextPostgresCannotStore(t *testing.T) {
	ctx := t.Context()
	s := openT(t, newDB(t), postgres.Options{})
	if _, err := s.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateToken(ctx, "a-valid-secret", store.Token{Owner: store.Owner{User: "alice"}, Note: "nul\x00byte"})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CreateToken with a NUL in the note: error = %v, want ErrInvalid", err)
	}
	toks, err := s.ListTokens(ctx, store.TokenQuery{Owner: store.Owner{User: "alice"}})
	if err != nil || len(toks) != 0 {
		t.Errorf("tokens after the failed create: %d, %v", len(toks), err)
	}
	// A configured secret whose 4-byte prefix ends inside a UTF-8
	// character works: the prefix is kept as bytes.
	secret := "aéé-configured-secret"
	tok, err := s.CreateToken(ctx, secret, store.Token{Owner: store.Owner{User: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.LookupToken(ctx, secret)
	if err != nil || got.ID != tok.ID || got.Prefix != secret[:store.PrefixLength] {
		t.Errorf("LookupToken = %+v, %v", got, err)
	}
}

// TestSearchPath: the URL's search_path puts the hub's tables in a schema
// of their own, migrations included.
func TestSearchPath(t *testing.T) {
	ctx := t.Context()
	url := newDB(t)
	admin := openT(t, url, postgres.Options{})
	if _, err := admin.Pool().Exec(ctx, `CREATE SCHEMA hub`); err != nil {
		t.Fatal(err)
	}
	s := openT(t, url+"&search_path=hub", postgres.Options{})
	if _, err := s.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := admin.Pool().QueryRow(ctx, `SELECT count(*) FROM hub.users`).Scan(&n); err != nil || n != 1 {
		t.Errorf("hub.users has %d rows (%v), want 1", n, err)
	}
	if v, err := s.Version(ctx); err != nil || v != postgres.SchemaVersion() {
		t.Errorf("Version in schema hub = %d, %v", v, err)
	}
}

// TestClaimWaitsWithinContext: a claim queued behind a transaction that
// holds the server's row gives up when its context ends, with the
// context's error, and leaves the pool usable.
func TestClaimWaitsWithinContext(t *testing.T) {
	ctx := t.Context()
	s := openT(t, newDB(t), postgres.Options{MaxConns: 2})
	if _, err := s.CreateUser(ctx, store.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimServer(ctx, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-a"}); err != nil {
		t.Fatal(err)
	}
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM servers FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = s.FinishServer(cctx, "alice", "", "hub-a", store.PhaseSpawn, store.Outcome{URL: "http://a"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FinishServer behind a locked row: error = %v, want context.DeadlineExceeded", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishServer(ctx, "alice", "", "hub-a", store.PhaseSpawn, store.Outcome{URL: "http://a"}); err != nil {
		t.Fatalf("FinishServer once the row is free: %v", err)
	}
}
