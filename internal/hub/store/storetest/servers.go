package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

var serverTests = []test{
	{"ClaimCreatesServer", testClaimCreates},
	{"ClaimRules", testClaimRules},
	{"ClaimErrorDetails", testClaimErrorDetails},
	{"RenewAndTakeOver", testRenewAndTakeOver},
	{"FinishLostClaim", testFinishLostClaim},
	{"FinishOutcomes", testFinishOutcomes},
	{"StateSurvivesStops", testStateSurvivesStops},
	{"UserOptions", testUserOptions},
	{"ListServers", testListServers},
	{"DeleteServer", testDeleteServer},
}

func testClaimCreates(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	_, err := e.s.GetServer(ctx, "alice", "")
	wantErr(t, "GetServer before any claim", err, store.ErrNotFound)
	expires := epoch.Add(5 * time.Minute)
	srv, err := e.s.ClaimServer(ctx, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-a", Expires: expires})
	wantNoErr(t, "ClaimServer", err)
	want := store.Server{User: "alice", Pending: store.PhaseSpawn, PendingOwner: "hub-a",
		PendingExpires: at(expires), Created: at(epoch)}
	wantEqual(t, "claimed server", srv, want)
	if !srv.Active() || srv.Ready() || srv.Running() {
		t.Errorf("pending spawn: Active %v Ready %v Running %v, want true false false", srv.Active(), srv.Ready(), srv.Running())
	}
	got, err := e.s.GetServer(ctx, "alice", "")
	wantNoErr(t, "GetServer", err)
	wantEqual(t, "GetServer", got, want)
	_, err = e.s.ClaimServer(ctx, "bob", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-a"})
	wantErr(t, "claim for a missing user", err, store.ErrNotFound)
	_, err = e.s.GetServer(ctx, "bob", "")
	wantErr(t, "GetServer of a missing user", err, store.ErrNotFound)
	_, err = e.s.GetServer(ctx, "alice", "other")
	wantErr(t, "GetServer of a missing server", err, store.ErrNotFound)
}

// serverSetup puts user's default server into one situation.
type serverSetup func(t *testing.T, e *env, user string)

var (
	setupNone    serverSetup = func(t *testing.T, e *env, user string) {}
	setupStopped serverSetup = func(t *testing.T, e *env, user string) {
		mustClaim(t, e.s, user, "", store.Claim{Phase: store.PhaseSpawn, Owner: "A"})
		mustFinish(t, e.s, user, "", "A", store.PhaseSpawn, store.Outcome{})
	}
	setupRunning serverSetup = func(t *testing.T, e *env, user string) {
		startServer(t, e.s, user, "", "http://"+user)
	}
)

func setupPending(running bool, p store.Phase, expiresIn time.Duration) serverSetup {
	return func(t *testing.T, e *env, user string) {
		if running {
			setupRunning(t, e, user)
		}
		var exp time.Time
		if expiresIn != 0 {
			exp = e.clock.Now().Add(expiresIn)
		}
		mustClaim(t, e.s, user, "", store.Claim{Phase: p, Owner: "A", Expires: exp})
	}
}

func testClaimRules(t *testing.T, e *env) {
	const (
		ok       = ""
		conflict = "conflict"
		notFound = "not found"
	)
	spawn, stop, check := store.PhaseSpawn, store.PhaseStop, store.PhaseCheck
	tests := []struct {
		name  string
		setup serverSetup
		phase store.Phase
		owner string
		want  string
	}{
		{"new server: spawn", setupNone, spawn, "B", ok},
		{"new server: stop", setupNone, stop, "B", notFound},
		{"new server: check", setupNone, check, "B", notFound},
		{"stopped: spawn", setupStopped, spawn, "B", ok},
		{"stopped: stop", setupStopped, stop, "B", ok},
		{"running: spawn", setupRunning, spawn, "B", conflict},
		{"running: spawn by the starter", setupRunning, spawn, "hub-0", conflict},
		{"running: stop", setupRunning, stop, "B", ok},
		{"running: check", setupRunning, check, "B", ok},
		{"spawn by A: renew", setupPending(false, spawn, 0), spawn, "A", ok},
		{"spawn by A: spawn by B", setupPending(false, spawn, 0), spawn, "B", conflict},
		{"spawn by A: stop by A", setupPending(false, spawn, 0), stop, "A", conflict},
		{"spawn by A: stop by B", setupPending(false, spawn, 0), stop, "B", conflict},
		{"spawn by A, unexpired: spawn by B", setupPending(false, spawn, time.Minute), spawn, "B", conflict},
		{"spawn by A, expired: spawn by B", setupPending(false, spawn, -time.Second), spawn, "B", ok},
		// Expires 1 ns ahead is kept truncated to the microsecond, equal
		// to the clock: an expiry not after now has passed.
		{"spawn by A, expiring now: spawn by B", setupPending(false, spawn, time.Nanosecond), spawn, "B", ok},
		{"spawn by A, expired: stop by B", setupPending(false, spawn, -time.Second), stop, "B", ok},
		{"stop by A, running: spawn by B", setupPending(true, stop, 0), spawn, "B", conflict},
		{"stop by A, expired, running: spawn by B", setupPending(true, stop, -time.Second), spawn, "B", conflict},
		{"stop by A, expired, running: stop by B", setupPending(true, stop, -time.Second), stop, "B", ok},
		{"check by A, running: check by A", setupPending(true, check, 0), check, "A", ok},
		{"check by A, running: stop by B", setupPending(true, check, 0), stop, "B", conflict},
	}
	for i, tc := range tests {
		user := fmt.Sprintf("user-%02d", i)
		mustCreateUser(t, e.s, user)
		tc.setup(t, e, user)
		before, beforeErr := e.s.GetServer(t.Context(), user, "")
		srv, err := e.s.ClaimServer(t.Context(), user, "", store.Claim{Phase: tc.phase, Owner: tc.owner})
		var got string
		switch {
		case err == nil:
			got = ok
			if srv.Pending != tc.phase || srv.PendingOwner != tc.owner {
				t.Errorf("%s: claimed server pending %q by %q, want %q by %q", tc.name, srv.Pending, srv.PendingOwner, tc.phase, tc.owner)
			}
		case isErr(err, store.ErrConflict):
			got = conflict
			var ce *store.ClaimError
			if !errors.As(err, &ce) {
				t.Errorf("%s: conflict %v is not a *store.ClaimError", tc.name, err)
			}
			after, _ := e.s.GetServer(t.Context(), user, "")
			wantEqual(t, tc.name+": server after a lost claim", after, before)
		case isErr(err, store.ErrNotFound):
			got = notFound
			if beforeErr == nil {
				t.Errorf("%s: not found, but GetServer found it", tc.name)
			}
		default:
			t.Errorf("%s: unexpected error %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: claim %s by %s = %q (%v), want %q", tc.name, tc.phase, tc.owner, got, err, tc.want)
		}
	}
}

func testClaimErrorDetails(t *testing.T, e *env) {
	mustCreateUser(t, e.s, "alice")
	exp := epoch.Add(time.Hour)
	mustClaim(t, e.s, "alice", "gpu", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-a", Expires: exp})
	_, err := e.s.ClaimServer(t.Context(), "alice", "gpu", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-b"})
	var ce *store.ClaimError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *store.ClaimError", err)
	}
	wantEqual(t, "ClaimError", *ce, store.ClaimError{User: "alice", Server: "gpu", Pending: store.PhaseSpawn,
		Owner: "hub-a", Expires: at(exp), Reason: ce.Reason})
	if ce.Reason == "" {
		t.Error("ClaimError has no reason")
	}
	mustFinish(t, e.s, "alice", "gpu", "hub-a", store.PhaseSpawn, store.Outcome{URL: "http://gpu"})
	_, err = e.s.ClaimServer(t.Context(), "alice", "gpu", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-b"})
	if !errors.As(err, &ce) || !ce.Running || ce.Pending != store.PhaseNone {
		t.Errorf("claiming a running server: error %v, want a ClaimError with Running set and nothing pending", err)
	}
}

func testRenewAndTakeOver(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	ttl := 30 * time.Second
	mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-a", Expires: e.clock.Now().Add(ttl)})
	// hub-a renews twice while it waits for the server.
	for range 2 {
		e.clock.Advance(20 * time.Second)
		srv := mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-a", Expires: e.clock.Now().Add(ttl)})
		wantEqual(t, "renewed expiry", srv.PendingExpires, at(e.clock.Now().Add(ttl)))
		_, err := e.s.ClaimServer(ctx, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-b", Expires: e.clock.Now().Add(ttl)})
		wantErr(t, "hub-b while hub-a renews", err, store.ErrConflict)
	}
	// hub-a dies; once its claim expires hub-b takes over.
	e.clock.Advance(ttl)
	srv := mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-b", Expires: e.clock.Now().Add(ttl)})
	wantEqual(t, "owner after takeover", srv.PendingOwner, "hub-b")
	// hub-a comes back: it can neither renew nor finish.
	_, err := e.s.ClaimServer(ctx, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-a", Expires: e.clock.Now().Add(ttl)})
	wantErr(t, "renewal by the old owner", err, store.ErrConflict)
	_, err = e.s.FinishServer(ctx, "alice", "", "hub-a", store.PhaseSpawn, store.Outcome{URL: "http://stale"})
	wantErr(t, "finish by the old owner", err, store.ErrConflict)
	srv = mustFinish(t, e.s, "alice", "", "hub-b", store.PhaseSpawn, store.Outcome{URL: "http://fresh"})
	wantEqual(t, "URL", srv.URL, "http://fresh")
}

func testFinishLostClaim(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	tests := []struct {
		name  string
		setup func()
		owner string
		phase store.Phase
	}{
		{"nothing pending", func() {}, "hub-a", store.PhaseSpawn},
		{"other owner", func() {
			mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-b"})
		}, "hub-a", store.PhaseSpawn},
		{"other phase", func() {}, "hub-b", store.PhaseStop},
	}
	startServer(t, e.s, "alice", "other", "http://other")
	mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-0"})
	mustFinish(t, e.s, "alice", "", "hub-0", store.PhaseSpawn, store.Outcome{})
	for _, tc := range tests {
		tc.setup()
		before, _ := e.s.GetServer(ctx, "alice", "")
		_, err := e.s.FinishServer(ctx, "alice", "", tc.owner, tc.phase, store.Outcome{URL: "http://x", State: map[string]string{"a": "b"}})
		var ce *store.ClaimError
		if !errors.As(err, &ce) || !isErr(err, store.ErrConflict) {
			t.Errorf("%s: error = %v, want a *store.ClaimError matching ErrConflict", tc.name, err)
		}
		after, _ := e.s.GetServer(ctx, "alice", "")
		wantEqual(t, tc.name+": server after a lost finish", after, before)
	}
	_, err := e.s.FinishServer(ctx, "alice", "missing", "hub-a", store.PhaseSpawn, store.Outcome{})
	wantErr(t, "finish of a missing server", err, store.ErrNotFound)
}

func testFinishOutcomes(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	state := map[string]string{"pod_name": "jupyter-alice", "namespace": "jhub"}
	mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "A", Expires: epoch.Add(time.Minute)})
	e.clock.Advance(10 * time.Second)
	srv := mustFinish(t, e.s, "alice", "", "A", store.PhaseSpawn, store.Outcome{URL: "http://10.0.0.7:8888", State: state})
	state["pod_name"] = "changed" // not retained
	wantEqual(t, "started server", srv, store.Server{User: "alice", URL: "http://10.0.0.7:8888", Started: at(e.clock.Now()),
		State: map[string]string{"pod_name": "jupyter-alice", "namespace": "jhub"}, Created: at(epoch)})
	if !srv.Ready() || !srv.Active() {
		t.Errorf("running server: Ready %v Active %v", srv.Ready(), srv.Active())
	}
	// A check that finds it alive keeps Started (unless told otherwise).
	e.clock.Advance(time.Hour)
	mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseCheck, Owner: "B"})
	checked := mustFinish(t, e.s, "alice", "", "B", store.PhaseCheck, store.Outcome{URL: srv.URL})
	wantEqual(t, "after check", checked, srv)
	// A start time from the spawner is kept as given.
	mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseCheck, Owner: "B"})
	started := time.Date(2025, 2, 1, 0, 0, 0, 999, time.UTC)
	checked = mustFinish(t, e.s, "alice", "", "B", store.PhaseCheck, store.Outcome{URL: srv.URL, Started: started})
	wantEqual(t, "Started from the spawner", checked.Started, at(started))
	// A stop clears URL and Started, keeps the state.
	mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseStop, Owner: "B"})
	stopped := mustFinish(t, e.s, "alice", "", "B", store.PhaseStop, store.Outcome{})
	wantEqual(t, "stopped server", stopped, store.Server{User: "alice", State: srv.State, Created: at(epoch)})
	if stopped.Active() || stopped.Ready() || stopped.Running() {
		t.Errorf("stopped server: Active %v Ready %v Running %v", stopped.Active(), stopped.Ready(), stopped.Running())
	}
	// An empty non-nil state clears it.
	mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseStop, Owner: "B"})
	cleared := mustFinish(t, e.s, "alice", "", "B", store.PhaseStop, store.Outcome{State: map[string]string{}})
	wantEqual(t, "cleared state", len(cleared.State), 0)
	got, _ := e.s.GetServer(ctx, "alice", "")
	wantEqual(t, "GetServer after all", got, cleared)
}

