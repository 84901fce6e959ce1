package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

var oauthTests = []test{
	{"ClientPutGet", testClientPutGet},
	{"ClientErrors", testClientErrors},
	{"CodeSingleUse", testCodeSingleUse},
	{"CodeWrongClient", testCodeWrongClient},
	{"CodeExpiry", testCodeExpiry},
	{"CodeErrors", testCodeErrors},
}

func aliceClient() store.OAuthClient {
	return store.OAuthClient{
		ID:          "jupyterhub-user-alice",
		RedirectURI: "/user/alice/oauth_callback",
		Description: "Server at /user/alice/",
		Owner:       store.Owner{User: "alice"},
		Scopes:      []string{"read:users:name!user=alice", "access:servers!server=alice/"},
	}
}

func testClientPutGet(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	first := newSecret(t)
	c, err := e.s.PutOAuthClient(ctx, aliceClient(), first)
	wantNoErr(t, "PutOAuthClient", err)
	want := aliceClient()
	want.Scopes = []string{"access:servers!server=alice/", "read:users:name!user=alice"}
	want.SecretHash = store.HashSecret(first)
	want.Created = at(epoch)
	wantEqual(t, "client", c, want)
	if !c.CheckSecret(first) || c.CheckSecret(first+"x") || c.CheckSecret("") {
		t.Error("CheckSecret does not check the secret")
	}
	got, err := e.s.GetOAuthClient(ctx, c.ID)
	wantNoErr(t, "GetOAuthClient", err)
	wantEqual(t, "GetOAuthClient", got, want)

	// Every spawn replaces the secret (the server's new token) and may
	// move the redirect URI; Created stays.
	e.clock.Advance(time.Hour)
	second := newSecret(t)
	upd := aliceClient()
	upd.RedirectURI = "/user/alice/lab/oauth_callback"
	upd.Scopes = nil
	c, err = e.s.PutOAuthClient(ctx, upd, second)
	wantNoErr(t, "PutOAuthClient again", err)
	if c.CheckSecret(first) || !c.CheckSecret(second) {
		t.Error("after a second Put the old secret still works or the new one does not")
	}
	wantEqual(t, "redirect URI", c.RedirectURI, upd.RedirectURI)
	wantEqual(t, "scopes", c.Scopes, []string(nil))
	wantEqual(t, "Created after replace", c.Created, at(epoch))

	svc := store.OAuthClient{ID: "service-grafana", RedirectURI: "https://grafana.example/login", Owner: store.Owner{Service: "grafana"}}
	c, err = e.s.PutOAuthClient(ctx, svc, newSecret(t))
	wantNoErr(t, "PutOAuthClient(service)", err)
	wantEqual(t, "service owner", c.Owner, store.Owner{Service: "grafana"})

	wantNoErr(t, "DeleteOAuthClient", e.s.DeleteOAuthClient(ctx, svc.ID))
	wantErr(t, "DeleteOAuthClient again", e.s.DeleteOAuthClient(ctx, svc.ID), store.ErrNotFound)
	_, err = e.s.GetOAuthClient(ctx, svc.ID)
	wantErr(t, "GetOAuthClient after delete", err, store.ErrNotFound)
}

func testClientErrors(t *testing.T, e *env) {
	ctx := t.Context()
	_, err := e.s.PutOAuthClient(ctx, aliceClient(), newSecret(t))
	wantErr(t, "owner user missing", err, store.ErrNotFound)
	mustCreateUser(t, e.s, "alice")
	_, err = e.s.PutOAuthClient(ctx, aliceClient(), "short")
	wantErr(t, "short secret", err, store.ErrInvalid)
	c := aliceClient()
	c.Owner = store.Owner{}
	_, err = e.s.PutOAuthClient(ctx, c, newSecret(t))
	wantErr(t, "no owner", err, store.ErrInvalid)
	_, err = e.s.GetOAuthClient(ctx, "nope")
	wantErr(t, "GetOAuthClient(missing)", err, store.ErrNotFound)
}

func putAliceClient(t *testing.T, e *env) store.OAuthClient {
	t.Helper()
	mustCreateUser(t, e.s, "alice")
	c, err := e.s.PutOAuthClient(t.Context(), aliceClient(), newSecret(t))
	wantNoErr(t, "PutOAuthClient", err)
	return c
}

