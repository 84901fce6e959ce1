package vault_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/vault"
)

// tokenInfo looks a token up with the root token.
type tokenInfo struct {
	Policies       []string          `json:"policies"`
	Orphan         bool              `json:"orphan"`
	Renewable      bool              `json:"renewable"`
	TTL            int               `json:"ttl"`
	ExplicitMaxTTL int               `json:"explicit_max_ttl"`
	Meta           map[string]string `json:"meta"`
	Type           string            `json:"type"`
}

func lookup(t *testing.T, admin *api.Client, token string) (*tokenInfo, error) {
	t.Helper()
	sec, err := admin.Auth().Token().LookupWithContext(t.Context(), token)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(sec.Data)
	var ti tokenInfo
	if err := json.Unmarshal(b, &ti); err != nil {
		t.Fatal(err)
	}
	return &ti, nil
}

// valid reports whether token still exists, asking with the token itself.
func valid(t *testing.T, f *fixture, token string) bool {
	t.Helper()
	_, err := newClient(t, f.v, token).Auth().Token().LookupSelfWithContext(t.Context())
	if err == nil {
		return true
	}
	var re *api.ResponseError
	if errors.As(err, &re) && re.StatusCode == 403 {
		return false
	}
	t.Fatalf("lookup-self: %v", err)
	return false
}

// A provisioned token is an orphan, renewable service token with the
// user's policy (and Vault's default policy), TTL 24 h and max TTL 168 h
// by default, and the server gets VAULT_ADDR and NOTEBOOK_VAULT_TOKEN.
func TestProvisionToken(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	u := user("tok")
	g, err := f.prov.Provision(t.Context(), u, "gpu")
	if err != nil {
		t.Fatal(err)
	}
	ti, err := lookup(t, f.admin, g.Token)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ti.Policies)
	if !slices.Equal(ti.Policies, []string{"default", "jupyter-user-" + u}) {
		t.Errorf("policies = %q", ti.Policies)
	}
	if !ti.Orphan || !ti.Renewable || ti.Type != "service" {
		t.Errorf("orphan %v renewable %v type %q", ti.Orphan, ti.Renewable, ti.Type)
	}
	if ti.TTL < 24*3600-60 || ti.TTL > 24*3600 || ti.ExplicitMaxTTL != 168*3600 {
		t.Errorf("ttl %d explicit max ttl %d", ti.TTL, ti.ExplicitMaxTTL)
	}
	if ti.Meta["jupyterhub-user"] != u || ti.Meta["jupyterhub-server"] != "gpu" {
		t.Errorf("meta = %v", ti.Meta)
	}
	if g.TTL != 24*time.Hour || g.MaxTTL != 168*time.Hour || g.Policy != "jupyter-user-"+u ||
		g.Mount != "secret" || g.Prefix != "jupyter/users/"+u || g.Address != f.v.Addr {
		t.Errorf("grant = %+v", g)
	}
	env := g.Env()
	if env["VAULT_ADDR"] != f.v.Addr || env["NOTEBOOK_VAULT_PREFIX"] != g.Prefix || env["NOTEBOOK_VAULT_MOUNT"] != "secret" {
		t.Errorf("Env = %v", env)
	}
	if _, ok := env["NOTEBOOK_VAULT_TOKEN"]; ok {
		t.Error("Env holds the token; it belongs in SecretEnv")
	}
	if g.SecretEnv()["NOTEBOOK_VAULT_TOKEN"] != g.Token {
		t.Errorf("SecretEnv = %v", g.SecretEnv())
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "grant", g)
	if strings.Contains(buf.String(), g.Token) || !strings.Contains(buf.String(), g.Accessor) {
		t.Errorf("log record leaks the token or lacks the accessor: %s", buf.String())
	}
	// The hub's own token holds no access to users' secrets.
	hubAtUser, _ := vault.NewStore(f.hub, vault.StoreOptions{Prefix: g.Prefix})
	if _, err := hubAtUser.List(t.Context()); !errors.Is(err, secrets.ErrPermissionDenied) {
		t.Errorf("the hub lists a user's secrets: %v", err)
	}
}

