package vault

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/secrets"
)

func TestSafeName(t *testing.T) {
	kept := []string{"alice", "bob42", "a", "a.b", "a_b", "a-b", "0day", strings.Repeat("x", 64)}
	for _, u := range kept {
		if got := SafeName(u); got != u {
			t.Errorf("SafeName(%q) = %q, want it unchanged", u, got)
		}
	}
	hashed := []string{"", "Alice", "ALICE", "a.b@example.com", "a*", "*", "+", "a+b", "x/../y", "../x", "a/b",
		"日本", "x--y", "x---0123", "-a", "a-", ".a", "a.", "a..b", "a b", "a\x00b", "a\nb", "\"quoted\"",
		strings.Repeat("x", 65), strings.Repeat("é", 100)}
	seen := map[string]string{}
	for _, u := range append(kept, hashed...) {
		s := SafeName(u)
		if prev, ok := seen[s]; ok {
			t.Fatalf("SafeName(%q) = SafeName(%q) = %q", u, prev, s)
		}
		seen[s] = u
		if !isSafeForVault(s) {
			t.Errorf("SafeName(%q) = %q has characters unsafe in policy names or paths", u, s)
		}
		if s != strings.ToLower(s) {
			t.Errorf("SafeName(%q) = %q is not lower case (Vault lowercases policy names)", u, s)
		}
		if len(s) > 32+3+32 && len(s) > maxSafeName {
			t.Errorf("SafeName(%q) = %q is %d bytes", u, s, len(s))
		}
	}
	for _, u := range hashed {
		s := SafeName(u)
		if !strings.Contains(s, "---") || len(s) < 35 {
			t.Errorf("SafeName(%q) = %q, want a stem, --- and a hash", u, s)
		}
	}
	if got := SafeName("a.b@example.com"); !strings.HasPrefix(got, "a-b-example-com---") {
		t.Errorf("SafeName(a.b@example.com) = %q", got)
	}
	// Deterministic.
	if SafeName("Alice") != SafeName("Alice") {
		t.Fatal("SafeName is not deterministic")
	}
}

func isSafeForVault(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !lowerAlnum(c) && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return !strings.Contains(s, "..")
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"alice", "Alice", "a*", "+", "日本", "x--y", "a/../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		s := SafeName(u)
		if !isSafeForVault(s) {
			t.Fatalf("SafeName(%q) = %q", u, s)
		}
		if s == u && !isSafe(u) {
			t.Fatalf("unsafe name %q kept", u)
		}
		if s != u && !strings.Contains(s, "---") {
			t.Fatalf("hashed name %q of %q lacks ---", s, u)
		}
	})
}

func TestLayout(t *testing.T) {
	var l Layout
	if got := l.UserPrefix("alice"); got != "jupyter/users/alice" {
		t.Errorf("UserPrefix = %q", got)
	}
	if got := l.UserPolicy("alice"); got != "jupyter-user-alice" {
		t.Errorf("UserPolicy = %q", got)
	}
	hcl := l.UserPolicyHCL("alice")
	for _, want := range []string{`path "secret/data/jupyter/users/alice/*"`, `path "secret/metadata/jupyter/users/alice/*"`} {
		if !strings.Contains(hcl, want) {
			t.Errorf("policy lacks %s:\n%s", want, hcl)
		}
	}
	if strings.Count(hcl, "path ") != 2 {
		t.Errorf("policy grants more than the user's prefix:\n%s", hcl)
	}
	// A username is quoted in the comment, never able to end it.
	if hcl := l.UserPolicyHCL("x\npath \"sys/*\" {"); strings.Count(hcl, "\npath ") != 2 {
		t.Errorf("username injected a path:\n%s", hcl)
	}
	for _, bad := range []Layout{
		{PathTemplate: "users"},
		{PathTemplate: "users/{username}/{username}"},
		{PathTemplate: "users/x{username}"},
		{PathTemplate: "users/../{username}"},
		{PathTemplate: "users//{username}"},
		{PathTemplate: "users/*/{username}"},
		{PolicyTemplate: "{username}-policy"},
		{PolicyTemplate: "{username}"},
		{PolicyTemplate: "Jupyter-{username}"},
		{PolicyTemplate: "a*-{username}"},
		{Mount: "a/../b"},
		{Mount: "/secret"},
	} {
		if err := bad.withDefaults().validate(); err == nil {
			t.Errorf("layout %+v accepted", bad)
		}
	}
}

