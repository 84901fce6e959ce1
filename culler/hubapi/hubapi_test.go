package hubapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
	"github.com/hubkit/hubkit/culler/hubapi/internal/fakehub"
)

const token = "test-token"

var now = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

// serve starts h on loopback and returns a client of it. The client's
// retries wait a millisecond, so that fault tests do not wait.
func serve(t testing.TB, h http.Handler, opts hubapi.Options) (*hubapi.Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if opts.URL == "" {
		opts.URL = srv.URL + "/hub/api"
	}
	if opts.Token == "" {
		opts.Token = token
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	opts.Getenv = func(string) string { return "" }
	c, err := hubapi.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

type listed struct {
	users []culler.User
	errs  []error
}

func list(t testing.TB, c *hubapi.Client, q culler.Query) listed {
	t.Helper()
	var l listed
	for u, err := range c.Users(t.Context(), q) {
		if err != nil {
			l.errs = append(l.errs, err)
			continue
		}
		l.users = append(l.users, u)
	}
	return l
}

func (l listed) names() []string {
	var n []string
	for _, u := range l.users {
		n = append(n, u.Name)
	}
	return n
}

func readyUser(name string) fakehub.User {
	return fakehub.User{Name: name, Created: ago(time.Hour), LastActivity: ago(time.Minute),
		Servers: []fakehub.Server{{Ready: true, Started: ago(time.Hour), LastActivity: ago(time.Minute)}}}
}

func inactiveUser(name string) fakehub.User {
	return fakehub.User{Name: name, Created: ago(time.Hour)}
}

func TestUsersListsAndPages(t *testing.T) {
	for _, tc := range []struct {
		name     string
		version  string
		pageSize int
		q        culler.Query
		want     []string // users, in order
		requests []string // GET requests after the version
	}{
		{
			name: "ready only, hub's page size", version: "3.0.0",
			q:        culler.Query{Ready: true},
			want:     []string{"r1", "r2", "r3", "r4", "r5"},
			requests: []string{"GET /hub/api/users?state=ready"},
		},
		{
			name: "ready, pages of 2", version: "3.0.0", pageSize: 2,
			q:    culler.Query{Ready: true},
			want: []string{"r1", "r2", "r3", "r4", "r5"},
			requests: []string{
				"GET /hub/api/users?limit=2&state=ready",
				"GET /hub/api/users?limit=2&offset=2&state=ready",
				"GET /hub/api/users?limit=2&offset=4&state=ready",
			},
		},
		{
			name: "inactive then ready", version: "5.2.1", pageSize: 3,
			q:    culler.Query{Ready: true, Inactive: true},
			want: []string{"i1", "i2", "r1", "r2", "r3", "r4", "r5"},
			requests: []string{
				"GET /hub/api/users?limit=3&state=inactive",
				"GET /hub/api/users?limit=3&state=ready",
				"GET /hub/api/users?limit=3&offset=3&state=ready",
			},
		},
		{
			name: "hub 1.3 to 1.x: filtered plain lists", version: "1.5.0",
			q:        culler.Query{Ready: true, Inactive: true},
			want:     []string{"i1", "i2", "r1", "r2", "r3", "r4", "r5"},
			requests: []string{"GET /hub/api/users?state=inactive", "GET /hub/api/users?state=ready"},
		},
		{
			name: "hub before 1.3: one unfiltered list", version: "1.2.2",
			q:        culler.Query{Ready: true, Inactive: true},
			want:     []string{"r1", "i1", "r2", "p1", "r3", "i2", "r4", "r5"},
			requests: []string{"GET /hub/api/users"},
		},
		{
			name: "zero query lists everyone", version: "3.0.0",
			want:     []string{"r1", "i1", "r2", "p1", "r3", "i2", "r4", "r5"},
			requests: []string{"GET /hub/api/users"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakehub.Hub{Version: tc.version, Token: token}
			pendingUser := fakehub.User{Name: "p1", Servers: []fakehub.Server{{Pending: "spawn"}}}
			h.Add(readyUser("r1"), inactiveUser("i1"), readyUser("r2"), pendingUser, readyUser("r3"),
				inactiveUser("i2"), readyUser("r4"), readyUser("r5"))
			c, _ := serve(t, h, hubapi.Options{PageSize: tc.pageSize})
			l := list(t, c, tc.q)
			if len(l.errs) > 0 {
				t.Fatal(l.errs)
			}
			if !slices.Equal(l.names(), tc.want) {
				t.Errorf("users = %q, want %q", l.names(), tc.want)
			}
			want := append([]string{"GET /hub/api/"}, tc.requests...)
			if got := h.Requests(); !slices.Equal(got, want) {
				t.Errorf("requests:\n got  %q\n want %q", got, want)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{}
	h := &fakehub.Hub{Token: token}
	h.Add(readyUser("a"))
	h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		seen[r.Method+" "+r.URL.Path] = r.Header.Clone()
		mu.Unlock()
		return false
	}
	c, _ := serve(t, h, hubapi.Options{})
	if l := list(t, c, culler.Query{Ready: true}); len(l.errs) > 0 || len(l.users) != 1 {
		t.Fatalf("%+v", l)
	}
	if err := c.StopServer(t.Context(), "a", ""); err != nil {
		t.Fatal(err)
	}
	for call, hdr := range seen {
		if got := hdr.Get("Authorization"); got != "token "+token {
			t.Errorf("%s: Authorization = %q", call, got)
		}
		if got := hdr.Get("User-Agent"); got != "hubkit-culler" {
			t.Errorf("%s: User-Agent = %q", call, got)
		}
	}
	if got := seen["GET /hub/api/users"].Get("Accept"); got != "application/jupyterhub-pagination+json" {
		t.Errorf("list Accept = %q", got)
	}
}

// TestNextPageStaysOnConfiguredHost: the hub builds its next URL from
// the Host header (behind a proxy: the proxy's host, scheme and port);
// the client asks the configured URL for the next page, so the token
// never leaves for another host, and keeps the filter if the hub drops it.
func TestNextPageStaysOnConfiguredHost(t *testing.T) {
	h := &fakehub.Hub{Token: token}
	for i := range 5 {
		h.Add(readyUser(fmt.Sprintf("u%d", i)))
	}
	var inner http.Handler = h
	rewrite := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hub/api/users" {
			r.Host = "attacker.invalid:1"
			// Drop the filter from the hub's next URL, as JupyterHub
			// did for parameters without a value (jupyterhub#4524).
			rec := httptest.NewRecorder()
			inner.ServeHTTP(rec, r)
			body := strings.ReplaceAll(rec.Body.String(), "state=ready&", "")
			w.WriteHeader(rec.Code)
			_, _ = w.Write([]byte(body))
			return
		}
		inner.ServeHTTP(w, r)
	})
	c, _ := serve(t, rewrite, hubapi.Options{PageSize: 2})
	l := list(t, c, culler.Query{Ready: true})
	if len(l.errs) > 0 {
		t.Fatal(l.errs)
	}
	if len(l.users) != 5 {
		t.Errorf("users = %q", l.names())
	}
	want := []string{"GET /hub/api/", "GET /hub/api/users?limit=2&state=ready",
		"GET /hub/api/users?limit=2&offset=2&state=ready", "GET /hub/api/users?limit=2&offset=4&state=ready"}
	if got := h.Requests(); !slices.Equal(got, want) {
		t.Errorf("requests:\n got  %q\n want %q", got, want)
	}
}

// TestPaginationLoopIsAnError: a hub whose next page is one already read
// does not keep the culler listing forever.
func TestPaginationLoopIsAnError(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hub/api/" {
			fmt.Fprint(w, `{"version": "3.0.0"}`)
			return
		}
		// Always the same next page.
		fmt.Fprintf(w, `{"items": [], "_pagination": {"offset": 0, "limit": 1, "total": 9, "next": {"offset": 1, "limit": 1, "url": "http://%s/hub/api/users?state=ready&offset=1&limit=1"}}}`, r.Host)
	})
	c, _ := serve(t, h, hubapi.Options{})
	l := list(t, c, culler.Query{Ready: true})
	if len(l.errs) != 1 || !errors.Is(l.errs[0], hubapi.ErrMalformed) || !strings.Contains(l.errs[0].Error(), "already read") {
		t.Errorf("errs = %v, want one ErrMalformed about a page already read", l.errs)
	}
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		body    string
		code    int
		want    string
		wantErr string
	}{
		{body: `{"version": "3.0.0"}`, want: "3.0.0"},
		{body: `{"version": "5.0.0b1"}`, want: "5.0.0b1"},
		{body: `{}`, wantErr: "no version"},
		{body: `{"version": 3}`, wantErr: "cannot unmarshal number"},
		{body: `<html>`, wantErr: "malformed"},
		{body: `{"status": 403, "message": "Forbidden"}`, code: 403, wantErr: "403 Forbidden: Forbidden"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			c, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.code != 0 {
					w.WriteHeader(tc.code)
				}
				fmt.Fprint(w, tc.body)
			}), hubapi.Options{})
			v, err := c.Version(t.Context())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Version = %q, %v; want error with %q", v, err, tc.wantErr)
				}
				return
			}
			if err != nil || v != tc.want {
				t.Errorf("Version = %q, %v; want %q", v, err, tc.want)
			}
		})
	}
}