func testCodeSingleUse(t *testing.T, e *env) {
	ctx := t.Context()
	c := putAliceClient(t, e)
	code := newSecret(t)
	in := store.OAuthCode{
		ClientID: c.ID, User: "alice", RedirectURI: c.RedirectURI,
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
		Scopes:  []string{"identify", "access:servers!server=alice/"},
		Created: epoch.Add(-time.Hour), // ignored
		Expires: epoch.Add(10 * time.Minute),
	}
	created, err := e.s.CreateOAuthCode(ctx, code, in)
	wantNoErr(t, "CreateOAuthCode", err)
	want := in
	want.Scopes = []string{"access:servers!server=alice/", "identify"}
	want.Created, want.Expires = at(epoch), at(in.Expires)
	wantEqual(t, "created code", created, want)
	_, err = e.s.CreateOAuthCode(ctx, code, in)
	wantErr(t, "same code again", err, store.ErrConflict)

	e.clock.Advance(time.Minute)
	got, err := e.s.ConsumeOAuthCode(ctx, code, c.ID)
	wantNoErr(t, "ConsumeOAuthCode", err)
	wantEqual(t, "consumed code", got, want)
	_, err = e.s.ConsumeOAuthCode(ctx, code, c.ID)
	wantErr(t, "second ConsumeOAuthCode", err, store.ErrNotFound)

	plain := newSecret(t)
	_, err = e.s.CreateOAuthCode(ctx, plain, store.OAuthCode{ClientID: c.ID, User: "alice", Expires: epoch.Add(time.Hour)})
	wantNoErr(t, "CreateOAuthCode without PKCE", err)
	got, err = e.s.ConsumeOAuthCode(ctx, plain, c.ID)
	wantNoErr(t, "ConsumeOAuthCode without PKCE", err)
	wantEqual(t, "no challenge", got.CodeChallenge+got.CodeChallengeMethod, "")
	_, err = e.s.ConsumeOAuthCode(ctx, "", c.ID)
	wantErr(t, "empty code", err, store.ErrNotFound)
}

func testCodeWrongClient(t *testing.T, e *env) {
	ctx := t.Context()
	c := putAliceClient(t, e)
	code := newSecret(t)
	_, err := e.s.CreateOAuthCode(ctx, code, store.OAuthCode{ClientID: c.ID, User: "alice", Expires: epoch.Add(time.Minute)})
	wantNoErr(t, "CreateOAuthCode", err)
	_, err = e.s.ConsumeOAuthCode(ctx, code, "jupyterhub-user-mallory")
	wantErr(t, "other client", err, store.ErrNotFound)
	_, err = e.s.ConsumeOAuthCode(ctx, code, c.ID)
	wantErr(t, "after a use by another client the code is gone", err, store.ErrNotFound)
}

func testCodeExpiry(t *testing.T, e *env) {
	ctx := t.Context()
	c := putAliceClient(t, e)
	code, kept := newSecret(t), newSecret(t)
	for _, s := range []string{code, kept} {
		_, err := e.s.CreateOAuthCode(ctx, s, store.OAuthCode{ClientID: c.ID, User: "alice", Expires: epoch.Add(time.Minute)})
		wantNoErr(t, "CreateOAuthCode", err)
	}
	e.clock.Advance(time.Minute)
	_, err := e.s.ConsumeOAuthCode(ctx, code, c.ID)
	wantErr(t, "expired code", err, store.ErrExpired)
	_, err = e.s.ConsumeOAuthCode(ctx, code, c.ID)
	wantErr(t, "expired code, second try", err, store.ErrNotFound)
	n, err := e.s.PurgeExpired(ctx)
	wantNoErr(t, "PurgeExpired", err)
	wantEqual(t, "purged codes", n, 1)
	_, err = e.s.ConsumeOAuthCode(ctx, kept, c.ID)
	wantErr(t, "purged code", err, store.ErrNotFound)
}

func testCodeErrors(t *testing.T, e *env) {
	ctx := t.Context()
	c := putAliceClient(t, e)
	exp := epoch.Add(time.Minute)
	_, err := e.s.CreateOAuthCode(ctx, newSecret(t), store.OAuthCode{ClientID: "nope", User: "alice", Expires: exp})
	wantErr(t, "missing client", err, store.ErrNotFound)
	_, err = e.s.CreateOAuthCode(ctx, newSecret(t), store.OAuthCode{ClientID: c.ID, User: "bob", Expires: exp})
	wantErr(t, "missing user", err, store.ErrNotFound)
	_, err = e.s.CreateOAuthCode(ctx, "tiny", store.OAuthCode{ClientID: c.ID, User: "alice", Expires: exp})
	wantErr(t, "short code", err, store.ErrInvalid)
	if strings.Contains(err.Error(), "tiny") {
		t.Errorf("error %q contains the code", err)
	}
	// Deleting the client deletes its codes.
	code := newSecret(t)
	_, err = e.s.CreateOAuthCode(ctx, code, store.OAuthCode{ClientID: c.ID, User: "alice", Expires: exp})
	wantNoErr(t, "CreateOAuthCode", err)
	wantNoErr(t, "DeleteOAuthClient", e.s.DeleteOAuthClient(ctx, c.ID))
	_, err = e.s.PutOAuthClient(ctx, aliceClient(), newSecret(t))
	wantNoErr(t, "PutOAuthClient again", err)
	_, err = e.s.ConsumeOAuthCode(ctx, code, c.ID)
	wantErr(t, "code of a deleted client", err, store.ErrNotFound)
}
