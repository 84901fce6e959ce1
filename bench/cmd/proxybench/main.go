// Command proxybench is the helper of bench/proxy.sh: the backend, the
// hubkit proxy under test, route loading for configurable-http-proxy, a
// websocket load client, and the parsing and summary of wrk's output.
// It is a benchmark tool, not an example: see internal/hub/proxy for the
// proxy itself.
//
//	proxybench backend   -addr 127.0.0.1:9000 [-lean]
//	proxybench hubkit    -addr 127.0.0.1:9001 -target http://127.0.0.1:9000 -routes 1000 [-front handler]
//	proxybench stock     -addr 127.0.0.1:9005 -target http://127.0.0.1:9000
//	proxybench chp-routes -api http://127.0.0.1:9003 -target http://127.0.0.1:9000 -routes 1000
//	proxybench ws        -url ws://127.0.0.1:9001/user/u-0/ws -conns 10 -duration 5s -size 100
//	proxybench ws-hold   -url ws://127.0.0.1:9001/user/u-0/ws -conns 1000
//	wrk … | proxybench parse-wrk -label "hubkit small 10 1000 1"
//	proxybench summarize < results.tsv
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/websocket"

	"github.com/hubkit/hubkit/internal/hub/proxy"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: proxybench backend|hubkit|chp-routes|ws|ws-hold|parse-wrk|summarize [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "backend":
		err = runBackend(ctx, args)
	case "hubkit":
		err = runHubkit(ctx, args)
	case "stock":
		err = runStock(ctx, args)
	case "chp-routes":
		err = runCHPRoutes(ctx, args)
	case "ws":
		err = runWS(ctx, args)
	case "ws-hold":
		err = runWSHold(ctx, args)
	case "parse-wrk":
		err = runParseWrk(args)
	case "summarize":
		err = runSummarize(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

// serve runs srv on addr until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runBackend serves 12 bytes for any path, 1 MiB for paths ending in
// /big, and a websocket echo (one message back for each message) for
// paths ending in /ws. With -lean, plain GETs are answered by a loop of
// its own (see leanServe) and only the rest by net/http.
func runBackend(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backend", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	lean := fs.Bool("lean", false, "answer GETs with canned responses without net/http's server")
	_ = fs.Parse(args)
	small := []byte("hello world\n")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	ws := websocket.Server{Handler: func(c *websocket.Conn) {
		for {
			var msg []byte
			if err := websocket.Message.Receive(c, &msg); err != nil {
				return
			}
			if err := websocket.Message.Send(c, msg); err != nil {
				return
			}
		}
	}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/ws"):
			ws.ServeHTTP(w, r)
		case strings.HasSuffix(r.URL.Path, "/big"):
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(big)
		default:
			w.Header().Set("Content-Length", strconv.Itoa(len(small)))
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(small)
		}
	})
	if *lean {
		return leanServe(ctx, *addr, h, small, big)
	}
	return serve(ctx, *addr, h)
}

// leanServe answers each GET without a body on its own loop with a
// canned response (the same bytes net/http would send, Date included),
// so that the backend costs the load generator's core little more than
// its two system calls per request; everything else (websockets) goes,
// with the bytes already read, to net/http and handler h. It stands in
// for a fast server when the proxy under test has a core of its own and
// the load generator and the backend share the other.
func leanServe(ctx context.Context, addr string, h http.Handler, small, big []byte) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hand := &chanListener{addr: ln.Addr(), conns: make(chan net.Conn)}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(hand) }()
	go func() {
		<-ctx.Done()
		ln.Close()
		_ = srv.Close()
	}()
	var date atomic.Value
	setDate := func() { date.Store(time.Now().UTC().Format(http.TimeFormat)) }
	setDate()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				setDate()
			}
		}
	}()
	canned := func(body []byte, ctype string) []byte {
		return fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: %s\r\nDate: ", len(body), ctype)
	}
	smallHead, bigHead := canned(small, "text/plain"), canned(big, "application/octet-stream")
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			br := bufio.NewReaderSize(c, 8<<10)
			out := make([]byte, 0, 4<<10)
			for {
				if _, err := br.Peek(1); err != nil {
					c.Close()
					return
				}
				buf, _ := br.Peek(br.Buffered())
				end := bytes.Index(buf, []byte("\r\n\r\n"))
				if end < 0 || !bytes.HasPrefix(buf, []byte("GET ")) || bytes.Contains(buf[:end], []byte("\nUpgrade:")) ||
					bytes.Contains(buf[:end], []byte("\nupgrade:")) {
					// Not a plain GET whose head is here: net/http's.
					hand.conns <- &replayConn{Conn: c, br: br}
					return
				}
				path := buf[4:bytes.IndexByte(buf, '\n')]
				head, body := smallHead, small
				if i := bytes.IndexByte(path, ' '); i >= 0 && bytes.HasSuffix(path[:i], []byte("/big")) {
					head, body = bigHead, big
				}
				_, _ = br.Discard(end + 4)
				out = append(append(append(out[:0], head...), date.Load().(string)...), "\r\n\r\n"...)
				if len(body) < 4<<10 {
					out = append(out, body...)
					_, err = c.Write(out)
				} else {
					_, err = (&net.Buffers{out, body}).WriteTo(c)
				}
				if err != nil {
					c.Close()
					return
				}
			}
		}()
	}
}

