package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// Harness tells the suite how to make stores of one implementation.
type Harness struct {
	// New returns an empty store whose clock is clock, closed by a
	// t.Cleanup. It is called once per subtest; no two calls' stores may
	// share data (a fresh file, a fresh database or schema). Required.
	New func(t *testing.T, clock func() time.Time) store.Store

	// Replica returns a second store over the same database as s, as a
	// second hub replica would open it (a second connection pool, or a
	// second process's handle), with the given clock. Optional: when nil,
	// the tests of concurrent replicas run on s alone.
	Replica func(t *testing.T, s store.Store, clock func() time.Time) store.Store
}

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("storetest: Harness.New is required")
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Users", userTests},
		{"Groups", groupTests},
		{"Servers", serverTests},
		{"Tokens", tokenTests},
		{"OAuth", oauthTests},
		{"Activity", activityTests},
		{"Concurrency", concurrencyTests},
		{"Leases", leaseTests},
		{"Values", valueTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, newEnv(t, h))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, e *env)
}

// env is one subtest's store with its clock.
type env struct {
	s     store.Store
	clock *Clock
	h     Harness
}

func newEnv(t *testing.T, h Harness) *env {
	c := NewClock(epoch)
	return &env{s: h.New(t, c.Now), clock: c, h: h}
}

// replica returns a second store over e's database, or e.s itself.
func (e *env) replica(t *testing.T) store.Store {
	if e.h.Replica == nil {
		return e.s
	}
	return e.h.Replica(t, e.s, e.clock.Now)
}

// epoch is the suite's start time: not UTC and with nanoseconds, so that
// a store that does not convert to UTC or truncate to microseconds shows.
var epoch = time.Date(2025, 3, 1, 13, 0, 0, 123456789, time.FixedZone("CET", 3600))

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// at returns what a store keeps of t.
func at(t time.Time) time.Time { return store.UTC(t) }

func mustCreateUser(t *testing.T, s store.Store, name string, groups ...string) store.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), store.User{Name: name, Groups: groups})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

func mustClaim(t *testing.T, s store.Store, user, server string, c store.Claim) store.Server {
	t.Helper()
	srv, err := s.ClaimServer(t.Context(), user, server, c)
	if err != nil {
		t.Fatalf("ClaimServer(%s, %+v): %v", store.RefString(user, server), c, err)
	}
	return srv
}

func mustFinish(t *testing.T, s store.Store, user, server, owner string, p store.Phase, o store.Outcome) store.Server {
	t.Helper()
	srv, err := s.FinishServer(t.Context(), user, server, owner, p, o)
	if err != nil {
		t.Fatalf("FinishServer(%s, %s, %s): %v", store.RefString(user, server), owner, p, err)
	}
	return srv
}

// startServer claims, spawns and finishes a server as running at url.
func startServer(t *testing.T, s store.Store, user, server, url string) store.Server {
	t.Helper()
	mustClaim(t, s, user, server, store.Claim{Phase: store.PhaseSpawn, Owner: "hub-0"})
	return mustFinish(t, s, user, server, "hub-0", store.PhaseSpawn, store.Outcome{URL: url})
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

func isErr(err, target error) bool { return errors.Is(err, target) }

func wantNoErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// sameJSON reports whether a and b are the same JSON value (a backend
// may reformat JSON, as PostgreSQL's jsonb does).
func sameJSON(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func names(users []store.User) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.Name)
	}
	return out
}

// cancelled returns a context that has already ended.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
