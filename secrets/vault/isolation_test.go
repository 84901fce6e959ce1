package vault_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/vault"
)

func startOwnVault(t *testing.T) *testenv.Vault { return testenv.StartVault(t) }

// pair provisions users A and B; B has a secret "b-secret". It returns a
// store on A's token aimed at B's prefix (the store's own confinement is
// bypassed on purpose: Vault's policy must refuse), and A's own store.
func pair(t *testing.T) (aAtB, aOwn *vault.Store, f *fixture) {
	t.Helper()
	f = newFixture(t, nil, vault.ProvisionerOptions{})
	a, b := user("alice"), user("bob")
	aOwn, ga := f.userStore(t, a)
	bOwn, _ := f.userStore(t, b)
	if err := bOwn.Put(t.Context(), "b-secret", map[string]string{"k": "bob's"}); err != nil {
		t.Fatal(err)
	}
	if err := aOwn.Put(t.Context(), "a-secret", map[string]string{"k": "alice's"}); err != nil {
		t.Fatal(err)
	}
	aAtB, err := vault.NewStore(newClient(t, f.v, ga.Token), vault.StoreOptions{Prefix: f.prov.Layout().UserPrefix(b)})
	if err != nil {
		t.Fatal(err)
	}
	return aAtB, aOwn, f
}

func wantDenied(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, secrets.ErrPermissionDenied) {
		t.Fatalf("%s: %v, want permission denied", what, err)
	}
	if errors.Is(err, vault.ErrTokenInvalid) {
		t.Fatalf("%s: %v: a policy refusal reported as an invalid token", what, err)
	}
	var e *vault.Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden {
		t.Fatalf("%s: %#v, want a *vault.Error with status 403", what, err)
	}
}

func TestIsolationCannotReadOtherUser(t *testing.T) {
	aAtB, _, _ := pair(t)
	_, err := aAtB.Get(t.Context(), "b-secret")
	wantDenied(t, "Get of B's secret with A's token", err)
	_, err = aAtB.Metadata(t.Context(), "b-secret")
	wantDenied(t, "Metadata of B's secret with A's token", err)
	_, err = aAtB.GetVersion(t.Context(), "b-secret", 1)
	wantDenied(t, "GetVersion of B's secret with A's token", err)
}

func TestIsolationCannotListOtherUser(t *testing.T) {
	aAtB, _, _ := pair(t)
	_, err := aAtB.List(t.Context())
	wantDenied(t, "List of B's prefix with A's token", err)
}

func TestIsolationCannotWriteOtherUser(t *testing.T) {
	aAtB, _, f := pair(t)
	wantDenied(t, "Put into B's prefix with A's token", aAtB.Put(t.Context(), "b-secret", map[string]string{"k": "overwritten"}))
	wantDenied(t, "Put of a new secret into B's prefix", aAtB.Put(t.Context(), "new", map[string]string{"k": "v"}))
	wantDenied(t, "DeleteFields in B's prefix", aAtB.DeleteFields(t.Context(), "b-secret", "k"))
	// B's secret is untouched.
	bRoot, _ := vault.NewStore(f.admin, vault.StoreOptions{Prefix: aAtB.Prefix()})
	got, err := bRoot.Get(t.Context(), "b-secret")
	if err != nil || got["k"] != "bob's" {
		t.Fatalf("B's secret = %q, %v", got, err)
	}
}

func TestIsolationCannotDeleteOtherUser(t *testing.T) {
	aAtB, _, f := pair(t)
	wantDenied(t, "Delete of B's secret with A's token", aAtB.Delete(t.Context(), "b-secret"))
	// Also the raw KV v2 endpoints a store never uses.
	for _, p := range []string{"delete", "destroy", "undelete"} {
		path := "secret/" + p + "/" + aAtB.Prefix() + "/b-secret"
		_, err := aAtB.Client().Logical().WriteWithContext(t.Context(), path, map[string]any{"versions": []int{1}})
		wantRaw403(t, "write "+path, err)
	}
	bRoot, _ := vault.NewStore(f.admin, vault.StoreOptions{Prefix: aAtB.Prefix()})
	if _, err := bRoot.Get(t.Context(), "b-secret"); err != nil {
		t.Fatalf("B's secret after A's attempts: %v", err)
	}
}

