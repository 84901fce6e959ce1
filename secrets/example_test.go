package secrets_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/memory"
)

// The notebook-side API, on the in-memory store; secrets/vault and
// secrets/kubesecret behave the same.
func Example() {
	ctx := context.Background()
	var store secrets.SecretStore = memory.New()

	_ = store.Put(ctx, "api-keys", map[string]string{"openai": "sk-123", "github": "ghp-456"})
	_ = store.Put(ctx, "team/db", map[string]string{"url": "postgresql://db:5432/x"})

	keys, _ := store.Get(ctx, "api-keys")
	fmt.Println(keys["github"])
	openai, _ := secrets.GetField(ctx, store, "api-keys", "openai")
	fmt.Println(openai)
	names, _ := store.List(ctx)
	fmt.Println(names)

	// Put replaces: fields not given are gone.
	_ = store.Put(ctx, "api-keys", map[string]string{"openai": "sk-789"})
	_, err := secrets.GetField(ctx, store, "api-keys", "github")
	fmt.Println(errors.Is(err, secrets.ErrFieldNotFound), err)

	// Deleting the last field deletes the secret.
	_ = store.DeleteFields(ctx, "api-keys", "openai")
	_, err = store.Get(ctx, "api-keys")
	fmt.Println(errors.Is(err, secrets.ErrNotFound), err)

	// Names cannot leave the store.
	err = store.Put(ctx, "../bob/api-keys", map[string]string{"k": "v"})
	fmt.Println(errors.Is(err, secrets.ErrInvalid))
	// Output:
	// ghp-456
	// sk-123
	// [api-keys team/db]
	// true secrets: secret "api-keys" has no field "github"
	// true secrets: secret "api-keys" not found
	// true
}
