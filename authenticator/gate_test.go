package authenticator_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubkit/hubkit/authenticator"
)

// fakeAuth logs in whoever the callback names (?user=), for testing the
// Gate alone; the real authenticators are tested against real providers.
type fakeAuth struct {
	next      atomic.Value // string: the next of the last StartLogin
	finishErr error
	nextOut   string
	refreshes atomic.Int32
	refresh   func(authenticator.Identity) (authenticator.Identity, error)
	now       func() time.Time
}

func (f *fakeAuth) StartLogin(_ context.Context, w http.ResponseWriter, r *http.Request, next string) error {
	f.next.Store(next)
	http.Redirect(w, r, "https://idp.example/auth?next="+url.QueryEscape(next), http.StatusFound)
	return nil
}

func (f *fakeAuth) FinishLogin(_ context.Context, _ http.ResponseWriter, r *http.Request) (authenticator.Login, error) {
	if f.finishErr != nil {
		return authenticator.Login{}, f.finishErr
	}
	id := authenticator.Identity{Username: r.URL.Query().Get("user")}
	id.AuthState = &authenticator.AuthState{AccessToken: "t0", RefreshAt: f.now().Add(time.Minute)}
	next, _ := f.next.Load().(string)
	if f.nextOut != "" {
		next = f.nextOut
	}
	return authenticator.Login{Identity: id, Next: next}, nil
}

type refreshingFake struct{ *fakeAuth }

// Refresh renews only when due, as the contract says; a request that
// carries a stale cookie after another request refreshed finds fresh state
// in the store and costs no renewal.
func (f refreshingFake) Refresh(_ context.Context, id authenticator.Identity) (authenticator.Identity, error) {
	if !id.AuthState.RefreshDue(f.now()) {
		return id, nil
	}
	f.refreshes.Add(1)
	return f.refresh(id)
}

func (f refreshingFake) LogoutURL(_ context.Context, id authenticator.Identity) (string, error) {
	return "https://idp.example/logout?hint=" + id.AuthState.AccessToken, nil
}

type gateEnv struct {
	t     *testing.T
	clk   *clock
	gate  *authenticator.Gate
	mux   *http.ServeMux
	jar   []*http.Cookie
	calls atomic.Int32
}

func newGate(t *testing.T, a authenticator.Authenticator, clk *clock) *gateEnv {
	t.Helper()
	s := newSessions(t, authenticator.SessionOptions{Keys: mustKeyring(t, authenticator.NewKey()), Now: clk.Now})
	g, err := authenticator.NewGate(a, authenticator.GateOptions{Sessions: s, Home: "/home", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := &gateEnv{t: t, clk: clk, gate: g, mux: http.NewServeMux()}
	e.mux.Handle("/", g.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		id, _ := authenticator.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s", id.Username)
	})))
	e.mux.Handle("/login", g.Login())
	e.mux.Handle("/callback", g.Callback())
	e.mux.Handle("/logout", g.Logout())
	return e
}

func (e *gateEnv) do(method, target string, header http.Header) *http.Response {
	req := httptest.NewRequest(method, "http://hub.example"+target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range e.jar {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		e.setCookie(c)
	}
	return res
}

func (e *gateEnv) setCookie(c *http.Cookie) {
	out := e.jar[:0:0]
	for _, old := range e.jar {
		if old.Name != c.Name {
			out = append(out, old)
		}
	}
	if c.MaxAge >= 0 {
		out = append(out, c)
	}
	e.jar = out
}

func body(res *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := res.Body.Read(buf)
	b.Write(buf[:n])
	return b.String()
}

func TestGateLoginFlow(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := &fakeAuth{now: clk.Now}
	e := newGate(t, f, clk)

	res := e.do(http.MethodGet, "/user/alice/lab?x=1", nil)
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "https://idp.example/auth") || f.next.Load() != "/user/alice/lab?x=1" {
		t.Fatalf("unauthenticated navigation: %d %s next %v", res.StatusCode, res.Header.Get("Location"), f.next.Load())
	}
	for _, tc := range []struct {
		method string
		header http.Header
	}{
		{http.MethodPost, nil},
		{http.MethodGet, http.Header{"Sec-Fetch-Mode": {"cors"}}},
		{http.MethodGet, http.Header{"Sec-Fetch-Mode": {"no-cors"}}},
	} {
		if res := e.do(tc.method, "/api/x", tc.header); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %v without a session: %d, want 401", tc.method, tc.header, res.StatusCode)
		}
	}

	res = e.do(http.MethodGet, "/callback?user=alice", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/user/alice/lab?x=1" {
		t.Fatalf("callback: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res := e.do(http.MethodGet, "/user/alice/lab", nil); res.StatusCode != http.StatusOK || body(res) != "hello alice" {
		t.Fatalf("with a session: %d", res.StatusCode)
	}
}

func TestGateCallbackErrors(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("x: %w", authenticator.ErrNotAllowed), http.StatusForbidden},
		{fmt.Errorf("x: %w", authenticator.ErrBlocked), http.StatusForbidden},
		{fmt.Errorf("x: %w", authenticator.ErrInvalidState), http.StatusBadRequest},
		{fmt.Errorf("x: %w", authenticator.ErrBadCredentials), http.StatusUnauthorized},
		{errors.New("token endpoint said no"), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			clk := &clock{t: time.Now()}
			e := newGate(t, &fakeAuth{now: clk.Now, finishErr: tt.err}, clk)
			res := e.do(http.MethodGet, "/callback?user=alice", nil)
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			if len(e.jar) != 0 {
				t.Errorf("a failed login set cookies: %v", e.jar)
			}
			if b := body(res); strings.Contains(b, "token endpoint") {
				t.Errorf("the error page shows internal details: %q", b)
			}
		})
	}
}

