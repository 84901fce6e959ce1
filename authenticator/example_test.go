package authenticator_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/hubkit/hubkit/authenticator"
)

// The rules of seed 000's lakehouse: everyone in jupyter-users, admins by
// realm role, one person blocked.
func ExampleRules_Apply() {
	rules := authenticator.Rules{
		AllowedGroups: []string{"jupyter-users"},
		AdminRoles:    []string{"akko-admin"},
		BlockedUsers:  []string{"mallory"},
	}
	for _, id := range []authenticator.Identity{
		{Username: "alice", Groups: []string{"jupyter-users"}},
		{Username: "bob", Roles: []string{"akko-admin"}},
		{Username: "eve", Groups: []string{"others"}},
		{Username: "mallory", Groups: []string{"jupyter-users"}},
	} {
		got, err := rules.Apply(id)
		switch {
		case errors.Is(err, authenticator.ErrBlocked):
			fmt.Println(id.Username, "blocked")
		case errors.Is(err, authenticator.ErrNotAllowed):
			fmt.Println(id.Username, "not allowed")
		default:
			fmt.Println(id.Username, "allowed, admin:", got.Admin)
		}
	}
	// Output:
	// alice allowed, admin: false
	// bob allowed, admin: true
	// eve not allowed
	// mallory blocked
}

func ExampleSafeNext() {
	for _, next := range []string{"/user/alice/lab?reset", "//evil.example", "https://evil.example/", "/\\evil.example", "/%2F%2Fevil.example"} {
		fmt.Printf("%-24q -> %s\n", next, authenticator.SafeNext(next, "/hub/home"))
	}
	// Output:
	// "/user/alice/lab?reset"  -> /user/alice/lab?reset
	// "//evil.example"         -> /hub/home
	// "https://evil.example/"  -> /hub/home
	// "/\\evil.example"        -> /hub/home
	// "/%2F%2Fevil.example"    -> /hub/home
}

// Keys in JUPYTERHUB_CRYPT_KEY's format: a new key first, the old one kept
// to open what it sealed.
func ExampleParseKeyring() {
	oldRing, _ := authenticator.ParseKeyring("6f6c64206b6579206f6c64206b6579206f6c64206b6579206f6c64206b657921")
	sealed, _ := oldRing.SealAuthState(&authenticator.AuthState{RefreshToken: "r1"})

	rotated, err := authenticator.ParseKeyring(
		"bmV3IGtleSBuZXcga2V5IG5ldyBrZXkgbmV3IGtleSE=;" + // new: seals
			"6f6c64206b6579206f6c64206b6579206f6c64206b6579206f6c64206b657921") // old: opens
	if err != nil {
		log.Fatal(err)
	}
	st, err := rotated.OpenAuthState(sealed)
	fmt.Println(st.RefreshToken, err)
	// Output: r1 <nil>
}

// A Gate in front of an existing mux. The authenticator would be
// oidc.New(oidc.Keycloak{...}.Options()), header.New(...) or
// dev.NewInsecure(...); here a stand-in that logs everyone in as alice.
func ExampleNewGate() {
	keys, _ := authenticator.NewKeyring(authenticator.NewKey())
	sessions, _ := authenticator.NewSessions(authenticator.SessionOptions{Keys: keys})
	gate, err := authenticator.NewGate(aliceAuth{}, authenticator.GateOptions{Sessions: sessions})
	if err != nil {
		log.Fatal(err)
	}
	app := http.NewServeMux()
	app.HandleFunc("/reports", func(w http.ResponseWriter, r *http.Request) {
		id, _ := authenticator.IdentityFrom(r.Context())
		fmt.Fprintf(w, "reports for %s", id.Username)
	})
	mux := http.NewServeMux()
	mux.Handle("/", gate.Protect(app))
	mux.Handle("/login", gate.Login())
	mux.Handle("/oauth_callback", gate.Callback())
	mux.Handle("/logout", gate.Logout())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/reports", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 302 /oauth_callback?next=%2Freports
}
