// Command spawnscale measures spawner/kube at scale on a simulated cluster:
// envtest's kube-apiserver and etcd, the real kube-scheduler placing the
// pods on fake nodes, and kwok playing the kubelets (pods become Running
// with an IP on their node, and events are recorded as on a real cluster).
// It is the engine of bench/spawn-scale.sh; results and how to read them
// are in bench/README.md ("Spawner at scale").
//
//	spawnscale [-sizes 100:3,1000:3,5000:1] [-limit 64] [-idle 60s] [-idle-sizes 100,5000]
//
// For each size N and each of its rounds, one kube.Spawner (in this
// process, like a hub) gets N starts at once, at most -limit of them in
// flight (a semaphore, as the hub's concurrent-spawn limit), each with a
// dynamic PersistentVolumeClaim (z2jh's default storage), a token Secret
// and a pod, in a namespace of the round's own, with z2jh's default
// singleuser settings (internal/hubconfig's defaults). Measured:
//
//   - time from the first request to the last server ready, and each
//     Start's own duration once it had a slot;
//   - the spawner's API requests by verb and resource (a counting
//     RoundTripper on its client: internal/testenv's APIRecorder);
//   - this process's CPU time during the round (getrusage), and the other
//     processes' (kube-apiserver, etcd, kube-scheduler, kwok, the volume
//     provisioner) from /proc;
//   - with the last round of each of -idle-sizes still running: the hub's
//     CPU and API requests over -idle with nothing happening, its live
//     heap after a GC and its resident memory.
//
// A failed start is counted with its reason, not retried; more than 1 % of
// a round failing stops the run. Between rounds the round's pods are
// deleted (grace period 0), so every round starts on an empty cluster of
// the same size.
//
// The storage is a WaitForFirstConsumer class whose volumes are made by a
// simulated provisioner (this program run with -provisioner, in a process
// of its own): the scheduler picks the node, marks the claim, the
// provisioner creates and binds a volume, the scheduler binds the pod, as
// with a CSI driver and kube-controller-manager on a real cluster.
//
// Everything it starts it stops, also when interrupted or when -timeout
// ends. With -cpuprofile-size N the hub's CPU during the first round of
// size N is written to -out/spawn-N.pprof.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/hubkit/hubkit/internal/hubconfig"
	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

type size struct{ n, rounds int }

func parseSizes(s string) ([]size, error) {
	var out []size
	for f := range strings.SplitSeq(s, ",") {
		n, r, ok := strings.Cut(strings.TrimSpace(f), ":")
		if !ok {
			r = "1"
		}
		ni, err1 := strconv.Atoi(n)
		ri, err2 := strconv.Atoi(r)
		if err1 != nil || err2 != nil || ni <= 0 || ri <= 0 {
			return nil, fmt.Errorf("bad size %q (want N:rounds)", f)
		}
		out = append(out, size{ni, ri})
	}
	return out, nil
}

func parseInts(s string) (map[int]bool, error) {
	out := map[int]bool{}
	if s == "" {
		return out, nil
	}
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, nil
}

