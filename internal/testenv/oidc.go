package testenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The OpenID provider of the authenticator tests.
const (
	// OIDCProviderInstall installs npm's oidc-provider (pinned by
	// internal/testenv/oidcprovider/package-lock.json) into the cache.
	OIDCProviderInstall = "hack/install-oidc-provider.sh"
	// OIDCProviderVersion is the oidc-provider version the lock file pins.
	OIDCProviderVersion = "9.13.3"
)

// OIDCProviderModules returns the node_modules directory that holds
// oidc-provider: $HUBKIT_OIDC_PROVIDER_MODULES, else the one that
// hack/install-oidc-provider.sh filled in the cache; "" when there is none.
func OIDCProviderModules() string {
	if d := os.Getenv("HUBKIT_OIDC_PROVIDER_MODULES"); d != "" {
		return d
	}
	d := filepath.Join(CacheDir(), "oidc-provider", OIDCProviderVersion, "node_modules")
	if _, err := os.Stat(filepath.Join(d, "oidc-provider", "package.json")); err == nil {
		return d
	}
	return ""
}

// oidcProviderScript is the repository's provider.js, or the copy the
// install script left in the cache when the sources are not at hand.
func oidcProviderScript() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "oidcprovider", "provider.js")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join(CacheDir(), "oidc-provider", OIDCProviderVersion, "provider.js")
}

// OIDCProviderConfig configures [StartOIDCProvider]: a Keycloak-shaped
// realm.
type OIDCProviderConfig struct {
	// Realm is the realm name. Default "hubkit".
	Realm string
	// Clients registered in the realm.
	Clients []OIDCClient
	// Users who can log in.
	Users []OIDCUser
	// TTL of the provider's artifacts; zero fields keep the defaults
	// (access and ID tokens 5 min, refresh token and session 1 h).
	TTL OIDCTTL
	// AllowNoPKCE lets clients log in without PKCE. Default: PKCE (S256)
	// is required of every client.
	AllowNoPKCE bool
	// NoRefreshRotation keeps refresh tokens across refreshes. Default: a
	// refresh returns a new refresh token and spends the old one.
	NoRefreshRotation bool
}

