// Package dev is the development login: a form with fixed users and one
// password from configuration, for the example hub's embedded default and
// for laptops. It is NOT for production — one shared password, no rate
// limit, no second factor — and its constructor says so: NewInsecure.
//
// # Use
//
//	a, err := dev.NewInsecure(dev.Options{
//		Users:        []string{"alice", "bob"},
//		Password:     os.Getenv("HUBKIT_DEV_PASSWORD"),
//		Rules:        authenticator.Rules{AllowAll: true, AdminUsers: []string{"alice"}},
//		Keys:         keys,
//		CallbackPath: "/hub/oauth_callback",
//	})
//
// Mount Gate.Login where people log in and Gate.Callback at CallbackPath:
// the form posts there. Each form carries an anti-forgery token bound to a
// sealed cookie, so another site cannot log a browser in behind its back.
package dev
