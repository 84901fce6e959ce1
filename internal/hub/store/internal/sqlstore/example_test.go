package sqlstore_test

import (
	"fmt"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

// A page of users from three queries, as ListUsers reads it: the users in
// name order, then their groups, then their servers, each keyed by the
// user's row ID.
func ExampleUserSet() {
	var users sqlstore.UserSet
	users.Add(12, store.User{Name: "alice"})
	users.Add(7, store.User{Name: "bob"})

	// SELECT ug.user_id, g.name … WHERE ug.user_id IN (12, 7) ORDER BY g.name
	fmt.Println("ids:", users.IDs())
	users.AddGroup(7, "chemistry")
	users.AddGroup(12, "physics")
	users.AddGroup(7, "physics")

	// SELECT s.user_id, s.name, … ORDER BY s.name
	users.AddServer(12, store.Server{Name: ""})
	users.AddServer(12, store.Server{Name: "gpu"})

	for _, u := range users.Users() {
		fmt.Print(u.Name, " ", u.Groups)
		for _, s := range u.Servers {
			fmt.Printf(" %s", store.RefString(s.User, s.Name))
		}
		fmt.Println()
	}
	// Output:
	// ids: [12 7]
	// alice [physics] alice alice/gpu
	// bob [chemistry physics]
}