func TestUnrecognisedVersionStopsTheListing(t *testing.T) {
	h := &fakehub.Hub{Version: "next"}
	h.Add(readyUser("a"))
	c, _ := serve(t, h, hubapi.Options{})
	l := list(t, c, culler.Query{Ready: true})
	if len(l.users) != 0 || len(l.errs) != 1 || !errors.Is(l.errs[0], hubapi.ErrMalformed) {
		t.Errorf("%+v", l)
	}
}

func TestStopRemoveDelete(t *testing.T) {
	h := &fakehub.Hub{Token: token}
	h.Add(
		fakehub.User{Name: "a b/c", Servers: []fakehub.Server{{Ready: true}, {Name: "nb 1", Ready: true}}},
		fakehub.User{Name: "slow", Servers: []fakehub.Server{{Ready: true}}},
		fakehub.User{Name: "gone"},
	)
	h.StopAs("slow", http.StatusAccepted)
	c, _ := serve(t, h, hubapi.Options{})
	ctx := t.Context()

	if err := c.RemoveServer(ctx, "a b/c", "nb 1"); err != nil {
		t.Errorf("RemoveServer: %v", err)
	}
	if err := c.StopServer(ctx, "a b/c", ""); err != nil {
		t.Errorf("StopServer: %v", err)
	}
	if err := c.StopServer(ctx, "slow", ""); !errors.Is(err, culler.ErrStopPending) {
		t.Errorf("StopServer(slow) = %v, want ErrStopPending", err)
	}
	if err := c.DeleteUser(ctx, "a b/c"); err != nil {
		t.Errorf("DeleteUser: %v", err)
	}
	var se *hubapi.StatusError
	err := c.DeleteUser(ctx, "nobody")
	if !errors.As(err, &se) || se.Code != 404 || se.Message != "Not Found" {
		t.Errorf("DeleteUser(nobody) = %v, want a 404 StatusError", err)
	}
	err = c.StopServer(ctx, "gone", "nb")
	if !errors.As(err, &se) || se.Code != 404 || !strings.Contains(err.Error(), "gone has no server named 'nb'") {
		t.Errorf("StopServer(gone/nb) = %v, want the hub's 404 message", err)
	}
	if err := c.DeleteUser(ctx, "slow"); err == nil || !strings.Contains(err.Error(), "400 Bad Request") {
		t.Errorf("DeleteUser(slow) = %v, want the hub's 400", err)
	}
	if err := c.RemoveServer(ctx, "a", ""); err == nil {
		t.Error("RemoveServer of the default server: want an error")
	}
	want := []string{
		`DELETE /hub/api/users/a%20b%2Fc/servers/nb%201 {"remove": true}`,
		`DELETE /hub/api/users/a%20b%2Fc/server`,
		`DELETE /hub/api/users/slow/server`,
		`DELETE /hub/api/users/a%20b%2Fc`,
		`DELETE /hub/api/users/nobody`,
		`DELETE /hub/api/users/gone/servers/nb`,
		`DELETE /hub/api/users/slow`,
	}
	if got := h.Writes(); !slices.Equal(got, want) {
		t.Errorf("writes:\n got  %q\n want %q", got, want)
	}
}

