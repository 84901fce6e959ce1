package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// sample is one measurement. v by kind:
//
//	startup, startup-first, startup-empty: seconds to answer, seconds to
//	  JupyterHub's "now running" line (0 for hubkit)
//	walk-first: seconds, pages, users
//	walk: seconds, pages, users, the hub's CPU ms per page
//	activity, self: requests/s, p50 ms, p99 ms, errors, requests, the
//	  hub's CPU µs per request
//	rss: KiB, peak KiB
//	fill: seconds
type sample struct {
	kind  string
	peer  string
	param int // users (startup, fill, rss), page size (walk), concurrency (load)
	round int
	v     []float64
}

// recorder keeps the samples, writes each to the raw TSV file and
// reports progress.
type recorder struct {
	raw      io.Writer
	progress io.Writer
	samples  []sample
}

func (r *recorder) add(s sample) {
	r.samples = append(r.samples, s)
	f := []string{s.kind, s.peer, strconv.Itoa(s.param), strconv.Itoa(s.round)}
	for _, v := range s.v {
		f = append(f, strconv.FormatFloat(v, 'f', -1, 64))
	}
	line := strings.Join(f, "\t")
	fmt.Fprintln(r.raw, line)
	fmt.Fprintln(r.progress, line)
}

func (r *recorder) fill(db *database) {
	if db.fill > 0 {
		r.add(sample{kind: "fill", peer: db.peer, param: db.users, v: []float64{db.fill.Seconds()}})
	}
}

// get returns the i-th values of the samples of kind, peer and param.
func (r *recorder) get(kind, peer string, param, i int) []float64 {
	var out []float64
	for _, s := range r.samples {
		if s.kind == kind && s.peer == peer && s.param == param && i < len(s.v) {
			out = append(out, s.v[i])
		}
	}
	return out
}

// stats is the median, minimum and maximum.
type stats struct {
	med, lo, hi float64
	n           int
}

func statsOf(xs []float64) stats {
	if len(xs) == 0 {
		return stats{}
	}
	v := slices.Clone(xs)
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return stats{med: med, lo: v[0], hi: v[n-1], n: n}
}

func sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}

// num formats a figure with a precision that suits its size.
func num(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x >= 1000:
		s := strconv.FormatFloat(x, 'f', 0, 64)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	case x >= 1:
		return strconv.FormatFloat(x, 'f', 2, 64)
	default:
		return strconv.FormatFloat(x, 'g', 2, 64)
	}
}

func (s stats) String() string {
	if s.n == 0 {
		return "–"
	}
	if s.n == 1 {
		return num(s.med)
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.med), num(s.lo), num(s.hi))
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return num(a/b) + "×"
}

