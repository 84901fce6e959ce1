package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

var tokenTests = []test{
	{"CreateLookup", testCreateLookupToken},
	{"LookupWrongSecret", testLookupWrongSecret},
	{"SamePrefix", testTokensSamePrefix},
	{"Expiry", testTokenExpiry},
	{"ServiceTokens", testServiceTokens},
	{"CreateErrors", testCreateTokenErrors},
	{"ListDelete", testListDeleteTokens},
	{"DeletedWithClient", testTokensDeletedWithClient},
	{"LookupTokenUser", testLookupTokenUser},
}

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := store.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testCreateLookupToken(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	secret := newSecret(t)
	expires := epoch.Add(24 * time.Hour)
	tok, err := e.s.CreateToken(ctx, secret, store.Token{
		ID: 99, Prefix: "nope", Hash: []byte("nope"), Created: epoch.Add(-time.Hour), LastActivity: epoch, // ignored
		Owner:   store.Owner{User: "alice"},
		Scopes:  []string{"read:users!user=alice", "access:servers!server=alice/", "read:users!user=alice"},
		Note:    "Requested via api",
		Expires: expires,
	})
	wantNoErr(t, "CreateToken", err)
	sum := sha256.Sum256([]byte(secret))
	want := store.Token{
		ID: tok.ID, Prefix: secret[:store.PrefixLength], Hash: sum[:],
		Owner:  store.Owner{User: "alice"},
		Scopes: []string{"access:servers!server=alice/", "read:users!user=alice"},
		Note:   "Requested via api", Created: at(epoch), Expires: at(expires),
	}
	wantEqual(t, "created token", tok, want)
	if tok.ID == 99 || tok.ID <= 0 {
		t.Errorf("ID = %d: want one assigned by the store", tok.ID)
	}
	got, err := e.s.LookupToken(ctx, secret)
	wantNoErr(t, "LookupToken", err)
	wantEqual(t, "looked-up token", got, want)
	for _, f := range []string{tok.Prefix, tok.Note, strings.Join(tok.Scopes, " ")} {
		if strings.Contains(f, secret[store.PrefixLength:]) {
			t.Errorf("a token field contains the secret: %q", f)
		}
	}
	if bytes.Contains(tok.Hash, []byte(secret)) {
		t.Error("Hash contains the secret")
	}
}

func testLookupWrongSecret(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	secret := newSecret(t)
	_, err := e.s.CreateToken(ctx, secret, store.Token{Owner: store.Owner{User: "alice"}})
	wantNoErr(t, "CreateToken", err)
	flipped := []byte(secret)
	flipped[len(flipped)-1] ^= 1
	for name, s := range map[string]string{
		"other secret":       newSecret(t),
		"last byte changed":  string(flipped),
		"prefix only":        secret[:store.PrefixLength],
		"secret plus a byte": secret + "0",
		"upper case":         strings.ToUpper(secret),
		"empty":              "",
		"with space":         secret[:10] + " " + secret[11:],
		"hash as secret":     string(store.HashSecret(secret)),
	} {
		if _, err := e.s.LookupToken(ctx, s); !isErr(err, store.ErrNotFound) {
			t.Errorf("%s: error = %v, want ErrNotFound", name, err)
		}
	}
}

func testTokensSamePrefix(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	mustCreateUser(t, e.s, "bob")
	// Configured secrets can share a prefix; each finds its own token.
	ids := map[string]int64{}
	for _, tc := range []struct{ secret, user string }{
		{"abcd-first-secret", "alice"}, {"abcd-second-secret", "bob"}, {"abcd-third-secret", "alice"},
	} {
		tok, err := e.s.CreateToken(ctx, tc.secret, store.Token{Owner: store.Owner{User: tc.user}})
		wantNoErr(t, "CreateToken", err)
		ids[tc.secret] = tok.ID
	}
	for secret, id := range ids {
		tok, err := e.s.LookupToken(ctx, secret)
		wantNoErr(t, "LookupToken("+secret+")", err)
		wantEqual(t, "ID of "+secret, tok.ID, id)
		wantEqual(t, "prefix", tok.Prefix, "abcd")
	}
	_, err := e.s.LookupToken(ctx, "abcd-fourth-secret")
	wantErr(t, "same prefix, unknown secret", err, store.ErrNotFound)
}

