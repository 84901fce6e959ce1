package vault_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"

	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/vault"
	"github.com/hubkit/hubkit/spawner"
)

// The hub's side: log in with the hub's service account, keep the token
// alive, and provision a user's server at spawn. TestExampleFlows runs
// the same steps against a real Vault.
func Example_hub() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.Default()

	client, err := vault.NewClient(vault.ClientOptions{Address: "https://vault.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	cred, err := vault.NewCredential(client, &vault.KubernetesAuth{Role: "jupyterhub"},
		vault.CredentialOptions{Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	if err := cred.Login(ctx); err != nil { // fail fast on a wrong configuration
		log.Fatal(err)
	}
	go cred.Run(ctx) // renew at ~2/3 of each lease, log in again after failures

	prov, err := vault.NewProvisioner(client, vault.ProvisionerOptions{Logger: logger})
	if err != nil {
		log.Fatal(err)
	}

	// At spawn of alice's default server:
	grant, err := prov.Provision(ctx, "alice", "")
	if err != nil {
		log.Fatal(err)
	}
	req := spawner.Request{
		Ref:       spawner.Ref{User: "alice"},
		Env:       grant.Env(),       // VAULT_ADDR, NOTEBOOK_VAULT_MOUNT, NOTEBOOK_VAULT_PREFIX
		SecretEnv: grant.SecretEnv(), // NOTEBOOK_VAULT_TOKEN: spawner/kube keeps it in the server's Secret
	}
	logger.Info("spawning", "grant", grant, "server", req.Ref.String(), "secret_vars", len(req.SecretEnv))

	// At stop (revokes the token with RevokeOnStop):
	if err := prov.Release(ctx, "alice", ""); err != nil {
		log.Fatal(err)
	}
}

// The user's side: a Go service in the user's server reads its Vault
// access from the environment the hub made, renews its token, and uses its
// secrets.
func Example_server() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	env, err := vault.FromEnv(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	client, err := vault.NewClient(vault.ClientOptions{Address: env.Address, Token: env.Token})
	if err != nil {
		log.Fatal(err)
	}
	cred, err := vault.NewCredential(client, &vault.TokenAuth{Token: env.Token}, vault.CredentialOptions{})
	if err != nil {
		log.Fatal(err)
	}
	go cred.Run(ctx) // renews within the max TTL; after it, restart the server

	var store secrets.SecretStore
	store, err = vault.NewStore(client, vault.StoreOptions{Mount: env.Mount, Prefix: env.Prefix})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Put(ctx, "api-keys", map[string]string{"openai": "sk-...", "github": "ghp_..."}); err != nil {
		log.Fatal(err)
	}
	key, err := secrets.GetField(ctx, store, "api-keys", "openai")
	if err != nil {
		log.Fatal(err)
	}
	names, err := store.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(key) > 0, names)
}

func ExampleSafeName() {
	for _, u := range []string{"alice", "Alice", "a.b@example.com", "+"} {
		fmt.Println(vault.SafeName(u))
	}
	// Output:
	// alice
	// alice---3bc51062973c458d5a6f2d8d64a02324
	// a-b-example-com---a6f1bad172104d254e536c6b8dbab9bb
	// x---a318c24216defe206feeb73ef5be0003
}

func ExampleLayout_UserPolicyHCL() {
	fmt.Print(vault.Layout{}.UserPolicyHCL("alice"))
	// Output:
	// # hubkit: secrets of JupyterHub user "alice" (Vault name "alice").
	// path "secret/data/jupyter/users/alice/*" {
	//   capabilities = ["create", "read", "update", "delete"]
	// }
	// path "secret/metadata/jupyter/users/alice/*" {
	//   capabilities = ["read", "list", "delete"]
	// }
}

func ExampleFromEnv() {
	environ := map[string]string{
		"VAULT_ADDR":            "https://vault.example.com",
		"NOTEBOOK_VAULT_TOKEN":  "hvs.example",
		"NOTEBOOK_VAULT_MOUNT":  "secret",
		"NOTEBOOK_VAULT_PREFIX": "jupyter/users/alice",
	}
	env, err := vault.FromEnv(func(k string) string { return environ[k] })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(env.Address, env.Mount, env.Prefix)
	// Output: https://vault.example.com secret jupyter/users/alice
}