func main() {
	var (
		provisioner = flag.Bool("provisioner", false, "run as the simulated volume provisioner (internal)")
		kubeconfig  = flag.String("provisioner-kubeconfig", "", "kubeconfig of -provisioner")

		sizesFlag   = flag.String("sizes", "100:3,1000:3,5000:1", "servers started at once, and rounds of each: N:rounds,...")
		limit       = flag.Int("limit", 64, "concurrent-spawn limit (z2jh's hub.concurrentSpawnLimit default)")
		idle        = flag.Duration("idle", 60*time.Second, "idle window measured with servers running")
		idleSizes   = flag.String("idle-sizes", "100,5000", "sizes whose last round is measured idle")
		nodes       = flag.Int("nodes", 20, "fake nodes")
		podsPerNode = flag.Int("pods-per-node", 500, "pod capacity of each node")
		storage     = flag.String("storage", "dynamic", "dynamic (a PVC per server, z2jh's default) or none")
		clientQPS   = flag.Float64("client-qps", 500, "QPS of the hub's Kubernetes client")
		clientBurst = flag.Int("client-burst", 1000, "burst of the hub's Kubernetes client")
		schedQPS    = flag.Float64("scheduler-qps", 500, "QPS of kube-scheduler's client (its default is 50)")
		schedBurst  = flag.Int("scheduler-burst", 1000, "burst of kube-scheduler's client (its default is 100)")
		schedBin    = flag.String("kube-scheduler", "", "kube-scheduler binary (default: kube-scheduler beside the envtest binaries)")
		kwokBin     = flag.String("kwok", "", "kwok binary (required)")
		out         = flag.String("out", "", "directory for the results, logs and profiles (default: a new temporary one)")
		timeout     = flag.Duration("timeout", 30*time.Minute, "stop everything after this long")
		profSize    = flag.Int("cpuprofile-size", 0, "write a CPU profile of the hub during the first round of this size")
		command     = flag.String("command", "", "the command to name in the report (default: this program's arguments)")
	)
	flag.Parse()
	if *provisioner {
		if err := runProvisioner(*kubeconfig); err != nil {
			fmt.Fprintln(os.Stderr, "provisioner:", err)
			os.Exit(1)
		}
		return
	}
	sizes, err := parseSizes(*sizesFlag)
	if err != nil {
		fatal(err)
	}
	idleAt, err := parseInts(*idleSizes)
	if err != nil {
		fatal(err)
	}
	if *storage != "dynamic" && *storage != "none" {
		fatal(fmt.Errorf("-storage must be dynamic or none"))
	}
	if *out == "" {
		if *out, err = os.MkdirTemp("", "spawnscale-"); err != nil {
			fatal(err)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}
	assets := testenv.AssetsDir()
	if assets == "" {
		fatal(errors.New("envtest binaries not found: hack/envtest.sh --with-scheduler"))
	}
	if *schedBin == "" {
		*schedBin = filepath.Join(assets, "kube-scheduler")
	}
	if *kwokBin == "" {
		fatal(errors.New("-kwok is required: hack/kwok.sh"))
	}
	quietKlog()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	b := &bench{
		out: *out, limit: *limit, idle: *idle, dynamic: *storage == "dynamic",
		clientQPS: float32(*clientQPS), clientBurst: *clientBurst, profSize: *profSize,
	}
	b.env = environment(*nodes, *podsPerNode, *limit, *storage, *schedQPS, *schedBurst, *idle,
		cmp.Or(*command, strings.Join(os.Args, " ")))
	fmt.Fprintf(os.Stderr, "spawnscale: starting kube-apiserver, etcd, kube-scheduler, kwok (%d nodes × %d pods); output in %s\n", *nodes, *podsPerNode, *out)
	t0 := time.Now()
	c, err := startCluster(ctx, clusterOptions{
		Scheduler: *schedBin, Kwok: *kwokBin, Nodes: *nodes, PodsPerNode: *podsPerNode,
		SchedulerQPS: *schedQPS, SchedulerBurst: *schedBurst, Dir: *out,
	})
	if err != nil {
		fatal(err)
	}
	b.c = c
	fmt.Fprintf(os.Stderr, "spawnscale: cluster up in %.1f s\n", time.Since(t0).Seconds())
	err = b.run(ctx, sizes, idleAt)
	c.stop()
	if err != nil {
		fatal(err)
	}
	report := b.report()
	fmt.Print(report)
	if err := os.WriteFile(filepath.Join(*out, "spawn-scale.md"), []byte(report), 0o644); err != nil {
		fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "spawn-scale.tsv"), []byte(b.tsv()), 0o644); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "spawnscale:", err)
	os.Exit(1)
}

type bench struct {
	c                          *cluster
	out                        string
	limit                      int
	idle                       time.Duration
	dynamic                    bool
	clientQPS                  float32
	clientBurst                int
	profSize                   int
	env                        string
	rounds                     []roundResult
	idles                      []idleResult
	profiled                   bool
	baseHeap, baseRSS          uint64
	warmupReady, warmupStarted int
}

type roundResult struct {
	n, round     int
	allReady     time.Duration
	startP50     time.Duration
	startP95     time.Duration
	startMax     time.Duration
	counts       map[string]int
	writes       int
	hubCPU       time.Duration
	others       map[string]time.Duration
	nodesUsed    int
	withIP       int
	scheduled    int // Scheduled events
	started      int // Started events (kwok)
	progressEvts int // events the spawner's progress logs received from the cluster
	heapPerSrv   float64
	failed       int
	failures     map[string]int // by StartError reason and message
}

type idleResult struct {
	n        int
	window   time.Duration
	hubCPU   time.Duration
	requests map[string]int
	heap     uint64
	rss      uint64
	others   map[string]time.Duration
}

