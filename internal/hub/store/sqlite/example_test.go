package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
)

// A hub's life with the store: users, a spawn claimed and finished, the
// paginated user list, and what a restarted hub re-adopts.
func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "hub")
	defer os.RemoveAll(dir)
	now := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)

	s, err := sqlite.Open(ctx, filepath.Join(dir, "hub.sqlite"), sqlite.Options{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	for _, name := range []string{"carol", "alice", "bob"} {
		if _, err := s.CreateUser(ctx, store.User{Name: name, Groups: []string{"physics"}}); err != nil {
			log.Fatal(err)
		}
	}

	// POST /hub/api/users/alice/server: claim, spawn, finish.
	srv, err := s.ClaimServer(ctx, "alice", "", store.Claim{
		Phase: store.PhaseSpawn, Owner: "hub-0", Expires: now.Add(5 * time.Minute),
		UserOptions: []byte(`{"profile":"gpu"}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pending:", srv.Pending, "by", srv.PendingOwner)
	// … the spawner starts the server and returns its URL and state …
	srv, err = s.FinishServer(ctx, "alice", "", "hub-0", store.PhaseSpawn, store.Outcome{
		URL:   "http://127.0.0.1:51234",
		State: map[string]string{"pvc_name": "claim-alice"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready:", srv.Ready(), srv.URL)

	// A second start request loses.
	_, err = s.ClaimServer(ctx, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-1"})
	fmt.Println(err)

	// GET /hub/api/users?state=inactive&offset=0&limit=1
	q := store.UserQuery{State: store.UserInactive, Limit: 1}
	page, total, _ := s.ListUsersPage(ctx, q)
	fmt.Println("inactive:", page[0].Name, "of", total)

	// At start-up the hub reads only active servers.
	active, _ := s.ListServers(ctx, store.ServerQuery{Active: true})
	for _, a := range active {
		fmt.Println("re-adopt:", a.User, a.URL, a.State["pvc_name"])
	}
	// Output:
	// pending: spawn by hub-0
	// ready: true http://127.0.0.1:51234
	// store: server alice: already running
	// inactive: bob of 2
	// re-adopt: alice http://127.0.0.1:51234 claim-alice
}

// Two hub processes on one file elect one of them to run the culler, and
// share single-use OAuth states.
func ExampleStore_AcquireLease() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "hub")
	defer os.RemoveAll(dir)
	now := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	path := filepath.Join(dir, "hub.sqlite")

	a, err := sqlite.Open(ctx, path, sqlite.Options{Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path, sqlite.Options{Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	// Each replica tries every few seconds; one holds the lease.
	la, _ := a.AcquireLease(ctx, "culler", "hub-a", 30*time.Second)
	lb, _ := b.AcquireLease(ctx, "culler", "hub-b", 30*time.Second)
	fmt.Println("hub-a holds:", la.Held)
	fmt.Println("hub-b holds:", lb.Held, "- held by", lb.Holder, "until", lb.Expires.Format(time.TimeOnly))

	// hub-a stops renewing (it died); after the expiry hub-b takes over.
	now = now.Add(30 * time.Second)
	lb, _ = b.AcquireLease(ctx, "culler", "hub-b", 30*time.Second)
	fmt.Println("hub-b holds:", lb.Held)

	// A replayed OAuth callback reaches the other replica: refused.
	first, _ := a.UseOnce(ctx, "oauth-state:3f9c", now.Add(10*time.Minute))
	again, _ := b.UseOnce(ctx, "oauth-state:3f9c", now.Add(10*time.Minute))
	fmt.Println("state used:", first, again)
	// Output:
	// hub-a holds: true
	// hub-b holds: false - held by hub-a until 10:00:30
	// hub-b holds: true
	// state used: true false
}