// TestRetries: 5xx, 429 and connection errors are retried with backoff;
// other statuses are not; the last error is a clear one.
func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     int // requests that fail before the hub answers normally
		failWith func(w http.ResponseWriter)
		retries  int
		attempts int
		wantErr  string
	}{
		{name: "500 then ok", fail: 2, failWith: status(500), retries: 3, attempts: 3},
		{name: "503 with Retry-After then ok", fail: 1, failWith: retryAfter, retries: 3, attempts: 2},
		{name: "429 then ok", fail: 1, failWith: status(429), retries: 3, attempts: 2},
		{name: "connection reset then ok", fail: 2, failWith: hangUp, retries: 3, attempts: 3},
		{name: "500 every time", fail: 99, failWith: status(500), retries: 2, attempts: 3,
			wantErr: "hubapi: DELETE http://HOST/hub/api/users/a/server: 500 Internal Server Error: injected 500"},
		{name: "connection reset every time", fail: 99, failWith: hangUp, retries: 1, attempts: 2,
			wantErr: "hubapi: DELETE http://HOST/hub/api/users/a/server: "},
		{name: "no retries", fail: 99, failWith: status(502), retries: -1, attempts: 1,
			wantErr: "502 Bad Gateway"},
		{name: "403 is not retried", fail: 99, failWith: status(403), retries: 3, attempts: 1,
			wantErr: "403 Forbidden: injected 403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakehub.Hub{}
			h.Add(readyUser("a"))
			var n atomic.Int32
			h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
				if int(n.Add(1)) <= tc.fail {
					tc.failWith(w)
					return true
				}
				return false
			}
			c, srv := serve(t, h, hubapi.Options{Retries: tc.retries})
			err := c.StopServer(t.Context(), "a", "")
			if got := int(n.Load()); got != tc.attempts {
				t.Errorf("attempts = %d, want %d", got, tc.attempts)
			}
			want := strings.ReplaceAll(tc.wantErr, "HOST", strings.TrimPrefix(srv.URL, "http://"))
			switch {
			case want == "" && err != nil:
				t.Errorf("StopServer = %v", err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Errorf("StopServer = %v, want error containing %q", err, want)
			}
		})
	}
}