func (b *bench) run(ctx context.Context, sizes []size, idleAt map[int]bool) error {
	runtime.GC()
	b.baseHeap, b.baseRSS = liveHeap(), rss()
	// A small untimed round first: every part of the chain works, and
	// every component has warmed up.
	fmt.Fprintln(os.Stderr, "spawnscale: warm-up round of 20")
	if _, err := b.round(ctx, 20, 0, false, false); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	for _, sz := range sizes {
		for r := 1; r <= sz.rounds; r++ {
			if err := b.c.healthy(); err != nil {
				return err
			}
			measureIdle := idleAt[sz.n] && r == sz.rounds
			profile := b.profSize == sz.n && !b.profiled
			res, err := b.round(ctx, sz.n, r, measureIdle, profile)
			if err != nil {
				return fmt.Errorf("N=%d round %d: %w", sz.n, r, err)
			}
			b.rounds = append(b.rounds, res)
			fmt.Fprintf(os.Stderr, "spawnscale: N=%d round %d: all ready in %.2f s (%d failed), %.2f writes/spawn, hub CPU %.2f s; %v\n",
				sz.n, r, res.allReady.Seconds(), res.failed, float64(res.writes)/float64(sz.n), res.hubCPU.Seconds(), res.counts)
		}
	}
	return nil
}

// round starts n servers at once under the limit and measures them; with
// measureIdle it then measures the idle hub. It deletes the pods before it
// returns.
func (b *bench) round(ctx context.Context, n, r int, measureIdle, profile bool) (res roundResult, err error) {
	res.n, res.round = n, r
	ns := fmt.Sprintf("scale-%d-r%d", n, r)
	if r == 0 {
		ns = "warmup"
	}
	if _, err := b.c.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return res, err
	}
	rec := &testenv.APIRecorder{}
	cfg := rec.Config(b.c.kube.Config)
	cfg.QPS, cfg.Burst = b.clientQPS, b.clientBurst
	client, err := kubeClient(cfg)
	if err != nil {
		return res, err
	}
	s, err := kube.New(client, b.spawnerConfig(ns))
	if err != nil {
		return res, err
	}
	// The informers outlive the starts, also when ctx ends: a cancelled
	// start removes its pod and waits, through them, until it is gone.
	sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
	var swg sync.WaitGroup
	swg.Go(func() { _ = s.Run(sctx) })
	defer func() {
		scancel()
		swg.Wait()
		if ctx.Err() != nil {
			return // interrupted: the whole cluster is about to be stopped
		}
		if derr := b.c.deletePods(ctx, ns); derr != nil && err == nil {
			err = derr
		}
	}()
	for s.Healthy() != nil {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	runtime.GC()
	heap0 := liveHeap()

	if profile {
		f, err := os.Create(filepath.Join(b.out, fmt.Sprintf("spawn-%d.pprof", n)))
		if err != nil {
			return res, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return res, err
		}
		b.profiled = true
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	rec.Reset()
	others0 := otherCPU()
	cpu0 := selfCPU()
	sem := make(chan struct{}, b.limit)
	durs := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range n {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			st := time.Now()
			_, errs[i] = s.Start(ctx, spawner.Request{Ref: spawner.Ref{User: fmt.Sprintf("user-%05d", i)}, APIToken: "token"})
			durs[i] = time.Since(st)
		})
	}
	wg.Wait()
	res.allReady = time.Since(t0)
	res.hubCPU = selfCPU() - cpu0
	res.others = diffCPU(otherCPU(), others0)
	if profile {
		pprof.StopCPUProfile()
	}
	res.counts = rec.Counts()
	res.writes = rec.Writes()
	// A failed start is recorded, not retried (a hub shows the user the
	// error); more than 1 % failing means the set-up is broken.
	res.failures = map[string]int{}
	for i, e := range errs {
		if e == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		fmt.Fprintf(os.Stderr, "spawnscale: user-%05d: %v\n", i, e)
		res.failed++
		reason := e.Error()
		if se, ok := errors.AsType[*spawner.StartError](e); ok {
			reason = se.Reason + ": " + se.Message
		}
		res.failures[reason]++
	}
	if res.failed*100 > n {
		return res, fmt.Errorf("%d of %d starts failed", res.failed, n)
	}
	slices.Sort(durs)
	res.startP50, res.startP95, res.startMax = durs[n/2], durs[n*95/100], durs[n-1]

	// The cluster did the work: pods placed by the scheduler, running
	// with an IP from kwok, events recorded. Checked with the benchmark's
	// own client, not counted.
	if err := b.check(ctx, ns, &res); err != nil {
		return res, err
	}
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	for i := range n {
		if ch, err := s.Progress(pctx, spawner.Ref{User: fmt.Sprintf("user-%05d", i)}); err == nil {
			for ev := range ch {
				if strings.HasPrefix(ev.Message, "[Normal]") || strings.HasPrefix(ev.Message, "[Warning]") {
					res.progressEvts++
				}
			}
		}
	}
	runtime.GC()
	res.heapPerSrv = (float64(liveHeap()) - float64(heap0)) / float64(n)

	if measureIdle {
		ir, err := b.measureIdle(ctx, n, rec)
		if err != nil {
			return res, err
		}
		b.idles = append(b.idles, ir)
	}
	return res, nil
}

