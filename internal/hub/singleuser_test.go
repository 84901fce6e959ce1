package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
)

// readProgress reads the progress stream of a server with the browser's
// session until the last event.
func readProgress(t *testing.T, b *browser, u string) []progressEvent {
	t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("progress: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var events []progressEvent
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e progressEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("progress event %q: %v", line, err)
		}
		events = append(events, e)
		if e.Ready || e.Failed {
			break
		}
	}
	return events
}

// TestSingleuserEndToEnd runs the whole flow with the real
// jupyterhub-singleuser: a development login, a start from the spawn
// form, the progress stream to 100%, the server's OAuth login against the
// hub through the proxy, its activity reports, a kernel's websocket
// through the proxy, another user refused, the culler stopping the
// server through the hub's API, and logout.
func TestSingleuserEndToEnd(t *testing.T) {
	th := startHub(t, "", nil, nil)
	alice := newBrowser(t)

	resp, page := alice.login(th.url, "alice", "/hub/home")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" || !strings.Contains(page, "alice") {
		t.Fatalf("after login: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "hubkit-session" && c.Path != "/hub/" {
			t.Errorf("session cookie path %q, want /hub/ (servers must never see it)", c.Path)
		}
	}

	// A POST without the anti-forgery value changes nothing.
	resp, _ = alice.do("POST", th.url+"/hub/spawn/alice", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("spawn without _xsrf: %d, want 403", resp.StatusCode)
	}
	if s := th.userModel("alice")["servers"].(map[string]any); len(s) != 0 {
		t.Fatalf("a forged spawn started a server: %v", s)
	}

	resp, page = alice.do("GET", th.url+"/hub/spawn", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("spawn page: %d %s", resp.StatusCode, page)
	}
	resp, page = alice.do("POST", th.url+"/hub/spawn/alice", url.Values{"_xsrf": {xsrf(t, page)}})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.Path, "/hub/spawn-pending/alice") {
		t.Fatalf("after spawn: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	events := readProgress(t, alice, th.url+"/hub/api/users/alice/server/progress")
	last := events[len(events)-1]
	if !last.Ready || last.Progress != 100 || last.URL != "/user/alice/" {
		t.Fatalf("progress ended with %+v (events %+v)", last, events)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Progress < events[i-1].Progress {
			t.Errorf("progress went backwards: %+v", events)
		}
	}

	// The server logs the browser in through the hub's OAuth provider.
	resp, page = alice.do("GET", th.url+"/user/alice/", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.Path, "/user/alice/") || !strings.Contains(page, "Jupyter") {
		t.Fatalf("through the proxy: %d %s\n%.500s", resp.StatusCode, resp.Request.URL, page)
	}
	resp, page = alice.do("GET", th.url+"/user/alice/api/status", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "started") {
		t.Fatalf("server API through the proxy: %d %s", resp.StatusCode, page)
	}

	t.Run("kernel websocket", func(t *testing.T) { kernelWebsocket(t, th, alice) })

	t.Run("other user refused", func(t *testing.T) {
		bob := newBrowser(t)
		bob.login(th.url, "bob", "/hub/home")
		resp, page := bob.do("GET", th.url+"/user/alice/tree/", nil)
		if resp.StatusCode != http.StatusForbidden || resp.Request.URL.Path != "/hub/api/oauth2/authorize" {
			t.Fatalf("bob asking for alice's server: %d at %s\n%.300s", resp.StatusCode, resp.Request.URL, page)
		}
		resp, _ = bob.do("GET", th.url+"/user/alice/api/status", nil)
		if resp.StatusCode == http.StatusOK {
			t.Fatal("bob reached alice's server API")
		}
	})

	// jupyterhub-singleuser reports activity (every second here).
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := th.userModel("alice")["servers"].(map[string]any)[""].(map[string]any)
		if s["last_activity"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no activity recorded: %v", s)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The culler, through the hub's API, stops the server once it has been
	// idle long enough (its clock runs an hour ahead).
	client, err := hubapi.New(hubapi.Options{URL: th.url + "/hub/api", Token: serviceToken})
	if err != nil {
		t.Fatal(err)
	}
	c, err := culler.New(client, culler.Options{Timeout: 10 * time.Minute, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Once(context.Background())
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("cull: %v %v", err, rep.Errors)
	}
	if len(rep.Stopped) != 1 || rep.Stopped[0].User != "alice" {
		t.Fatalf("culled %+v, want alice's server", rep.Stopped)
	}
	deadline = time.Now().Add(30 * time.Second)
	for len(th.userModel("alice")["servers"].(map[string]any)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("alice's server still listed after the cull: %v", th.userModel("alice"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(th.dir, "state", "home")); err != nil {
		t.Errorf("the user's storage is gone after the cull: %v", err)
	}
	// The OAuth client and tokens of the server went with it.
	if _, err := th.db.GetOAuthClient(context.Background(), "jupyterhub-user-alice"); err == nil {
		t.Error("the server's OAuth client survived its stop")
	}
	resp, _ = alice.do("GET", th.url+"/user/alice/api/status", nil)
	if resp.StatusCode == 200 && strings.HasPrefix(resp.Request.URL.Path, "/user/alice/api/status") {
		t.Error("alice's stopped server still answers through the proxy")
	}

	// Logout ends the session.
	_, page = alice.do("GET", th.url+"/hub/home", nil)
	resp, _ = alice.do("POST", th.url+"/hub/logout", url.Values{"_xsrf": {xsrf(t, page)}})
	if resp.Request.URL.Path != "/hub/login" {
		t.Errorf("logout landed on %s", resp.Request.URL)
	}
	resp, _ = alice.do("GET", th.url+"/hub/home", nil)
	if resp.Request.URL.Path != "/hub/login" {
		t.Errorf("after logout /hub/home is %s, want the login page", resp.Request.URL)
	}
}

// kernelWebsocket starts a kernel on alice's server and opens its
// channels websocket through the hub's proxy.
func kernelWebsocket(t *testing.T, th *testHub, b *browser) {
	u, _ := url.Parse(th.url + "/user/alice/")
	xsrfCookie := ""
	var cookies []string
	for _, c := range b.c.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
		if c.Name == "_xsrf" {
			xsrfCookie = c.Value
		}
	}
	req, _ := http.NewRequest("POST", th.url+"/user/alice/api/kernels", strings.NewReader("{}"))
	req.Header.Set("X-XSRFToken", xsrfCookie)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var k struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&k)
	resp.Body.Close()
	if resp.StatusCode != 201 || k.ID == "" {
		t.Fatalf("starting a kernel: %d", resp.StatusCode)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(th.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "GET /user/alice/api/kernels/%s/channels HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\nCookie: %s\r\n\r\n",
		k.ID, strings.TrimPrefix(th.url, "http://"), th.url, strings.Join(cookies, "; "))
	br := bufio.NewReader(conn)
	wsResp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if wsResp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("kernel websocket through the proxy: %d", wsResp.StatusCode)
	}
	if wsResp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("Sec-WebSocket-Accept %q", wsResp.Header.Get("Sec-WebSocket-Accept"))
	}
}
