package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

var concurrencyTests = []test{
	{"ExactlyOneClaimWins", testConcurrentClaims},
	{"ExactlyOneTakeover", testConcurrentTakeover},
	{"CodeConsumedOnce", testConcurrentConsume},
	{"ReadersAndWriters", testReadersAndWriters},
}

// claimants is how many goroutines race for one server in each round:
// half on the store, half on a replica of it.
const claimants = 8

// race runs fn(i) for i in [0, n) in goroutines released at the same moment
// and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one of errs is nil and the others are
// *store.ClaimError, and returns the winner's index.
func oneWinner(t *testing.T, what string, errs []error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		var ce *store.ClaimError
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("%s: claimants %d and %d both won", what, winner, i)
		case err == nil:
			winner = i
		case !errors.As(err, &ce):
			t.Fatalf("%s: claimant %d: error %v is not a *store.ClaimError", what, i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: nobody won: %v", what, errs)
	}
	return winner
}

// testConcurrentClaims is issue 10's exactly-once spawn: replicas that
// receive the start request for one server at the same moment all claim
// it; one wins, and only the winner may finish.
func testConcurrentClaims(t *testing.T, e *env) {
	ctx := t.Context()
	stores := []store.Store{e.s, e.replica(t)}
	mustCreateUser(t, e.s, "alice")
	for round := range 10 {
		server := ""
		if round%2 == 1 {
			server = fmt.Sprintf("named-%d", round) // a server that does not exist yet
		}
		errs := race(claimants, func(i int) error {
			_, err := stores[i%2].ClaimServer(ctx, "alice", server, store.Claim{
				Phase: store.PhaseSpawn, Owner: fmt.Sprintf("hub-%d", i), Expires: epoch.Add(time.Minute)})
			return err
		})
		w := oneWinner(t, fmt.Sprintf("round %d spawn", round), errs)
		owner := fmt.Sprintf("hub-%d", w)
		srv, err := e.s.GetServer(ctx, "alice", server)
		wantNoErr(t, "GetServer", err)
		wantEqual(t, "owner", srv.PendingOwner, owner)
		// Losers cannot finish; the winner can.
		loser := fmt.Sprintf("hub-%d", (w+1)%claimants)
		_, err = e.s.FinishServer(ctx, "alice", server, loser, store.PhaseSpawn, store.Outcome{URL: "http://loser"})
		wantErr(t, "finish by a loser", err, store.ErrConflict)
		mustFinish(t, stores[w%2], "alice", server, owner, store.PhaseSpawn, store.Outcome{URL: "http://winner"})
		// Now stop it, racing again.
		errs = race(claimants, func(i int) error {
			_, err := stores[i%2].ClaimServer(ctx, "alice", server, store.Claim{Phase: store.PhaseStop, Owner: fmt.Sprintf("hub-%d", i)})
			return err
		})
		w = oneWinner(t, fmt.Sprintf("round %d stop", round), errs)
		mustFinish(t, stores[w%2], "alice", server, fmt.Sprintf("hub-%d", w), store.PhaseStop, store.Outcome{})
	}
	srvs, err := e.s.ListServers(ctx, store.ServerQuery{User: "alice"})
	wantNoErr(t, "ListServers", err)
	wantEqual(t, "servers made (no duplicates)", len(srvs), 6)
}

// testConcurrentTakeover: when a dead replica's claim has expired, the
// survivors that race to adopt the server are again exactly one.
func testConcurrentTakeover(t *testing.T, e *env) {
	ctx := t.Context()
	stores := []store.Store{e.s, e.replica(t)}
	mustCreateUser(t, e.s, "alice")
	mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "dead", Expires: epoch.Add(time.Minute)})
	e.clock.Advance(2 * time.Minute)
	errs := race(claimants, func(i int) error {
		_, err := stores[i%2].ClaimServer(ctx, "alice", "", store.Claim{
			Phase: store.PhaseSpawn, Owner: fmt.Sprintf("hub-%d", i), Expires: e.clock.Now().Add(time.Minute)})
		return err
	})
	w := oneWinner(t, "takeover", errs)
	srv, _ := e.s.GetServer(ctx, "alice", "")
	wantEqual(t, "owner after takeover", srv.PendingOwner, fmt.Sprintf("hub-%d", w))
}