func testTokenExpiry(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	short, long, never := newSecret(t), newSecret(t), newSecret(t)
	for s, exp := range map[string]time.Time{short: epoch.Add(time.Minute), long: epoch.Add(time.Hour), never: {}} {
		_, err := e.s.CreateToken(ctx, s, store.Token{Owner: store.Owner{User: "alice"}, Expires: exp})
		wantNoErr(t, "CreateToken", err)
	}
	e.clock.Advance(time.Minute) // exactly at short's expiry: expired
	_, err := e.s.LookupToken(ctx, short)
	wantErr(t, "expired token", err, store.ErrExpired)
	_, err = e.s.LookupToken(ctx, long)
	wantNoErr(t, "unexpired token", err)
	toks, err := e.s.ListTokens(ctx, store.TokenQuery{Owner: store.Owner{User: "alice"}})
	wantNoErr(t, "ListTokens", err)
	wantEqual(t, "ListTokens includes expired tokens", len(toks), 3)
	n, err := e.s.PurgeExpired(ctx)
	wantNoErr(t, "PurgeExpired", err)
	wantEqual(t, "purged", n, 1)
	_, err = e.s.LookupToken(ctx, short)
	wantErr(t, "purged token", err, store.ErrNotFound)
	n, err = e.s.PurgeExpired(ctx)
	wantNoErr(t, "PurgeExpired again", err)
	wantEqual(t, "purged again", n, 0)
	e.clock.Advance(100 * 365 * 24 * time.Hour)
	_, err = e.s.LookupToken(ctx, never)
	wantNoErr(t, "token that never expires", err)
}

func testServiceTokens(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "cull")       // a user with a service's name is someone else
	secret := "configured-service-token" // as given in a z2jh values.yaml
	tok, err := e.s.CreateToken(ctx, secret, store.Token{Owner: store.Owner{Service: "cull"}, Scopes: []string{"list:users", "admin:servers"}})
	wantNoErr(t, "CreateToken(service)", err)
	got, err := e.s.LookupToken(ctx, secret)
	wantNoErr(t, "LookupToken", err)
	wantEqual(t, "owner", got.Owner, store.Owner{Service: "cull"})
	wantEqual(t, "token", got, tok)
	svc, err := e.s.ListTokens(ctx, store.TokenQuery{Owner: store.Owner{Service: "cull"}})
	wantNoErr(t, "ListTokens(service)", err)
	wantEqual(t, "service tokens", len(svc), 1)
	usr, err := e.s.ListTokens(ctx, store.TokenQuery{Owner: store.Owner{User: "cull"}})
	wantNoErr(t, "ListTokens(user)", err)
	wantEqual(t, "user tokens", len(usr), 0)
	// Deleting the user of the same name leaves the service's token.
	wantNoErr(t, "DeleteUser", e.s.DeleteUser(ctx, "cull"))
	_, err = e.s.LookupToken(ctx, secret)
	wantNoErr(t, "service token after user deletion", err)
}

func testCreateTokenErrors(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	secret := newSecret(t)
	_, err := e.s.CreateToken(ctx, secret, store.Token{Owner: store.Owner{User: "alice"}})
	wantNoErr(t, "CreateToken", err)
	_, err = e.s.CreateToken(ctx, secret, store.Token{Owner: store.Owner{User: "alice"}})
	wantErr(t, "same secret again", err, store.ErrConflict)
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q contains the secret", err)
	}
	_, err = e.s.CreateToken(ctx, newSecret(t), store.Token{Owner: store.Owner{User: "bob"}})
	wantErr(t, "missing user", err, store.ErrNotFound)
	_, err = e.s.CreateToken(ctx, newSecret(t), store.Token{Owner: store.Owner{User: "alice"}, ClientID: "no-such-client"})
	wantErr(t, "missing client", err, store.ErrNotFound)
	_, err = e.s.CreateToken(ctx, "x7!qz", store.Token{Owner: store.Owner{User: "alice"}})
	wantErr(t, "short secret", err, store.ErrInvalid)
	if strings.Contains(err.Error(), "x7!qz") {
		t.Errorf("error %q contains the secret", err)
	}
}

