package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

var userTests = []test{
	{"CreateGet", testCreateGetUser},
	{"CreateKeepsCreated", testCreateKeepsCreated},
	{"CreateConflict", testCreateUserConflict},
	{"GetMissing", testGetUserMissing},
	{"Update", testUpdateUser},
	{"Delete", testDeleteUser},
	{"DeleteCascades", testDeleteUserCascades},
	{"AuthState", testAuthState},
	{"ListOrderAndPages", testListUsersPages},
	{"ListStateFilter", testListUsersState},
	{"ListNameContains", testListUsersNameContains},
	{"ListCarriesGroupsAndServers", testListUsersCarries},
	{"ListUsersPage", testListUsersPage},
	{"InvalidInput", testInvalidInput},
	{"CancelledContext", testCancelledContext},
	{"Unicode", testUnicodeNames},
}

func testCreateGetUser(t *testing.T, e *env) {
	ctx := t.Context()
	u, err := e.s.CreateUser(ctx, store.User{Name: "alice", Admin: true, Groups: []string{"physics", "admins", "physics"},
		LastActivity: epoch, Servers: []store.Server{{Name: "ignored"}}})
	wantNoErr(t, "CreateUser", err)
	want := store.User{Name: "alice", Admin: true, Groups: []string{"admins", "physics"}, Created: at(epoch)}
	wantEqual(t, "created user", u, want)
	got, err := e.s.GetUser(ctx, "alice")
	wantNoErr(t, "GetUser", err)
	wantEqual(t, "GetUser", got, want)
	if got.Created.Location() != time.UTC {
		t.Errorf("Created is in %v, want UTC", got.Created.Location())
	}
}

func testCreateKeepsCreated(t *testing.T, e *env) {
	created := time.Date(2020, 1, 2, 3, 4, 5, 6789, time.UTC)
	u, err := e.s.CreateUser(t.Context(), store.User{Name: "bob", Created: created})
	wantNoErr(t, "CreateUser", err)
	wantEqual(t, "Created", u.Created, at(created))
	got, _ := e.s.GetUser(t.Context(), "bob")
	wantEqual(t, "stored Created", got.Created, at(created))
}

func testCreateUserConflict(t *testing.T, e *env) {
	mustCreateUser(t, e.s, "alice", "g1")
	_, err := e.s.CreateUser(t.Context(), store.User{Name: "alice", Admin: true, Groups: []string{"g2"}})
	wantErr(t, "second CreateUser", err, store.ErrConflict)
	got, _ := e.s.GetUser(t.Context(), "alice")
	wantEqual(t, "user after conflict", got, store.User{Name: "alice", Groups: []string{"g1"}, Created: at(epoch)})
	if _, err := e.s.GetGroup(t.Context(), "g2"); !isErr(err, store.ErrNotFound) {
		t.Errorf("group of the failed CreateUser exists (err %v): a failed write must change nothing", err)
	}
	// Names are case-sensitive.
	mustCreateUser(t, e.s, "Alice")
}

func testGetUserMissing(t *testing.T, e *env) {
	_, err := e.s.GetUser(t.Context(), "nobody")
	wantErr(t, "GetUser", err, store.ErrNotFound)
	if !strings.Contains(err.Error(), "nobody") {
		t.Errorf("error %q does not name the user", err)
	}
}