// OIDCClient is an OAuth client of the realm.
type OIDCClient struct {
	ID                     string   `json:"client_id"`
	Secret                 string   `json:"client_secret,omitempty"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
}

// OIDCUser is a user of the realm. Claims go into the ID token and
// userinfo as given (any JSON: "groups": ["/jupyter-users"],
// "realm_access": {"roles": [...]}, or deliberately wrong types);
// preferred_username (the username), email and email_verified are added
// unless Claims sets them.
type OIDCUser struct {
	Username string         `json:"username"`
	Password string         `json:"password"`
	Claims   map[string]any `json:"claims,omitempty"`
}

// OIDCTTL are artifact lifetimes, whole seconds.
type OIDCTTL struct {
	AccessToken  time.Duration
	IDToken      time.Duration
	RefreshToken time.Duration
	Session      time.Duration
}

// OIDCProvider is a running provider.
type OIDCProvider struct {
	// Issuer is the realm's issuer, http://127.0.0.1:PORT/realms/REALM.
	Issuer string
	// BaseURL is http://127.0.0.1:PORT.
	BaseURL string
	// Realm is the realm name.
	Realm string
	// Log is the path of the provider's output.
	Log string

	kill func()
}

// Kill stops the provider at once (SIGKILL), as a crash would: every
// later request to it is refused.
func (p *OIDCProvider) Kill() { p.kill() }

// OIDCEvent is something the provider did: "login", "login.failed",
// "grant" (a token was issued), "grant.error", "end_session".
type OIDCEvent struct {
	Type     string `json:"type"`
	Username string `json:"username,omitempty"`
	Error    string `json:"error,omitempty"`
}

var oidcHTTP = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{}).DialContext}}

// StartOIDCProvider runs npm's oidc-provider (panva's, OpenID Certified)
// with node on a free loopback port, serving a Keycloak-shaped realm
// (Keycloak's paths under /realms/<realm>/protocol/openid-connect/), and
// stops it when the test ends. When node or the provider is missing it
// reports them with [Missing] (skip, or fail under CI).
func StartOIDCProvider(t testing.TB, cfg OIDCProviderConfig) *OIDCProvider {
	t.Helper()
	node := LookPath(t, "node", "apt-get install nodejs (Node.js >= 20.19), then "+OIDCProviderInstall)
	modules := OIDCProviderModules()
	if modules == "" {
		Missing(t, "oidc-provider (npm "+OIDCProviderVersion+")", OIDCProviderInstall)
	}
	if cfg.Realm == "" {
		cfg.Realm = "hubkit"
	}
	secs := func(d time.Duration) int { return int(d / time.Second) }
	ttl := map[string]int{}
	for k, d := range map[string]time.Duration{"AccessToken": cfg.TTL.AccessToken, "IdToken": cfg.TTL.IDToken,
		"RefreshToken": cfg.TTL.RefreshToken, "Session": cfg.TTL.Session} {
		if d > 0 {
			ttl[k] = max(secs(d), 1)
		}
	}
	js, err := json.Marshal(map[string]any{
		"realm":              cfg.Realm,
		"clients":            cfg.Clients,
		"users":              cfg.Users,
		"ttl":                ttl,
		"requirePKCE":        !cfg.AllowNoPKCE,
		"rotateRefreshToken": !cfg.NoRefreshRotation,
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "provider.json")
	if err := os.WriteFile(cfgPath, js, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &OIDCProvider{Realm: cfg.Realm, Log: filepath.Join(dir, "provider.log")}
	logf, err := os.Create(p.Log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, oidcProviderScript(), cfgPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HUBKIT_OIDC_PROVIDER_MODULES="+modules, "NODE_ENV=test")
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting oidc-provider: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	p.kill = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("oidc-provider log (%s):\n%s", p.Log, tailFile(p.Log))
		}
	})

	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-ready:
		var hello struct {
			Issuer string `json:"issuer"`
			Port   int    `json:"port"`
		}
		if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.Issuer == "" {
			<-exited
			t.Fatalf("oidc-provider did not start (%q); log:\n%s", line, tailFile(p.Log))
		}
		p.Issuer = hello.Issuer
		p.BaseURL = fmt.Sprintf("http://127.0.0.1:%d", hello.Port)
	case <-time.After(30 * time.Second):
		t.Fatalf("oidc-provider did not start within 30s; log:\n%s", tailFile(p.Log))
	}
	res, err := oidcHTTP.Get(p.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("oidc-provider discovery: %v; log:\n%s", err, tailFile(p.Log))
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("oidc-provider discovery: %s", res.Status)
	}
	return p
}

func tailFile(path string) string {
	b, _ := os.ReadFile(path)
	const n = 8 << 10
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// AdvanceClock moves the provider's clock forward by d: tokens it issued
// expire as if d had passed, and what it issues next is dated d later.
// Tests move their own injected clock by the same d; nobody sleeps.
func (p *OIDCProvider) AdvanceClock(t testing.TB, d time.Duration) {
	t.Helper()
	body, _ := json.Marshal(map[string]float64{"advance": d.Seconds()})
	res, err := oidcHTTP.Post(p.BaseURL+"/__hubkit/clock", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("advancing the provider's clock: %v", err)
	}
	res.Body.Close()
}

// Events returns what the provider did so far.
func (p *OIDCProvider) Events(t testing.TB) []OIDCEvent {
	t.Helper()
	res, err := oidcHTTP.Get(p.BaseURL + "/__hubkit/events")
	if err != nil {
		t.Fatalf("provider events: %v", err)
	}
	defer res.Body.Close()
	var ev []OIDCEvent
	if err := json.NewDecoder(res.Body).Decode(&ev); err != nil {
		t.Fatalf("provider events: %v", err)
	}
	return ev
}

// CountEvents returns how many events of type typ happened.
func (p *OIDCProvider) CountEvents(t testing.TB, typ string) int {
	t.Helper()
	n := 0
	for _, e := range p.Events(t) {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// owns reports whether u is served by the provider.
func (p *OIDCProvider) owns(u *url.URL) bool {
	b, _ := url.Parse(p.BaseURL)
	return u.Scheme == b.Scheme && u.Host == b.Host
}

// isLoginPage reports whether page is the provider's login form.
func (p *OIDCProvider) isLoginPage(page *BrowserPage) bool {
	return p.owns(page.URL) && strings.Contains(page.URL.Path, "/login-actions/") && strings.Contains(page.Body, `id="kc-form-login"`)
}

// Login drives the provider from authURL (its authorization endpoint with
// a client's parameters) back to the client: when the provider shows its
// login page it submits username and password; when the browser already
// has a provider session it goes straight through. It returns the URL the
// provider redirected to (not fetched) and whether the login form was
// shown. It fails the test when the provider ends on a page of its own (an
// error, a refused password).
func (p *OIDCProvider) Login(t testing.TB, b *Browser, authURL, username, password string) (*url.URL, bool) {
	t.Helper()
	leaves := func(u *url.URL) bool { return !p.owns(u) }
	page := b.Follow(authURL, leaves)
	prompted := false
	if p.isLoginPage(page) {
		prompted = true
		page = b.Submit(page, "kc-form-login", url.Values{"username": {username}, "password": {password}}, leaves)
	}
	if p.owns(page.URL) {
		t.Fatalf("the provider did not redirect back; it stopped at %s (%d):\n%s", page.URL, page.Status, page.Body)
	}
	return page.URL, prompted
}

// LoginThrough starts at start (a page of the client), follows every
// redirect, and submits the provider's login form when it comes up. It
// returns the last page.
func (p *OIDCProvider) LoginThrough(t testing.TB, b *Browser, start, username, password string) *BrowserPage {
	t.Helper()
	page := b.Follow(start, nil)
	if p.isLoginPage(page) {
		page = b.Submit(page, "kc-form-login", url.Values{"username": {username}, "password": {password}}, nil)
	}
	return page
}

// EndSession drives the provider's end-session (RP-initiated logout) page
// from u: it confirms the logout form and follows redirects until the
// browser leaves the provider (the post-logout redirect, returned, not
// fetched) or stops on a page of the provider (returned with ok false).
func (p *OIDCProvider) EndSession(t testing.TB, b *Browser, u string) (*url.URL, bool) {
	t.Helper()
	leaves := func(u *url.URL) bool { return !p.owns(u) }
	page := b.Follow(u, leaves)
	if p.owns(page.URL) && strings.Contains(page.Body, `id="op.logoutForm"`) {
		page = b.Submit(page, "op.logoutForm", url.Values{"logout": {"yes"}}, leaves)
	}
	return page.URL, !p.owns(page.URL)
}

// Browser is a cookie-keeping HTTP client that follows redirects itself
// and records every URL it visited, for driving login pages from tests.
type Browser struct {
	Client *http.Client
	// Visited lists every URL requested, in order.
	Visited []*url.URL
	t       testing.TB
}

// BrowserPage is a fetched page.
type BrowserPage struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(t testing.TB) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{
		t: t,
		Client: &http.Client{
			Jar:           jar,
			Timeout:       20 * time.Second,
			Transport:     &http.Transport{Proxy: nil, DialContext: (&net.Dialer{}).DialContext},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Follow GETs u and follows redirects until stop reports true for the next
// URL (which is then returned unfetched, with status 0) or a page is not a
// redirect.
func (b *Browser) Follow(u string, stop func(*url.URL) bool) *BrowserPage {
	b.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.Do(req, stop)
}

// Do sends req and follows redirects as [Browser.Follow] does.
func (b *Browser) Do(req *http.Request, stop func(*url.URL) bool) *BrowserPage {
	b.t.Helper()
	for range 20 {
		if stop != nil && stop(req.URL) {
			return &BrowserPage{URL: req.URL}
		}
		b.Visited = append(b.Visited, req.URL)
		res, err := b.Client.Do(req)
		if err != nil {
			b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		loc := res.Header.Get("Location")
		if res.StatusCode < 300 || res.StatusCode > 399 || loc == "" {
			return &BrowserPage{URL: req.URL, Status: res.StatusCode, Header: res.Header, Body: string(body)}
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			b.t.Fatalf("bad redirect %q from %s: %v", loc, req.URL, err)
		}
		req, err = http.NewRequestWithContext(context.Background(), http.MethodGet, next.String(), nil)
		if err != nil {
			b.t.Fatal(err)
		}
	}
	b.t.Fatalf("too many redirects, last %s", req.URL)
	return nil
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	attrRE  = regexp.MustCompile(`(?is)\b([a-z_:.-]+)\s*=\s*"([^"]*)"`)
	inputRE = regexp.MustCompile(`(?is)<input\b([^>]*)/?>`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// Submit posts the form with id formID on page — its hidden and text
// inputs, overridden by values — and follows redirects as Follow does.
func (b *Browser) Submit(page *BrowserPage, formID string, values url.Values, stop func(*url.URL) bool) *BrowserPage {
	b.t.Helper()
	for _, f := range formRE.FindAllStringSubmatch(page.Body, -1) {
		fa := attrs(f[1])
		if fa["id"] != formID {
			continue
		}
		form := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(f[2], -1) {
			ia := attrs(in[1])
			if ia["name"] != "" && ia["type"] != "submit" {
				form.Set(ia["name"], ia["value"])
			}
		}
		for k, v := range values {
			form[k] = v
		}
		action, err := page.URL.Parse(fa["action"])
		if err != nil {
			b.t.Fatalf("form %q action %q: %v", formID, fa["action"], err)
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, action.String(), strings.NewReader(form.Encode()))
		if err != nil {
			b.t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return b.Do(req, stop)
	}
	b.t.Fatalf("no form %q on %s (%d):\n%s", formID, page.URL, page.Status, page.Body)
	return nil
}
