package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Install commands of the JupyterHub peers.
const (
	// JupyterHubInstall installs Debian's jupyterhub package (JupyterHub
	// 3.0.0 with jupyterhub-singleuser).
	JupyterHubInstall = "hack/install-jupyterhub.sh"
	// CHPInstall installs configurable-http-proxy from npm into the cache.
	CHPInstall = "hack/install-chp.sh"
	// CHPVersion is the version hack/install-chp.sh installs by default.
	CHPVersion = "4.6.3"
)

// CHPPath returns the configurable-http-proxy that hack/install-chp.sh
// installed ($HUBKIT_CHP overrides it), or "" when there is none. Debian's
// own configurable-http-proxy is not used: it fails with the NodeSource
// node.
func CHPPath() string {
	if p := os.Getenv("HUBKIT_CHP"); p != "" {
		return p
	}
	p := filepath.Join(CacheDir(), "chp", CHPVersion, "node_modules", ".bin", "configurable-http-proxy")
	if isExec(p) {
		return p
	}
	return ""
}

// JupyterHub is a real JupyterHub (Debian's package) running for one test
// on loopback, with the dummy authenticator, SimpleLocalProcessSpawner
// running jupyterhub-singleuser, named servers allowed, and sqlite in a
// temporary directory.
type JupyterHub struct {
	// APIURL is the hub's API, for example "http://127.0.0.1:41234/hub/api".
	APIURL string
	// PublicURL is the proxy's public URL.
	PublicURL string
	// Token is the API token of the "test-admin" service, which may do
	// anything to users and servers (admin:users, admin:servers,
	// users:activity, read:hub, tokens).
	Token string
	// Dir holds the configuration, the database, the log and the users'
	// home directories.
	Dir string
	// Log is the path of the hub's (and the proxy's) output.
	Log string

	tokens map[string]string
}

// JupyterHubService is a service declared in jupyterhub_config.py, with a
// role of its own.
type JupyterHubService struct {
	// Name is the service's name.
	Name string
	// Scopes are granted to the service through a role of its own.
	Scopes []string
	// Token is the service's API token; generated when empty.
	Token string
}

// JupyterHubOptions configure StartJupyterHub.
type JupyterHubOptions struct {
	// Services are declared besides "test-admin".
	Services []JupyterHubService
	// ExtraConfig is Python appended to jupyterhub_config.py (c is the
	// config object).
	ExtraConfig string
	// StartTimeout bounds the wait for the hub's API. Default 90 s.
	StartTimeout time.Duration
}