// chanListener is a net.Listener fed by a channel.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
}

func (l *chanListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l *chanListener) Close() error   { return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

// replayConn reads what br holds before the connection's own bytes.
type replayConn struct {
	net.Conn
	br *bufio.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.br.Read(p) }

// runHubkit serves internal/hub/proxy with routes /user/u-0/ …
// /user/u-{n-1}/, all to one target.
func runHubkit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hubkit", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9001", "listen address")
	target := fs.String("target", "http://127.0.0.1:9000", "backend")
	n := fs.Int("routes", 1, "number of routes")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address")
	front := fs.String("front", "serve", "serve: Proxy.Serve (fast path); handler: the Proxy as an http.Handler in an http.Server")
	_ = fs.Parse(args)
	if *pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go func() { _ = serve(ctx, *pprofAddr, mux) }()
	}
	routes := make(map[string]string, *n)
	for i := range *n {
		routes[fmt.Sprintf("/user/u-%d/", i)] = *target
	}
	p := proxy.New(proxy.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	defer p.Close()
	if err := p.Routes().Replace(routes); err != nil {
		return err
	}
	if *front == "handler" {
		return serve(ctx, *addr, p)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return p.Serve(ctx, ln, proxy.ServeOptions{})
}

// runStock serves a stock httputil.ReverseProxy to target: the reference
// point of issue 8 (a Transport of its own with net/http's defaults, so 2
// idle connections per host).
func runStock(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stock", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9005", "listen address")
	target := fs.String("target", "http://127.0.0.1:9000", "backend")
	_ = fs.Parse(args)
	u, err := url.Parse(*target)
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{}
	rp.ErrorLog = log.New(io.Discard, "", 0)
	return serve(ctx, *addr, rp)
}

// runCHPRoutes adds the same routes to configurable-http-proxy through its
// REST API (token from CONFIGPROXY_AUTH_TOKEN).
func runCHPRoutes(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chp-routes", flag.ExitOnError)
	api := fs.String("api", "http://127.0.0.1:9003", "CHP API URL")
	target := fs.String("target", "http://127.0.0.1:9000", "backend")
	n := fs.Int("routes", 1, "number of routes")
	_ = fs.Parse(args)
	token := os.Getenv("CONFIGPROXY_AUTH_TOKEN")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 30 * time.Second}
	body := fmt.Sprintf(`{"target":%q}`, *target)
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("%s/api/routes/user/u-%d", *api, i), strings.NewReader(body))
				req.Header.Set("Authorization", "token "+token)
				resp, err := client.Do(req)
				if err != nil {
					errc <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errc <- fmt.Errorf("POST route %d: %s", i, resp.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// runWS measures websocket round trips: conns connections, each sending a
// message of size bytes and waiting for its echo, for duration. It prints
// the echoed messages per second.
func runWS(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ws", flag.ExitOnError)
	url := fs.String("url", "", "ws:// URL")
	conns := fs.Int("conns", 10, "connections")
	d := fs.Duration("duration", 5*time.Second, "how long")
	size := fs.Int("size", 100, "message size")
	_ = fs.Parse(args)
	cs := make([]*websocket.Conn, *conns)
	for i := range cs {
		c, err := dialWS(*url)
		if err != nil {
			return err
		}
		defer c.Close()
		cs[i] = c
	}
	msg := bytes.Repeat([]byte("m"), *size)
	var total atomic.Int64
	var failed atomic.Int64
	deadline := time.Now().Add(*d)
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range cs {
		wg.Go(func() {
			var got []byte
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := websocket.Message.Send(c, msg); err != nil {
					failed.Add(1)
					return
				}
				if err := websocket.Message.Receive(c, &got); err != nil || len(got) != len(msg) {
					failed.Add(1)
					return
				}
				total.Add(1)
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	fmt.Printf("%.0f\t%d\n", float64(total.Load())/el, failed.Load())
	return nil
}

func dialWS(url string) (*websocket.Conn, error) {
	origin := "http://" + strings.SplitN(strings.TrimPrefix(url, "ws://"), "/", 2)[0]
	return websocket.Dial(url, "", origin)
}

// runWSHold opens conns websockets, exchanges one message on each, prints
// "ready" and holds them until it is stopped or stdin closes.
func runWSHold(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ws-hold", flag.ExitOnError)
	url := fs.String("url", "", "ws:// URL")
	conns := fs.Int("conns", 1000, "connections")
	_ = fs.Parse(args)
	for range *conns {
		c, err := dialWS(*url)
		if err != nil {
			return err
		}
		defer c.Close()
		var got string
		if err := websocket.Message.Send(c, "hi"); err != nil {
			return err
		}
		if err := websocket.Message.Receive(c, &got); err != nil {
			return err
		}
	}
	fmt.Println("ready")
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-ctx.Done():
	case <-done:
	}
	return nil
}

var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reLat     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	reSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runParseWrk reads wrk --latency output on stdin and prints one TSV row:
// label fields, req/s, p50 µs, p99 µs, errors.
func runParseWrk(args []string) error {
	fs := flag.NewFlagSet("parse-wrk", flag.ExitOnError)
	label := fs.String("label", "", "target size conc routes round, space-separated")
	_ = fs.Parse(args)
	out, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	m := reRPS.FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	lat := map[string]float64{}
	for _, l := range reLat.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		switch string(l[3]) {
		case "ms":
			v *= 1e3
		case "s":
			v *= 1e6
		}
		lat[string(l[1])] = v
	}
	errs := 0
	if m := reNon2xx.FindSubmatch(out); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		errs += n
	}
	if m := reSockErr.FindSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(string(s))
			errs += n
		}
	}
	fmt.Printf("%s\t%s\t%.0f\t%.0f\t%d\n", strings.Join(strings.Fields(*label), "\t"), m[1], lat["50"], lat["99"], errs)
	return nil
}