func TestGateRedirectSafety(t *testing.T) {
	for _, next := range []string{"//evil.example", "https://evil.example/", "/\\evil.example", "/%2F%2Fevil.example"} {
		t.Run(next, func(t *testing.T) {
			clk := &clock{t: time.Now()}
			f := &fakeAuth{now: clk.Now}
			e := newGate(t, f, clk)
			e.do(http.MethodGet, "/login?next="+url.QueryEscape(next), nil)
			if got := f.next.Load(); got != "/home" {
				t.Errorf("login next = %q, want /home", got)
			}
			f.nextOut = next // an authenticator that hands back a bad next
			if res := e.do(http.MethodGet, "/callback?user=alice", nil); res.Header.Get("Location") != "/home" {
				t.Errorf("callback redirected to %q", res.Header.Get("Location"))
			}
		})
	}
}

func TestGateTamperedCookieStartsLogin(t *testing.T) {
	clk := &clock{t: time.Now()}
	e := newGate(t, &fakeAuth{now: clk.Now}, clk)
	e.do(http.MethodGet, "/callback?user=alice", nil)
	v := []byte(e.jar[0].Value)
	v[10] ^= 0x01
	e.jar[0].Value = string(v)
	res := e.do(http.MethodGet, "/home", nil)
	if res.StatusCode != http.StatusFound || e.calls.Load() != 0 {
		t.Fatalf("tampered cookie: %d, handler calls %d", res.StatusCode, e.calls.Load())
	}
	if len(e.jar) != 0 {
		t.Error("the tampered cookie was not cleared")
	}
}

func TestGateRefresh(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := &fakeAuth{now: clk.Now}
	f.refresh = func(id authenticator.Identity) (authenticator.Identity, error) {
		id.AuthState = &authenticator.AuthState{AccessToken: "t1", RefreshAt: clk.Now().Add(time.Minute)}
		return id, nil
	}
	e := newGate(t, refreshingFake{f}, clk)
	e.do(http.MethodGet, "/callback?user=alice", nil)
	if res := e.do(http.MethodGet, "/home", nil); res.StatusCode != http.StatusOK || f.refreshes.Load() != 0 {
		t.Fatalf("before due: %d, refreshes %d", res.StatusCode, f.refreshes.Load())
	}
	clk.Advance(2 * time.Minute)
	var wg sync.WaitGroup
	jar := e.jar
	for range 8 {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodGet, "http://hub.example/home", nil)
			for _, c := range jar {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			e.mux.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Errorf("concurrent request after expiry: %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if n := f.refreshes.Load(); n != 1 {
		t.Errorf("refreshes = %d, want 1 for concurrent requests of one session", n)
	}

	// A refused refresh ends the session and starts a new login.
	f.refresh = func(authenticator.Identity) (authenticator.Identity, error) {
		return authenticator.Identity{}, fmt.Errorf("%w: invalid_grant", authenticator.ErrLoginRequired)
	}
	clk.Advance(2 * time.Minute)
	res := e.do(http.MethodGet, "/home", nil)
	if res.StatusCode != http.StatusFound || len(e.jar) != 0 {
		t.Fatalf("after a refused refresh: %d, cookies %v", res.StatusCode, e.jar)
	}
}

func TestGateRefreshRefusedByRules(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := &fakeAuth{now: clk.Now}
	f.refresh = func(authenticator.Identity) (authenticator.Identity, error) {
		return authenticator.Identity{}, fmt.Errorf("%w: left the group", authenticator.ErrNotAllowed)
	}
	e := newGate(t, refreshingFake{f}, clk)
	e.do(http.MethodGet, "/callback?user=alice", nil)
	clk.Advance(2 * time.Minute)
	if res := e.do(http.MethodGet, "/home", nil); res.StatusCode != http.StatusForbidden || len(e.jar) != 0 {
		t.Fatalf("refresh refused by the rules: %d, cookies %v", res.StatusCode, e.jar)
	}
}

func TestGateLogout(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := &fakeAuth{now: clk.Now}
	e := newGate(t, refreshingFake{f}, clk)
	e.do(http.MethodGet, "/callback?user=alice", nil)
	res := e.do(http.MethodGet, "/logout", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "https://idp.example/logout?hint=t0" || len(e.jar) != 0 {
		t.Fatalf("logout: %d %s cookies %v", res.StatusCode, res.Header.Get("Location"), e.jar)
	}
	// Without a session there is nothing to end at the provider.
	if res := e.do(http.MethodGet, "/logout", nil); res.Header.Get("Location") != "/" {
		t.Fatalf("logout without a session went to %s", res.Header.Get("Location"))
	}
}

// aliceAuth is the stand-in authenticator of ExampleNewGate.
type aliceAuth struct{}

func (aliceAuth) StartLogin(_ context.Context, w http.ResponseWriter, r *http.Request, next string) error {
	http.Redirect(w, r, "/oauth_callback?next="+url.QueryEscape(next), http.StatusFound)
	return nil
}

func (aliceAuth) FinishLogin(_ context.Context, _ http.ResponseWriter, r *http.Request) (authenticator.Login, error) {
	return authenticator.Login{Identity: authenticator.Identity{Username: "alice"}, Next: r.URL.Query().Get("next")}, nil
}
