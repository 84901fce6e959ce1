package scopes_test

import (
	"fmt"

	"github.com/hubkit/hubkit/internal/hub/scopes"
)

// A token alice made for reading user models and reaching her default
// server: it holds what both it and alice hold, and alice is no admin.
func Example() {
	alice := scopes.Owner{User: "alice"}
	roleScopes, _ := scopes.RoleScopes("user")
	owner, err := scopes.Expand(roleScopes, alice)
	if err != nil {
		fmt.Println(err)
		return
	}
	token, err := scopes.Expand([]string{"read:users", "access:servers!server=alice/"}, alice)
	if err != nil {
		fmt.Println(err)
		return
	}
	held := scopes.Intersect(token, owner)
	for _, s := range held.Strings() {
		fmt.Println(s)
	}
	fmt.Println(held.Allows("read:users", scopes.Target{User: "alice"}))
	fmt.Println(held.Allows("read:users", scopes.Target{User: "bob"}))
	fmt.Println(held.Allows("access:servers", scopes.Target{User: "alice", HasServer: true}))
	fmt.Println(held.Allows("access:servers", scopes.Target{User: "alice", HasServer: true, Server: "gpu"}))
	// Output:
	// access:servers!server=alice/
	// read:users!user=alice
	// read:users:activity!user=alice
	// read:users:groups!user=alice
	// read:users:name!user=alice
	// true
	// false
	// true
	// false
}

// A server's own API token, with the server role: it may post activity
// for its user and be used to reach that one server.
func ExampleExpand() {
	roleScopes, _ := scopes.RoleScopes("server")
	s, err := scopes.Expand(roleScopes, scopes.Owner{User: "alice", Server: "gpu", HasServer: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Strings())
	// Output:
	// [access:servers!server=alice/gpu read:users:activity!user=alice users:activity!user=alice]
}

func ExampleParse() {
	fmt.Println(scopes.Parse("access:servers!server=alice/"))
	_, _, err := scopes.Parse("self!user=alice")
	fmt.Println(err)
	// Output:
	// access:servers server=alice/ <nil>
	// scopes: invalid filter in "self!user=alice": the metascope self takes no filter
}

// A listing endpoint learns whom it may list.
func ExampleSet_Filter() {
	s, err := scopes.Expand([]string{"list:users!group=staff", "list:users!user=alice"}, scopes.Owner{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Filter("list:users"))
	// Output: false [alice] [] [staff]
}
