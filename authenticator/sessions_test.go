package authenticator_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/authenticator"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var alice = authenticator.Identity{
	Username: "alice", Email: "alice@example.test",
	Groups: []string{"jupyter-users"}, Roles: []string{"akko-engineer"},
}

// recordingStore is a StateStore that shows what it was given.
type recordingStore struct {
	*authenticator.MemoryStore
	mu   sync.Mutex
	puts [][]byte
}

func (r *recordingStore) Put(ctx context.Context, key string, sealed []byte, exp time.Time) error {
	r.mu.Lock()
	r.puts = append(r.puts, bytes.Clone(sealed))
	r.mu.Unlock()
	return r.MemoryStore.Put(ctx, key, sealed, exp)
}

func newSessions(t testing.TB, opts authenticator.SessionOptions) *authenticator.Sessions {
	t.Helper()
	s, err := authenticator.NewSessions(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// create makes a session and returns its cookie.
func create(t testing.TB, s *authenticator.Sessions, id authenticator.Identity, tlsReq bool) *http.Cookie {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://hub.example/hub/oauth_callback", nil)
	if tlsReq {
		req.TLS = &tls.ConnectionState{}
	}
	rec := httptest.NewRecorder()
	if _, err := s.Create(context.Background(), rec, req, id); err != nil {
		t.Fatal(err)
	}
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies = %v", cs)
	}
	return cs[0]
}

func get(s *authenticator.Sessions, c *http.Cookie) (authenticator.Session, error) {
	req := httptest.NewRequest(http.MethodGet, "http://hub.example/hub/home", nil)
	if c != nil {
		req.AddCookie(c)
	}
	return s.Get(req)
}

func TestSessionRoundTripAndAttributes(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	store := &recordingStore{MemoryStore: authenticator.NewMemoryStore(clk.Now)}
	keys := mustKeyring(t, authenticator.NewKey())
	s := newSessions(t, authenticator.SessionOptions{Keys: keys, Store: store, Now: clk.Now, MaxAge: 8 * time.Hour})

	id := alice
	id.AuthState = &authenticator.AuthState{AccessToken: "access-secret", RefreshToken: "refresh-secret",
		RefreshAt: clk.Now().Add(4 * time.Minute)}
	c := create(t, s, id, false)
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.MaxAge != 8*3600 || c.Name != "hubkit-session" {
		t.Errorf("cookie attributes = %+v", c)
	}
	if tc := create(t, s, alice, true); !tc.Secure {
		t.Error("cookie over TLS is not Secure")
	}
	always := newSessions(t, authenticator.SessionOptions{Keys: keys, AlwaysSecure: true})
	if ac := create(t, always, alice, false); !ac.Secure {
		t.Error("AlwaysSecure cookie over plain HTTP is not Secure")
	}
	for _, secret := range []string{"alice@example.test", "jupyter-users", "access-secret"} {
		if bytes.Contains([]byte(c.Value), []byte(secret)) {
			t.Errorf("cookie shows %q", secret)
		}
	}
	raw, _ := base64.RawURLEncoding.DecodeString(c.Value)
	if bytes.Contains(raw, []byte("alice")) {
		t.Error("cookie is not encrypted")
	}

	sess, err := get(s, c)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Identity.Username != "alice" || sess.Identity.Email != alice.Email || sess.Identity.AuthState != nil ||
		!sess.HasAuthState || !sess.RefreshAt.Equal(clk.Now().Add(4*time.Minute)) {
		t.Errorf("session = %+v", sess)
	}
	st, err := s.AuthState(context.Background(), sess)
	if err != nil || st.RefreshToken != "refresh-secret" {
		t.Fatalf("AuthState = %+v, %v", st, err)
	}
	for _, p := range store.puts {
		if bytes.Contains(p, []byte("refresh-secret")) || bytes.Contains(p, []byte("access-secret")) {
			t.Error("the store received tokens in clear")
		}
	}
	if sess.RefreshDue(clk.Now()) {
		t.Error("refresh due too early")
	}
	clk.Advance(5 * time.Minute)
	if !sess.RefreshDue(clk.Now()) {
		t.Error("refresh not due")
	}
}

func TestSessionExpiry(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := newSessions(t, authenticator.SessionOptions{Keys: mustKeyring(t, authenticator.NewKey()), Now: clk.Now, MaxAge: time.Hour})
	c := create(t, s, alice, false)
	clk.Advance(59 * time.Minute)
	if _, err := get(s, c); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := get(s, c); !errors.Is(err, authenticator.ErrSessionExpired) {
		t.Fatalf("at expiry: %v, want ErrSessionExpired", err)
	}
}

func TestTamperedSessionCookies(t *testing.T) {
	keys := mustKeyring(t, authenticator.NewKey())
	s := newSessions(t, authenticator.SessionOptions{Keys: keys})
	c := create(t, s, alice, false)
	admin := alice
	admin.Username, admin.Admin = "root", true

	otherKeys := newSessions(t, authenticator.SessionOptions{Keys: mustKeyring(t, authenticator.NewKey())})
	otherName := newSessions(t, authenticator.SessionOptions{Keys: keys, CookieName: "other-app"})
	raw, _ := base64.RawURLEncoding.DecodeString(c.Value)
	// A value sealed with the same key for another purpose (another cookie
	// name) must not pass as a session.
	foreignPurpose := create(t, otherName, admin, false).Value
	// The same payload sealed for auth state.
	asState, _ := keys.SealAuthState(&authenticator.AuthState{Subject: "root"})

	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tests := []struct {
		name, value string
		want        error
	}{
		{"empty", "", authenticator.ErrNoSession},
		{"garbage", "not-a-cookie", authenticator.ErrInvalidSession},
		{"not base64", "!!!!", authenticator.ErrInvalidSession},
		{"version byte", flip(0), authenticator.ErrInvalidSession},
		{"key id", flip(2), authenticator.ErrInvalidSession},
		{"nonce", flip(8), authenticator.ErrInvalidSession},
		{"ciphertext", flip(len(raw) / 2), authenticator.ErrInvalidSession},
		{"tag", flip(len(raw) - 1), authenticator.ErrInvalidSession},
		{"truncated", c.Value[:len(c.Value)-4], authenticator.ErrInvalidSession},
		{"extended", c.Value + "AAAA", authenticator.ErrInvalidSession},
		{"other cookie's purpose", foreignPurpose, authenticator.ErrInvalidSession},
		{"auth state as session", base64.RawURLEncoding.EncodeToString(asState), authenticator.ErrInvalidSession},
		{"huge", string(bytes.Repeat([]byte("A"), 20000)), authenticator.ErrInvalidSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := get(s, &http.Cookie{Name: "hubkit-session", Value: tt.value})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("sealed with another hub's key", func(t *testing.T) {
		if _, err := get(otherKeys, c); !errors.Is(err, authenticator.ErrInvalidSession) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("genuine", func(t *testing.T) {
		if _, err := get(s, c); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSessionCookie: no cookie value but a genuine one verifies, and none
// panics.
func FuzzSessionCookie(f *testing.F) {
	keys := mustKeyring(f, authenticator.NewKey())
	s := newSessions(f, authenticator.SessionOptions{Keys: keys})
	genuine := create(f, s, alice, false).Value
	f.Add(genuine)
	f.Add("")
	f.Add("AQAAAAA")
	f.Fuzz(func(t *testing.T, v string) {
		sess, err := s.Verify(v)
		if err == nil && v != genuine {
			t.Fatalf("forged cookie %q verified as %+v", v, sess)
		}
	})
}

func TestSessionKeyRotation(t *testing.T) {
	oldKey, newKey := authenticator.NewKey(), authenticator.NewKey()
	before := newSessions(t, authenticator.SessionOptions{Keys: mustKeyring(t, oldKey)})
	c := create(t, before, alice, false)
	during := newSessions(t, authenticator.SessionOptions{Keys: mustKeyring(t, newKey, oldKey)})
	if _, err := get(during, c); err != nil {
		t.Fatalf("a cookie of the old key is refused during rotation: %v", err)
	}
	after := newSessions(t, authenticator.SessionOptions{Keys: mustKeyring(t, newKey)})
	if _, err := get(after, c); !errors.Is(err, authenticator.ErrInvalidSession) {
		t.Fatalf("a cookie of a retired key: %v, want ErrInvalidSession", err)
	}
	if _, err := get(after, create(t, during, alice, false)); err != nil {
		t.Fatalf("a cookie made during rotation is refused after: %v", err)
	}
}

func TestSessionUpdateAndDelete(t *testing.T) {
	s := newSessions(t, authenticator.SessionOptions{Keys: mustKeyring(t, authenticator.NewKey())})
	id := alice
	id.AuthState = &authenticator.AuthState{AccessToken: "one"}
	c := create(t, s, id, false)
	sess, _ := get(s, c)

	id.AuthState = &authenticator.AuthState{AccessToken: "two"}
	id.Groups = []string{"jupyter-admins"}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	upd, err := s.Update(context.Background(), rec, req, sess, id)
	if err != nil || upd.ID != sess.ID || !upd.Expires.Equal(sess.Expires) {
		t.Fatalf("Update = %+v, %v", upd, err)
	}
	sess2, err := get(s, rec.Result().Cookies()[0])
	if err != nil || sess2.Identity.Groups[0] != "jupyter-admins" {
		t.Fatalf("updated session = %+v, %v", sess2, err)
	}
	if st, _ := s.AuthState(context.Background(), sess2); st.AccessToken != "two" {
		t.Errorf("auth state after update = %+v", st)
	}

	rec = httptest.NewRecorder()
	if err := s.Delete(context.Background(), rec, req, sess2); err != nil {
		t.Fatal(err)
	}
	if dc := rec.Result().Cookies(); len(dc) != 1 || dc[0].MaxAge >= 0 {
		t.Errorf("Delete did not clear the cookie: %+v", dc)
	}
	if _, err := s.AuthState(context.Background(), sess2); !errors.Is(err, authenticator.ErrNotFound) {
		t.Errorf("auth state after Delete: %v", err)
	}
}

func TestSessionTooManyGroups(t *testing.T) {
	s := newSessions(t, authenticator.SessionOptions{Keys: mustKeyring(t, authenticator.NewKey())})
	id := alice
	for i := range 400 {
		id.Groups = append(id.Groups, "group-with-a-long-name-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	rec := httptest.NewRecorder()
	_, err := s.Create(context.Background(), rec, httptest.NewRequest(http.MethodGet, "/", nil), id)
	if err == nil || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("an identity too large for a cookie: err %v", err)
	}
}
