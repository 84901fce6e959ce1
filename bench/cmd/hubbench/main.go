// Command hubbench measures the hub's REST API and start-up against the
// real JupyterHub 3.0 (Debian's package, on SQLite), side by side in one
// run: both hubs on loopback with the same users, the peers alternating in
// every round. It is the engine of bench/hubapi.sh; results and how to read
// them are in bench/README.md ("Hub API").
//
//	hubbench [-full] [-rounds 3] [-duration 5s] [-users 10000] [-sizes 1000,10000]
//
// What it does, in order:
//
//  1. Fills one database per peer and size: hubkit's through its store
//     (internal/hub/store/sqlite: CreateUser, a stopped default server,
//     API tokens for the first -tokens users), JupyterHub's through its
//     ORM with bench/hubapi-jupyterhub.py after a first start on an empty
//     database. Users are user-00000 … in both.
//  2. Start-up: for every size, the hub process is started and timed until
//     it answers (hubkit: /hub/health 200, which it answers once its
//     start-up checks are done; JupyterHub: /hub/api/ 200, which it
//     answers once it listens, after its start-up), then stopped; one
//     untimed start first, then -rounds timed ones per peer.
//  3. On the -users database, both hubs running: one walk over every page
//     of GET /hub/api/users (Accept: application/jupyterhub-pagination+json,
//     limit 200) with the admin service's token, which also loads
//     JupyterHub's users into its memory, then -rounds timed walks; then
//     POST /hub/api/users/{name}/activity (the body jupyterhub-singleuser
//     sends, spread over all users) with that token, and GET /hub/api/user
//     with the users' own tokens (each used once first), each for
//     -duration at every -concs, by wrk (Debian's) or Go's HTTP client
//     (-load go). The hub's CPU time over each run comes from
//     /proc/PID/stat.
//
// hubkit is the example hub (examples/hub, built unless -hubkit-bin names
// it) run with a z2jh values.yaml: SQLite store, an admin service with a
// token, culling off, local spawner and development login as by default.
// With -pprof it is instead hubbench's own child, "hubbench serve-hubkit",
// the same blocks assembled here with a control that writes a CPU profile
// of each series of hubkit's runs into -out/pprof. JupyterHub runs with its
// dummy authenticator, its default spawner, the same admin service and
// configurable-http-proxy (hack/install-chp.sh). No server is started on
// either hub.
//
// It prints Markdown tables (medians, min–max) and keeps every figure in
// -out/results.tsv. Everything it starts it stops; every load run is
// bounded by -duration (and the Go client by -max-requests).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

