package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/hubkit/hubkit/internal/testenv"
)

func kubeClient(cfg *rest.Config) (kubernetes.Interface, error) { return kubernetes.NewForConfig(cfg) }

// quietKlog keeps client-go's klog lines (throttling notices, watch
// restarts at shutdown) out of the report.
func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

// environment describes the machine and the run.
func environment(nodes, podsPerNode, limit int, storage string, schedQPS float64, schedBurst int, idle time.Duration, command string) string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	date := ""
	if o, err := exec.Command("date", "-u").Output(); err == nil {
		date = strings.TrimSpace(string(o))
	}
	return fmt.Sprintf(`- Date: %s (load average at the start: %s)
- Machine: nproc %d, %s; %s, %s/%s
- Cluster: envtest kube-apiserver %s + etcd %s, kube-scheduler %s (client QPS %g, burst %d, leader election off), kwok v0.8.0 (fast stages) with %d fake nodes × %d pods
- Hub: one kube.Spawner in this process; client QPS/burst as below; concurrent-spawn limit %d; storage %s
- Idle window: %v
- Command: `+"`%s`"+`
`, date, load, runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		testenv.KubeVersion, testenv.EtcdVersion, testenv.KubeVersion, schedQPS, schedBurst, nodes, podsPerNode,
		limit, storage, idle, command)
}

func (b *bench) sizes() []int {
	var ns []int
	for _, r := range b.rounds {
		if !slices.Contains(ns, r.n) {
			ns = append(ns, r.n)
		}
	}
	return ns
}

func (b *bench) roundsOf(n int) []roundResult {
	var rs []roundResult
	for _, r := range b.rounds {
		if r.n == n {
			rs = append(rs, r)
		}
	}
	return rs
}

// medianRound is the round with the median all-ready time.
func medianRound(rs []roundResult) roundResult {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b roundResult) int { return int(a.allReady - b.allReady) })
	return s[len(s)/2]
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func (b *bench) report() string {
	var w strings.Builder
	fmt.Fprintf(&w, "## spawnscale\n\n%s- Hub client: QPS %g, burst %d\n\n", b.env, b.clientQPS, b.clientBurst)

	w.WriteString("### Time to all ready (N starts requested at once, at most " + fmt.Sprint(b.limit) + " in flight)\n\n")
	w.WriteString("| N | rounds | all ready (median) | min–max | servers/s | Start p50 / p95 / max (median round) | failed starts (all rounds) | target |\n|---|---|---|---|---|---|---|---|\n")
	for _, n := range b.sizes() {
		rs := b.roundsOf(n)
		var ds []time.Duration
		for _, r := range rs {
			ds = append(ds, r.allReady)
		}
		m := medianRound(rs)
		target := ""
		if n == 1000 {
			target = "≤ 30 s"
		}
		failed := 0
		for _, r := range rs {
			failed += r.failed
		}
		fmt.Fprintf(&w, "| %d | %d | %s | %s–%s | %.0f | %s / %s / %s | %d of %d | %s |\n", n, len(rs), secs(median(ds)),
			secs(slices.Min(ds)), secs(slices.Max(ds)), float64(n)/median(ds).Seconds(),
			secs(m.startP50), secs(m.startP95), secs(m.startMax), failed, n*len(rs), target)
	}
	var reasons []string
	for _, r := range b.rounds {
		for k, v := range r.failures {
			reasons = append(reasons, fmt.Sprintf("- N=%d round %d: %d × %s", r.n, r.round, v, k))
		}
	}
	if len(reasons) > 0 {
		w.WriteString("\nFailed starts (\"all ready\" is then the time until every start had returned):\n\n" + strings.Join(reasons, "\n") + "\n")
	}

	w.WriteString("\n### The hub's API requests per spawn (all rounds)\n\n")
	keys := map[string]bool{}
	for _, r := range b.rounds {
		for k := range r.counts {
			keys[k] = true
		}
	}
	cols := sortedKeys(keys)
	w.WriteString("| N | writes / spawn | reads / spawn | " + strings.Join(cols, " | ") + " |\n|---|---|---|" + strings.Repeat("---|", len(cols)) + "\n")
	for _, n := range b.sizes() {
		rs := b.roundsOf(n)
		spawns := float64(n * len(rs))
		tot := map[string]int{}
		writes, reads := 0, 0
		for _, r := range rs {
			writes += r.writes
			for k, v := range r.counts {
				tot[k] += v
				if strings.HasPrefix(k, "GET ") {
					reads += v
				}
			}
		}
		fmt.Fprintf(&w, "| %d | %.2f | %.2f |", n, float64(writes)/spawns, float64(reads)/spawns)
		for _, k := range cols {
			fmt.Fprintf(&w, " %s |", perSpawn(tot[k], spawns))
		}
		w.WriteString("\n")
	}
	w.WriteString("\n(WATCH and LIST are the spawner's two informers, pods and events, per round — not per spawn.)\n")

	w.WriteString("\n### What the cluster did (median round)\n\n")
	w.WriteString("| N | nodes used | pods Running with an IP | Scheduled events | Started events | cluster events in the spawner's progress logs, per spawn |\n|---|---|---|---|---|---|\n")
	for _, n := range b.sizes() {
		m := medianRound(b.roundsOf(n))
		fmt.Fprintf(&w, "| %d | %d | %d | %d | %d | %.2f |\n", n, m.nodesUsed, m.withIP, m.scheduled, m.started, float64(m.progressEvts)/float64(n))
	}

	w.WriteString("\n### CPU during the spawns (median round; seconds of CPU) and the hub's heap\n\n")
	procs := []string{"kube-apiserver", "etcd", "kube-scheduler", "kwok", "provisioner"}
	w.WriteString("| N | wall | hub | hub per spawn | " + strings.Join(procs, " | ") + " | hub heap / server |\n|---|---|---|---|" + strings.Repeat("---|", len(procs)) + "---|\n")
	for _, n := range b.sizes() {
		m := medianRound(b.roundsOf(n))
		fmt.Fprintf(&w, "| %d | %s | %s | %.2f ms |", n, secs(m.allReady), secs(m.hubCPU), float64(m.hubCPU.Microseconds())/1000/float64(n))
		for _, p := range procs {
			fmt.Fprintf(&w, " %s |", secs(m.others[p]))
		}
		fmt.Fprintf(&w, " %.1f KiB |\n", m.heapPerSrv/1024)
	}

	if len(b.idles) > 0 {
		w.WriteString("\n### Idle hub with the servers running\n\n")
		w.WriteString("| servers | window | hub CPU | % of one core | hub API requests in the window | hub live heap | hub RSS | kube-apiserver / etcd / kwok CPU |\n|---|---|---|---|---|---|---|---|\n")
		for _, ir := range b.idles {
			total := 0
			var reqs []string
			for _, k := range sortedKeys(ir.requests) {
				total += ir.requests[k]
				reqs = append(reqs, fmt.Sprintf("%s %d", k, ir.requests[k]))
			}
			rq := fmt.Sprint(total)
			if total > 0 {
				rq += " (" + strings.Join(reqs, ", ") + ")"
			}
			fmt.Fprintf(&w, "| %d | %.0f s | %d ms | %.3f %% | %s | %.1f MiB | %.1f MiB | %s / %s / %s |\n", ir.n, ir.window.Seconds(),
				ir.hubCPU.Milliseconds(), 100*ir.hubCPU.Seconds()/ir.window.Seconds(), rq,
				float64(ir.heap)/(1<<20), float64(ir.rss)/(1<<20),
				secs(ir.others["kube-apiserver"]), secs(ir.others["etcd"]), secs(ir.others["kwok"]))
		}
		fmt.Fprintf(&w, "\nBefore any spawner: live heap %.1f MiB, RSS %.1f MiB.\n", float64(b.baseHeap)/(1<<20), float64(b.baseRSS)/(1<<20))
	}
	return w.String()
}

