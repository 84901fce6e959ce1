package dev_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/dev"
	"github.com/hubkit/hubkit/internal/testenv"
)

func newHub(t *testing.T, opts dev.Options) string {
	t.Helper()
	keys, err := authenticator.NewKeyring(authenticator.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	opts.Keys = keys
	opts.CallbackPath = "/hub/oauth_callback"
	a, err := dev.NewInsecure(opts)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := authenticator.NewSessions(authenticator.SessionOptions{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	gate, err := authenticator.NewGate(a, authenticator.GateOptions{Sessions: sessions, Home: "/hub/home"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/hub/", gate.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := authenticator.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s admin=%v", id.Username, id.Admin)
	})))
	mux.Handle("/hub/login", gate.Login())
	mux.Handle("/hub/oauth_callback", gate.Callback())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestDevLogin(t *testing.T) {
	hub := newHub(t, dev.Options{
		Users:    []string{"alice", "bob"},
		Password: "dev-password",
		Rules:    authenticator.Rules{AllowAll: true, AdminUsers: []string{"alice"}},
	})
	tests := []struct {
		user, password string
		status         int
		body           string
	}{
		{"alice", "dev-password", http.StatusOK, "hello alice admin=true"},
		{"bob", "dev-password", http.StatusOK, "hello bob admin=false"},
		{"alice", "wrong", http.StatusUnauthorized, ""},
		{"mallory", "dev-password", http.StatusUnauthorized, ""},
		{"", "dev-password", http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.password, func(t *testing.T) {
			b := testenv.NewBrowser(t)
			form := b.Follow(hub+"/hub/notebooks?x=1", nil)
			if !strings.Contains(form.Body, "not for production") {
				t.Fatalf("login page does not warn: %q", form.Body)
			}
			page := b.Submit(form, "dev-login", url.Values{"username": {tt.user}, "password": {tt.password}}, nil)
			if page.Status != tt.status || (tt.body != "" && page.Body != tt.body) {
				t.Fatalf("%d %q", page.Status, page.Body)
			}
			if tt.status == http.StatusOK && page.URL.Path != "/hub/notebooks" {
				t.Errorf("landed on %s", page.URL)
			}
		})
	}
}

func TestDevLoginAnyUserAndRules(t *testing.T) {
	hub := newHub(t, dev.Options{Password: "pw", Rules: authenticator.Rules{AllowedUsers: []string{"carol"}}})
	for user, want := range map[string]int{"carol": http.StatusOK, "dave": http.StatusForbidden, "Bad Name": http.StatusUnauthorized} {
		b := testenv.NewBrowser(t)
		page := b.Submit(b.Follow(hub+"/hub/home", nil), "dev-login", url.Values{"username": {user}, "password": {"pw"}}, nil)
		if page.Status != want {
			t.Errorf("%q: %d, want %d", user, page.Status, want)
		}
	}
}

// TestDevLoginForgery: a form posted from elsewhere — no cookie, another
// browser's cookie, a wrong token, a GET — does not log in.
func TestDevLoginForgery(t *testing.T) {
	keys, _ := authenticator.NewKeyring(authenticator.NewKey())
	a, err := dev.NewInsecure(dev.Options{Password: "pw", Rules: authenticator.Rules{AllowAll: true}, Keys: keys, CallbackPath: "/cb"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := a.StartLogin(t.Context(), rec, httptest.NewRequest(http.MethodGet, "/login", nil), "/"); err != nil {
		t.Fatal(err)
	}
	ck := rec.Result().Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/cb" {
		t.Errorf("form cookie = %+v", ck)
	}
	token := strings.Split(strings.Split(rec.Body.String(), `name="csrf" value="`)[1], `"`)[0]
	post := func(method, csrf string, c *http.Cookie) error {
		body := url.Values{"username": {"alice"}, "password": {"pw"}, "csrf": {csrf}}.Encode()
		req := httptest.NewRequest(method, "/cb", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c != nil {
			req.AddCookie(c)
		}
		_, err := a.FinishLogin(t.Context(), httptest.NewRecorder(), req)
		return err
	}
	for name, err := range map[string]error{
		"no cookie":   post(http.MethodPost, token, nil),
		"wrong token": post(http.MethodPost, "forged", ck),
		"GET":         post(http.MethodGet, token, ck),
	} {
		if !errors.Is(err, authenticator.ErrInvalidState) {
			t.Errorf("%s: %v, want ErrInvalidState", name, err)
		}
	}
	if err := post(http.MethodPost, token, ck); err != nil {
		t.Fatalf("genuine form: %v", err)
	}
}

func TestNewInsecureNeedsPassword(t *testing.T) {
	keys, _ := authenticator.NewKeyring(authenticator.NewKey())
	if _, err := dev.NewInsecure(dev.Options{Keys: keys, CallbackPath: "/cb"}); err == nil {
		t.Fatal("a development login without a password was created")
	}
}
