package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/spawner"
)

// leftoverSpawner is the fake spawner with a backend that goes away at the
// wrong moment: a failing start leaves its server running (the spawner
// could not clean up), and stops may fail as unreachable. A start of a
// server that runs returns it, as spawner.Spawner's contract says.
type leftoverSpawner struct {
	*fakeSpawner

	mu         sync.Mutex
	failStarts int // the next starts that fail after making their server
	failStops  int // the next stops that fail
}

func take(mu *sync.Mutex, n *int) bool {
	mu.Lock()
	defer mu.Unlock()
	if *n > 0 {
		*n--
		return true
	}
	return false
}

func (s *leftoverSpawner) Start(ctx context.Context, req spawner.Request) (spawner.Server, error) {
	s.fakeSpawner.mu.Lock()
	running := s.fakeSpawner.running[req.Ref]
	s.fakeSpawner.mu.Unlock()
	if running != nil {
		return spawner.Server{Ref: req.Ref, URL: running.srv.URL, Started: time.Now()}, nil
	}
	srv, err := s.fakeSpawner.Start(ctx, req)
	if err == nil && take(&s.mu, &s.failStarts) {
		return spawner.Server{}, &spawner.StartError{Ref: req.Ref, Reason: "Timeout", Err: spawner.ErrTimeout,
			Message: "not ready in time; deleting it failed: connection refused"}
	}
	return srv, err
}

func (s *leftoverSpawner) Stop(ctx context.Context, ref spawner.Ref) error {
	if take(&s.mu, &s.failStops) {
		return fmt.Errorf("%w: connection refused", spawner.ErrUnavailable)
	}
	return s.fakeSpawner.Stop(ctx, ref)
}

// TestFailedStartLeavesNoServer: a start that fails and leaves its server
// running (the backend was away when the spawner cleaned up) does not
// leave a server the hub forgot — the hub stops it — and when even that
// stop fails, the next start replaces the leftover rather than adopting
// a server whose credentials were revoked.
func TestFailedStartLeavesNoServer(t *testing.T) {
	t.Parallel()
	ls := &leftoverSpawner{fakeSpawner: newFakeSpawner()}
	th := startHub(t, "", ls, nil)
	t.Cleanup(ls.close)
	th.mustAPI("POST", "/users", serviceToken, map[string]any{"usernames": []string{"alice", "bob"}}, 201)

	failedStart := func(user string) {
		t.Helper()
		th.mustAPI("POST", "/users/"+user+"/server", serviceToken, nil, 201, 202, 500)
		deadline := time.Now().Add(30 * time.Second)
		for th.hub.op(spawner.Ref{User: user}) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s's start did not end", user)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if s := th.servers(user); len(s) != 0 {
			t.Fatalf("%s's failed start is listed: %v", user, s)
		}
	}

	t.Run("the hub stops the leftover", func(t *testing.T) {
		ls.mu.Lock()
		ls.failStarts = 1
		ls.mu.Unlock()
		failedStart("alice")
		if ls.isRunning(spawner.Ref{User: "alice"}) {
			t.Fatal("the failed start's server still runs")
		}
	})

	t.Run("the next start replaces it", func(t *testing.T) {
		bob := spawner.Ref{User: "bob"}
		ls.mu.Lock()
		ls.failStarts, ls.failStops = 1, 1
		ls.mu.Unlock()
		failedStart("bob")
		if !ls.isRunning(bob) {
			t.Fatal("the leftover is gone: the case is not tested")
		}
		stale := ls.token(t, bob)
		th.mustAPI("GET", "/user", stale, nil, 403) // revoked with the failed start
		th.mustAPI("POST", "/users/bob/server", serviceToken, nil, 201, 202)
		th.waitReady("bob", "", 30*time.Second)
		tok := ls.token(t, bob)
		if tok == stale {
			t.Fatal("the next start adopted the leftover, whose token is revoked")
		}
		th.mustAPI("GET", "/user", tok, nil, 200)
		if n := ls.startCount(bob); n != 2 {
			t.Errorf("%d starts of bob's server, want 2", n)
		}
	})
}