func testListDeleteTokens(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	mustCreateUser(t, e.s, "bob")
	var ids []int64
	for _, u := range []string{"alice", "bob", "alice"} {
		tok, err := e.s.CreateToken(ctx, newSecret(t), store.Token{Owner: store.Owner{User: u}})
		wantNoErr(t, "CreateToken", err)
		ids = append(ids, tok.ID)
	}
	toks, err := e.s.ListTokens(ctx, store.TokenQuery{Owner: store.Owner{User: "alice"}})
	wantNoErr(t, "ListTokens", err)
	var got []int64
	for _, tk := range toks {
		got = append(got, tk.ID)
		wantEqual(t, "owner", tk.Owner, store.Owner{User: "alice"})
	}
	wantEqual(t, "alice's token IDs in order", got, []int64{ids[0], ids[2]})
	wantNoErr(t, "DeleteToken", e.s.DeleteToken(ctx, ids[0]))
	wantErr(t, "DeleteToken again", e.s.DeleteToken(ctx, ids[0]), store.ErrNotFound)
	toks, _ = e.s.ListTokens(ctx, store.TokenQuery{Owner: store.Owner{User: "alice"}})
	wantEqual(t, "after delete", len(toks), 1)
	// IDs are never reused.
	tok, err := e.s.CreateToken(ctx, newSecret(t), store.Token{Owner: store.Owner{User: "alice"}})
	wantNoErr(t, "CreateToken", err)
	for _, id := range ids {
		if tok.ID == id {
			t.Errorf("new token got the ID %d of an earlier one", id)
		}
	}
}

func testTokensDeletedWithClient(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	client := store.OAuthClient{ID: "jupyterhub-user-alice", RedirectURI: "/user/alice/oauth_callback", Owner: store.Owner{User: "alice"}}
	_, err := e.s.PutOAuthClient(ctx, client, newSecret(t))
	wantNoErr(t, "PutOAuthClient", err)
	viaOAuth, direct := newSecret(t), newSecret(t)
	_, err = e.s.CreateToken(ctx, viaOAuth, store.Token{Owner: store.Owner{User: "alice"}, ClientID: client.ID})
	wantNoErr(t, "CreateToken via client", err)
	_, err = e.s.CreateToken(ctx, direct, store.Token{Owner: store.Owner{User: "alice"}})
	wantNoErr(t, "CreateToken", err)
	byClient, err := e.s.ListTokens(ctx, store.TokenQuery{ClientID: client.ID})
	wantNoErr(t, "ListTokens(client)", err)
	wantEqual(t, "tokens of the client", len(byClient), 1)
	wantEqual(t, "client of the token", byClient[0].ClientID, client.ID)
	wantNoErr(t, "DeleteOAuthClient", e.s.DeleteOAuthClient(ctx, client.ID))
	_, err = e.s.LookupToken(ctx, viaOAuth)
	wantErr(t, "token of the deleted client", err, store.ErrNotFound)
	_, err = e.s.LookupToken(ctx, direct)
	wantNoErr(t, "token not issued by the client", err)
}

