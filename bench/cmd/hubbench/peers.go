package main

import (
	"bufio"
	"bytes"
	"context"
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
	"sync"
	"syscall"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
)

// Names of the two hubs under test, as they appear in the results.
const (
	peerHubkit     = "hubkit"
	peerJupyterHub = "jupyterhub"
)

// serviceName is the admin service both hubs are configured with.
const serviceName = "hubbench"

// userName is the name of the i-th user in both databases.
func userName(i int) string { return fmt.Sprintf("user-%05d", i) }

// database is one hub's database of n users, in a directory of its own.
type database struct {
	peer   string
	dir    string
	users  int
	tokens []string // API tokens of the first users, in user order
	fill   time.Duration
}

// markerFile marks a directory whose database is complete; it holds the
// number of users, so that -dbdir can reuse databases between runs.
const markerFile = "filled"

func readMarker(dir string, n int) bool {
	b, err := os.ReadFile(filepath.Join(dir, markerFile))
	return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(n)
}

func writeMarker(dir string, n int) error {
	return os.WriteFile(filepath.Join(dir, markerFile), []byte(strconv.Itoa(n)+"\n"), 0o600)
}

func readTokens(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// fillHubkit creates hubkit's database of n users through the store, as
// the hub would have them after each user's first server ran and stopped:
// the user (CreateUser), a stopped default server (ClaimServer for a
// spawn, FinishServer with no URL) and, for the first t users, an API
// token with the scopes the hub gives a new token ("inherit"). The store
// runs with synchronous=NORMAL while it is filled (a clean Close makes
// every write durable all the same); the hub opens it with its defaults.
func fillHubkit(ctx context.Context, dir string, n, t int) (*database, error) {
	db := &database{peer: peerHubkit, dir: dir, users: n}
	tokensPath := filepath.Join(dir, "tokens.txt")
	if readMarker(dir, n) {
		var err error
		db.tokens, err = readTokens(tokensPath)
		return db, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	start := time.Now()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "hub.sqlite"), sqlite.Options{UnsafeSyncNormal: true})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	const owner = "hubbench-fill"
	for i := range n {
		name := userName(i)
		if _, err := s.CreateUser(ctx, store.User{Name: name}); err != nil {
			return nil, err
		}
		if _, err := s.ClaimServer(ctx, name, "", store.Claim{Phase: store.PhaseSpawn, Owner: owner}); err != nil {
			return nil, err
		}
		if _, err := s.FinishServer(ctx, name, "", owner, store.PhaseSpawn, store.Outcome{}); err != nil {
			return nil, err
		}
		if i < t {
			secret, err := store.NewSecret(nil)
			if err != nil {
				return nil, err
			}
			if _, err := s.CreateToken(ctx, secret, store.Token{Owner: store.Owner{User: name}, Scopes: []string{"inherit"}, Note: "hubbench"}); err != nil {
				return nil, err
			}
			db.tokens = append(db.tokens, secret)
		}
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	db.fill = time.Since(start)
	if err := os.WriteFile(tokensPath, []byte(strings.Join(db.tokens, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	return db, writeMarker(dir, n)
}

// hubs knows how to run both hubs.
type hubs struct {
	hubkitBin  string // the example hub (go build ./examples/hub)
	self       string // hubbench itself, when hubkit runs as serve-hubkit (-pprof)
	jupyterhub string // Debian's /usr/bin/jupyterhub
	python     string // Debian's python3, with the jupyterhub package
	chp        string // configurable-http-proxy
	fillScript string // bench/hubapi-jupyterhub.py
	token      string // the admin service's token, in both hubs
	logs       string // directory for the hubs' logs
	timeout    time.Duration
	seq        int
}

// fillJupyterHub creates JupyterHub's database of n users: JupyterHub
// starts once on an empty database (creating its schema, roles and OAuth
// client; that start is returned), then bench/hubapi-jupyterhub.py adds
// the users through JupyterHub's ORM with Debian's python3.
func (hs *hubs) fillJupyterHub(ctx context.Context, dir string, n, t int) (*database, *started, error) {
	db := &database{peer: peerJupyterHub, dir: dir, users: n}
	tokensPath := filepath.Join(dir, "tokens.txt")
	if readMarker(dir, n) {
		var err error
		db.tokens, err = readTokens(tokensPath)
		return db, nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	empty, err := hs.start(ctx, peerJupyterHub, db)
	if err != nil {
		return nil, nil, fmt.Errorf("first start of JupyterHub on an empty database: %w", err)
	}
	empty.stop()
	start := time.Now()
	cmd := exec.CommandContext(ctx, hs.python, hs.fillScript, "sqlite:///"+filepath.Join(dir, "jupyterhub.sqlite"), strconv.Itoa(n), tokensPath, strconv.Itoa(t))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w\n%s", hs.fillScript, err, out.Bytes())
	}
	db.fill = time.Since(start)
	if db.tokens, err = readTokens(tokensPath); err != nil {
		return nil, nil, err
	}
	return db, empty, writeMarker(dir, n)
}

// started is a hub process that answered.
type started struct {
	peer    string
	base    string // http://127.0.0.1:port; the API is base + "/hub/api"
	pprof   string // serve-hubkit's profile control, or ""
	pid     int
	startup time.Duration // from starting the process to the first answer
	// running is, for JupyterHub, the time to its "JupyterHub is now
	// running" line (0 if it has not been logged yet).
	running func() time.Duration
	stop    func()
}

// freePorts returns n ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// start launches the peer's hub on db and waits until it answers: hubkit's
// /hub/health with 200 (the start-up checks are done), JupyterHub's
// /hub/api/ with 200 (it listens only after its start-up).
func (hs *hubs) start(ctx context.Context, peer string, db *database) (*started, error) {
	hs.seq++
	logPath := filepath.Join(hs.logs, fmt.Sprintf("%s-%d-%03d.log", peer, db.users, hs.seq))
	var cmd *exec.Cmd
	var ready string
	var base string
	var cleanup func()
	var pprofBase string
	switch {
	case peer == peerHubkit && hs.self != "":
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		base = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		pprofBase = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		cmd = exec.Command(hs.self, "serve-hubkit", "-db", filepath.Join(db.dir, "hub.sqlite"), "-listen", strings.TrimPrefix(base, "http://"),
			"-token", hs.token, "-pprof", strings.TrimPrefix(pprofBase, "http://"))
		ready = base + "/hub/health"
	case peer == peerHubkit:
		ports, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		base = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		values := fmt.Sprintf(`# Written by bench/cmd/hubbench.
hub:
  services:
    %s:
      apiToken: %q
      admin: true
cull:
  enabled: false
hubkit:
  listen: "127.0.0.1:%d"
  store:
    path: %q
`, serviceName, hs.token, ports[0], filepath.Join(db.dir, "hub.sqlite"))
		cfg := filepath.Join(db.dir, "values.yaml")
		if err := os.WriteFile(cfg, []byte(values), 0o600); err != nil {
			return nil, err
		}
		cmd = exec.Command(hs.hubkitBin, "--config", cfg)
		cmd.Env = append(os.Environ(), "HUBKIT_DEV_PASSWORD="+hs.token)
		ready = base + "/hub/health"
	case peer == peerJupyterHub:
		ports, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		base = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		py := func(v any) string { b, _ := json.Marshal(v); return string(b) } // JSON strings are Python literals
		cfgText := fmt.Sprintf(`# Written by bench/cmd/hubbench.
c = get_config()  # noqa
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = %d
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = %d
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:%d'
c.ConfigurableHTTPProxy.command = [%s]
c.ConfigurableHTTPProxy.pid_file = %s
c.JupyterHub.pid_file = %s
c.JupyterHub.db_url = %s
c.JupyterHub.cookie_secret_file = %s
c.JupyterHub.authenticator_class = 'dummy'
c.JupyterHub.services = [{'name': %s, 'api_token': %s, 'admin': True}]
# The service token is random (like hubkit's, compared after one SHA-256):
# hash it once, as JupyterHub hashes the tokens it makes, not 16,384 times.
c.JupyterHub.trust_user_provided_tokens = True
`, ports[0], ports[1], ports[2], py(hs.chp), py(filepath.Join(db.dir, "proxy.pid")), py(filepath.Join(db.dir, "jupyterhub.pid")),
			py("sqlite:///"+filepath.Join(db.dir, "jupyterhub.sqlite")), py(filepath.Join(db.dir, "cookie_secret")),
			py(serviceName), py(hs.token))
		cfg := filepath.Join(db.dir, "jupyterhub_config.py")
		if err := os.WriteFile(cfg, []byte(cfgText), 0o600); err != nil {
			return nil, err
		}
		cmd = exec.Command(hs.python, hs.jupyterhub, "-f", cfg)
		cmd.Env = append(os.Environ(), "CONFIGPROXY_AUTH_TOKEN="+hs.token)
		ready = base + "/hub/api/"
		pidFile := filepath.Join(db.dir, "proxy.pid")
		cleanup = func() {
			// JupyterHub stops the proxy it started; make sure.
			if b, err := os.ReadFile(pidFile); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			_ = os.Remove(pidFile)
		}
	default:
		return nil, fmt.Errorf("unknown peer %q", peer)
	}
	cmd.Dir = db.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// A file, not a pipe: JupyterHub's proxy inherits the hub's output
	// and outlives it for a moment.
	cmd.Stdout, cmd.Stderr = logf, logf

	begin := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", peer, err)
	}
	logf.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
			if cleanup != nil {
				cleanup()
			}
		})
	}
	running := func() time.Duration { return loggedAt(logPath, "JupyterHub is now running", begin) }
	s := &started{peer: peer, base: base, pprof: pprofBase, pid: cmd.Process.Pid, running: running, stop: stop}

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := begin.Add(hs.timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ready, nil)
		if res, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				s.startup = time.Since(begin)
				return s, nil
			}
		}
		select {
		case <-exited:
			stop()
			return nil, fmt.Errorf("%s exited before answering; log: %s\n%s", peer, logPath, tail(logPath))
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s did not answer %s within %v; log: %s", peer, ready, hs.timeout, logPath)
		}
	}
}

// loggedAt reads JupyterHub's log and returns when, after begin, the
// first line containing want was logged, by the line's own timestamp
// ("[I 2026-11-23 07:40:05.152 JupyterHub app:3160] …", local time,
// milliseconds); 0 when there is no such line yet.
func loggedAt(path, want string, begin time.Time) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, want) || len(line) < 26 || line[0] != '[' {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05.000", line[3:26], time.Local)
		if err != nil {
			return 0
		}
		return t.Sub(begin)
	}
	return 0
}

// tail is the end of a log file.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 20 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// rss returns the resident set and its peak of a process, in KiB.
func rss(pid int) (cur, peak int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			cur, _ = strconv.Atoi(f[1])
		case "VmHWM:":
			peak, _ = strconv.Atoi(f[1])
		}
	}
	if cur == 0 {
		return 0, 0, errors.New("no VmRSS")
	}
	return cur, peak, nil
}

// cpuTime is the CPU time (user and system) a process has used so far,
// by /proc/PID/stat; 0 when it cannot be read.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on Linux
// (amd64 and arm64).
const clockTicks = 100
