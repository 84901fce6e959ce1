package vault_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/secretstest"
	"github.com/hubkit/hubkit/secrets/vault"
)

// The conformance suite, each store on a freshly provisioned user's own
// token, so every call is also checked against the user's policy.
func TestConformance(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	secretstest.Run(t, func(t *testing.T) secrets.SecretStore {
		s, _ := f.userStore(t, user("conf"))
		return s
	})
}

// The same suite on a root token with custom mount and prefixes: the
// store's confinement does not depend on the token's policy.
func TestConformanceCustomLayout(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{Layout: vault.Layout{Mount: "kv-test", PathTemplate: "teams/x/{username}/secrets"}})
	secretstest.Run(t, func(t *testing.T) secrets.SecretStore {
		s, err := vault.NewUserStore(f.admin, f.prov.Layout(), user("root"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// KV v2 keeps earlier versions: Put and DeleteFields add versions, and
// GetVersion reads an old one.
func TestVersionsKept(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	s, _ := f.userStore(t, user("versions"))
	ctx := t.Context()
	for _, fields := range []map[string]string{{"a": "1"}, {"a": "2", "b": "x"}} {
		if err := s.Put(ctx, "k", fields); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteFields(ctx, "k", "b"); err != nil {
		t.Fatal(err)
	}
	m, err := s.Metadata(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if m.CurrentVersion != 3 || len(m.Versions) != 3 || m.Versions[0].Number != 1 || m.Versions[0].Created.IsZero() {
		t.Fatalf("metadata = %+v", m)
	}
	old, err := s.GetVersion(ctx, "k", 1)
	if err != nil || old["a"] != "1" || len(old) != 1 {
		t.Fatalf("GetVersion(1) = %v, %v", old, err)
	}
	mid, err := s.GetVersion(ctx, "k", 2)
	if err != nil || mid["b"] != "x" {
		t.Fatalf("GetVersion(2) = %v, %v", mid, err)
	}
	if _, err := s.GetVersion(ctx, "k", 9); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("GetVersion(9): %v", err)
	}
	if _, err := s.GetVersion(ctx, "k", 0); !errors.Is(err, secrets.ErrInvalid) {
		t.Fatalf("GetVersion(0): %v", err)
	}
	// Delete removes the history too, as buun-stack's SecretStore does.
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Metadata(ctx, "k"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Metadata after Delete: %v", err)
	}
}

// Values written by other Vault clients as non-strings come back as JSON
// text rather than failing.
func TestNonStringValues(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	u := user("json")
	s, g := f.userStore(t, u)
	_, err := f.admin.Logical().WriteWithContext(t.Context(), g.Mount+"/data/"+g.Prefix+"/typed", map[string]any{
		"data": map[string]any{"n": 5, "b": true, "o": map[string]any{"x": []int{1}}, "s": "str"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), "typed")
	if err != nil {
		t.Fatal(err)
	}
	if got["n"] != "5" || got["b"] != "true" || got["o"] != `{"x":[1]}` || got["s"] != "str" {
		t.Fatalf("Get = %q", got)
	}
}

// A store whose token expired says so clearly: ErrTokenInvalid, which is
// also ErrPermissionDenied, on every method, and never panics.
func TestExpiredToken(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{TTL: time.Second, MaxTTL: time.Second})
	s, _ := f.userStore(t, user("expired"))
	ctx := t.Context()
	if err := s.Put(ctx, "k", map[string]string{"a": "1"}); err != nil {
		t.Fatalf("Put while the token is valid: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if _, err = s.Get(ctx, "k"); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, vault.ErrTokenInvalid) || !errors.Is(err, secrets.ErrPermissionDenied) {
			t.Fatalf("%s with an expired token: %v, want ErrTokenInvalid", what, err)
		}
		if !strings.Contains(err.Error(), "token expired, revoked or invalid") || !strings.HasPrefix(err.Error(), "vault: ") {
			t.Fatalf("%s: unclear message %q", what, err)
		}
	}
	check("Get", err)
	check("Put", s.Put(ctx, "k", map[string]string{"a": "2"}))
	_, err = s.List(ctx)
	check("List", err)
	check("Delete", s.Delete(ctx, "k"))
	check("DeleteFields", s.DeleteFields(ctx, "k", "a"))
	_, err = s.Metadata(ctx, "k")
	check("Metadata", err)
}

// An unreachable Vault is ErrUnreachable (and secrets.ErrUnavailable).
func TestUnreachable(t *testing.T) {
	c, err := vault.NewClient(vault.ClientOptions{Address: "http://127.0.0.1:1", Token: "t", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := vault.NewStore(c, vault.StoreOptions{Prefix: "jupyter/users/alice"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(t.Context(), "k")
	if !errors.Is(err, vault.ErrUnreachable) || !errors.Is(err, secrets.ErrUnavailable) {
		t.Fatalf("Get: %v, want ErrUnreachable", err)
	}
	if !strings.HasPrefix(err.Error(), "vault: get secret/data/jupyter/users/alice/k: unreachable") {
		t.Fatalf("message %q", err)
	}
	var e *vault.Error
	if !errors.As(err, &e) || e.Op != "get" || e.Status != 0 {
		t.Fatalf("error = %#v", err)
	}
}

// A sealed Vault is ErrSealed (and secrets.ErrUnavailable). The test
// seals a server of its own.
func TestSealed(t *testing.T) {
	f := newFixture(t, startOwnVault(t), vault.ProvisionerOptions{})
	s, _ := f.userStore(t, user("sealed"))
	if err := s.Put(t.Context(), "k", map[string]string{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.admin.Sys().SealWithContext(t.Context()); err != nil {
		t.Fatalf("sealing: %v", err)
	}
	_, err := s.Get(t.Context(), "k")
	if !errors.Is(err, vault.ErrSealed) || !errors.Is(err, secrets.ErrUnavailable) {
		t.Fatalf("Get from a sealed Vault: %v, want ErrSealed", err)
	}
	var e *vault.Error
	if !errors.As(err, &e) || e.Status != 503 {
		t.Fatalf("error = %#v", err)
	}
	if _, err := f.prov.Provision(t.Context(), user("x"), ""); !errors.Is(err, vault.ErrSealed) {
		t.Fatalf("Provision on a sealed Vault: %v", err)
	}
}

// NewStore rejects prefixes and mounts that are not plain paths.
func TestNewStoreValidates(t *testing.T) {
	c, _ := vault.NewClient(vault.ClientOptions{Address: "http://127.0.0.1:1"})
	for _, o := range []vault.StoreOptions{
		{},
		{Prefix: "a/../b"},
		{Prefix: "/a"},
		{Prefix: "a/*"},
		{Prefix: "a", Mount: "x//y"},
	} {
		if _, err := vault.NewStore(c, o); err == nil {
			t.Errorf("NewStore(%+v) accepted", o)
		}
	}
	if _, err := vault.NewStore(nil, vault.StoreOptions{Prefix: "a"}); err == nil {
		t.Error("NewStore(nil) accepted")
	}
}