func testConcurrentConsume(t *testing.T, e *env) {
	ctx := t.Context()
	c := putAliceClient(t, e)
	stores := []store.Store{e.s, e.replica(t)}
	for round := range 5 {
		code := newSecret(t)
		_, err := e.s.CreateOAuthCode(ctx, code, store.OAuthCode{ClientID: c.ID, User: "alice", Expires: epoch.Add(time.Minute)})
		wantNoErr(t, "CreateOAuthCode", err)
		errs := race(claimants, func(i int) error {
			_, err := stores[i%2].ConsumeOAuthCode(ctx, code, c.ID)
			return err
		})
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !isErr(err, store.ErrNotFound):
				t.Errorf("round %d: error %v, want nil or ErrNotFound", round, err)
			}
		}
		wantEqual(t, fmt.Sprintf("round %d: successful consumes", round), wins, 1)
	}
}

// testReadersAndWriters runs the hub's mix of calls from many goroutines
// on two handles at once: under -race it checks the implementation's own
// locking, and that no call fails for being concurrent (no "database is
// locked" leaking out).
func testReadersAndWriters(t *testing.T, e *env) {
	ctx := t.Context()
	stores := []store.Store{e.s, e.replica(t)}
	const writers, readers, ops = 3, 3, 30
	var created atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			s := stores[w%2]
			for i := range ops {
				name := fmt.Sprintf("w%d-u%02d", w, i)
				if _, err := s.CreateUser(ctx, store.User{Name: name, Groups: []string{"shared", fmt.Sprintf("g%d", w)}}); err != nil {
					t.Errorf("CreateUser: %v", err)
					return
				}
				created.Add(1)
				if i%3 == 0 {
					if _, err := s.ClaimServer(ctx, name, "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub"}); err != nil {
						t.Errorf("ClaimServer: %v", err)
						return
					}
					if _, err := s.FinishServer(ctx, name, "", "hub", store.PhaseSpawn, store.Outcome{URL: "http://x"}); err != nil {
						t.Errorf("FinishServer: %v", err)
						return
					}
				}
				if err := s.RecordActivity(ctx, []store.Activity{{Kind: store.ActivityServer, User: name, Time: epoch}}); err != nil {
					t.Errorf("RecordActivity: %v", err)
					return
				}
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			s := stores[r%2]
			for range ops {
				users, err := s.ListUsers(ctx, store.UserQuery{State: store.UserReady, Limit: 10})
				if err != nil {
					t.Errorf("ListUsers: %v", err)
					return
				}
				for _, u := range users {
					if len(u.Servers) == 0 || !u.Servers[0].Ready() {
						t.Errorf("ready user %s without a ready server: %+v", u.Name, u.Servers)
					}
				}
				if _, err := s.CountUsers(ctx, store.UserQuery{State: store.UserInactive}); err != nil {
					t.Errorf("CountUsers: %v", err)
					return
				}
				if _, err := s.ListServers(ctx, store.ServerQuery{Active: true}); err != nil {
					t.Errorf("ListServers: %v", err)
					return
				}
				if _, err := s.GetGroup(ctx, "shared"); err != nil && !isErr(err, store.ErrNotFound) {
					t.Errorf("GetGroup: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	n, err := e.s.CountUsers(ctx, store.UserQuery{})
	wantNoErr(t, "CountUsers", err)
	wantEqual(t, "users", int64(n), created.Load())
	ready, _ := e.s.CountUsers(ctx, store.UserQuery{State: store.UserReady})
	wantEqual(t, "ready users", ready, writers*((ops+2)/3))
	g, _ := e.s.GetGroup(ctx, "shared")
	wantEqual(t, "members of the shared group", len(g.Members), n)
}
