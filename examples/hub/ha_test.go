package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/testenv"
)

// haReplica is one of several hub processes sharing a PostgreSQL store.
type haReplica struct {
	id, addr, values string
	cmd              *exec.Cmd
	log              *syncBuffer
}

// haValues is a values.yaml for replica id on database url: the local
// spawner (all replicas share its state directory, as replicas share a
// cluster), the culler on with a short pass interval, claims of 2 s.
func haValues(t *testing.T, dir, url, id, addr, apiURL, cmd string) string {
	args := "[]"
	if os.Geteuid() == 0 {
		args = "[--allow-root]"
	}
	return fmt.Sprintf(`
hub:
  db:
    type: postgres
    url: %s
  services:
    tester:
      apiToken: %s
      admin: true
  config:
    DummyAuthenticator:
      password: test-password
cull:
  enabled: true
  timeout: 3600
  every: 1
hubkit:
  listen: %s
  hubAPIURL: %s
  replica:
    id: %s
    claimTTL: 2
  local:
    cmd: %s
    stateDir: %s/servers
    args: %s
`, url, testServiceToken, addr, apiURL, id, cmd, dir, args)
}

// startReplica starts (or restarts) r as a child process.
func startReplica(t *testing.T, r *haReplica, dir string) {
	path := filepath.Join(dir, r.id+".yaml")
	if err := os.WriteFile(path, []byte(r.values), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--config", path)
	cmd.Env = append(os.Environ(), "HUBKIT_TEST_RUN_HUB=1",
		"JUPYTERHUB_CRYPT_KEY=4a1c7d5e2f9b3a6c8d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e")
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.cmd = cmd
	h := &hubRun{t: t, log: r.log, done: make(chan int, 1)}
	h.waitHealthy(r.addr)
}

func (r *haReplica) kill(sig syscall.Signal) {
	_ = r.cmd.Process.Signal(sig)
	_ = r.cmd.Wait()
}

// TestReplicas runs two hub processes on one PostgreSQL: concurrent starts
// of one server on both make one server; a token and a session made on
// one work on the other; a route appears on the other within a second;
// the culler runs on exactly one and moves when that one dies; a replica
// killed during a start is taken over by the other; a rolling restart
// under load loses no server and fails no request on the live replica.
func TestReplicas(t *testing.T) {
	bin := testenv.LookPath(t, "jupyterhub-singleuser", "hack/install-jupyterhub.sh")
	pg := testenv.StartPostgres(t)
	dbURL := pg.Database(t)
	dir := t.TempDir()
	slow := fmt.Sprintf(`[sh, -c, 'if [ "$JUPYTERHUB_USER" = slow ]; then sleep 4; fi; exec "$0" "$@"', %s]`, bin)
	reps := []*haReplica{{id: "hub-a", addr: freeAddr(t)}, {id: "hub-b", addr: freeAddr(t)}}
	// Servers reach the hub through a Service in a cluster: here a
	// balancer that sends each request to a replica that answers.
	lb := httptest.NewServer(balancer(reps[0].addr, reps[1].addr))
	t.Cleanup(lb.Close)
	for _, r := range reps {
		r.log = &syncBuffer{}
		r.values = haValues(t, dir, dbURL, r.id, r.addr, lb.URL+"/hub/api", slow)
		startReplica(t, r, dir)
		t.Cleanup(func() { r.kill(syscall.SIGKILL) })
	}
	// Registered after the replicas' cleanups, so it runs before them:
	// the servers the replicas started outlive a killed hub (as they
	// should), so stop them here.
	t.Cleanup(func() { killServers(filepath.Join(dir, "servers", "servers")) })
	a, b := &hubRun{t: t, url: "http://" + reps[0].addr, log: reps[0].log}, &hubRun{t: t, url: "http://" + reps[1].addr, log: reps[1].log}
	logs := func() string { return "--- hub-a:\n" + reps[0].log.String() + "\n--- hub-b:\n" + reps[1].log.String() }

	// Concurrent starts of one server on both replicas: one server.
	a.api("POST", "/hub/api/users/alice", testServiceToken, nil)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, h := range []*hubRun{a, b} {
		wg.Go(func() { codes[i], _ = h.api("POST", "/hub/api/users/alice/server", testServiceToken, nil) })
	}
	wg.Wait()
	if !(codes[0] == 201 || codes[1] == 201 || codes[0] == 202 || codes[1] == 202) {
		t.Fatalf("concurrent starts answered %v\n%s", codes, logs())
	}
	a.waitFor("alice's server", func() bool { return a.serverReady("alice") })
	states, _ := filepath.Glob(filepath.Join(dir, "servers", "servers", "*.json"))
	if len(states) != 1 {
		t.Fatalf("%d server processes for one server (%v)", len(states), states)
	}

	// A token made on A works on B, and B routes to the server A started
	// within a second.
	_, body := a.api("POST", "/hub/api/users/alice/tokens", testServiceToken, nil)
	var tok struct{ Token string }
	_ = json.Unmarshal(body, &tok)
	start := time.Now()
	for {
		code, _ := b.api("GET", "/user/alice/api/status", tok.Token, nil)
		if code == 200 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("B has no route to alice's server after 5 s (last %d)\n%s", code, logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("route on the other replica after %v", time.Since(start).Round(time.Millisecond))
	if time.Since(start) > time.Second+500*time.Millisecond {
		t.Errorf("route took %v to reach the other replica, want about a second", time.Since(start))
	}

	// A session made on A works on B (the replicas share their keys).
	br := newTestBrowser(t)
	br.loginDev(a.url, "bob")
	if code := br.get(b.url + "/hub/home"); code != 200 {
		t.Fatalf("A's session on B: %d", code)
	}

	// The culler runs on exactly one replica.
	culling := func() []int {
		var on []int
		for i, r := range reps {
			if strings.Count(r.log.String(), "this replica runs the culler") > strings.Count(r.log.String(), "the culler moved") {
				on = append(on, i)
			}
		}
		return on
	}
	a.waitFor("a culler", func() bool { return len(culling()) == 1 })
	time.Sleep(3 * time.Second)
	if on := culling(); len(on) != 1 {
		t.Fatalf("culler on replicas %v\n%s", on, logs())
	}
	holder := culling()[0]
	other := reps[1-holder]
	reps[holder].kill(syscall.SIGKILL)
	killedAt := time.Now()
	for !strings.Contains(other.log.String(), "this replica runs the culler") {
		if time.Since(killedAt) > 20*time.Second {
			t.Fatalf("the culler did not move to %s\n%s", other.id, logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("culler failover after %v", time.Since(killedAt).Round(time.Millisecond))
	startReplica(t, reps[holder], dir)

	// A replica killed during a start: the other takes it over.
	a.api("POST", "/hub/api/users/slow", testServiceToken, nil)
	go func() {
		req, _ := http.NewRequest("POST", a.url+"/hub/api/users/slow/server", nil)
		req.Header.Set("Authorization", "token "+testServiceToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	a.waitFor("the slow start", func() bool {
		_, b := a.api("GET", "/hub/api/users/slow", testServiceToken, nil)
		return strings.Contains(string(b), `"pending":"spawn"`)
	})
	time.Sleep(500 * time.Millisecond)
	reps[0].kill(syscall.SIGKILL)
	takeover := time.Now()
	b.waitFor("B to take the start over", func() bool { return b.serverReady("slow") })
	t.Logf("start taken over and finished %v after the kill", time.Since(takeover).Round(time.Millisecond))
	startReplica(t, reps[0], dir)

	// Rolling restart under load: requests to the replica that stays up
	// never fail, and no server is lost.
	var stop atomic.Bool
	var failures atomic.Int64
	var served atomic.Int64
	var restarting atomic.Int32 // index+1 of the replica being restarted
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				idx := (i + w) % 2
				if int(restarting.Load()) == idx+1 {
					continue
				}
				h := []*hubRun{a, b}[idx]
				req, _ := http.NewRequest("GET", h.url+"/hub/api/users?limit=10", nil)
				req.Header.Set("Authorization", "token "+testServiceToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					if int(restarting.Load()) != idx+1 {
						failures.Add(1)
					}
				} else {
					served.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		})
	}
	for i, r := range reps {
		restarting.Store(int32(i + 1))
		r.kill(syscall.SIGTERM)
		startReplica(t, r, dir)
		restarting.Store(0)
		time.Sleep(500 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("rolling restart: %d requests served, %d failed on a live replica", served.Load(), failures.Load())
	if failures.Load() != 0 {
		t.Errorf("%d requests failed on the replica that stayed up", failures.Load())
	}
	for _, u := range []string{"alice", "slow"} {
		if !a.serverReady(u) || !b.serverReady(u) {
			t.Errorf("%s's server lost in the rolling restart\n%s", u, logs())
		}
	}
}

// testBrowser is a cookie-keeping client for the development login.
type testBrowser struct {
	t *testing.T
	c *http.Client
}

func newTestBrowser(t *testing.T) *testBrowser {
	jar, _ := cookiejar.New(nil)
	return &testBrowser{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var (
	devFormAction = regexp.MustCompile(`<form id="dev-login" method="post" action="([^"]+)"`)
	devFormCSRF   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// loginDev logs in as user through the development login at hubURL.
func (b *testBrowser) loginDev(hubURL, user string) {
	b.t.Helper()
	resp, err := b.c.Get(hubURL + "/hub/login?next=/hub/home")
	if err != nil {
		b.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action, csrf := devFormAction.FindSubmatch(page), devFormCSRF.FindSubmatch(page)
	if action == nil || csrf == nil {
		b.t.Fatalf("no login form: %s", page)
	}
	form := url.Values{"username": {user}, "password": {"test-password"}, "csrf": {html.UnescapeString(string(csrf[1]))}}
	resp, err = b.c.PostForm(hubURL+html.UnescapeString(string(action[1])), form)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/hub/home" {
		b.t.Fatalf("login landed on %s (%d)", resp.Request.URL, resp.StatusCode)
	}
}

// get returns the status of a GET that follows redirects on this host;
// a redirect to the login page counts as 401.
func (b *testBrowser) get(u string) int {
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path == "/hub/login" {
		return http.StatusUnauthorized
	}
	return resp.StatusCode
}

// balancer is a reverse proxy to the first of addrs that accepts the
// connection, as a Kubernetes Service spreads requests over ready pods.
func balancer(addrs ...string) http.Handler {
	var next atomic.Uint32
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = addrs[next.Add(1)%uint32(len(addrs))]
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				if c, err := d.DialContext(ctx, network, addr); err == nil {
					return c, nil
				}
				for _, a := range addrs {
					if c, err := d.DialContext(ctx, network, a); err == nil {
						return c, nil
					}
				}
				return nil, fmt.Errorf("no replica answers")
			},
		},
	}
}

// killServers kills the process groups of the local spawner's servers
// recorded in stateDir's state files.
func killServers(stateDir string) {
	files, _ := filepath.Glob(filepath.Join(stateDir, "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var st struct {
			PID int `json:"pid"`
		}
		if json.Unmarshal(b, &st) == nil && st.PID > 1 {
			_ = syscall.Kill(-st.PID, syscall.SIGKILL)
		}
	}
}