// testStateSurvivesStops is issue 11's requirement: the PVC name that the
// Kubernetes spawner found (possibly under a legacy name) is remembered per
// user across stops, restarts of the hub and later spawns.
func testStateSurvivesStops(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "Jörg@example.com")
	legacy := map[string]string{"pvc_name": "claim-j-c3-b6rg-40example-2ecom", "namespace": "jhub"}
	mustClaim(t, e.s, "Jörg@example.com", "", store.Claim{Phase: store.PhaseSpawn, Owner: "A"})
	mustFinish(t, e.s, "Jörg@example.com", "", "A", store.PhaseSpawn, store.Outcome{URL: "http://x", State: legacy})
	for i := range 3 {
		mustClaim(t, e.s, "Jörg@example.com", "", store.Claim{Phase: store.PhaseStop, Owner: "A"})
		mustFinish(t, e.s, "Jörg@example.com", "", "A", store.PhaseStop, store.Outcome{}) // nil State: keep
		srv := mustClaim(t, e.s, "Jörg@example.com", "", store.Claim{Phase: store.PhaseSpawn, Owner: "A"})
		wantEqual(t, fmt.Sprintf("state handed to spawn %d", i+2), srv.State, legacy)
		mustFinish(t, e.s, "Jörg@example.com", "", "A", store.PhaseSpawn, store.Outcome{URL: "http://x", State: srv.State})
	}
	// Through another handle on the database (a restarted hub or a
	// second replica) as well.
	other := e.replica(t)
	srv, err := other.GetServer(ctx, "Jörg@example.com", "")
	wantNoErr(t, "GetServer on the replica", err)
	wantEqual(t, "state on the replica", srv.State, legacy)
	// Values of any shape round-trip.
	odd := map[string]string{"": "empty key", "json": `{"a":[1,2]}`, "nl": "a\nb", "uni": "✓", "empty": ""}
	mustClaim(t, e.s, "Jörg@example.com", "", store.Claim{Phase: store.PhaseCheck, Owner: "A"})
	got := mustFinish(t, e.s, "Jörg@example.com", "", "A", store.PhaseCheck, store.Outcome{URL: "http://x", State: odd})
	wantEqual(t, "odd state", got.State, odd)
}

