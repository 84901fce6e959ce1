package vault_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/vault"
)

// waitFor polls cond until it holds or timeout passes. The tests below
// use real, short Vault TTLs, so they wait for what Vault does; they
// assert on what happened, never on how fast.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		case <-tick.C:
		}
	}
}

func runCredential(t *testing.T, cred *vault.Credential) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cred.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	}
}

// A user's server renews its token (TokenAuth on NOTEBOOK_VAULT_TOKEN)
// past the token's TTL, up to the max TTL; then the store reports
// ErrTokenInvalid and the renewer backs off instead of spinning.
func TestCredentialRenewsUntilMaxTTL(t *testing.T) {
	const ttl, maxTTL = 2 * time.Second, 5 * time.Second
	f := newFixture(t, nil, vault.ProvisionerOptions{TTL: ttl, MaxTTL: maxTTL})
	issued := time.Now()
	g, err := f.prov.Provision(t.Context(), user("renew"), "")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, f.v, g.Token)
	cred, err := vault.NewCredential(c, &vault.TokenAuth{Token: g.Token}, vault.CredentialOptions{MinBackoff: 500 * time.Millisecond, MaxBackoff: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stop := runCredential(t, cred)
	defer stop()
	s, _ := vault.NewStore(c, vault.StoreOptions{Mount: g.Mount, Prefix: g.Prefix})
	if err := s.Put(t.Context(), "k", map[string]string{"a": "1"}); err != nil {
		t.Fatal(err)
	}

	// Past the first lease's end, the token still works: it was renewed.
	waitFor(t, 10*time.Second, "a renewal and the end of the first lease", func() bool {
		return cred.Status().Renewals >= 1 && time.Since(issued) > ttl+300*time.Millisecond
	})
	if _, err := s.Get(t.Context(), "k"); err != nil {
		t.Fatalf("Get after the first lease ended: %v (status %+v)", err, cred.Status())
	}

	// Past the max TTL nothing helps: a clear error, no panic.
	waitFor(t, 15*time.Second, "the max TTL", func() bool {
		_, err := s.Get(t.Context(), "k")
		return err != nil
	})
	_, err = s.Get(t.Context(), "k")
	if !errors.Is(err, vault.ErrTokenInvalid) {
		t.Fatalf("Get after the max TTL: %v, want ErrTokenInvalid", err)
	}
	waitFor(t, 10*time.Second, "the renewer to notice", func() bool { return cred.Status().Failures >= 1 })
	st := cred.Status()
	t.Logf("renewer: %d renewals, %d logins, %d failures over the max TTL of %v", st.Renewals, st.Logins, st.Failures, maxTTL)
	if !errors.Is(st.LastError, vault.ErrTokenInvalid) {
		t.Errorf("renewer's last error = %v", st.LastError)
	}
	// About 2/3 of each lease: a handful of renewals and look-ups over
	// the 5 s max TTL, not a loop.
	if st.Renewals+st.Logins > 20 {
		t.Errorf("%d renewals and %d logins in %v: spinning", st.Renewals, st.Logins, maxTTL)
	}
}

// userpass is a Vault userpass login. The restart test uses it because a
// dev-mode Vault forgets everything when it restarts, and the test can
// recreate the user as an installation's persistent configuration would
// have kept it.
type userpass struct{ user, password string }

func (u userpass) auth() vault.AuthFunc {
	return func(ctx context.Context, c *api.Client) (*api.Secret, error) {
		cc, err := c.CloneWithHeaders()
		if err != nil {
			return nil, err
		}
		cc.ClearToken()
		return cc.Logical().WriteWithContext(ctx, "auth/userpass/login/"+u.user, map[string]any{"password": u.password})
	}
}

func configureUserpass(t *testing.T, admin *api.Client, up userpass) {
	t.Helper()
	ctx := t.Context()
	if err := admin.Sys().EnableAuthWithOptionsWithContext(ctx, "userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if err := admin.Sys().PutPolicyWithContext(ctx, "hub", `path "secret/*" { capabilities = ["read", "list"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Logical().WriteWithContext(ctx, "auth/userpass/users/"+up.user, map[string]any{
		"password": up.password, "token_policies": "hub", "token_ttl": "3s", "token_max_ttl": "1h",
	}); err != nil {
		t.Fatal(err)
	}
}

type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// The hub's renewer survives a Vault restart: while Vault is down it
// retries with growing waits; when Vault is back (with none of the old
// tokens, as a restarted dev server) it logs in again and the client's
// token works.
func TestCredentialSurvivesVaultRestart(t *testing.T) {
	v := testenv.StartVault(t)
	admin := newClient(t, v, v.RootToken)
	up := userpass{"hub", "s3cret"}
	configureUserpass(t, admin, up)

	ct := &countingTransport{next: &http.Transport{}}
	hub, err := vault.NewClient(vault.ClientOptions{Address: v.Addr, MaxRetries: -1, HTTPClient: &http.Client{Transport: ct}})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := vault.NewCredential(hub, up.auth(), vault.CredentialOptions{MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := cred.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	stop := runCredential(t, cred)
	defer stop()
	waitFor(t, 15*time.Second, "a renewal", func() bool { return cred.Status().Renewals >= 1 })
	first := cred.Status().Accessor

	v.Stop()
	before := ct.n.Load()
	down := time.Now()
	waitFor(t, 20*time.Second, "failed logins while Vault is down", func() bool { return cred.Status().Failures >= 3 })
	st := cred.Status()
	if !errors.Is(st.LastError, vault.ErrUnreachable) || !errors.Is(st.LastError, secrets.ErrUnavailable) {
		t.Errorf("last error while down = %v", st.LastError)
	}
	// A spinning loop would send thousands of requests; backoff sends one
	// per wait (200 ms, 400 ms, 800 ms, 1 s, ...).
	if n, limit := ct.n.Load()-before, int64(time.Since(down)/(100*time.Millisecond))+5; n > limit {
		t.Errorf("%d requests in %v while Vault was down: spinning", n, time.Since(down))
	}

	v.Restart(t)
	configureUserpass(t, newClient(t, v, v.RootToken), up)
	waitFor(t, 20*time.Second, "a new login after the restart", func() bool {
		st := cred.Status()
		return st.Failures == 0 && st.Accessor != first
	})
	if _, err := hub.Auth().Token().LookupSelfWithContext(t.Context()); err != nil {
		t.Fatalf("the hub's token after the restart: %v", err)
	}
	if _, err := hub.Logical().ListWithContext(t.Context(), "secret/metadata"); err != nil {
		t.Fatalf("the hub's policy after the restart: %v", err)
	}
}

// Logins fail with clear errors.
func TestCredentialLoginErrors(t *testing.T) {
	v := testenv.NeedVault(t, server)
	c := newClient(t, v, "")
	cred, _ := vault.NewCredential(c, &vault.TokenAuth{Token: "hvs.not-a-token"}, vault.CredentialOptions{})
	if err := cred.Login(t.Context()); !errors.Is(err, vault.ErrTokenInvalid) {
		t.Errorf("login with a bogus token: %v, want ErrTokenInvalid", err)
	}
	if cred.Status().LoggedIn || c.Token() != "" {
		t.Error("a failed login set a token")
	}
	missing := filepath.Join(t.TempDir(), "missing")
	cred, _ = vault.NewCredential(c, &vault.KubernetesAuth{Role: "hub", TokenPath: missing}, vault.CredentialOptions{})
	if err := cred.Login(t.Context()); err == nil || !strings.Contains(err.Error(), "service account token") {
		t.Errorf("kubernetes login without a token file: %v", err)
	}
	// TokenFile is re-read at each login: an operator can put a new token.
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("hvs.bogus\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cred, _ = vault.NewCredential(c, &vault.TokenAuth{TokenFile: file}, vault.CredentialOptions{})
	if err := cred.Login(t.Context()); !errors.Is(err, vault.ErrTokenInvalid) {
		t.Fatalf("login with a bogus token file: %v", err)
	}
	if err := os.WriteFile(file, []byte(v.RootToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cred.Login(t.Context()); err != nil || c.Token() != v.RootToken {
		t.Fatalf("login after the file was updated: %v", err)
	}
	// A root token does not expire: Run has nothing to do and returns
	// when ctx ends.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := cred.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.NewCredential(nil, &vault.TokenAuth{}, vault.CredentialOptions{}); err == nil {
		t.Error("NewCredential(nil client) accepted")
	}
}
