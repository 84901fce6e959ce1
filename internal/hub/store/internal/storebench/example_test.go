package storebench_test

import (
	"fmt"
	"log"

	"github.com/hubkit/hubkit/internal/hub/store/internal/storebench"
)

// The first users of the benchmark database: user 0 is an admin with a
// running server, user 1 has a spawn pending, the others a stopped server.
func ExampleFixture() {
	users, err := storebench.Fixture(3)
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range users {
		fmt.Printf("%s admin=%t groups=%v url=%q pending=%q secret=%d chars\n",
			u.Name, u.Admin, u.Groups, u.URL, u.Pending, len(u.Secret))
	}
	// Output:
	// user-00000@example.org admin=true groups=[0] url="http://10.0.0.0:8888" pending="" secret=64 chars
	// user-00001@example.org admin=false groups=[1 7] url="" pending="spawn" secret=64 chars
	// user-00002@example.org admin=false groups=[2 14] url="" pending="" secret=64 chars
}