// StartJupyterHub starts a JupyterHub for the test and stops it (and every
// server it started) when the test ends. When jupyterhub,
// jupyterhub-singleuser or configurable-http-proxy are missing it reports
// them with Missing (skip, or fail under CI).
func StartJupyterHub(t testing.TB, opts JupyterHubOptions) *JupyterHub {
	t.Helper()
	hubBin := LookPath(t, "jupyterhub", JupyterHubInstall)
	singleuser := LookPath(t, "jupyterhub-singleuser", JupyterHubInstall)
	LookPath(t, "node", "apt-get install nodejs (NodeSource), then "+CHPInstall)
	chp := CHPPath()
	if chp == "" {
		Missing(t, "configurable-http-proxy (npm "+CHPVersion+")", CHPInstall)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 90 * time.Second
	}

	dir := t.TempDir()
	ports := freePorts(t, 3)
	h := &JupyterHub{
		APIURL:    fmt.Sprintf("http://127.0.0.1:%d/hub/api", ports[0]),
		PublicURL: fmt.Sprintf("http://127.0.0.1:%d/", ports[1]),
		Token:     randomToken(),
		Dir:       dir,
		Log:       filepath.Join(dir, "jupyterhub.log"),
		tokens:    map[string]string{},
	}
	services := append([]JupyterHubService{{
		Name:   "test-admin",
		Scopes: []string{"admin:users", "admin:servers", "users:activity", "read:hub", "tokens"},
		Token:  h.Token,
	}}, opts.Services...)
	var svc, roles []map[string]any
	for _, s := range services {
		if s.Token == "" {
			s.Token = randomToken()
		}
		h.tokens[s.Name] = s.Token
		svc = append(svc, map[string]any{"name": s.Name, "api_token": s.Token})
		roles = append(roles, map[string]any{"name": s.Name + "-role", "scopes": s.Scopes, "services": []string{s.Name}})
	}
	py := func(v any) string { b, _ := json.Marshal(v); return string(b) } // JSON literals are Python literals here
	cfg := fmt.Sprintf(`# Written by hubkit's internal/testenv for one test.
from json import loads
c = get_config()  # noqa
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = %[1]d
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = %[2]d
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:%[3]d'
c.ConfigurableHTTPProxy.command = [%[4]s]
c.ConfigurableHTTPProxy.pid_file = %[5]s
c.JupyterHub.pid_file = %[6]s
c.JupyterHub.db_url = %[7]s
c.JupyterHub.cookie_secret_file = %[8]s
c.JupyterHub.authenticator_class = 'dummy'
c.JupyterHub.spawner_class = 'simple'
c.JupyterHub.allow_named_servers = True
c.SimpleLocalProcessSpawner.home_dir_template = %[9]s
c.Spawner.cmd = [%[10]s]
c.Spawner.args = ['--allow-root'] if __import__('os').geteuid() == 0 else []
# Keep the servers in the hub's process group, so that the test can stop
# everything the hub started even if the hub dies.
c.Spawner.popen_kwargs = {'start_new_session': False}
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.JupyterHub.services = loads(%[11]s)
c.JupyterHub.load_roles = loads(%[12]s)
`, ports[1], ports[0], ports[2], py(chp), py(filepath.Join(dir, "proxy.pid")), py(filepath.Join(dir, "jupyterhub.pid")),
		py("sqlite:///"+filepath.Join(dir, "jupyterhub.sqlite")), py(filepath.Join(dir, "cookie_secret")),
		py(filepath.Join(dir, "home", "{username}")), py(singleuser), py(py(svc)), py(py(roles)))
	cfg += "\n" + opts.ExtraConfig + "\n"
	cfgPath := filepath.Join(dir, "jupyterhub_config.py")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(h.Log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(hubBin, "-f", cfgPath)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting jupyterhub: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { h.stop(t, cmd.Process.Pid, exited) })

	deadline := time.Now().Add(opts.StartTimeout)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("jupyterhub exited before answering (%v); log:\n%s", err, h.tail())
		default:
		}
		if code, _, err := h.Do(context.Background(), http.MethodGet, "/", nil); err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jupyterhub did not answer on %s within %v; log:\n%s", h.APIURL, opts.StartTimeout, h.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return h
}

// ServiceToken returns the API token of a service declared in the options.
func (h *JupyterHub) ServiceToken(name string) string { return h.tokens[name] }

// stop ends the hub and everything in its process group (the servers it
// spawned), then the proxy, which JupyterHub starts in a session of its
// own.
func (h *JupyterHub) stop(t testing.TB, pid int, exited chan error) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Logf("jupyterhub did not stop within 15s after SIGTERM; killing it")
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if b, err := os.ReadFile(filepath.Join(h.Dir, "proxy.pid")); err == nil {
		if ppid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && ppid > 0 {
			_ = syscall.Kill(ppid, syscall.SIGKILL)
		}
	}
	if t.Failed() {
		t.Logf("jupyterhub log (%s):\n%s", h.Log, h.tail())
	}
}

// tail returns the end of the hub's log.
func (h *JupyterHub) tail() string {
	b, _ := os.ReadFile(h.Log)
	const n = 12 << 10
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Do sends an API request as the test-admin service: path is relative to
// APIURL ("/users/alice/server"); body, when not nil, is sent as JSON. It
// returns the status code and the body.
func (h *JupyterHub) Do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, h.APIURL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "token "+h.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := jupyterHubClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// MustDo is Do that fails the test unless the hub answers one of codes.
func (h *JupyterHub) MustDo(t testing.TB, method, path string, body any, codes ...int) []byte {
	t.Helper()
	code, b, err := h.Do(t.Context(), method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	for _, c := range codes {
		if code == c {
			return b
		}
	}
	t.Fatalf("%s %s: %d %s (want %v)", method, path, code, bytes.TrimSpace(b), codes)
	return nil
}

// WaitReady waits until the user's server (name "" for the default one)
// is ready, after a start that answered 202.
func (h *JupyterHub) WaitReady(t testing.TB, user, server string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b := h.MustDo(t, http.MethodGet, "/users/"+user, nil, http.StatusOK)
		var m struct {
			Servers map[string]struct {
				Ready bool `json:"ready"`
			} `json:"servers"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Servers[server].Ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s/%s not ready within %v: %s\nlog:\n%s", user, server, timeout, b, h.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var jupyterHubClient = &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{}).DialContext}}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

func randomToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(errors.New("testenv: no randomness"))
	}
	return hex.EncodeToString(b[:])
}