type options struct {
	full        bool
	users       int
	tokens      int
	sizes       []int
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	concs       []int
	limit       int
	load        string
	maxRequests int
	parts       map[string]bool
	hubkitBin   string
	jupyterhub  string
	python      string
	chp         string
	fillScript  string
	dbdir       string
	out         string
	timeout     time.Duration
	pprof       bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "serve-hubkit" {
		if err := runServeHubkit(ctx, os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "hubbench serve-hubkit:", err)
			os.Exit(1)
		}
		return
	}
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubbench:", err)
		os.Exit(2)
	}
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hubbench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("hubbench", flag.ContinueOnError)
	fs.BoolVar(&o.full, "full", false, "the full sizes: start-up with 1,000, 10,000 and 50,000 users, 5 rounds of 10 s (flags given explicitly win)")
	fs.IntVar(&o.users, "users", 10000, "users in the database of the API measurements")
	fs.IntVar(&o.tokens, "tokens", 1000, "users with an API token (GET /hub/api/user uses them in turn)")
	sizes := fs.String("sizes", "1000,10000", "users in the databases of the start-up measurement")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; the peers alternate within each")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each load run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before the first round of each kind, per peer, not counted")
	concs := fs.String("concs", "10,50", "concurrencies of the load runs")
	fs.IntVar(&o.limit, "limit", 200, "page size of the user-list walk (JupyterHub's maximum is 200)")
	fs.StringVar(&o.load, "load", "auto", "load generator: wrk, go (Go's HTTP client), or auto (wrk when installed)")
	fs.IntVar(&o.maxRequests, "max-requests", 2_000_000, "bound on the requests of one Go-client load run")
	parts := fs.String("parts", "startup,walk,activity,self", "what to measure")
	fs.StringVar(&o.hubkitBin, "hubkit-bin", "", "the example hub's binary (default: go build ./examples/hub into the work directory)")
	fs.StringVar(&o.jupyterhub, "jupyterhub", "/usr/bin/jupyterhub", "JupyterHub's launcher (Debian's)")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "the python3 that has the jupyterhub package (Debian's)")
	fs.StringVar(&o.chp, "chp", os.Getenv("HUBKIT_CHP"), "configurable-http-proxy for JupyterHub (default: $HUBKIT_CHP, else hack/install-chp.sh)")
	fs.StringVar(&o.fillScript, "fill-script", "bench/hubapi-jupyterhub.py", "the script that fills JupyterHub's database")
	fs.StringVar(&o.dbdir, "dbdir", "", "keep the databases here and reuse them in later runs (default: a temporary directory, removed)")
	fs.StringVar(&o.out, "out", "", "directory for the raw results and the hubs' logs (default: a temporary directory, removed)")
	fs.DurationVar(&o.timeout, "start-timeout", 30*time.Minute, "bound on one hub start")
	fs.BoolVar(&o.pprof, "pprof", false, "run hubkit as hubbench's own child (serve-hubkit: the example hub's default blocks, assembled here) "+
		"and write its CPU profile of every walk and load series into -out/pprof")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.full {
		if !set["sizes"] {
			*sizes = "1000,10000,50000"
		}
		if !set["rounds"] {
			o.rounds = 5
		}
		if !set["duration"] {
			o.duration = 10 * time.Second
		}
	}
	var err error
	if o.sizes, err = intList(*sizes); err != nil {
		return o, fmt.Errorf("-sizes: %w", err)
	}
	if o.concs, err = intList(*concs); err != nil {
		return o, fmt.Errorf("-concs: %w", err)
	}
	o.parts = map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case "startup", "walk", "activity", "self":
			o.parts[p] = true
		default:
			return o, fmt.Errorf("-parts: unknown part %q", p)
		}
	}
	if o.users < 1 || o.tokens < 1 || o.rounds < 1 || o.limit < 1 || o.duration < time.Second {
		return o, fmt.Errorf("-users, -tokens, -rounds and -limit must be positive, -duration at least 1s")
	}
	o.tokens = min(o.tokens, o.users)
	if o.pprof && o.out == "" {
		return o, fmt.Errorf("-pprof needs -out, where the profiles are kept")
	}
	switch o.load {
	case "auto":
		o.load = "go"
		if p, err := exec.LookPath("wrk"); err == nil {
			o.load = p
		}
	case "go":
	case "wrk":
		p, err := exec.LookPath("wrk")
		if err != nil {
			return o, fmt.Errorf("-load wrk: %w (apt-get install -y wrk)", err)
		}
		o.load = p
	default:
		return o, fmt.Errorf("-load: want wrk, go or auto")
	}
	return o, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// peersIn is the order of the peers in a round: it alternates, so that
// neither always runs first (on a warmer or quieter machine).
func peersIn(round int) []string {
	if round%2 == 0 {
		return []string{peerHubkit, peerJupyterHub}
	}
	return []string{peerJupyterHub, peerHubkit}
}