// A user's token reaches nothing outside its own prefix: not the hub's
// token records, not another mount, not the parent directory, not
// policies, not token creation.
func TestIsolationCannotLeaveOwnPrefix(t *testing.T) {
	_, aOwn, f := pair(t)
	ctx := t.Context()
	c := aOwn.Client()
	for _, prefix := range []string{"jupyterhub/tokens", "jupyter/users", "jupyter", "other"} {
		s, err := vault.NewStore(c, vault.StoreOptions{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.List(ctx)
		wantDenied(t, "List of "+prefix, err)
		wantDenied(t, "Put into "+prefix, s.Put(ctx, "x", map[string]string{"k": "v"}))
	}
	// The user's own prefix as a secret name, one level up.
	up, _ := vault.NewStore(c, vault.StoreOptions{Prefix: "jupyter/users"})
	_, err := up.Get(ctx, aOwn.Prefix()[len("jupyter/users/"):])
	wantDenied(t, "Get of the prefix itself", err)
	for _, tc := range []struct{ method, path string }{
		{"PUT", "sys/policies/acl/jupyter-user-evil"},
		{"PUT", "sys/mounts/evil"},
		{"PUT", "auth/token/create"},
		{"PUT", "auth/token/create-orphan"},
		{"PUT", "auth/token/create/jupyter-user"},
		{"PUT", "auth/token/revoke-accessor"},
		{"GET", "secret/config"},
	} {
		var err error
		if tc.method == "GET" {
			_, err = c.Logical().ReadWithContext(ctx, tc.path)
		} else {
			_, err = c.Logical().WriteWithContext(ctx, tc.path, map[string]any{"policy": `path "*" { capabilities = ["sudo"] }`, "policies": []string{"root"}, "accessor": "x", "type": "kv"})
		}
		wantRaw403(t, tc.method+" "+tc.path, err)
	}
	_ = f
}

func wantRaw403(t *testing.T, what string, err error) {
	t.Helper()
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Fatalf("%s: %v, want HTTP 403", what, err)
	}
}

// Usernames that are unsafe in Vault policy names or paths — upper case,
// globs, slashes, dots, unicode — get safe names, and users whose names
// differ only by such characters cannot reach each other.
func TestIsolationUnsafeUsernames(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	ctx := t.Context()
	sfx := user("")
	groups := [][]string{
		{"Alice" + sfx, "alice" + sfx, "ALICE" + sfx},
		{"a" + sfx, "a" + sfx + "*", "a" + sfx + "+", "+" + sfx},
		{"b" + sfx, "b" + sfx + "/../c" + sfx, "c" + sfx},
		{"d.e@example.com" + sfx, "d-e-example-com" + sfx, "d.e@example.com" + sfx + " "},
		{"日本" + sfx, "日本語" + sfx},
		{"x--y" + sfx, "x-y" + sfx},
	}
	for _, g := range groups {
		stores := map[string]*vault.Store{}
		for _, u := range g {
			s, grant := f.userStore(t, u)
			if grant.Policy != "jupyter-user-"+vault.SafeName(u) {
				t.Fatalf("policy of %q = %q", u, grant.Policy)
			}
			pol, err := f.admin.Sys().GetPolicyWithContext(ctx, grant.Policy)
			if err != nil || pol == "" {
				t.Fatalf("policy %q not in Vault: %v", grant.Policy, err)
			}
			if err := s.Put(ctx, "mine", map[string]string{"owner": u}); err != nil {
				t.Fatalf("Put for %q: %v", u, err)
			}
			stores[u] = s
		}
		for _, u := range g {
			got, err := stores[u].Get(ctx, "mine")
			if err != nil || got["owner"] != u {
				t.Fatalf("%q reads its own secret as %q, %v", u, got, err)
			}
			for _, other := range g {
				if other == u {
					continue
				}
				cross, _ := vault.NewStore(stores[u].Client(), vault.StoreOptions{Prefix: stores[other].Prefix()})
				_, err := cross.Get(ctx, "mine")
				wantDenied(t, u+" reading "+other, err)
				_, err = cross.List(ctx)
				wantDenied(t, u+" listing "+other, err)
			}
		}
	}
}