func TestProvisionerOptions(t *testing.T) {
	c, err := NewClient(ClientOptions{Address: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProvisioner(c, ProvisionerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.o.TTL != 24*time.Hour || p.o.MaxTTL != 168*time.Hour || p.o.Revoke != RevokeOnSpawn ||
		p.o.TokenRole != "jupyter-user" || p.o.StatePath != "jupyterhub/tokens" || p.o.Address != "http://127.0.0.1:1" {
		t.Errorf("defaults = %+v", p.o)
	}
	for _, bad := range []ProvisionerOptions{
		{StatePath: "jupyter/users/x"},
		{StatePath: "jupyter/users"}, // ok below? no: "jupyter/users/" is the static part
		{Layout: Layout{PathTemplate: "{username}"}},
		{TTL: time.Hour, MaxTTL: time.Minute},
		{Revoke: "sometimes"},
		{TokenRole: "a/b"},
	} {
		if _, err := NewProvisioner(c, bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
	hcl := p.HubPolicyHCL()
	for _, want := range []string{`"sys/policies/acl/jupyter-user-*"`, `"auth/token/create/jupyter-user"`, `"auth/token/revoke-accessor"`, `"secret/data/jupyterhub/tokens/*"`} {
		if !strings.Contains(hcl, want) {
			t.Errorf("hub policy lacks %s:\n%s", want, hcl)
		}
	}
	if strings.Contains(hcl, "sudo") || strings.Contains(hcl, "jupyter/users") {
		t.Errorf("hub policy grants sudo or users' secrets:\n%s", hcl)
	}
}

func TestRenewDelay(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		lease time.Duration
		now   time.Time
		r     float64
		want  time.Duration
	}{
		{"two thirds", 24 * time.Hour, t0, 0.5, 16 * time.Hour},
		{"jitter low", 30 * time.Minute, t0, 0, 20*time.Minute - 3*time.Minute},
		{"jitter high", 30 * time.Minute, t0, 1, 20*time.Minute + 3*time.Minute},
		{"time passed", 30 * time.Minute, t0.Add(10 * time.Minute), 0.5, 10 * time.Minute},
		{"overdue: floor", 30 * time.Minute, t0.Add(time.Hour), 0.5, time.Second},
		{"short lease: a third", 2 * time.Second, t0.Add(time.Hour), 0.5, 2 * time.Second / 3},
		{"ending lease: a quarter of MinBackoff", 0, t0, 0.5, time.Second / 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := renewDelay(t0, tc.lease, tc.now, 2.0/3, 0.1, tc.r, time.Second)
			if d := got - tc.want; d < -time.Millisecond || d > time.Millisecond {
				t.Fatalf("renewDelay = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	var prev time.Duration
	for f := 1; f <= 12; f++ {
		d := backoff(f, time.Second, 5*time.Minute, 0.1, 0.5)
		if d < time.Second || d > 5*time.Minute {
			t.Fatalf("backoff(%d) = %v out of bounds", f, d)
		}
		if d < prev {
			t.Fatalf("backoff(%d) = %v < backoff(%d) = %v", f, d, f-1, prev)
		}
		prev = d
	}
	if d := backoff(3, time.Second, time.Minute, 0.1, 0.5); d != 4*time.Second {
		t.Errorf("backoff(3) = %v, want 4s", d)
	}
	if d := backoff(30, time.Second, time.Minute, 0.1, 0.999); d != time.Minute {
		t.Errorf("backoff(30) with high jitter = %v, want the cap", d)
	}
	if d := backoff(1, time.Second, time.Minute, 0.1, 0); d != 900*time.Millisecond {
		t.Errorf("backoff(1) with low jitter = %v, want 900ms", d)
	}
}

// While Vault cannot be reached, Run waits longer and longer between
// logins, and never less than about MinBackoff: it does not spin. The
// waits are recorded by a fake After, so the test takes no wall-clock time.
func TestRunBacksOffWhileUnreachable(t *testing.T) {
	c, err := NewClient(ClientOptions{Address: "http://127.0.0.1:1", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fired := make(chan time.Time)
	close(fired)
	var cred *Credential
	var st CredentialStatus
	cred, err = NewCredential(c, &TokenAuth{Token: "t"}, CredentialOptions{
		MinBackoff: time.Second, MaxBackoff: time.Minute,
		After: func(d time.Duration) <-chan time.Time {
			waits = append(waits, d)
			if len(waits) == 12 {
				st = cred.Status()
				cancel()
			}
			return fired
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cred.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil when ctx ends", err)
	}
	if st.Failures < 11 || !errors.Is(st.LastError, ErrUnreachable) || !errors.Is(st.LastError, secrets.ErrUnavailable) {
		t.Fatalf("status = %+v", st)
	}
	for i, d := range waits {
		if d < 900*time.Millisecond {
			t.Fatalf("wait %d = %v: spinning", i, d)
		}
		if i > 0 && d < waits[i-1]*3/2 && waits[i-1] < time.Minute*9/10 {
			t.Fatalf("waits do not grow: %v", waits)
		}
		if d > time.Minute {
			t.Fatalf("wait %d = %v over MaxBackoff", i, d)
		}
	}
	if waits[len(waits)-1] < time.Minute*9/10 {
		t.Fatalf("waits never reach MaxBackoff: %v", waits)
	}
}

func TestTranslate(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		err    error
		want   []error
		status int
	}{
		{"forbidden", &api.ResponseError{StatusCode: 403, Errors: []string{"1 error occurred:\n\t* permission denied\n\n"}}, []error{secrets.ErrPermissionDenied}, 403},
		{"not found", &api.ResponseError{StatusCode: 404}, []error{secrets.ErrNotFound}, 404},
		{"sealed", &api.ResponseError{StatusCode: 503, Errors: []string{"Vault is sealed"}}, []error{ErrSealed, secrets.ErrUnavailable}, 503},
		{"standby", &api.ResponseError{StatusCode: 503, Errors: []string{"node is in standby"}}, []error{secrets.ErrUnavailable}, 503},
		{"throttled", &api.ResponseError{StatusCode: 429}, []error{secrets.ErrUnavailable}, 429},
		{"bad request", &api.ResponseError{StatusCode: 400, Errors: []string{"check-and-set parameter did not match"}}, []error{ErrRejected}, 400},
		{"no answer", errors.New("dial tcp: connection refused"), []error{ErrUnreachable, secrets.ErrUnavailable}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := translate(ctx, "get", "secret/data/x", tc.err)
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("%v does not match %v", err, w)
				}
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status || !strings.HasPrefix(err.Error(), "vault: get secret/data/x: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %#v (%q)", err, err)
			}
		})
	}
	if got := translate(ctx, "get", "p", &api.ResponseError{StatusCode: 403, Errors: []string{"1 error occurred:\n\t* permission denied\n\n"}}).Error(); got != "vault: get p: permission denied (HTTP 403: permission denied)" {
		t.Errorf("message = %q", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := translate(cctx, "get", "p", errors.New("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if !isCASMismatch(translate(ctx, "put", "p", &api.ResponseError{StatusCode: 400, Errors: []string{"check-and-set parameter did not match the current version"}})) {
		t.Error("CAS mismatch not recognised")
	}
}

func TestNewClientIgnoresEnvironment(t *testing.T) {
	t.Setenv("VAULT_TOKEN", "from-env")
	t.Setenv("VAULT_NAMESPACE", "env-ns")
	t.Setenv("VAULT_HEADERS", `{"X-Env":"1"}`)
	hc := &http.Client{Timeout: time.Second}
	c, err := NewClient(ClientOptions{Address: "http://127.0.0.1:1", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if c.Token() != "" || c.Namespace() != "" || c.Headers().Get("X-Env") != "" {
		t.Fatalf("environment leaked: token %q namespace %q headers %v", c.Token(), c.Namespace(), c.Headers())
	}
	if hc.Transport != nil || hc.CheckRedirect != nil {
		t.Fatal("the caller's http.Client was modified")
	}
	cc, err := withToken(c, "other")
	if err != nil || cc.Token() != "other" || c.Token() != "" {
		t.Fatalf("withToken: %v, %q, %q", err, cc.Token(), c.Token())
	}
	if _, err := NewClient(ClientOptions{}); err == nil {
		t.Fatal("NewClient without an address succeeded")
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	e, err := FromEnv(env(map[string]string{"VAULT_ADDR": "http://v", "NOTEBOOK_VAULT_TOKEN": "t", "JUPYTERHUB_USER": "Alice"}))
	if err != nil || e.Mount != "secret" || e.Prefix != "jupyter/users/"+SafeName("Alice") {
		t.Fatalf("FromEnv = %+v, %v", e, err)
	}
	e, err = FromEnv(env(map[string]string{"VAULT_ADDR": "http://v", "NOTEBOOK_VAULT_TOKEN": "t", "NOTEBOOK_VAULT_MOUNT": "kv", "NOTEBOOK_VAULT_PREFIX": "p/q"}))
	if err != nil || e.Mount != "kv" || e.Prefix != "p/q" {
		t.Fatalf("FromEnv = %+v, %v", e, err)
	}
	_, err = FromEnv(env(nil))
	if err == nil || !strings.Contains(err.Error(), "NOTEBOOK_VAULT_TOKEN") || !strings.Contains(err.Error(), "VAULT_ADDR") {
		t.Fatalf("FromEnv of nothing: %v", err)
	}
}