func run(ctx context.Context, o options, stdout io.Writer) error {
	work, err := os.MkdirTemp("", "hubbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	out := o.out
	if out == "" {
		out = filepath.Join(work, "out")
	}
	dbdir := o.dbdir
	if dbdir == "" {
		dbdir = filepath.Join(work, "db")
	}
	logs := filepath.Join(out, "logs")
	for _, d := range []string{out, dbdir, logs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := writeWrkScripts(work); err != nil {
		return err
	}
	raw, err := os.Create(filepath.Join(out, "results.tsv"))
	if err != nil {
		return err
	}
	defer raw.Close()
	rec := &recorder{raw: raw, progress: os.Stderr}

	hs, err := prepare(ctx, o, work, logs)
	if err != nil {
		return err
	}
	m := machine(o)
	fmt.Fprintln(os.Stderr, "hubbench:", m.oneLine())

	// 1. Databases.
	sizes := slices.Clone(o.sizes)
	if o.parts["walk"] || o.parts["activity"] || o.parts["self"] {
		sizes = append(sizes, o.users)
	}
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	dbs := map[string]map[int]*database{peerHubkit: {}, peerJupyterHub: {}}
	for _, n := range sizes {
		t := 0
		if n == o.users {
			t = o.tokens
		}
		db, err := fillHubkit(ctx, filepath.Join(dbdir, fmt.Sprintf("hubkit-%d", n)), n, t)
		if err != nil {
			return fmt.Errorf("filling hubkit's database of %d users: %w", n, err)
		}
		dbs[peerHubkit][n] = db
		rec.fill(db)
		jdb, empty, err := hs.fillJupyterHub(ctx, filepath.Join(dbdir, fmt.Sprintf("jupyterhub-%d", n)), n, t)
		if err != nil {
			return fmt.Errorf("filling JupyterHub's database of %d users: %w", n, err)
		}
		dbs[peerJupyterHub][n] = jdb
		rec.fill(jdb)
		if empty != nil {
			rec.add(sample{kind: "startup-empty", peer: peerJupyterHub, param: n, v: []float64{empty.startup.Seconds(), empty.running().Seconds()}})
		}
	}

	// 2. Start-up.
	if o.parts["startup"] {
		for _, n := range o.sizes {
			for _, peer := range []string{peerHubkit, peerJupyterHub} {
				s, err := hs.start(ctx, peer, dbs[peer][n])
				if err != nil {
					return err
				}
				s.stop()
				rec.add(sample{kind: "startup-first", peer: peer, param: n, v: []float64{s.startup.Seconds(), s.running().Seconds()}})
			}
			for round := range o.rounds {
				for _, peer := range peersIn(round) {
					s, err := hs.start(ctx, peer, dbs[peer][n])
					if err != nil {
						return err
					}
					// Let JupyterHub log its last start-up line.
					for i := 0; peer == peerJupyterHub && s.running() == 0 && i < 200; i++ {
						time.Sleep(10 * time.Millisecond)
					}
					s.stop()
					rec.add(sample{kind: "startup", peer: peer, param: n, round: round, v: []float64{s.startup.Seconds(), s.running().Seconds()}})
				}
			}
		}
	}

	// 3. The API, both hubs running on the -users databases.
	if o.parts["walk"] || o.parts["activity"] || o.parts["self"] {
		if err := measureAPI(ctx, o, hs, work, dbs, rec); err != nil {
			return err
		}
	}
	m.loadEnd = loadAvg()
	report(stdout, o, m, rec)
	return nil
}

// prepare finds or builds what the run needs.
func prepare(ctx context.Context, o options, work, logs string) (*hubs, error) {
	for _, p := range []string{o.jupyterhub, o.python, o.fillScript} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w (Debian's jupyterhub: hack/install-jupyterhub.sh; run from the module's root)", err)
		}
	}
	token, err := store.NewSecret(nil)
	if err != nil {
		return nil, err
	}
	hs := &hubs{jupyterhub: o.jupyterhub, python: o.python, fillScript: o.fillScript, token: token, logs: logs, timeout: o.timeout, hubkitBin: o.hubkitBin, chp: o.chp}
	if hs.chp == "" {
		b, err := exec.CommandContext(ctx, "hack/install-chp.sh").Output()
		if err != nil {
			return nil, fmt.Errorf("hack/install-chp.sh: %w (or give -chp)", err)
		}
		hs.chp = strings.TrimSpace(string(b))
	}
	if o.pprof {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		hs.self = self
	} else if hs.hubkitBin == "" {
		hs.hubkitBin = filepath.Join(work, "hub")
		fmt.Fprintln(os.Stderr, "hubbench: go build -o", hs.hubkitBin, "./examples/hub")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", hs.hubkitBin, "./examples/hub")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building the example hub: %w", err)
		}
	}
	return hs, nil
}

