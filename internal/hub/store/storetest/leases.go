package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

var leaseTests = []test{
	{"AcquireRenewExpire", testLeaseLifecycle},
	{"Release", testLeaseRelease},
	{"NamesAreBytewise", testLeaseNames},
	{"Invalid", testLeaseInvalid},
	{"ExactlyOneAcquires", testConcurrentLease},
}

func mustAcquire(t *testing.T, s store.Store, name, owner string, ttl time.Duration) store.Lease {
	t.Helper()
	l, err := s.AcquireLease(t.Context(), name, owner, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%q, %q, %v): %v", name, owner, ttl, err)
	}
	return l
}

// testLeaseLifecycle is one lease through a hub's life: taken while free,
// refused to another replica while held, renewed by its holder, taken over
// exactly when it expires, and refused to the old holder afterwards.
func testLeaseLifecycle(t *testing.T, e *env) {
	a, b := e.s, e.replica(t)
	const ttl = 30 * time.Second

	got := mustAcquire(t, a, "culler", "hub-a", ttl)
	wantEqual(t, "free lease", got, store.Lease{Name: "culler", Holder: "hub-a", Expires: at(epoch.Add(ttl)), Held: true})

	got = mustAcquire(t, b, "culler", "hub-b", ttl)
	wantEqual(t, "held lease, other owner", got, store.Lease{Name: "culler", Holder: "hub-a", Expires: at(epoch.Add(ttl)), Held: false})

	// Renewal, on either handle, moves the expiry from the clock's now.
	e.clock.Advance(20 * time.Second)
	renewed := at(e.clock.Now().Add(ttl))
	got = mustAcquire(t, b, "culler", "hub-a", ttl)
	wantEqual(t, "renewal", got, store.Lease{Name: "culler", Holder: "hub-a", Expires: renewed, Held: true})
	e.clock.Advance(20 * time.Second) // the first expiry has passed; the renewed one has not
	got = mustAcquire(t, a, "culler", "hub-b", ttl)
	wantEqual(t, "renewed lease, other owner", got, store.Lease{Name: "culler", Holder: "hub-a", Expires: renewed, Held: false})

	// Exactly at its expiry the lease is free for the taking.
	e.clock.Advance(renewed.Sub(at(e.clock.Now())))
	got = mustAcquire(t, b, "culler", "hub-b", time.Minute)
	wantEqual(t, "takeover at expiry", got, store.Lease{Name: "culler", Holder: "hub-b", Expires: at(e.clock.Now().Add(time.Minute)), Held: true})
	got = mustAcquire(t, a, "culler", "hub-a", ttl)
	wantEqual(t, "old holder after the takeover", got.Held, false)
	wantEqual(t, "holder after the takeover", got.Holder, "hub-b")

	// Other leases are independent.
	got = mustAcquire(t, a, "purge", "hub-a", ttl)
	wantEqual(t, "another lease", got.Held, true)

	// A renewal with a shorter ttl shortens the lease.
	got = mustAcquire(t, b, "culler", "hub-b", time.Second)
	wantEqual(t, "shorter renewal", got.Expires, at(e.clock.Now().Add(time.Second)))
}

func testLeaseRelease(t *testing.T, e *env) {
	ctx := t.Context()
	a, b := e.s, e.replica(t)
	mustAcquire(t, a, "culler", "hub-a", time.Hour)

	// Releasing someone else's lease changes nothing.
	wantNoErr(t, "ReleaseLease by another owner", b.ReleaseLease(ctx, "culler", "hub-b"))
	got := mustAcquire(t, b, "culler", "hub-b", time.Hour)
	wantEqual(t, "after a release by another owner", got.Holder, "hub-a")

	// The holder's release frees it at once.
	wantNoErr(t, "ReleaseLease", a.ReleaseLease(ctx, "culler", "hub-a"))
	wantNoErr(t, "ReleaseLease again", a.ReleaseLease(ctx, "culler", "hub-a"))
	got = mustAcquire(t, b, "culler", "hub-b", time.Hour)
	wantEqual(t, "after the holder's release", got, store.Lease{Name: "culler", Holder: "hub-b", Expires: at(epoch.Add(time.Hour)), Held: true})

	// The old holder's late release does not free the new holder's lease.
	wantNoErr(t, "late ReleaseLease", a.ReleaseLease(ctx, "culler", "hub-a"))
	got = mustAcquire(t, a, "culler", "hub-a", time.Hour)
	wantEqual(t, "holder after a late release", got.Holder, "hub-b")

	// An expired lease may still be released by its holder.
	e.clock.Advance(time.Hour)
	wantNoErr(t, "ReleaseLease of an expired lease", b.ReleaseLease(ctx, "culler", "hub-b"))
	wantNoErr(t, "ReleaseLease of a lease nobody took", a.ReleaseLease(ctx, "never-taken", "hub-a"))
	got = mustAcquire(t, a, "culler", "hub-a", time.Hour)
	wantEqual(t, "after releasing an expired lease", got.Holder, "hub-a")
}