func testUserOptions(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	opts := json.RawMessage(`{"profile": "gpu", "profile-option-gpu--image": ["pytorch"], "n": 2.5, "nested": {"a": null}}`)
	srv := mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "A", UserOptions: opts})
	if !sameJSON(srv.UserOptions, opts) {
		t.Errorf("UserOptions = %s, want %s", srv.UserOptions, opts)
	}
	mustFinish(t, e.s, "alice", "", "A", store.PhaseSpawn, store.Outcome{})
	// A spawn without options keeps the last ones; stop ignores them.
	srv = mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "A"})
	if !sameJSON(srv.UserOptions, opts) {
		t.Errorf("UserOptions after a spawn without options = %s, want %s", srv.UserOptions, opts)
	}
	mustFinish(t, e.s, "alice", "", "A", store.PhaseSpawn, store.Outcome{URL: "http://a"})
	srv = mustClaim(t, e.s, "alice", "", store.Claim{Phase: store.PhaseStop, Owner: "A", UserOptions: json.RawMessage(`{"x":1}`)})
	if !sameJSON(srv.UserOptions, opts) {
		t.Errorf("UserOptions after a stop claim with options = %s, want %s", srv.UserOptions, opts)
	}
	mustCreateUser(t, e.s, "bob")
	srv = mustClaim(t, e.s, "bob", "", store.Claim{Phase: store.PhaseSpawn, Owner: "A"})
	wantEqual(t, "UserOptions never set", srv.UserOptions, json.RawMessage(nil))
	got, _ := e.s.GetServer(ctx, "bob", "")
	wantEqual(t, "stored UserOptions never set", got.UserOptions, json.RawMessage(nil))
}