func testLookupTokenUser(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice", "physics", "admins")
	startServer(t, e.s, "alice", "", "http://a")
	mustClaim(t, e.s, "alice", "gpu", store.Claim{Phase: store.PhaseSpawn, Owner: "hub-0"})
	mustCreateUser(t, e.s, "bob")
	mustCreateUser(t, e.s, "cull") // a user with the service's name
	create := func(secret string, tok store.Token) store.Token {
		t.Helper()
		tok, err := e.s.CreateToken(ctx, secret, tok)
		wantNoErr(t, "CreateToken", err)
		return tok
	}
	alices, bobs, service, expiring := newSecret(t), newSecret(t), newSecret(t), newSecret(t)
	create(alices, store.Token{Owner: store.Owner{User: "alice"}, Scopes: []string{"read:users!user=alice"}, Note: "a"})
	create(bobs, store.Token{Owner: store.Owner{User: "bob"}})
	create(service, store.Token{Owner: store.Owner{Service: "cull"}, Scopes: []string{"list:users"}})
	create(expiring, store.Token{Owner: store.Owner{User: "alice"}, Expires: epoch.Add(time.Minute)})
	// Bob's second token shares the prefix of Alice's: each finds its own
	// owner.
	bobsSamePrefix := alices[:store.PrefixLength] + newSecret(t)[store.PrefixLength:]
	create(bobsSamePrefix, store.Token{Owner: store.Owner{User: "bob"}})

	t.Run("user's token", func(t *testing.T) {
		tok, u, err := e.s.LookupTokenUser(ctx, alices)
		wantNoErr(t, "LookupTokenUser", err)
		want, err := e.s.LookupToken(ctx, alices)
		wantNoErr(t, "LookupToken", err)
		wantEqual(t, "token", tok, want)
		alice, err := e.s.GetUser(ctx, "alice")
		wantNoErr(t, "GetUser", err)
		wantEqual(t, "user", u, alice)
		if len(u.Groups) != 2 || len(u.Servers) != 2 {
			t.Errorf("user has groups %v and %d servers, want 2 and 2", u.Groups, len(u.Servers))
		}
		// The caller owns what it got.
		u.Groups[0] = "changed"
		_, again, _ := e.s.LookupTokenUser(ctx, alices)
		wantEqual(t, "user after changing the returned one", again, alice)
		_, u, err = e.s.LookupTokenUser(ctx, bobsSamePrefix)
		wantNoErr(t, "LookupTokenUser(same prefix)", err)
		wantEqual(t, "owner of the token with the same prefix", u.Name, "bob")
	})
	t.Run("service's token", func(t *testing.T) {
		tok, u, err := e.s.LookupTokenUser(ctx, service)
		wantNoErr(t, "LookupTokenUser", err)
		wantEqual(t, "owner", tok.Owner, store.Owner{Service: "cull"})
		wantEqual(t, "user of a service's token", u, store.User{})
	})
	t.Run("unknown or invalid secret", func(t *testing.T) {
		for name, secret := range map[string]string{
			"other secret":     newSecret(t),
			"same prefix":      alices[:store.PrefixLength] + newSecret(t)[store.PrefixLength:],
			"prefix only":      alices[:store.PrefixLength],
			"empty":            "",
			"too short":        "x7!qz",
			"secret plus byte": alices + "0",
		} {
			tok, u, err := e.s.LookupTokenUser(ctx, secret)
			if !isErr(err, store.ErrNotFound) {
				t.Errorf("%s: error = %v, want ErrNotFound", name, err)
			}
			if tok.ID != 0 || u.Name != "" {
				t.Errorf("%s: got token %d and user %q with the error", name, tok.ID, u.Name)
			}
		}
	})
	t.Run("expired", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		_, u, err := e.s.LookupTokenUser(ctx, expiring)
		wantErr(t, "expired token", err, store.ErrExpired)
		wantEqual(t, "user of an expired token", u.Name, "")
		_, _, err = e.s.LookupTokenUser(ctx, alices)
		wantNoErr(t, "unexpired token", err)
	})
	t.Run("deleted user", func(t *testing.T) {
		wantNoErr(t, "DeleteUser", e.s.DeleteUser(ctx, "bob"))
		_, _, err := e.s.LookupTokenUser(ctx, bobs)
		wantErr(t, "token of a deleted user", err, store.ErrNotFound)
		_, u, err := e.s.LookupTokenUser(ctx, alices)
		wantNoErr(t, "token sharing a prefix with a deleted user's", err)
		wantEqual(t, "user", u.Name, "alice")
		// The user of the service's name goes, the service's token stays.
		wantNoErr(t, "DeleteUser", e.s.DeleteUser(ctx, "cull"))
		_, u, err = e.s.LookupTokenUser(ctx, service)
		wantNoErr(t, "service's token after deleting a user of its name", err)
		wantEqual(t, "user", u, store.User{})
	})
	_, _, err := e.s.LookupTokenUser(cancelled(t), alices)
	wantErr(t, "cancelled context", err, context.Canceled)
}