// testLeaseNames: lease names and owners compare bytewise and
// case-sensitively, whatever the database's collation.
func testLeaseNames(t *testing.T, e *env) {
	for _, name := range []string{"culler", "Culler", "CULLER", "cullér", "culler "} {
		got := mustAcquire(t, e.s, name, "hub-"+name, time.Minute)
		if !got.Held {
			t.Errorf("lease %q: held by %q, a lease of another name", name, got.Holder)
		}
	}
	got := mustAcquire(t, e.s, "culler", "Hub-culler", time.Minute)
	wantEqual(t, "owner differing in case only", got.Held, false)
	long := strings.Repeat("l", store.MaxNameLength)
	got = mustAcquire(t, e.s, long, long, time.Minute)
	wantEqual(t, "longest name and owner", got, store.Lease{Name: long, Holder: long, Expires: at(epoch.Add(time.Minute)), Held: true})
}

func testLeaseInvalid(t *testing.T, e *env) {
	ctx := t.Context()
	long := strings.Repeat("l", store.MaxNameLength+1)
	for _, tc := range []struct {
		what, name, owner string
		ttl               time.Duration
	}{
		{"zero ttl", "culler", "hub-a", 0},
		{"negative ttl", "culler", "hub-a", -time.Second},
		{"empty name", "", "hub-a", time.Second},
		{"empty owner", "culler", "", time.Second},
		{"long name", long, "hub-a", time.Second},
		{"long owner", "culler", long, time.Second},
		{"name not UTF-8", "cull\xffer", "hub-a", time.Second},
		{"owner not UTF-8", "culler", "hub-\xff", time.Second},
		{"name with NUL", "cull\x00er", "hub-a", time.Second},
	} {
		_, err := e.s.AcquireLease(ctx, tc.name, tc.owner, tc.ttl)
		wantErr(t, "AcquireLease with "+tc.what, err, store.ErrInvalid)
		if tc.ttl > 0 {
			wantErr(t, "ReleaseLease with "+tc.what, e.s.ReleaseLease(ctx, tc.name, tc.owner), store.ErrInvalid)
		}
	}
	// Nothing was written: the lease is free.
	got := mustAcquire(t, e.s, "culler", "hub-b", time.Second)
	wantEqual(t, "after invalid calls", got.Holder, "hub-b")
	_, err := e.s.AcquireLease(cancelled(t), "culler", "hub-b", time.Second)
	if err == nil {
		t.Error("AcquireLease with a cancelled context succeeded")
	}
}

// testConcurrentLease: replicas that start together all try to take the
// culler's lease; exactly one holds it, and every other one is told who
// does. The same holds when it has expired and when it was released.
func testConcurrentLease(t *testing.T, e *env) {
	ctx := t.Context()
	stores := []store.Store{e.s, e.replica(t)}
	const ttl = time.Minute
	acquire := func(round int) {
		t.Helper()
		leases := make([]store.Lease, claimants)
		errs := race(claimants, func(i int) error {
			var err error
			leases[i], err = stores[i%2].AcquireLease(ctx, "culler", fmt.Sprintf("hub-%d", i), ttl)
			return err
		})
		winner := -1
		for i, err := range errs {
			wantNoErr(t, fmt.Sprintf("round %d: AcquireLease by hub-%d", round, i), err)
			if leases[i].Held {
				if winner >= 0 {
					t.Fatalf("round %d: hub-%d and hub-%d both hold the lease", round, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody holds the lease: %+v", round, leases)
		}
		want := store.Lease{Name: "culler", Holder: fmt.Sprintf("hub-%d", winner), Expires: at(e.clock.Now().Add(ttl))}
		for i, l := range leases {
			want.Held = i == winner
			wantEqual(t, fmt.Sprintf("round %d: lease seen by hub-%d", round, i), l, want)
		}
		// The winner releases it for the next round, or lets it expire.
		if round%2 == 0 {
			wantNoErr(t, "ReleaseLease", stores[winner%2].ReleaseLease(ctx, "culler", want.Holder))
		} else {
			e.clock.Advance(ttl)
		}
	}
	for round := range 10 {
		acquire(round)
	}
}
