package vault_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/secrets/vault"
)

// server is one dev-mode Vault shared by the tests of this package that
// neither seal nor restart it; each test uses users of its own.
var server *testenv.Vault

func TestMain(m *testing.M) { os.Exit(testenv.MainWithVault(m, &server)) }

// fixture is a Vault prepared as an installation would prepare it: Setup
// run with the root token, and a hub token with only the hub's policy.
type fixture struct {
	v     *testenv.Vault
	admin *api.Client // root
	hub   *api.Client // the hub's policy only
	prov  *vault.Provisioner
	// hubPolicy is the name of the hub's policy that Setup wrote.
	hubPolicy string
	// tokenRole is the token role that Setup wrote.
	tokenRole string
}

// newFixture prepares v (the shared server when nil) for a Provisioner
// with opts, and returns it with the hub's client.
func newFixture(t testing.TB, v *testenv.Vault, opts vault.ProvisionerOptions) *fixture {
	t.Helper()
	if v == nil {
		v = testenv.NeedVault(t, server)
	}
	admin := newClient(t, v, v.RootToken)
	// Each fixture has a token role and a hub policy of its own, so that
	// fixtures with different TTLs do not change each other's role.
	if opts.TokenRole == "" {
		opts.TokenRole = user("role")
	}
	hubPolicy := user("hub")
	setup, err := vault.NewProvisioner(admin, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := setup.Setup(t.Context(), admin, hubPolicy); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	sec, err := admin.Auth().Token().CreateWithContext(t.Context(), &api.TokenCreateRequest{
		Policies: []string{hubPolicy}, TTL: "1h", NoParent: true, DisplayName: "hub",
	})
	if err != nil {
		t.Fatalf("creating the hub's token: %v", err)
	}
	hub := newClient(t, v, sec.Auth.ClientToken)
	prov, err := vault.NewProvisioner(hub, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{v: v, admin: admin, hub: hub, prov: prov, hubPolicy: hubPolicy, tokenRole: opts.TokenRole}
}

func newClient(t testing.TB, v *testenv.Vault, token string) *api.Client {
	t.Helper()
	c, err := vault.NewClient(vault.ClientOptions{Address: v.Addr, Token: token, MaxRetries: -1, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// user returns a username no other test uses.
func user(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// userStore provisions username's default server and returns a store on
// the user's own token.
func (f *fixture) userStore(t testing.TB, username string) (*vault.Store, *vault.Grant) {
	t.Helper()
	g, err := f.prov.Provision(t.Context(), username, "")
	if err != nil {
		t.Fatalf("Provision(%q): %v", username, err)
	}
	c := newClient(t, f.v, g.Token)
	s, err := vault.NewStore(c, vault.StoreOptions{Mount: g.Mount, Prefix: g.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s, g
}