func perSpawn(v int, spawns float64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("%.3g", float64(v)/spawns)
}

// tsv is one line per round and per idle window, every figure raw.
func (b *bench) tsv() string {
	var w strings.Builder
	w.WriteString("kind\tn\tround\tfailed\tall_ready_s\tstart_p50_s\tstart_p95_s\tstart_max_s\twrites\thub_cpu_s\theap_per_server_bytes\tnodes_used\tscheduled_events\tstarted_events\trequests\tothers_cpu_s\n")
	for _, r := range b.rounds {
		fmt.Fprintf(&w, "round\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%.3f\t%.0f\t%d\t%d\t%d\t%s\t%s\n", r.n, r.round, r.failed,
			r.allReady.Seconds(), r.startP50.Seconds(), r.startP95.Seconds(), r.startMax.Seconds(), r.writes,
			r.hubCPU.Seconds(), r.heapPerSrv, r.nodesUsed, r.scheduled, r.started, countsString(r.counts), cpuString(r.others))
	}
	for _, ir := range b.idles {
		fmt.Fprintf(&w, "idle\t%d\t\t\t%.3f\t\t\t\t\t%.3f\t%d\t\t\t\t%s\t%s\n", ir.n, ir.window.Seconds(), ir.hubCPU.Seconds(),
			ir.heap, countsString(ir.requests), cpuString(ir.others))
	}
	return w.String()
}

func countsString(m map[string]int) string {
	var s []string
	for _, k := range sortedKeys(m) {
		s = append(s, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(s, ",")
}

func cpuString(m map[string]time.Duration) string {
	var s []string
	for _, k := range sortedKeys(m) {
		s = append(s, fmt.Sprintf("%s=%.2f", k, m[k].Seconds()))
	}
	return strings.Join(s, ",")
}