// report writes the Markdown tables of the run.
func report(w io.Writer, o options, m machineInfo, r *recorder) {
	fmt.Fprintf(w, "## Hub API: hubkit vs JupyterHub\n\n")
	fmt.Fprintf(w, "- date: %s; machine: %d cores (%s), %s; load average %s at the start, %s at the end\n", m.date, m.cores, m.cpu, m.mem, m.loadStart, m.loadEnd)
	fmt.Fprintf(w, "- %s; %s; load: %s\n", m.goVersion, m.jupyterhub, m.wrk)
	fmt.Fprintf(w, "- command: `%s`\n", m.command)
	fmt.Fprintf(w, "- %d rounds, peers alternating; medians (min–max)\n\n", o.rounds)

	H, J := peerHubkit, peerJupyterHub
	if o.parts["walk"] {
		fmt.Fprintf(w, "### GET /hub/api/users, all pages of %d, %s users\n\n", o.limit, num(float64(o.users)))
		hw, jw := statsOf(r.get("walk", H, o.limit, 0)), statsOf(r.get("walk", J, o.limit, 0))
		pages := r.get("walk", H, o.limit, 1)
		np := 0.0
		if len(pages) > 0 {
			np = pages[0]
		}
		rate := func(peer string) stats {
			var xs []float64
			for _, t := range r.get("walk", peer, o.limit, 0) {
				xs = append(xs, np/t)
			}
			return statsOf(xs)
		}
		hr, jr := rate(H), rate(J)
		hf, jf := statsOf(r.get("walk-first", H, o.limit, 0)), statsOf(r.get("walk-first", J, o.limit, 0))
		fmt.Fprintf(w, "| %d pages | hubkit | JupyterHub | hubkit/JupyterHub |\n|---|---|---|---|\n", int(np))
		fmt.Fprintf(w, "| whole walk, s | %s | %s | %s |\n", hw, jw, ratio(jw.med, hw.med))
		fmt.Fprintf(w, "| pages/s | %s | %s | %s |\n", hr, jr, ratio(hr.med, jr.med))
		hc, jc := statsOf(r.get("walk", H, o.limit, 3)), statsOf(r.get("walk", J, o.limit, 3))
		fmt.Fprintf(w, "| the hub's CPU per page, ms | %s | %s | %s |\n", hc, jc, ratio(jc.med, hc.med))
		fmt.Fprintf(w, "| first walk after the start, s | %s | %s | %s |\n\n", hf, jf, ratio(jf.med, hf.med))
	}
	for _, kind := range []string{"activity", "self"} {
		if !o.parts[kind] {
			continue
		}
		if kind == "activity" {
			fmt.Fprintf(w, "### POST /hub/api/users/{name}/activity (admin service token, %s users)\n\n", num(float64(o.users)))
		} else {
			fmt.Fprintf(w, "### GET /hub/api/user (user tokens of %s users in turn)\n\n", num(float64(o.tokens)))
		}
		fmt.Fprintf(w, "| c | hubkit req/s | JupyterHub req/s | hubkit/JupyterHub | hubkit p50 / p99 ms | JupyterHub p50 / p99 ms | hub CPU µs/req hubkit / JupyterHub (ratio) | errors |\n|---|---|---|---|---|---|---|---|\n")
		for _, c := range o.concs {
			hr, jr := statsOf(r.get(kind, H, c, 0)), statsOf(r.get(kind, J, c, 0))
			h50, h99 := statsOf(r.get(kind, H, c, 1)), statsOf(r.get(kind, H, c, 2))
			j50, j99 := statsOf(r.get(kind, J, c, 1)), statsOf(r.get(kind, J, c, 2))
			hc, jc := statsOf(r.get(kind, H, c, 5)), statsOf(r.get(kind, J, c, 5))
			fmt.Fprintf(w, "| %d | %s | %s | **%s** | %s / %s | %s / %s | %s / %s (%s) | %s / %s |\n", c, hr, jr, ratio(hr.med, jr.med),
				num(h50.med), num(h99.med), num(j50.med), num(j99.med), num(hc.med), num(jc.med), ratio(jc.med, hc.med),
				num(sum(r.get(kind, H, c, 3))), num(sum(r.get(kind, J, c, 3))))
		}
		fmt.Fprintln(w)
	}
	if o.parts["startup"] {
		fmt.Fprintf(w, "### Start-up: process start → hubkit /hub/health 200, JupyterHub /hub/api/ 200 (s)\n\n")
		fmt.Fprintf(w, "| users | hubkit | JupyterHub | JupyterHub/hubkit | JupyterHub to \"is now running\" | first start after the fill: hubkit / JupyterHub |\n|---|---|---|---|---|---|\n")
		for _, n := range o.sizes {
			h, j := statsOf(r.get("startup", H, n, 0)), statsOf(r.get("startup", J, n, 0))
			jl := statsOf(r.get("startup", J, n, 1))
			hf, jf := statsOf(r.get("startup-first", H, n, 0)), statsOf(r.get("startup-first", J, n, 0))
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s / %s |\n", num(float64(n)), h, j, ratio(j.med, h.med), jl, hf, jf)
		}
		if e := statsOf(r.get("startup-empty", J, o.sizes[0], 0)); e.n > 0 {
			var all []float64
			for _, n := range o.sizes {
				all = append(all, r.get("startup-empty", J, n, 0)...)
			}
			fmt.Fprintf(w, "\nJupyterHub on an empty database (its first start, before the fill): %s s.\n", statsOf(all))
		}
		fmt.Fprintln(w)
	}
	var fills []string
	for _, s := range r.samples {
		if s.kind == "fill" {
			fills = append(fills, fmt.Sprintf("%s %s users %s s", s.peer, num(float64(s.param)), num(s.v[0])))
		}
	}
	if len(fills) > 0 {
		fmt.Fprintf(w, "Filling the databases: %s.\n\n", strings.Join(fills, "; "))
	}
	hm, jm := r.get("rss", H, o.users, 0), r.get("rss", J, o.users, 0)
	if len(hm) > 0 && len(jm) > 0 {
		hp, jp := r.get("rss", H, o.users, 1), r.get("rss", J, o.users, 1)
		fmt.Fprintf(w, "Resident memory after the API load: hubkit %s MiB (peak %s), JupyterHub %s MiB (peak %s).\n\n",
			num(hm[0]/1024), num(hp[0]/1024), num(jm[0]/1024), num(jp[0]/1024))
	}
}
