package vault_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/vault"
)

// The steps of Example_hub and Example_server, against a real Vault: the
// hub provisions (its token has only the hub's policy), the server finds
// its access in the environment the grant describes, renews its token and
// uses its store; the user's secrets are there at the next spawn; with
// RevokeOnStop the stop revokes the token.
func TestExampleFlows(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{Revoke: vault.RevokeOnStop})
	ctx := t.Context()
	u := user("flow")

	// Hub: spawn.
	grant, err := f.prov.Provision(ctx, u, "")
	if err != nil {
		t.Fatal(err)
	}
	environ := grant.Env()
	for k, v := range grant.SecretEnv() {
		environ[k] = v
	}
	environ["JUPYTERHUB_USER"] = u

	// Server.
	env, err := vault.FromEnv(func(k string) string { return environ[k] })
	if err != nil {
		t.Fatal(err)
	}
	client, err := vault.NewClient(vault.ClientOptions{Address: env.Address, Token: env.Token, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := vault.NewCredential(client, &vault.TokenAuth{Token: env.Token}, vault.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cred.Run(runCtx) }()
	store, err := vault.NewStore(client, vault.StoreOptions{Mount: env.Mount, Prefix: env.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, "api-keys", map[string]string{"openai": "sk-1", "github": "ghp-2"}); err != nil {
		t.Fatal(err)
	}
	if v, err := secrets.GetField(ctx, store, "api-keys", "openai"); err != nil || v != "sk-1" {
		t.Fatalf("GetField = %q, %v", v, err)
	}
	waitFor(t, 10*time.Second, "the server's renewer to log in", func() bool { return cred.Status().LoggedIn })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Hub: stop revokes; the server's token is dead.
	if err := f.prov.Release(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := store.List(ctx); !errors.Is(err, vault.ErrTokenInvalid) {
		t.Fatalf("List after stop: %v, want ErrTokenInvalid", err)
	}

	// Next spawn: a new token, the same secrets.
	s2, _ := f.userStore(t, u)
	if got, err := s2.Get(ctx, "api-keys"); err != nil || got["github"] != "ghp-2" {
		t.Fatalf("secrets at the next spawn = %q, %v", got, err)
	}
}
