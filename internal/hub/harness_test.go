package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/dev"
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/local"
)

const (
	devPassword  = "correct horse battery staple"
	serviceToken = "service-token-for-tests-0123456789"
)

// testHub is a hub serving on a loopback port, with an SQLite store and
// the local spawner running the real jupyterhub-singleuser.
type testHub struct {
	t      *testing.T
	hub    *Hub
	url    string // http://127.0.0.1:port
	dir    string
	db     *sqlite.Store
	sp     spawner.Spawner
	keys   *authenticator.Keyring
	cancel context.CancelFunc
	done   chan struct{}
	ln     net.Listener
	srv    *http.Server
}

// singleuser returns the path of jupyterhub-singleuser, or skips.
func singleuser(t *testing.T) string {
	return testenv.LookPath(t, "jupyterhub-singleuser", "hack/install-jupyterhub.sh")
}

// testLogger writes the hub's logs to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newLocalSpawner is the local spawner of a test hub in dir.
func newLocalSpawner(t *testing.T, dir string) spawner.Spawner {
	bin := singleuser(t)
	o := local.Options{
		Cmd:          []string{bin},
		StateDir:     filepath.Join(dir, "state"),
		Env:          map[string]string{"JUPYTERHUB_ACTIVITY_INTERVAL": "1"},
		StartTimeout: 60 * time.Second,
		Logger:       testLogger(t).With("component", "singleuser"),
	}
	if os.Geteuid() == 0 {
		o.Args = []string{"--allow-root"}
	}
	sp, err := local.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// startHub starts a hub in dir (a new temporary directory when ""), with
// the spawner sp (the local spawner when nil). change adjusts the
// configuration.
func startHub(t *testing.T, dir string, sp spawner.Spawner, change func(*Config)) *testHub {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if sp == nil {
		sp = newLocalSpawner(t, dir)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "hub.sqlite"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key")
	key, err := os.ReadFile(keyFile)
	if err != nil {
		key = authenticator.NewKey()
		if err := os.WriteFile(keyFile, key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := authenticator.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := dev.NewInsecure(dev.Options{
		Users:        []string{"alice", "bob", "admin"},
		Password:     devPassword,
		Rules:        authenticator.Rules{AllowAll: true, AdminUsers: []string{"admin"}},
		Keys:         keys,
		CallbackPath: "/hub/oauth_callback",
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := Config{
		Store:         db,
		Spawner:       sp,
		Authenticator: auth,
		Keys:          keys,
		HubAPIURL:     base + "/hub/api",
		Services:      []Service{{Name: "tester", APIToken: serviceToken, Admin: true}},
		Logger:        testLogger(t).With("component", "hub"),
		StartTimeout:  90 * time.Second,
		PollInterval:  time.Second,
		Limits:        Limits{AllowNamedServers: true},
	}
	if change != nil {
		change(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	th := &testHub{t: t, hub: h, url: base, dir: dir, db: db, sp: sp, keys: keys, done: make(chan struct{}), ln: ln}
	runCtx, cancel := context.WithCancel(ctx)
	th.cancel = cancel
	th.srv = &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = th.srv.Serve(ln) }()
	go func() {
		defer close(th.done)
		if err := h.Run(runCtx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(th.stop)
	deadline := time.Now().Add(30 * time.Second)
	for !h.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("hub not ready after 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return th
}

// stop stops the hub (not the servers it started) and closes its store.
func (th *testHub) stop() {
	select {
	case <-th.done:
		return
	default:
	}
	th.cancel()
	<-th.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = th.srv.Shutdown(ctx)
	th.hub.Proxy().Close()
	_ = th.db.Close()
}

// request calls the hub at path (from the host on) with a token (none when
// "") and extra headers, and returns the response, whose body is read and
// closed, and the body.
func (th *testHub) request(method, path, token string, body any, header http.Header) (*http.Response, []byte) {
	th.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			th.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, th.url+path, rd)
	if err != nil {
		th.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		th.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		th.t.Fatal(err)
	}
	return resp, b
}

// api calls the hub's API with a token (asking for paginated listings)
// and returns the status and body.
func (th *testHub) api(method, path, token string, body any) (int, []byte) {
	th.t.Helper()
	resp, b := th.request(method, "/hub/api"+path, token, body, http.Header{"Accept": {paginationType}})
	return resp.StatusCode, b
}

// mustAPI is api that fails the test unless the status is one of codes.
func (th *testHub) mustAPI(method, path, token string, body any, codes ...int) []byte {
	th.t.Helper()
	code, b := th.api(method, path, token, body)
	for _, c := range codes {
		if c == code {
			return b
		}
	}
	th.t.Fatalf("%s %s: %d %s (want %v)", method, path, code, b, codes)
	return nil
}

// userModel reads a user's model with the service token.
func (th *testHub) userModel(name string) map[string]any {
	th.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(th.mustAPI("GET", "/users/"+url.PathEscape(name), serviceToken, nil, 200), &m); err != nil {
		th.t.Fatal(err)
	}
	return m
}

// waitReady waits until the user's server is ready.
func (th *testHub) waitReady(user, server string, d time.Duration) map[string]any {
	th.t.Helper()
	deadline := time.Now().Add(d)
	for {
		m := th.userModel(user)
		if s, ok := m["servers"].(map[string]any)[server].(map[string]any); ok && s["ready"] == true {
			return s
		}
		if time.Now().After(deadline) {
			th.t.Fatalf("%s/%s not ready after %s: %v", user, server, d, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// browser is an HTTP client with cookies that does not follow redirects
// to other hosts.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *browser) do(method, u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
	formAction  = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
)

// hidden returns the hidden fields of the first form in page.
func hidden(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		if v.Get(m[1]) == "" {
			v.Set(m[1], htmlUnescape(m[2]))
		}
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&#43;", "+").Replace(s)
}

// login logs the browser in as user through the development form and
// returns the page it lands on.
func (b *browser) login(hubURL, user, next string) (*http.Response, string) {
	b.t.Helper()
	resp, page := b.do("GET", hubURL+"/hub/login?next="+url.QueryEscape(next), nil)
	if resp.StatusCode != 200 {
		b.t.Fatalf("login page: %d %s", resp.StatusCode, page)
	}
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no form on the login page: %s", page)
	}
	form := hidden(page)
	form.Set("username", user)
	form.Set("password", devPassword)
	return b.do("POST", hubURL+htmlUnescape(m[1]), form)
}

// xsrf returns the _xsrf value on a page.
func xsrf(t *testing.T, page string) string {
	t.Helper()
	v := hidden(page).Get("_xsrf")
	if v == "" {
		t.Fatalf("no _xsrf on page: %s", page)
	}
	return v
}

// errorsIs is errors.Is, for brevity in table tests.
var errorsIs = errors.Is
