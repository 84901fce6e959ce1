package storetest

import (
	"testing"

	"github.com/hubkit/hubkit/internal/hub/store"
)

var groupTests = []test{
	{"CreateGetListDelete", testGroupsCRUD},
	{"UpdateMembers", testGroupMembers},
	{"CreatedByUsers", testGroupsCreatedByUsers},
}

func testGroupsCRUD(t *testing.T, e *env) {
	ctx := t.Context()
	g, err := e.s.CreateGroup(ctx, "physics")
	wantNoErr(t, "CreateGroup", err)
	wantEqual(t, "created group", g, store.Group{Name: "physics", Created: at(epoch)})
	_, err = e.s.CreateGroup(ctx, "physics")
	wantErr(t, "second CreateGroup", err, store.ErrConflict)
	_, err = e.s.CreateGroup(ctx, "Physics") // case-sensitive
	wantNoErr(t, "CreateGroup(Physics)", err)
	_, err = e.s.CreateGroup(ctx, "chemistry")
	wantNoErr(t, "CreateGroup(chemistry)", err)
	got, err := e.s.GetGroup(ctx, "physics")
	wantNoErr(t, "GetGroup", err)
	wantEqual(t, "GetGroup", got, g)
	all, err := e.s.ListGroups(ctx)
	wantNoErr(t, "ListGroups", err)
	var gotNames []string
	for _, g := range all {
		gotNames = append(gotNames, g.Name)
	}
	wantEqual(t, "ListGroups names", gotNames, []string{"Physics", "chemistry", "physics"})
	_, err = e.s.GetGroup(ctx, "biology")
	wantErr(t, "GetGroup(missing)", err, store.ErrNotFound)

	mustCreateUser(t, e.s, "alice", "physics")
	wantNoErr(t, "DeleteGroup", e.s.DeleteGroup(ctx, "physics"))
	wantErr(t, "second DeleteGroup", e.s.DeleteGroup(ctx, "physics"), store.ErrNotFound)
	u, err := e.s.GetUser(ctx, "alice")
	wantNoErr(t, "member survives its group", err)
	wantEqual(t, "groups of member", u.Groups, []string(nil))
}

func testGroupMembers(t *testing.T, e *env) {
	ctx := t.Context()
	for _, n := range []string{"carol", "alice", "bob"} {
		mustCreateUser(t, e.s, n)
	}
	_, err := e.s.CreateGroup(ctx, "g")
	wantNoErr(t, "CreateGroup", err)
	tests := []struct {
		name    string
		group   string
		upd     store.GroupUpdate
		want    []string
		wantErr error
	}{
		{"add", "g", store.GroupUpdate{Add: []string{"carol", "alice"}}, []string{"alice", "carol"}, nil},
		{"add again is not an error", "g", store.GroupUpdate{Add: []string{"alice", "alice"}}, []string{"alice", "carol"}, nil},
		{"remove non-member is not an error", "g", store.GroupUpdate{Remove: []string{"bob"}}, []string{"alice", "carol"}, nil},
		{"add and remove", "g", store.GroupUpdate{Add: []string{"bob"}, Remove: []string{"carol"}}, []string{"alice", "bob"}, nil},
		{"in both: removed", "g", store.GroupUpdate{Add: []string{"carol"}, Remove: []string{"carol"}}, []string{"alice", "bob"}, nil},
		{"missing user changes nothing", "g", store.GroupUpdate{Add: []string{"carol", "dave"}}, nil, store.ErrNotFound},
		{"missing group", "h", store.GroupUpdate{Add: []string{"alice"}}, nil, store.ErrNotFound},
	}
	for _, tc := range tests {
		g, err := e.s.UpdateGroup(ctx, tc.group, tc.upd)
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
		wantEqual(t, tc.name, g.Members, tc.want)
	}
	g, _ := e.s.GetGroup(ctx, "g")
	wantEqual(t, "members after failed update", g.Members, []string{"alice", "bob"})
	u, _ := e.s.GetUser(ctx, "bob")
	wantEqual(t, "bob's groups", u.Groups, []string{"g"})
}

func testGroupsCreatedByUsers(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice", "b", "a")
	mustCreateUser(t, e.s, "bob", "a")
	all, err := e.s.ListGroups(ctx)
	wantNoErr(t, "ListGroups", err)
	wantEqual(t, "groups", all, []store.Group{
		{Name: "a", Members: []string{"alice", "bob"}, Created: at(epoch)},
		{Name: "b", Members: []string{"alice"}, Created: at(epoch)},
	})
	all[0].Members[0] = "changed"
	again, _ := e.s.ListGroups(ctx)
	wantEqual(t, "members after changing the returned slice", again[0].Members, []string{"alice", "bob"})
}
