package dev_test

import (
	"fmt"
	"log"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/dev"
)

// The embedded default of a laptop hub: two users, one password.
func ExampleNewInsecure() {
	keys, _ := authenticator.NewKeyring(authenticator.NewKey())
	a, err := dev.NewInsecure(dev.Options{
		Users:        []string{"alice", "bob"},
		Password:     "change-me",
		Rules:        authenticator.Rules{AllowAll: true, AdminUsers: []string{"alice"}},
		Keys:         keys,
		CallbackPath: "/hub/oauth_callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	var _ authenticator.Authenticator = a
	fmt.Println("development login ready")
	// Output: development login ready
}