// Short TTLs are configurable, and the user's server can renew its token
// up to the max TTL and no further.
func TestProvisionShortTTL(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{TTL: 2 * time.Second, MaxTTL: 3 * time.Second})
	g, err := f.prov.Provision(t.Context(), user("short"), "")
	if err != nil {
		t.Fatal(err)
	}
	if g.TTL != 2*time.Second {
		t.Fatalf("grant TTL = %v", g.TTL)
	}
	c := newClient(t, f.v, g.Token)
	sec, err := c.Auth().Token().RenewSelfWithContext(t.Context(), 3600)
	if err != nil {
		t.Fatalf("renew-self: %v", err)
	}
	if sec.Auth.LeaseDuration > 3 {
		t.Fatalf("renewal past the max TTL: lease %d s", sec.Auth.LeaseDuration)
	}
}

// With RevokeOnSpawn (the default), spawning a server again revokes the
// token of its previous spawn, not the token of the user's other server,
// and Release (stop) revokes nothing.
func TestRevokeOnSpawn(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	u := user("respawn")
	g1, err := f.prov.Provision(t.Context(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.prov.Provision(t.Context(), u, "named")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.prov.Release(t.Context(), u, ""); err != nil {
		t.Fatal(err)
	}
	if !valid(t, f, g1.Token) {
		t.Fatal("Release revoked with RevokeOnSpawn")
	}
	g2, err := f.prov.Provision(t.Context(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	if valid(t, f, g1.Token) {
		t.Error("the earlier token of the server is still valid after a new spawn")
	}
	if !valid(t, f, g2.Token) || !valid(t, f, other.Token) {
		t.Error("the new token or the other server's token was revoked")
	}
	// The record survives a hub restart: a new Provisioner revokes g2.
	p2, err := vault.NewProvisioner(f.hub, vault.ProvisionerOptions{TokenRole: f.tokenRole})
	if err != nil {
		t.Fatal(err)
	}
	g3, err := p2.Provision(t.Context(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	if valid(t, f, g2.Token) || !valid(t, f, g3.Token) {
		t.Error("a restarted hub did not revoke the earlier token")
	}
}

// With RevokeOnStop, Release revokes the server's tokens at once.
func TestRevokeOnStop(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{Revoke: vault.RevokeOnStop})
	u := user("stop")
	g, err := f.prov.Provision(t.Context(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.prov.Provision(t.Context(), u, "other")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.prov.Release(t.Context(), u, ""); err != nil {
		t.Fatal(err)
	}
	if valid(t, f, g.Token) {
		t.Error("token valid after Release with RevokeOnStop")
	}
	if !valid(t, f, other.Token) {
		t.Error("Release of one server revoked another's token")
	}
	if err := f.prov.Release(t.Context(), u, ""); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if err := f.prov.Release(t.Context(), user("never-spawned"), ""); err != nil {
		t.Errorf("Release of a never-spawned user: %v", err)
	}
}

// With RevokeNever, earlier tokens stay valid until they expire.
func TestRevokeNever(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{Revoke: vault.RevokeNever})
	u := user("never")
	g1, err := f.prov.Provision(t.Context(), u, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.prov.Provision(t.Context(), u, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.prov.Release(t.Context(), u, ""); err != nil {
		t.Fatal(err)
	}
	if !valid(t, f, g1.Token) {
		t.Error("token revoked with RevokeNever")
	}
	// RevokeUser revokes whatever the mode.
	if err := f.prov.RevokeUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if valid(t, f, g1.Token) {
		t.Error("token valid after RevokeUser")
	}
}

// RevokeUser revokes all servers' tokens; tokens already gone (revoked
// by someone else, expired) do not make revocation fail.
func TestRevokeUser(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	u := user("all")
	var grants []*vault.Grant
	for _, srv := range []string{"", "a", "b"} {
		g, err := f.prov.Provision(t.Context(), u, srv)
		if err != nil {
			t.Fatal(err)
		}
		grants = append(grants, g)
	}
	if err := f.admin.Auth().Token().RevokeAccessorWithContext(t.Context(), grants[1].Accessor); err != nil {
		t.Fatal(err)
	}
	if err := f.prov.RevokeUser(t.Context(), u); err != nil {
		t.Fatalf("RevokeUser with one token already revoked: %v", err)
	}
	for _, g := range grants {
		if valid(t, f, g.Token) {
			t.Errorf("token of server %q still valid", g.Server)
		}
	}
	if err := f.prov.RevokeUser(t.Context(), u); err != nil {
		t.Fatalf("second RevokeUser: %v", err)
	}
	// A later spawn works and has nothing left to revoke.
	if _, err := f.prov.Provision(t.Context(), u, ""); err != nil {
		t.Fatal(err)
	}
}

// Setup is idempotent, refuses a mount that is not KV v2, and the hub's
// policy it writes is all the hub needs (the fixture's hub token has only
// that policy and provisions in every other test).
func TestSetup(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	setup, _ := vault.NewProvisioner(f.admin, vault.ProvisionerOptions{})
	if err := setup.Setup(t.Context(), f.admin, "jupyterhub-setup-test"); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if err := setup.Setup(t.Context(), f.admin, "jupyterhub-setup-test"); err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	got, err := f.admin.Sys().GetPolicyWithContext(t.Context(), "jupyterhub-setup-test")
	if err != nil || strings.TrimSpace(got) != strings.TrimSpace(setup.HubPolicyHCL()) {
		t.Fatalf("hub policy in Vault = %q, %v", got, err)
	}
	if err := f.admin.Sys().MountWithContext(t.Context(), "kv1-"+user("m"), &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	mounts, _ := f.admin.Sys().ListMountsWithContext(t.Context())
	for m, out := range mounts {
		if strings.HasPrefix(m, "kv1-") && out.Options["version"] == "1" {
			p, _ := vault.NewProvisioner(f.admin, vault.ProvisionerOptions{Layout: vault.Layout{Mount: strings.TrimSuffix(m, "/")}})
			if err := p.Setup(t.Context(), f.admin, "x"); err == nil {
				t.Fatalf("Setup accepted the KV v1 mount %s", m)
			}
		}
	}
	// The hub may not do Setup itself.
	if err := f.prov.Setup(t.Context(), f.hub, "evil"); !errors.Is(err, secrets.ErrPermissionDenied) {
		t.Fatalf("Setup with the hub's token: %v", err)
	}
}

// Provisioning refuses an empty username before any request.
func TestProvisionBadInput(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	if _, err := f.prov.Provision(t.Context(), "", ""); !errors.Is(err, secrets.ErrInvalid) {
		t.Fatalf("Provision of an empty username: %v", err)
	}
	// A very long, odd username is fine.
	u := strings.Repeat("ü/*+", 200)
	s, g := f.userStore(t, u)
	if len(g.Policy) > 100 {
		t.Errorf("policy name of a long username is %d bytes", len(g.Policy))
	}
	if err := s.Put(t.Context(), "k", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
}

// Several servers of one user spawned at once: every token is recorded
// (the record is written with check-and-set and retried), so RevokeUser
// revokes them all.
func TestProvisionConcurrentServers(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	u := user("many")
	servers := []string{"", "a", "b", "c", "d", "e"}
	grants := make([]*vault.Grant, len(servers))
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Go(func() { grants[i], errs[i] = f.prov.Provision(t.Context(), u, srv) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Provision of server %q: %v", servers[i], err)
		}
	}
	if err := f.prov.RevokeUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	for _, g := range grants {
		if valid(t, f, g.Token) {
			t.Errorf("token of server %q escaped the record and survived RevokeUser", g.Server)
		}
	}
}