func testUpdateUser(t *testing.T, e *env) {
	ptr := func(s string) *string { return &s }
	yes := true
	groups := func(g ...string) *[]string { return &g }
	tests := []struct {
		name    string
		user    string
		upd     store.UserUpdate
		want    store.User
		wantErr error
	}{
		{"empty update is a read", "alice", store.UserUpdate{},
			store.User{Name: "alice", Groups: []string{"a"}}, nil},
		{"admin", "alice", store.UserUpdate{Admin: &yes},
			store.User{Name: "alice", Admin: true, Groups: []string{"a"}}, nil},
		{"groups replace and create", "alice", store.UserUpdate{Groups: groups("c", "b", "c")},
			store.User{Name: "alice", Admin: true, Groups: []string{"b", "c"}}, nil},
		{"groups empty removes all", "alice", store.UserUpdate{Groups: groups()},
			store.User{Name: "alice", Admin: true}, nil},
		{"rename", "alice", store.UserUpdate{Name: ptr("alicia"), Groups: groups("a")},
			store.User{Name: "alicia", Admin: true, Groups: []string{"a"}}, nil},
		{"rename to same name", "alicia", store.UserUpdate{Name: ptr("alicia")},
			store.User{Name: "alicia", Admin: true, Groups: []string{"a"}}, nil},
		{"rename conflict", "alicia", store.UserUpdate{Name: ptr("bob"), Admin: new(bool)}, store.User{}, store.ErrConflict},
		{"missing user", "carol", store.UserUpdate{Admin: &yes}, store.User{}, store.ErrNotFound},
		{"invalid new name", "alicia", store.UserUpdate{Name: ptr("")}, store.User{}, store.ErrInvalid},
		{"invalid group", "alicia", store.UserUpdate{Groups: groups("")}, store.User{}, store.ErrInvalid},
	}
	mustCreateUser(t, e.s, "alice", "a")
	mustCreateUser(t, e.s, "bob")
	for _, tc := range tests { // in order: each builds on the last
		got, err := e.s.UpdateUser(t.Context(), tc.user, tc.upd)
		if tc.wantErr != nil {
			if !isErr(err, tc.wantErr) {
				t.Errorf("%s: error = %v, want %v", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		tc.want.Created = at(epoch)
		wantEqual(t, tc.name, got, tc.want)
	}
	// The failed rename changed nothing, admin included.
	got, err := e.s.GetUser(t.Context(), "alicia")
	wantNoErr(t, "GetUser after updates", err)
	wantEqual(t, "after failed rename", got, store.User{Name: "alicia", Admin: true, Groups: []string{"a"}, Created: at(epoch)})
	if _, err := e.s.GetUser(t.Context(), "alice"); !isErr(err, store.ErrNotFound) {
		t.Errorf("old name still found after rename: %v", err)
	}
	// Groups made by UpdateUser exist and outlive their members leaving.
	g, err := e.s.GetGroup(t.Context(), "c")
	wantNoErr(t, "GetGroup(c)", err)
	wantEqual(t, "members of c", g.Members, []string(nil))
}

func testDeleteUser(t *testing.T, e *env) {
	mustCreateUser(t, e.s, "alice", "g")
	wantNoErr(t, "DeleteUser", e.s.DeleteUser(t.Context(), "alice"))
	_, err := e.s.GetUser(t.Context(), "alice")
	wantErr(t, "GetUser after delete", err, store.ErrNotFound)
	wantErr(t, "second DeleteUser", e.s.DeleteUser(t.Context(), "alice"), store.ErrNotFound)
	g, err := e.s.GetGroup(t.Context(), "g")
	wantNoErr(t, "group survives its member", err)
	wantEqual(t, "members", g.Members, []string(nil))
	// The name can be used again, with nothing of the old user.
	u := mustCreateUser(t, e.s, "alice")
	wantEqual(t, "recreated user", u, store.User{Name: "alice", Created: at(epoch)})
}

func testDeleteUserCascades(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice", "g")
	mustCreateUser(t, e.s, "bob", "g")
	startServer(t, e.s, "alice", "", "http://10.0.0.1:8888")
	mustClaim(t, e.s, "alice", "gpu", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-0"})
	wantNoErr(t, "SetAuthState", e.s.SetAuthState(ctx, "alice", []byte("sealed")))
	secret := newSecret(t)
	_, err := e.s.CreateToken(ctx, secret, store.Token{Owner: store.Owner{User: "alice"}})
	wantNoErr(t, "CreateToken", err)
	client := store.OAuthClient{ID: "jupyterhub-user-alice", RedirectURI: "/user/alice/oauth_callback", Owner: store.Owner{User: "alice"}}
	_, err = e.s.PutOAuthClient(ctx, client, newSecret(t))
	wantNoErr(t, "PutOAuthClient", err)
	code := newSecret(t)
	_, err = e.s.CreateOAuthCode(ctx, code, store.OAuthCode{ClientID: client.ID, User: "alice", Expires: epoch.Add(time.Minute)})
	wantNoErr(t, "CreateOAuthCode", err)
	bobToken := newSecret(t)
	_, err = e.s.CreateToken(ctx, bobToken, store.Token{Owner: store.Owner{User: "bob"}})
	wantNoErr(t, "CreateToken(bob)", err)

	wantNoErr(t, "DeleteUser", e.s.DeleteUser(ctx, "alice"))

	_, err = e.s.LookupToken(ctx, secret)
	wantErr(t, "token of deleted user", err, store.ErrNotFound)
	_, err = e.s.GetOAuthClient(ctx, client.ID)
	wantErr(t, "client of deleted user", err, store.ErrNotFound)
	_, err = e.s.ConsumeOAuthCode(ctx, code, client.ID)
	wantErr(t, "code of deleted user", err, store.ErrNotFound)
	_, err = e.s.GetServer(ctx, "alice", "")
	wantErr(t, "server of deleted user", err, store.ErrNotFound)
	active, err := e.s.ListServers(ctx, store.ServerQuery{Active: true})
	wantNoErr(t, "ListServers", err)
	wantEqual(t, "active servers", len(active), 0)
	g, _ := e.s.GetGroup(ctx, "g")
	wantEqual(t, "group members", g.Members, []string{"bob"})
	_, err = e.s.LookupToken(ctx, bobToken)
	wantNoErr(t, "other user's token survives", err)
	// A new alice gets none of it.
	mustCreateUser(t, e.s, "alice")
	st, err := e.s.AuthState(ctx, "alice")
	wantNoErr(t, "AuthState", err)
	wantEqual(t, "auth state of new alice", st, []byte(nil))
}

func testAuthState(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	st, err := e.s.AuthState(ctx, "alice")
	wantNoErr(t, "AuthState", err)
	wantEqual(t, "initial auth state", st, []byte(nil))
	blob := []byte{0, 1, 2, 0xff, 'x', 0}
	wantNoErr(t, "SetAuthState", e.s.SetAuthState(ctx, "alice", blob))
	blob[0] = 42 // not retained
	st, err = e.s.AuthState(ctx, "alice")
	wantNoErr(t, "AuthState", err)
	wantEqual(t, "auth state", st, []byte{0, 1, 2, 0xff, 'x', 0})
	wantNoErr(t, "SetAuthState again (idempotent)", e.s.SetAuthState(ctx, "alice", st))
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	wantNoErr(t, "SetAuthState 64 KiB", e.s.SetAuthState(ctx, "alice", big))
	st, _ = e.s.AuthState(ctx, "alice")
	wantEqual(t, "64 KiB auth state", st, big)
	wantNoErr(t, "clear", e.s.SetAuthState(ctx, "alice", nil))
	st, _ = e.s.AuthState(ctx, "alice")
	wantEqual(t, "cleared auth state", st, []byte(nil))
	wantNoErr(t, "clear with empty", e.s.SetAuthState(ctx, "alice", []byte{}))
	wantErr(t, "SetAuthState(missing)", e.s.SetAuthState(ctx, "bob", blob), store.ErrNotFound)
	_, err = e.s.AuthState(ctx, "bob")
	wantErr(t, "AuthState(missing)", err, store.ErrNotFound)
}

func testListUsersPages(t *testing.T, e *env) {
	ctx := t.Context()
	// Bytewise order: upper case before lower case, non-ASCII last.
	all := []string{"Zed", "aaron", "alice", "ärger", "bob", "b_c", "b.c", "user-10", "user-2", "zoe", "Åsa", "日本"}
	for _, i := range []int{7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 4, 6} { // scrambled insert order
		mustCreateUser(t, e.s, all[i])
	}
	want := slices.Clone(all)
	slices.Sort(want)
	tests := []struct {
		offset, limit int
		want          []string
	}{
		{0, 0, want},
		{0, 5, want[:5]},
		{5, 5, want[5:10]},
		{10, 5, want[10:]},
		{12, 5, nil},
		{100, 5, nil},
		{3, -1, want[3:]},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("offset=%d,limit=%d", tc.offset, tc.limit), func(t *testing.T) {
			users, err := e.s.ListUsers(ctx, store.UserQuery{Offset: tc.offset, Limit: tc.limit})
			wantNoErr(t, "ListUsers", err)
			wantEqual(t, "names", names(users), tc.want)
		})
	}
	n, err := e.s.CountUsers(ctx, store.UserQuery{Offset: 5, Limit: 2})
	wantNoErr(t, "CountUsers", err)
	wantEqual(t, "CountUsers ignores offset and limit", n, len(all))
	_, err = e.s.ListUsers(ctx, store.UserQuery{Offset: -1})
	wantErr(t, "negative offset", err, store.ErrInvalid)
}

// usersInStates makes one user per server situation and returns the
// expected answer for each state filter.
func usersInStates(t *testing.T, s store.Store) map[store.UserState][]string {
	mustCreateUser(t, s, "a-none") // no server
	mustCreateUser(t, s, "b-stopped")
	startServer(t, s, "b-stopped", "", "http://b")
	mustClaim(t, s, "b-stopped", "", store.Claim{Phase: store.PhaseStop, Owner: "hub-0"})
	mustFinish(t, s, "b-stopped", "", "hub-0", store.PhaseStop, store.Outcome{})
	mustCreateUser(t, s, "c-spawning")
	mustClaim(t, s, "c-spawning", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-0"})
	mustCreateUser(t, s, "d-running")
	startServer(t, s, "d-running", "", "http://d")
	mustCreateUser(t, s, "e-stopping")
	startServer(t, s, "e-stopping", "", "http://e")
	mustClaim(t, s, "e-stopping", "", store.Claim{Phase: store.PhaseStop, Owner: "hub-0"})
	mustCreateUser(t, s, "f-named-running")
	mustClaim(t, s, "f-named-running", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-0"})
	mustFinish(t, s, "f-named-running", "", "hub-0", store.PhaseSpawn, store.Outcome{}) // failed spawn
	startServer(t, s, "f-named-running", "gpu", "http://f")
	mustCreateUser(t, s, "g-checking")
	startServer(t, s, "g-checking", "", "http://g")
	mustClaim(t, s, "g-checking", "", store.Claim{Phase: store.PhaseCheck, Owner: "hub-0"})
	return map[store.UserState][]string{
		store.UserAny:      {"a-none", "b-stopped", "c-spawning", "d-running", "e-stopping", "f-named-running", "g-checking"},
		store.UserActive:   {"c-spawning", "d-running", "e-stopping", "f-named-running", "g-checking"},
		store.UserReady:    {"d-running", "f-named-running"},
		store.UserInactive: {"a-none", "b-stopped"},
	}
}

func testListUsersState(t *testing.T, e *env) {
	want := usersInStates(t, e.s)
	for _, state := range []store.UserState{store.UserAny, store.UserActive, store.UserReady, store.UserInactive} {
		t.Run("state="+string(state), func(t *testing.T) {
			users, err := e.s.ListUsers(t.Context(), store.UserQuery{State: state})
			wantNoErr(t, "ListUsers", err)
			wantEqual(t, "users", names(users), want[state])
			n, err := e.s.CountUsers(t.Context(), store.UserQuery{State: state})
			wantNoErr(t, "CountUsers", err)
			wantEqual(t, "count", n, len(want[state]))
			page, err := e.s.ListUsers(t.Context(), store.UserQuery{State: state, Offset: 1, Limit: 2})
			wantNoErr(t, "ListUsers page", err)
			end := min(3, len(want[state]))
			wantEqual(t, "page", names(page), want[state][min(1, end):end])
		})
	}
	_, err := e.s.ListUsers(t.Context(), store.UserQuery{State: "running"})
	wantErr(t, "unknown state", err, store.ErrInvalid)
	_, err = e.s.CountUsers(t.Context(), store.UserQuery{State: "running"})
	wantErr(t, "unknown state (count)", err, store.ErrInvalid)
}

func testListUsersNameContains(t *testing.T, e *env) {
	for _, n := range []string{"alice", "Malice", "ALICIA", "bob", "a%b", "a_b", "axb", `a\b`} {
		mustCreateUser(t, e.s, n)
	}
	startServer(t, e.s, "alice", "", "http://a")
	tests := []struct {
		q    store.UserQuery
		want []string
	}{
		{store.UserQuery{NameContains: "lic"}, []string{"ALICIA", "Malice", "alice"}},
		{store.UserQuery{NameContains: "ALI"}, []string{"ALICIA", "Malice", "alice"}},
		{store.UserQuery{NameContains: "%"}, []string{"a%b"}},
		{store.UserQuery{NameContains: "_"}, []string{"a_b"}},
		{store.UserQuery{NameContains: `\`}, []string{`a\b`}},
		{store.UserQuery{NameContains: "zzz"}, nil},
		{store.UserQuery{NameContains: "lic", State: store.UserReady}, []string{"alice"}},
		{store.UserQuery{NameContains: "lic", State: store.UserInactive, Limit: 1}, []string{"ALICIA"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q/%s/%d", tc.q.NameContains, tc.q.State, tc.q.Limit), func(t *testing.T) {
			users, err := e.s.ListUsers(t.Context(), tc.q)
			wantNoErr(t, "ListUsers", err)
			wantEqual(t, "users", names(users), tc.want)
			n, err := e.s.CountUsers(t.Context(), tc.q)
			wantNoErr(t, "CountUsers", err)
			if tc.q.Limit == 0 {
				wantEqual(t, "count", n, len(tc.want))
			}
		})
	}
}

func testListUsersCarries(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice", "physics", "admins")
	mustCreateUser(t, e.s, "bob")
	startServer(t, e.s, "alice", "", "http://a")
	startServer(t, e.s, "alice", "b-named", "http://b")
	mustClaim(t, e.s, "alice", "a-named", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-0"})
	users, err := e.s.ListUsers(ctx, store.UserQuery{})
	wantNoErr(t, "ListUsers", err)
	wantEqual(t, "users", names(users), []string{"alice", "bob"})
	got := users[0]
	wantEqual(t, "groups", got.Groups, []string{"admins", "physics"})
	var servers []string
	for _, s := range got.Servers {
		servers = append(servers, s.Name)
		wantEqual(t, "server's user", s.User, "alice")
	}
	wantEqual(t, "servers in name order, default first", servers, []string{"", "a-named", "b-named"})
	if srv, ok := got.Server("b-named"); !ok || srv.URL != "http://b" || !srv.Ready() {
		t.Errorf("Server(b-named) = %+v, %v", srv, ok)
	}
	wantEqual(t, "bob's servers", users[1].Servers, []store.Server(nil))
	one, err := e.s.GetUser(ctx, "alice")
	wantNoErr(t, "GetUser", err)
	wantEqual(t, "GetUser equals ListUsers' entry", one, got)
	// The caller owns what it got.
	users[0].Groups[0] = "changed"
	users[0].Servers[0].State = map[string]string{"x": "y"}
	again, _ := e.s.GetUser(ctx, "alice")
	wantEqual(t, "after changing returned values", again, one)
}

func testListUsersPage(t *testing.T, e *env) {
	ctx := t.Context()
	usersInStates(t, e.s)
	mustCreateUser(t, e.s, "h-grouped", "physics", "admins")
	startServer(t, e.s, "h-grouped", "gpu", "http://h")
	for i := range 5 {
		mustCreateUser(t, e.s, fmt.Sprintf("user-%d", i))
	}
	var qs []store.UserQuery
	for _, page := range []struct{ offset, limit int }{
		{0, 0}, {0, 3}, {3, 3}, {9, 3}, {12, 3}, {13, 3}, {14, 3}, {100, 3}, {2, 0}, {13, 0}, {14, 0}, {100, 0}, {0, 100},
	} {
		for _, f := range []store.UserQuery{
			{},
			{State: store.UserActive},
			{State: store.UserReady},
			{State: store.UserInactive},
			{NameContains: "user-"},
			{NameContains: "E", State: store.UserInactive},
			{NameContains: "nobody"},
		} {
			f.Offset, f.Limit = page.offset, page.limit
			qs = append(qs, f)
		}
	}
	for _, q := range qs {
		users, total, err := e.s.ListUsersPage(ctx, q)
		wantNoErr(t, fmt.Sprintf("ListUsersPage(%+v)", q), err)
		wantUsers, err := e.s.ListUsers(ctx, q)
		wantNoErr(t, "ListUsers", err)
		wantTotal, err := e.s.CountUsers(ctx, q)
		wantNoErr(t, "CountUsers", err)
		wantEqual(t, fmt.Sprintf("ListUsersPage(%+v) users", q), users, wantUsers)
		wantEqual(t, fmt.Sprintf("ListUsersPage(%+v) total", q), total, wantTotal)
	}
	users, total, err := e.s.ListUsersPage(ctx, store.UserQuery{Offset: 1, Limit: 1})
	wantNoErr(t, "ListUsersPage", err)
	wantEqual(t, "second user", names(users), []string{"b-stopped"})
	wantEqual(t, "total", total, 13)
	_, _, err = e.s.ListUsersPage(ctx, store.UserQuery{Offset: -1})
	wantErr(t, "negative offset", err, store.ErrInvalid)
	_, _, err = e.s.ListUsersPage(ctx, store.UserQuery{State: "running"})
	wantErr(t, "unknown state", err, store.ErrInvalid)
	_, _, err = e.s.ListUsersPage(cancelled(t), store.UserQuery{})
	wantErr(t, "cancelled context", err, context.Canceled)
}

func testInvalidInput(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	long := strings.Repeat("x", store.MaxNameLength+1)
	calls := []struct {
		name string
		call func() error
	}{
		{"CreateUser empty", func() error { _, err := e.s.CreateUser(ctx, store.User{}); return err }},
		{"CreateUser long", func() error { _, err := e.s.CreateUser(ctx, store.User{Name: long}); return err }},
		{"CreateUser control", func() error { _, err := e.s.CreateUser(ctx, store.User{Name: "a\nb"}); return err }},
		{"CreateUser bad UTF-8", func() error { _, err := e.s.CreateUser(ctx, store.User{Name: "a\xffb"}); return err }},
		{"CreateUser bad group", func() error {
			_, err := e.s.CreateUser(ctx, store.User{Name: "bob", Groups: []string{""}})
			return err
		}},
		{"GetUser empty", func() error { _, err := e.s.GetUser(ctx, ""); return err }},
		{"DeleteUser empty", func() error { return e.s.DeleteUser(ctx, "") }},
		{"SetAuthState empty", func() error { return e.s.SetAuthState(ctx, "", nil) }},
		{"CreateGroup empty", func() error { _, err := e.s.CreateGroup(ctx, ""); return err }},
		{"UpdateGroup bad member", func() error {
			_, err := e.s.UpdateGroup(ctx, "g", store.GroupUpdate{Add: []string{""}})
			return err
		}},
		{"GetServer long name", func() error { _, err := e.s.GetServer(ctx, "alice", long); return err }},
		{"ClaimServer no owner", func() error {
			_, err := e.s.ClaimServer(ctx, "alice", "", store.Claim{Phase: store.PhaseSpawn})
			return err
		}},
		{"ClaimServer no phase", func() error {
			_, err := e.s.ClaimServer(ctx, "alice", "", store.Claim{Owner: "hub-0"})
			return err
		}},
		{"ClaimServer unknown phase", func() error {
			_, err := e.s.ClaimServer(ctx, "alice", "", store.Claim{Phase: "start", Owner: "hub-0"})
			return err
		}},
		{"ClaimServer options not an object", func() error {
			_, err := e.s.ClaimServer(ctx, "alice", "", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-0", UserOptions: []byte(`[1]`)})
			return err
		}},
		{"FinishServer no phase", func() error {
			_, err := e.s.FinishServer(ctx, "alice", "", "hub-0", store.PhaseNone, store.Outcome{})
			return err
		}},
		{"CreateToken short secret", func() error {
			_, err := e.s.CreateToken(ctx, "short", store.Token{Owner: store.Owner{User: "alice"}})
			return err
		}},
		{"CreateToken no owner", func() error { _, err := e.s.CreateToken(ctx, newSecret(t), store.Token{}); return err }},
		{"CreateToken two owners", func() error {
			_, err := e.s.CreateToken(ctx, newSecret(t), store.Token{Owner: store.Owner{User: "alice", Service: "cull"}})
			return err
		}},
		{"CreateToken scope with space", func() error {
			_, err := e.s.CreateToken(ctx, newSecret(t), store.Token{Owner: store.Owner{User: "alice"}, Scopes: []string{"a b"}})
			return err
		}},
		{"ListTokens empty query", func() error { _, err := e.s.ListTokens(ctx, store.TokenQuery{}); return err }},
		{"PutOAuthClient no redirect", func() error {
			_, err := e.s.PutOAuthClient(ctx, store.OAuthClient{ID: "c", Owner: store.Owner{User: "alice"}}, newSecret(t))
			return err
		}},
		{"CreateOAuthCode no expiry", func() error {
			_, err := e.s.CreateOAuthCode(ctx, newSecret(t), store.OAuthCode{ClientID: "c", User: "alice"})
			return err
		}},
		{"CreateOAuthCode bad PKCE method", func() error {
			_, err := e.s.CreateOAuthCode(ctx, newSecret(t), store.OAuthCode{ClientID: "c", User: "alice",
				Expires: epoch.Add(time.Minute), CodeChallenge: "x", CodeChallengeMethod: "S512"})
			return err
		}},
		{"RecordActivity no kind", func() error {
			return e.s.RecordActivity(ctx, []store.Activity{{User: "alice", Time: epoch}})
		}},
	}
	for _, c := range calls {
		if err := c.call(); !isErr(err, store.ErrInvalid) {
			t.Errorf("%s: error = %v, want ErrInvalid", c.name, err)
		}
	}
	users, err := e.s.ListUsers(ctx, store.UserQuery{})
	wantNoErr(t, "ListUsers", err)
	wantEqual(t, "users after invalid calls", names(users), []string{"alice"})
}

func testCancelledContext(t *testing.T, e *env) {
	mustCreateUser(t, e.s, "alice")
	ctx := cancelled(t)
	if _, err := e.s.GetUser(ctx, "alice"); !isErr(err, context.Canceled) {
		t.Errorf("GetUser: error = %v, want context.Canceled", err)
	}
	if _, err := e.s.CreateUser(ctx, store.User{Name: "bob"}); !isErr(err, context.Canceled) {
		t.Errorf("CreateUser: error = %v, want context.Canceled", err)
	}
	if _, err := e.s.GetUser(t.Context(), "bob"); !isErr(err, store.ErrNotFound) {
		t.Errorf("user created under a cancelled context: %v", err)
	}
}

func testUnicodeNames(t *testing.T, e *env) {
	ctx := t.Context()
	names := []string{"zoë", "user@example.com", "日本語", "Ω", "with space", "emoji-🦀", "d'artagnan", `quote"`}
	for _, n := range names {
		mustCreateUser(t, e.s, n, "gr✓up")
		srv := startServer(t, e.s, n, "sérver ✓", "http://x")
		wantEqual(t, "server name", srv.Name, "sérver ✓")
		got, err := e.s.GetUser(ctx, n)
		wantNoErr(t, "GetUser", err)
		wantEqual(t, "name", got.Name, n)
	}
	g, err := e.s.GetGroup(ctx, "gr✓up")
	wantNoErr(t, "GetGroup", err)
	want := slices.Clone(names)
	slices.Sort(want)
	wantEqual(t, "members", g.Members, want)
}
