package hub

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/oidc"
	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner/local"
)

// browserProfiles is the spawn form of the browser tests: two profiles
// for the local spawner, the second setting an environment variable.
const browserProfiles = `
- display_name: Default
  slug: default
  default: true
- display_name: Scientific Python
  slug: scipy
  description: Same server, with PROFILE_NAME set
  kubespawner_override:
    environment:
      PROFILE_NAME: scipy
`

// newChrome starts Debian's chromium, headless, for one test.
func newChrome(t *testing.T) context.Context {
	bin := testenv.LookPath(t, "chromium", "hack/install-chromium.sh")
	// Not t.TempDir: chromium's helpers may still write to the profile
	// while the test's cleanup removes it.
	profile, err := os.MkdirTemp("", "hubkit-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) {
		if !strings.HasPrefix(format, "could not unmarshal event") {
			t.Logf(format, args...)
		}
	}))
	ctx, tcancel := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		tcancel()
		cancel()
		acancel()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// waitPath waits until the page's location path starts with prefix.
func waitPath(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var loc string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`location.pathname`, &loc)); err == nil && strings.HasPrefix(loc, prefix) {
			return loc
		}
		if time.Now().After(deadline) {
			var body string
			_ = chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &body))
			t.Fatalf("page is at %q, want %s…; page text:\n%.600s", loc, prefix, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runCell starts a kernel on the server the page is on and runs 6*7 over
// the kernel's websocket, returning the result's text.
const runCell = `(async () => {
  const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || "";
  const base = location.pathname.match(/^\/user\/[^/]+\//)[0];
  const r = await fetch(base + "api/kernels", {method: "POST", headers: {"X-XSRFToken": decodeURIComponent(xsrf)}, body: "{}"});
  if (r.status !== 201) return "kernel start: " + r.status;
  const k = await r.json();
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "api/kernels/" + k.id + "/channels");
  return await new Promise((resolve) => {
    const timer = setTimeout(() => resolve("timeout"), 30000);
    ws.onerror = () => resolve("websocket error");
    ws.onopen = () => ws.send(JSON.stringify({
      header: {msg_id: "m1", username: "test", session: "s1", msg_type: "execute_request", version: "5.3", date: new Date().toISOString()},
      parent_header: {}, metadata: {}, channel: "shell", buffers: [],
      content: {code: "6*7", silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true},
    }));
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.header.msg_type === "execute_result") { clearTimeout(timer); ws.close(); resolve(m.content.data["text/plain"]); }
      if (m.header.msg_type === "error") { clearTimeout(timer); resolve("error: " + m.content.ename); }
    };
  });
})()`

// browserFlow is the acceptance flow in a real browser: logged in already
// (the page is on the spawn form), pick the second profile, start, watch
// progress reach the server, run a cell over a websocket, stop, log out;
// afterwards /hub/home leads to loggedOut (the login page's path prefix).
func browserFlow(t *testing.T, ctx context.Context, th *testHub, user, loggedOut string) {
	waitPath(t, ctx, "/hub/spawn")
	if err := chromedp.Run(ctx,
		chromedp.WaitVisible(`input[name="profile"][value="scipy"]`, chromedp.ByQuery),
		chromedp.Click(`input[name="profile"][value="scipy"]`, chromedp.ByQuery),
		chromedp.Click(`main form button[type="submit"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("spawn form: %v", err)
	}
	// The pending page's script follows the progress stream and moves to
	// the server only on its "ready" event.
	waitPath(t, ctx, "/hub/spawn-pending/"+user)
	waitPath(t, ctx, "/user/"+user+"/")
	if err := chromedp.Run(ctx, chromedp.WaitReady(`body`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	var title string
	if err := chromedp.Run(ctx, chromedp.Title(&title)); err != nil || !strings.Contains(title, "Jupyter") && !strings.Contains(title, "Home") {
		t.Errorf("server page title %q (%v)", title, err)
	}
	srv := th.userModel(user)["servers"].(map[string]any)[""].(map[string]any)
	if opts, _ := json.Marshal(srv["user_options"]); !strings.Contains(string(opts), `"profile":"scipy"`) {
		t.Errorf("user_options %s, want the scipy profile", opts)
	}
	var result string
	if err := chromedp.Run(ctx, chromedp.Evaluate(runCell, &result, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})); err != nil {
		t.Fatalf("running a cell: %v", err)
	}
	if result != "42" {
		t.Fatalf("cell result %q, want 42", result)
	}

	// Stop from the home page.
	stop := `form[action$="/hub/stop/` + user + `"] button`
	if err := chromedp.Run(ctx,
		chromedp.Navigate(th.url+"/hub/home"),
		chromedp.WaitVisible(stop, chromedp.ByQuery),
		chromedp.Click(stop, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("stopping from the home page: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(th.userModel(user)["servers"].(map[string]any)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("servers after stop: %v", th.userModel(user)["servers"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := chromedp.Run(ctx, chromedp.WaitVisible(`form[action$="/hub/spawn/`+user+`"] button.primary`, chromedp.ByQuery)); err != nil {
		t.Fatalf("home page after stop: %v", err)
	}
	// Log out (at the provider too, confirming there when it asks).
	if err := chromedp.Run(ctx, chromedp.Click(`form[action$="/hub/logout"] button`, chromedp.ByQuery)); err != nil {
		t.Fatalf("logout: %v", err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		var state string
		_ = chromedp.Run(ctx, chromedp.Evaluate(`(() => {
			if (document.readyState !== "complete") return "loading";
			const f = document.getElementById("op.logoutForm");
			if (f) { const i = document.createElement("input"); i.type = "hidden"; i.name = "logout"; i.value = "yes"; f.appendChild(i); f.submit(); return "confirming"; }
			if (document.getElementById("kc-form-login") || document.getElementById("dev-login")) return "login form";
			return location.pathname;
		})()`, &state))
		if state == "login form" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logout ended at %q", state)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(th.url+"/hub/home")); err != nil {
		t.Fatal(err)
	}
	if loc := waitPath(t, ctx, loggedOut); loc == "/hub/home" {
		t.Error("still logged in after logout")
	}
}

func browserHubConfig(t *testing.T) func(*Config) {
	list, err := profiles.Parse([]byte(browserProfiles))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.Profiles = list }
}

// TestBrowserDevLogin is the acceptance flow in chromium with the
// development login.
func TestBrowserDevLogin(t *testing.T) {
	ctx := newChrome(t)
	th := startHub(t, "", nil, browserHubConfig(t))
	if err := chromedp.Run(ctx,
		chromedp.Navigate(th.url+"/hub/spawn"),
		chromedp.WaitVisible(`#dev-login`, chromedp.ByID),
		chromedp.SendKeys(`#dev-login input[name="username"]`, "alice", chromedp.ByQuery),
		chromedp.SendKeys(`#dev-login input[name="password"]`, devPassword, chromedp.ByQuery),
		chromedp.Submit(`#dev-login`, chromedp.ByID),
	); err != nil {
		t.Fatalf("login: %v", err)
	}
	browserFlow(t, ctx, th, "alice", "/hub/login")
}

// TestBrowserOIDCLogin is the same flow with authenticator/oidc against
// the real OpenID provider (Keycloak's paths).
func TestBrowserOIDCLogin(t *testing.T) {
	ctx := newChrome(t)
	var provider *testenv.OIDCProvider
	withProfiles := browserHubConfig(t)
	th := startHub(t, "", nil, func(c *Config) {
		withProfiles(c)
		base := strings.TrimSuffix(c.HubAPIURL, "/hub/api")
		provider = testenv.StartOIDCProvider(t, testenv.OIDCProviderConfig{
			Clients: []testenv.OIDCClient{{ID: "hubkit", Secret: "hub-client-secret", RedirectURIs: []string{base + "/hub/oauth_callback"},
				PostLogoutRedirectURIs: []string{base + "/hub/login"}}},
			Users: []testenv.OIDCUser{{Username: "carol", Password: "carol-pw", Claims: map[string]any{"groups": []string{"/jupyter-users"}}}},
		})
		a, err := oidc.New(oidc.Options{
			Issuer: provider.Issuer, ClientID: "hubkit", ClientSecret: "hub-client-secret",
			RedirectURL: base + "/hub/oauth_callback", PostLogoutRedirectURL: base + "/hub/login",
			Rules: authenticator.Rules{AllowedGroups: []string{"/jupyter-users", "jupyter-users"}},
			Keys:  c.Keys,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Authenticator = a
	})
	if err := chromedp.Run(ctx,
		chromedp.Navigate(th.url+"/hub/spawn"),
		chromedp.WaitVisible(`#kc-form-login`, chromedp.ByID),
		chromedp.SendKeys(`#username`, "carol", chromedp.ByID),
		chromedp.SendKeys(`#password`, "carol-pw", chromedp.ByID),
		chromedp.Click(`#kc-login`, chromedp.ByID),
	); err != nil {
		t.Fatalf("login at the provider: %v", err)
	}
	browserFlow(t, ctx, th, "carol", "/realms/")
	if n := provider.CountEvents(t, "login"); n != 1 {
		t.Errorf("provider logins: %d, want 1", n)
	}
}

// screenshots, when set, is a directory where TestBrowserScreenshots
// saves the pictures of the README's walkthrough:
//
//	go test ./internal/hub -run TestBrowserScreenshots -screenshots docs/images
var screenshots = flag.String("screenshots", "", "directory for the README's screenshots (TestBrowserScreenshots)")

// TestBrowserScreenshots takes the README's pictures of the spawn form and
// the progress page. It runs only with -screenshots.
func TestBrowserScreenshots(t *testing.T) {
	if *screenshots == "" {
		t.Skip("run with -screenshots DIR")
	}
	bin := singleuser(t)
	dir := t.TempDir()
	slow := local.Options{
		// A start that takes a few seconds, so that the progress page
		// can be seen.
		Cmd:          []string{"sh", "-c", `sleep 4; exec "$0" "$@"`, bin},
		StateDir:     filepath.Join(dir, "state"),
		StartTimeout: 60 * time.Second,
	}
	if os.Geteuid() == 0 {
		slow.Args = []string{"--allow-root"}
	}
	sp, err := local.New(slow)
	if err != nil {
		t.Fatal(err)
	}
	ctx := newChrome(t)
	th := startHub(t, dir, sp, browserHubConfig(t))
	shot := func(name string) {
		var png []byte
		if err := chromedp.Run(ctx, chromedp.EmulateViewport(900, 640), chromedp.CaptureScreenshot(&png)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*screenshots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Run(ctx,
		chromedp.Navigate(th.url+"/hub/spawn"),
		chromedp.WaitVisible(`#dev-login`, chromedp.ByID),
		chromedp.SendKeys(`#dev-login input[name="username"]`, "alice", chromedp.ByQuery),
		chromedp.SendKeys(`#dev-login input[name="password"]`, devPassword, chromedp.ByQuery),
		chromedp.Submit(`#dev-login`, chromedp.ByID),
		chromedp.WaitVisible(`input[name="profile"][value="scipy"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	shot("spawn-form.png")
	if err := chromedp.Run(ctx, chromedp.Click(`main form button[type="submit"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitPath(t, ctx, "/hub/spawn-pending/")
	time.Sleep(1500 * time.Millisecond)
	shot("progress.png")
	waitPath(t, ctx, "/user/alice/")
	th.mustAPI("DELETE", "/users/alice/server", serviceToken, nil, 202, 204)
}
