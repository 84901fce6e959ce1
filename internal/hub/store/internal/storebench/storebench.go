package storebench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// The size of the benchmark database.
const (
	Users         = 50_000
	Page          = 200 // JupyterHub's default and maximum page size
	Groups        = 20
	AuthStateSize = 2048 // an OIDC access, refresh and ID token, encrypted
)

// Epoch is the database's clock: every Created time, the running servers'
// Started, and the first user's last activity.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// UserName returns the name of user i.
func UserName(i int) string { return fmt.Sprintf("user-%05d@example.org", i) }

// GroupName returns the name of group g, 0 ≤ g < Groups.
func GroupName(g int) string { return fmt.Sprintf("group-%02d", g) }

// ServerUserOptions are the user options of every server.
const ServerUserOptions = `{"profile":"default"}`

// TokenScope is the one scope of every API token.
const TokenScope = "access:servers!user"

// FixtureUser is one user of the database, with their default server and
// API token.
type FixtureUser struct {
	Name  string
	Admin bool
	// Groups are the indexes of the user's groups (GroupName), one or
	// two, distinct.
	Groups []int
	// Activity is the last activity of the user and of their server.
	Activity time.Time
	// URL, Pending and PendingOwner are the server's: URL set for a
	// running one (started at Epoch), Pending "spawn" for a pending one.
	URL, Pending, PendingOwner string
	// State is the server's spawner state, a JSON object.
	State string
	// Secret is the user's API token.
	Secret string
}

// Fixture returns the n users of the database, user i at index i, with
// fresh token secrets.
func Fixture(n int) ([]FixtureUser, error) {
	users := make([]FixtureUser, n)
	for i := range users {
		u := FixtureUser{
			Name:     UserName(i),
			Admin:    i%1000 == 0,
			Groups:   []int{i % Groups},
			Activity: Epoch.Add(time.Duration(i) * time.Second),
			State:    fmt.Sprintf(`{"namespace":"jhub","pod_name":"jupyter-user-%05d","pvc_name":"claim-user-%05d"}`, i, i),
		}
		if g := (i * 7) % Groups; g != u.Groups[0] {
			u.Groups = append(u.Groups, g)
		}
		switch {
		case i%10 == 0:
			u.URL = fmt.Sprintf("http://10.%d.%d.%d:8888", i>>16&255, i>>8&255, i&255)
		case i%100 == 1:
			u.Pending, u.PendingOwner = "spawn", "hub-0"
		}
		secret, err := store.NewSecret(nil)
		if err != nil {
			return nil, err
		}
		u.Secret = secret
		users[i] = u
	}
	return users, nil
}

// Store is a store.Store that the benchmarks open and close.
type Store interface {
	store.Store
	Close() error
}

// Bench is a named benchmark, for testing.B.Run.
type Bench struct {
	Name string
	F    func(b *testing.B)
}

// Run runs benches as sub-benchmarks of b under their names.
func Run(b *testing.B, benches []Bench) {
	for _, bm := range benches {
		b.Run(bm.Name, bm.F)
	}
}

// ReportBuild reports d, how long building the database took, as the
// metric s-build.
func ReportBuild(b *testing.B, d time.Duration) {
	for b.Loop() {
	}
	b.ReportMetric(d.Seconds(), "s-build")
}

// Startup is what the hub does when it starts: open the database (schema
// check), count users for the metrics, load the active servers to re-adopt
// them, count active users, and serve the first page of the admin list. It
// reports the number of active servers.
func Startup(b *testing.B, open func(ctx context.Context) (Store, error)) {
	ctx := context.Background()
	var active int
	for b.Loop() {
		s, err := open(ctx)
		if err != nil {
			b.Fatal(err)
		}
		total, err := s.CountUsers(ctx, store.UserQuery{})
		if err != nil || total != Users {
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
		if page, err := s.ListUsers(ctx, store.UserQuery{Limit: Page}); err != nil || len(page) != Page {
			b.Fatalf("ListUsers = %d users, %v", len(page), err)
		}
		s.Close()
	}
	b.ReportMetric(float64(active), "active-servers")
}

// ListUsersPage is GET /hub/api/users with pagination: one page of Page
// users with groups and servers (ListUsers), plus the count for the
// pagination total (CountUsers), with each filter at the start, middle or
// end of the list.
func ListUsersPage(b *testing.B, s store.Store) {
	listUsersPage(b, func(ctx context.Context, q store.UserQuery) (int, error) {
		users, err := s.ListUsers(ctx, q)
		if err != nil {
			return 0, err
		}
		if _, err := s.CountUsers(ctx, q); err != nil {
			return 0, err
		}
		return len(users), nil
	})
}

// ListUsersPageOneCall is ListUsersPage with the page and its total read
// by one call, Users.ListUsersPage.
func ListUsersPageOneCall(b *testing.B, s store.Store) {
	listUsersPage(b, func(ctx context.Context, q store.UserQuery) (int, error) {
		users, _, err := s.ListUsersPage(ctx, q)
		return len(users), err
	})
}

// listUsersPage runs page, which returns how many users it read, on each
// filter at the start, middle or end of the list.
func listUsersPage(b *testing.B, page func(ctx context.Context, q store.UserQuery) (int, error)) {
	ctx := context.Background()
	tests := []struct {
		name string
		q    store.UserQuery
	}{
		{"all/first", store.UserQuery{Limit: Page}},
		{"all/middle", store.UserQuery{Offset: Users / 2, Limit: Page}},
		{"all/last", store.UserQuery{Offset: Users - Page, Limit: Page}},
		{"active/first", store.UserQuery{State: store.UserActive, Limit: Page}},
		{"ready/middle", store.UserQuery{State: store.UserReady, Offset: 2500, Limit: Page}},
		{"inactive/first", store.UserQuery{State: store.UserInactive, Limit: Page}},
		{"inactive/last", store.UserQuery{State: store.UserInactive, Offset: 44300, Limit: Page}},
		{"name_filter", store.UserQuery{NameContains: "user-4242", Limit: Page}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				n, err := page(ctx, tc.q)
				if err != nil || n == 0 {
					b.Fatalf("page = %d users, %v", n, err)
				}
			}
		})
	}
}