func measureAPI(ctx context.Context, o options, hs *hubs, work string, dbs map[string]map[int]*database, rec *recorder) error {
	running := map[string]*started{}
	defer func() {
		for _, s := range running {
			s.stop()
		}
	}()
	for _, peer := range []string{peerHubkit, peerJupyterHub} {
		s, err := hs.start(ctx, peer, dbs[peer][o.users])
		if err != nil {
			return err
		}
		running[peer] = s
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	spec := func(peer, kind string, conc int, d time.Duration) loadSpec {
		db := dbs[peer][o.users]
		tf := filepath.Join(db.dir, "tokens.txt")
		return loadSpec{kind: kind, users: o.users, adminToken: hs.token, tokens: db.tokens[:min(o.tokens, len(db.tokens))], tokensFile: tf,
			conc: conc, duration: d, maxRequests: o.maxRequests}
	}
	load := func(peer string, sp loadSpec) (loadResult, error) {
		if o.load == "go" {
			return loadGo(ctx, running[peer], sp)
		}
		return loadWrk(ctx, o.load, work, running[peer], sp)
	}

	profile := func(name string) error {
		if !o.pprof {
			return nil
		}
		if name == "" {
			return profileCall(ctx, running[peerHubkit], "")
		}
		dir := filepath.Join(o.out, "pprof")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		return profileCall(ctx, running[peerHubkit], filepath.Join(dir, name))
	}
	// The first walk after the start: JupyterHub loads every user into
	// its memory then, so it is also the warm-up of the other parts.
	for _, peer := range []string{peerHubkit, peerJupyterHub} {
		w, err := walk(ctx, client, running[peer], hs.token, o.limit, o.users)
		if err != nil {
			return err
		}
		rec.add(sample{kind: "walk-first", peer: peer, param: o.limit, v: []float64{w.took.Seconds(), float64(w.pages), float64(w.users)}})
	}
	if o.parts["walk"] {
		if err := profile("hubkit-walk.pprof"); err != nil {
			return err
		}
		for round := range o.rounds {
			for _, peer := range peersIn(round) {
				cpu0 := cpuTime(running[peer].pid)
				w, err := walk(ctx, client, running[peer], hs.token, o.limit, o.users)
				if err != nil {
					return err
				}
				cpu := cpuTime(running[peer].pid) - cpu0
				rec.add(sample{kind: "walk", peer: peer, param: o.limit, round: round,
					v: []float64{w.took.Seconds(), float64(w.pages), float64(w.users), ms(cpu) / float64(w.pages)}})
			}
		}
		if err := profile(""); err != nil {
			return err
		}
	}
	for _, kind := range []string{"activity", "self"} {
		if !o.parts[kind] {
			continue
		}
		for _, peer := range []string{peerHubkit, peerJupyterHub} {
			sp := spec(peer, kind, 1, 0)
			if err := check(ctx, client, running[peer], sp); err != nil {
				return err
			}
			if kind == "self" {
				// Every token once, so that neither hub meets one for
				// the first time while it is measured.
				if err := touchTokens(ctx, client, running[peer], sp.tokens); err != nil {
					return err
				}
			}
			if o.warmup > 0 {
				if _, err := load(peer, spec(peer, kind, o.concs[0], o.warmup)); err != nil {
					return err
				}
			}
		}
		for _, c := range o.concs {
			if err := profile(fmt.Sprintf("hubkit-%s-c%d.pprof", kind, c)); err != nil {
				return err
			}
			for round := range o.rounds {
				for _, peer := range peersIn(round) {
					cpu0 := cpuTime(running[peer].pid)
					r, err := load(peer, spec(peer, kind, c, o.duration))
					if err != nil {
						return err
					}
					cpu := cpuTime(running[peer].pid) - cpu0
					perReq := 0.0
					if r.requests > 0 {
						perReq = float64(cpu/time.Microsecond) / float64(r.requests)
					}
					rec.add(sample{kind: kind, peer: peer, param: c, round: round,
						v: []float64{r.rps, ms(r.p50), ms(r.p99), float64(r.errors), float64(r.requests), perReq}})
				}
			}
			if err := profile(""); err != nil {
				return err
			}
		}
	}
	for _, peer := range []string{peerHubkit, peerJupyterHub} {
		if cur, peak, err := rss(running[peer].pid); err == nil {
			rec.add(sample{kind: "rss", peer: peer, param: o.users, v: []float64{float64(cur), float64(peak)}})
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// machineInfo describes where and when the run happened.
type machineInfo struct {
	date, cpu, mem, goVersion, jupyterhub, wrk, loadStart, loadEnd, command string
	cores                                                                   int
}

func machine(o options) machineInfo {
	m := machineInfo{
		date:      time.Now().UTC().Format("2006-01-02 15:04 MST"),
		cores:     runtime.NumCPU(),
		goVersion: runtime.Version(),
		loadStart: loadAvg(),
		command:   strings.Join(os.Args, " "),
	}
	if c := os.Getenv("HUBBENCH_COMMAND"); c != "" {
		m.command = c + "`, which ran `" + m.command
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			kb, _ := strconv.Atoi(f[1])
			m.mem = fmt.Sprintf("%d GiB", (kb+512<<10)>>20)
		}
	}
	if b, err := exec.Command(o.python, "-c", "import jupyterhub, sqlalchemy, tornado, sys; print('JupyterHub', jupyterhub.__version__, 'SQLAlchemy', sqlalchemy.__version__, 'tornado', tornado.version, 'Python', sys.version.split()[0])").Output(); err == nil {
		m.jupyterhub = strings.TrimSpace(string(b))
	}
	if o.load != "go" {
		b, _ := exec.Command(o.load, "-v").CombinedOutput()
		if f := strings.Fields(string(b)); len(f) > 1 {
			m.wrk = "wrk " + f[1]
		}
	} else {
		m.wrk = "Go's net/http client"
	}
	return m
}

func (m machineInfo) oneLine() string {
	return fmt.Sprintf("%s; %d cores (%s), %s; %s; %s; load %s; load average %s", m.date, m.cores, m.cpu, m.mem, m.goVersion, m.jupyterhub, m.wrk, m.loadStart)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
