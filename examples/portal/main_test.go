package main

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/internal/testenv"
)

// TestPortal runs the program against the real provider: a login lands on
// the page asked for, groups decide admin, logout ends the provider
// session.
func TestPortal(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr
	p := testenv.StartOIDCProvider(t, testenv.OIDCProviderConfig{
		Realm: "demo",
		Clients: []testenv.OIDCClient{{ID: "portal", Secret: "portal-secret",
			RedirectURIs: []string{base + "/oauth_callback"}, PostLogoutRedirectURIs: []string{base + "/"}}},
		Users: []testenv.OIDCUser{
			{Username: "bob", Password: "bob-pw", Claims: map[string]any{"groups": []any{"/jupyter-users", "/portal-admins"}}},
			{Username: "eve", Password: "eve-pw", Claims: map[string]any{"groups": []any{"/others"}}},
		},
	})
	env := map[string]string{"JUPYTERHUB_CRYPT_KEY": strings.Repeat("ab", 32), "OAUTH_CLIENT_SECRET": "portal-secret"}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	var logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr, "-keycloak-url", p.BaseURL, "-realm", "demo",
			"-allowed-groups", "jupyter-users", "-admin-groups", "portal-admins"}, func(k string) string { return env[k] }, &logs, ready)
	}()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("portal exited %d:\n%s", code, logs.String())
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("portal exit code %d", code)
		}
		if t.Failed() {
			t.Logf("portal log:\n%s", logs.String())
		}
	})

	b := testenv.NewBrowser(t)
	if page := p.LoginThrough(t, b, base+"/reports", "bob", "bob-pw"); page.Body != "Reports for bob\n" {
		t.Fatalf("after login: %d %q", page.Status, page.Body)
	}
	if page := b.Follow(base+"/", nil); !strings.Contains(page.Body, "Hello bob (groups [jupyter-users portal-admins], admin true)") {
		t.Fatalf("home: %q", page.Body)
	}
	toProvider := b.Follow(base+"/logout", func(u *url.URL) bool { return strings.HasPrefix(u.String(), p.BaseURL) })
	if back, ok := p.EndSession(t, b, toProvider.URL.String()); !ok || back.String() != base+"/" {
		t.Fatalf("logout ended at %s", back)
	}
	if page := b.Follow(base+"/", nil); !strings.Contains(page.Body, "kc-form-login") {
		t.Fatalf("after logout: %q", page.Body)
	}

	if page := p.LoginThrough(t, testenv.NewBrowser(t), base+"/", "eve", "eve-pw"); page.Status != 403 {
		t.Fatalf("eve: %d %q", page.Status, page.Body)
	}
	if !strings.Contains(logs.String(), authenticator.ErrNotAllowed.Error()) {
		t.Error("the refusal was not logged")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