// spawnerConfig is what a hub with z2jh's defaults configures (the chart's
// singleuser block: dynamic storage of 10Gi mounted at /home/jovyan, a
// memory guarantee of 1G, the user-node tolerations and affinity, start
// timeout 300 s), in the round's namespace. With -storage none the claim
// and its volume are left out.
func (b *bench) spawnerConfig(ns string) kube.Config {
	cfg := hubconfig.Default().Kube
	cfg.Namespace = ns
	if !b.dynamic {
		cfg.Options.StoragePVCEnsure = false
		cfg.Options.Volumes, cfg.Options.VolumeMounts = nil, nil
	}
	return cfg
}

// check verifies the round's pods on the API server.
func (b *bench) check(ctx context.Context, ns string, res *roundResult) error {
	pods, err := b.c.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" {
			used[p.Spec.NodeName] = true
		}
		if p.Status.PodIP != "" && p.Status.Phase == corev1.PodRunning {
			res.withIP++
		}
	}
	res.nodesUsed = len(used)
	if res.withIP != res.n-res.failed {
		return fmt.Errorf("%d of %d started pods running with an IP", res.withIP, res.n-res.failed)
	}
	// Events are written asynchronously by their recorders; give the last
	// ones a moment.
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := b.c.admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.kind", "Pod").String()})
		if err != nil {
			return err
		}
		res.scheduled, res.started = 0, 0
		for _, e := range evs.Items {
			switch e.Reason {
			case "Scheduled":
				res.scheduled++
			case "Started":
				res.started++
			}
		}
		if (res.scheduled >= res.withIP && res.started >= res.withIP) || time.Now().After(deadline) {
			return nil
		}
		time.Sleep(time.Second)
	}
}

func (b *bench) measureIdle(ctx context.Context, n int, rec *testenv.APIRecorder) (idleResult, error) {
	ir := idleResult{n: n, window: b.idle}
	// Let the last status writes and events settle first.
	select {
	case <-ctx.Done():
		return ir, ctx.Err()
	case <-time.After(5 * time.Second):
	}
	fmt.Fprintf(os.Stderr, "spawnscale: idle for %v with %d servers running\n", b.idle, n)
	rec.Reset()
	others0 := otherCPU()
	cpu0 := selfCPU()
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return ir, ctx.Err()
	case <-time.After(b.idle):
	}
	ir.window = time.Since(t0)
	ir.hubCPU = selfCPU() - cpu0
	ir.others = diffCPU(otherCPU(), others0)
	ir.requests = rec.Counts()
	runtime.GC()
	ir.heap, ir.rss = liveHeap(), rss()
	return ir, nil
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// rss is this process's resident memory (VmRSS), in bytes.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// selfCPU is this process's user + system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// otherCPU is the CPU time of this process's descendants (kube-apiserver,
// etcd, kube-scheduler, kwok, the provisioner) by command name, from
// /proc/PID/stat (10 ms ticks).
func otherCPU() map[string]time.Duration {
	out := map[string]time.Duration{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	type proc struct {
		ppid int
		comm string
		cpu  time.Duration
	}
	procs := map[int]proc{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < 0 {
			continue
		}
		f := strings.Fields(s[closing+2:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = proc{ppid: ppid, comm: s[open+1 : closing], cpu: time.Duration(ut+st) * 10 * time.Millisecond}
	}
	self := os.Getpid()
	for pid, p := range procs {
		for a := p.ppid; a > 1; a = procs[a].ppid {
			if a == self {
				name := p.comm
				if name == "spawnscale" && pid != self {
					name = "provisioner"
				}
				out[name] += p.cpu
				break
			}
			if _, ok := procs[a]; !ok {
				break
			}
		}
	}
	return out
}

func diffCPU(a, b map[string]time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for k, v := range a {
		out[k] = v - b[k]
	}
	return out
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		// by resource, then verb
		av, ar, _ := strings.Cut(a, " ")
		bv, br, _ := strings.Cut(b, " ")
		return cmp.Or(cmp.Compare(ar, br), cmp.Compare(av, bv))
	})
	return keys
}