func testListServers(t *testing.T, e *env) {
	ctx := t.Context()
	usersInStates(t, e.s)
	type ref struct{ User, Name string }
	refs := func(srvs []store.Server) []ref {
		var out []ref
		for _, s := range srvs {
			out = append(out, ref{s.User, s.Name})
		}
		return out
	}
	tests := []struct {
		q    store.ServerQuery
		want []ref
	}{
		{store.ServerQuery{}, []ref{{"b-stopped", ""}, {"c-spawning", ""}, {"d-running", ""}, {"e-stopping", ""},
			{"f-named-running", ""}, {"f-named-running", "gpu"}, {"g-checking", ""}}},
		{store.ServerQuery{Active: true}, []ref{{"c-spawning", ""}, {"d-running", ""}, {"e-stopping", ""},
			{"f-named-running", "gpu"}, {"g-checking", ""}}},
		{store.ServerQuery{User: "f-named-running"}, []ref{{"f-named-running", ""}, {"f-named-running", "gpu"}}},
		{store.ServerQuery{User: "f-named-running", Active: true}, []ref{{"f-named-running", "gpu"}}},
		{store.ServerQuery{User: "a-none"}, nil},
		{store.ServerQuery{User: "nobody"}, nil},
	}
	for _, tc := range tests {
		srvs, err := e.s.ListServers(ctx, tc.q)
		wantNoErr(t, fmt.Sprintf("ListServers(%+v)", tc.q), err)
		wantEqual(t, fmt.Sprintf("ListServers(%+v)", tc.q), refs(srvs), tc.want)
	}
	all, _ := e.s.ListServers(ctx, store.ServerQuery{Active: true})
	for _, s := range all {
		one, err := e.s.GetServer(ctx, s.User, s.Name)
		wantNoErr(t, "GetServer", err)
		wantEqual(t, "GetServer equals ListServers' entry", one, s)
	}
}

func testDeleteServer(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	startServer(t, e.s, "alice", "gpu", "http://gpu")
	wantErr(t, "delete running", e.s.DeleteServer(ctx, "alice", "gpu"), store.ErrConflict)
	mustClaim(t, e.s, "alice", "gpu", store.Claim{Phase: store.PhaseStop, Owner: "A"})
	wantErr(t, "delete stopping", e.s.DeleteServer(ctx, "alice", "gpu"), store.ErrConflict)
	mustFinish(t, e.s, "alice", "gpu", "A", store.PhaseStop, store.Outcome{})
	wantNoErr(t, "delete stopped", e.s.DeleteServer(ctx, "alice", "gpu"))
	wantErr(t, "delete again", e.s.DeleteServer(ctx, "alice", "gpu"), store.ErrNotFound)
	wantErr(t, "delete of missing user", e.s.DeleteServer(ctx, "bob", ""), store.ErrNotFound)
	// The name is free: a new spawn starts from nothing.
	srv := mustClaim(t, e.s, "alice", "gpu", store.Claim{Phase: store.PhaseSpawn, Owner: "A"})
	wantEqual(t, "state of a recreated server", srv.State, map[string]string(nil))
}