func status(code int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"status": %d, "message": "injected %d"}`, code, code)
	}
}

func retryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "0")
	w.WriteHeader(http.StatusServiceUnavailable)
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.(*net.TCPConn).SetLinger(0)
		_ = conn.Close()
	}
}

// TestHangingHub: a hub that never answers costs RequestTimeout per
// attempt and ends in a clear error.
func TestHangingHub(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c, _ := serve(t, h, hubapi.Options{RequestTimeout: 50 * time.Millisecond, Retries: 1})
	defer close(release)
	err := c.DeleteUser(t.Context(), "a")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("DeleteUser = %v, want a timeout naming the limit", err)
	}
	if n.Load() != 2 {
		t.Errorf("attempts = %d, want 2", n.Load())
	}
	// The caller's context ends the wait at once, without retries.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.DeleteUser(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteUser with a canceled context = %v", err)
	}
}

// TestRetriedDeleteThatSucceeded: an attempt that timed out may have
// reached the hub; a 404 on the retry of a removal or user deletion means
// it is done.
func TestRetriedDeleteThatSucceeded(t *testing.T) {
	h := &fakehub.Hub{}
	h.Add(fakehub.User{Name: "a", Servers: []fakehub.Server{{Name: "nb", Ready: true}}}, fakehub.User{Name: "b"})
	var first sync.Map
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, seen := first.LoadOrStore(r.URL.Path, true); !seen {
			// Act, then answer too late.
			h.ServeHTTP(httptest.NewRecorder(), r)
			<-r.Context().Done()
			return
		}
		h.ServeHTTP(w, r)
	})
	c, _ := serve(t, slow, hubapi.Options{RequestTimeout: 50 * time.Millisecond})
	if err := c.RemoveServer(t.Context(), "a", "nb"); err != nil {
		t.Errorf("RemoveServer = %v, want nil (removed by the first attempt)", err)
	}
	if err := c.DeleteUser(t.Context(), "b"); err != nil {
		t.Errorf("DeleteUser = %v, want nil (deleted by the first attempt)", err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	var inflight, peak atomic.Int32
	gate := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		<-gate
		w.WriteHeader(http.StatusNoContent)
	})
	c, _ := serve(t, h, hubapi.Options{Concurrency: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() { errs <- c.StopServer(t.Context(), fmt.Sprint("u", i), "") })
	}
	// Let requests pile up against the bound, then release them.
	for inflight.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if peak.Load() != 3 {
		t.Errorf("peak concurrent requests = %d, want 3", peak.Load())
	}
}

func TestOptions(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name    string
		opts    hubapi.Options
		wantURL string
		wantErr string
	}{
		{name: "from the environment", opts: hubapi.Options{Getenv: env(map[string]string{
			"JUPYTERHUB_API_URL": "http://hub:8081/hub/api/", "JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_REQUEST_TIMEOUT": "90"})},
			wantURL: "http://hub:8081/hub/api"},
		{name: "fields win over the environment", opts: hubapi.Options{URL: "https://x/base/hub/api", Token: "t",
			Getenv: env(map[string]string{"JUPYTERHUB_API_URL": "http://hub:8081/hub/api"})},
			wantURL: "https://x/base/hub/api"},
		{name: "no URL", opts: hubapi.Options{Token: "t", Getenv: env(nil)}, wantErr: "no hub API URL"},
		{name: "no token", opts: hubapi.Options{URL: "http://x/hub/api", Getenv: env(nil)}, wantErr: "no API token"},
		{name: "not http", opts: hubapi.Options{URL: "localhost:8081/hub/api", Token: "t", Getenv: env(nil)}, wantErr: "not an http(s) URL"},
		{name: "bad timeout", opts: hubapi.Options{URL: "http://x/hub/api", Token: "t",
			Getenv: env(map[string]string{"JUPYTERHUB_REQUEST_TIMEOUT": "soon"})}, wantErr: "JUPYTERHUB_REQUEST_TIMEOUT"},
		{name: "negative page size", opts: hubapi.Options{URL: "http://x/hub/api", Token: "t", PageSize: -1, Getenv: env(nil)}, wantErr: "PageSize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := hubapi.New(tc.opts)
			if tc.wantErr != "" {
				if !errors.Is(err, hubapi.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("New = %v, want ErrInvalidOptions with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.URL() != tc.wantURL {
				t.Errorf("URL = %q, want %q", c.URL(), tc.wantURL)
			}
		})
	}
}

// TestRequestTimeoutFromEnvironment: JUPYTERHUB_REQUEST_TIMEOUT bounds
// each attempt, as in jupyterhub-idle-culler.
func TestRequestTimeoutFromEnvironment(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := hubapi.New(hubapi.Options{Retries: -1, Getenv: func(k string) string {
		return map[string]string{"JUPYTERHUB_API_URL": srv.URL + "/hub/api", "JUPYTERHUB_API_TOKEN": "t",
			"JUPYTERHUB_REQUEST_TIMEOUT": "0.05"}[k]
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Version(t.Context()); err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("Version = %v, want a 50ms timeout", err)
	}
}

// TestStatusErrorMessage: the hub's JSON message, or the start of a text
// body, explains a failed request; HTML error pages are left out.
func TestStatusErrorMessage(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct{ body, want string }{
		{`{"status": 400, "message": "alice's server is in the process of stopping, please wait."}`, "alice's server is in the process of stopping, please wait."},
		{"upstream connect error\n", "upstream connect error"},
		{"<html><body>Bad Request</body></html>", ""},
		{long, strings.Repeat("x", 200) + "…"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			c, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, tc.body)
			}), hubapi.Options{})
			err := c.DeleteUser(t.Context(), "alice")
			var se *hubapi.StatusError
			if !errors.As(err, &se) || se.Code != 400 || se.Method != "DELETE" || se.Message != tc.want {
				t.Errorf("DeleteUser = %#v, want a 400 StatusError with message %q", err, tc.want)
			}
		})
	}
}