type cell struct{ size, conc, routes string }

// runSummarize reads TSV rows (target size conc routes round rps p50 p99
// errors) and prints Markdown tables of medians with min–max spread and
// the ratios to configurable-http-proxy.
func runSummarize(args []string) error {
	fs := flag.NewFlagSet("summarize", flag.ExitOnError)
	_ = fs.Parse(args)
	type sample struct{ rps, p50, p99, errs float64 }
	data := map[cell]map[string][]sample{}
	var cells []cell
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 9 {
			continue
		}
		c := cell{f[1], f[2], f[3]}
		if data[c] == nil {
			data[c] = map[string][]sample{}
			cells = append(cells, c)
		}
		num := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
		data[c][f[0]] = append(data[c][f[0]], sample{num(f[5]), num(f[6]), num(f[7]), num(f[8])})
	}
	sort.SliceStable(cells, func(i, j int) bool {
		a, b := cells[i], cells[j]
		if a.size != b.size {
			return a.size > b.size // small before big
		}
		if a.routes != b.routes {
			return atoi(a.routes) < atoi(b.routes)
		}
		return atoi(a.conc) < atoi(b.conc)
	})
	stat := func(xs []sample, f func(sample) float64) (med, lo, hi float64) {
		v := make([]float64, len(xs))
		for i, x := range xs {
			v[i] = f(x)
		}
		slices.Sort(v)
		n := len(v)
		if n == 0 {
			return 0, 0, 0
		}
		med = v[n/2]
		if n%2 == 0 {
			med = (v[n/2-1] + v[n/2]) / 2
		}
		return med, v[0], v[n-1]
	}
	fmt.Println("| size | routes | c | direct req/s | hubkit req/s (min–max) | CHP req/s (min–max) | hubkit/CHP | hubkit p50 / p99 µs | CHP p50 / p99 µs | p99 CHP/hubkit | handler-only req/s, p99 µs | stock ReverseProxy req/s (/CHP) | errors h/c |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range cells {
		d := data[c]
		dm, _, _ := stat(d["direct"], func(s sample) float64 { return s.rps })
		hm, hl, hh := stat(d["hubkit"], func(s sample) float64 { return s.rps })
		cm, cl, ch := stat(d["chp"], func(s sample) float64 { return s.rps })
		h50, _, _ := stat(d["hubkit"], func(s sample) float64 { return s.p50 })
		h99, _, _ := stat(d["hubkit"], func(s sample) float64 { return s.p99 })
		c50, _, _ := stat(d["chp"], func(s sample) float64 { return s.p50 })
		c99, _, _ := stat(d["chp"], func(s sample) float64 { return s.p99 })
		xm, _, _ := stat(d["hubkit-handler"], func(s sample) float64 { return s.rps })
		x99, _, _ := stat(d["hubkit-handler"], func(s sample) float64 { return s.p99 })
		handler := "–"
		if len(d["hubkit-handler"]) > 0 {
			handler = fmt.Sprintf("%.0f, %.0f", xm, x99)
		}
		sm, _, _ := stat(d["stock"], func(s sample) float64 { return s.rps })
		stock := "–"
		if len(d["stock"]) > 0 {
			stock = fmt.Sprintf("%.0f (%.1f×)", sm, ratio(sm, cm))
		}
		var he, ce float64
		for _, s := range d["hubkit"] {
			he += s.errs
		}
		for _, s := range d["chp"] {
			ce += s.errs
		}
		fmt.Printf("| %s | %s | %s | %.0f | %.0f (%.0f–%.0f) | %.0f (%.0f–%.0f) | %.1f× | %.0f / %.0f | %.0f / %.0f | %.1f× | %s | %s | %.0f/%.0f |\n",
			c.size, c.routes, c.conc, dm, hm, hl, hh, cm, cl, ch, ratio(hm, cm), h50, h99, c50, c99, ratio(c99, h99), handler, stock, he, ce)
	}
	return sc.Err()
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