// Reads returns the per-request reads on s, over users (the Fixture that s
// holds): GetUser, GetUser from 4 goroutines per core (GetUserParallel),
// LookupToken, and a request's authentication by token: LookupToken then
// GetUser of its owner (LookupTokenGetUser), or both in one call
// (LookupTokenUser).
func Reads(s store.Store, users []FixtureUser) []Bench {
	ctx := context.Background()
	// The i-th call reads user k(i): an order that does not follow the
	// name index.
	k := func(i int) int { return i * 7919 % Users }
	return []Bench{
		{"GetUser", func(b *testing.B) {
			loop(b, func(i int) error { _, err := s.GetUser(ctx, UserName(k(i))); return err })
		}},
		{"GetUserParallel", func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := s.GetUser(ctx, UserName(k(i))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}},
		{"LookupToken", func(b *testing.B) {
			loop(b, func(i int) error { _, err := s.LookupToken(ctx, users[k(i)].Secret); return err })
		}},
		{"LookupTokenGetUser", func(b *testing.B) {
			loop(b, func(i int) error {
				t, err := s.LookupToken(ctx, users[k(i)].Secret)
				if err != nil {
					return err
				}
				_, err = s.GetUser(ctx, t.Owner.User)
				return err
			})
		}},
		{"LookupTokenUser", func(b *testing.B) {
			loop(b, func(i int) error {
				_, u, err := s.LookupTokenUser(ctx, users[k(i)].Secret)
				if err == nil && u.Name == "" {
					err = fmt.Errorf("LookupTokenUser(%s's token): no user", users[k(i)].Name)
				}
				return err
			})
		}},
	}
}

// Writes returns the hub's writes on s: CreateUser (one transaction, a user
// named newUser(i) in group-01), ClaimFinishSpawn (four: claim and finish a
// spawn, claim and finish a stop, of server on an inactive user) and
// RecordActivity1000 (one batcher flush of 1000 distinct servers).
func Writes(s store.Store, newUser func(i int) string, server string) []Bench {
	ctx := context.Background()
	return []Bench{
		{"CreateUser", func(b *testing.B) {
			loop(b, func(i int) error {
				_, err := s.CreateUser(ctx, store.User{Name: newUser(i), Groups: []string{"group-01"}})
				return err
			})
		}},
		{"ClaimFinishSpawn", func(b *testing.B) {
			loop(b, func(i int) error {
				u := UserName((i*10 + 5) % Users)
				if _, err := s.ClaimServer(ctx, u, server, store.Claim{Phase: store.PhaseSpawn, Owner: "bench"}); err != nil {
					return err
				}
				if _, err := s.FinishServer(ctx, u, server, "bench", store.PhaseSpawn, store.Outcome{URL: "http://x"}); err != nil {
					return err
				}
				if _, err := s.ClaimServer(ctx, u, server, store.Claim{Phase: store.PhaseStop, Owner: "bench"}); err != nil {
					return err
				}
				_, err := s.FinishServer(ctx, u, server, "bench", store.PhaseStop, store.Outcome{})
				return err
			})
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/4, "µs/tx")
		}},
		{"RecordActivity1000", func(b *testing.B) {
			acts := make([]store.Activity, 1000)
			t := time.Now()
			for b.Loop() {
				t = t.Add(time.Second)
				for j := range acts {
					acts[j] = store.Activity{Kind: store.ActivityServer, User: UserName(j * 50), Time: t}
				}
				if err := s.RecordActivity(ctx, acts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "µs/entry")
		}},
	}
}

// loop calls f with 1, 2, 3, … for each iteration of b, and stops b at
// f's first error.
func loop(b *testing.B, f func(i int) error) {
	i := 0
	for b.Loop() {
		i++
		if err := f(i); err != nil {
			b.Fatal(err)
		}
	}
}
