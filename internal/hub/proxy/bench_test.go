package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// tableWith returns a table with the default route and n user routes.
func tableWith(b *testing.B, n int) *Table {
	b.Helper()
	tb := NewTable()
	if err := tb.Set("/", "http://127.0.0.1:8081"); err != nil {
		b.Fatal(err)
	}
	routes := make(map[string]string, n+1)
	routes["/"] = "http://127.0.0.1:8081"
	for i := range n {
		routes[fmt.Sprintf("/user/user-%d/", i)] = fmt.Sprintf("http://127.0.0.1:%d", 10000+i%50000)
	}
	if err := tb.Replace(routes); err != nil {
		b.Fatal(err)
	}
	return tb
}

// BenchmarkLookup: the cost of routing one request path, by table size.
// It should not depend on the number of routes.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			tb := tableWith(b, n)
			paths := make([]string, 64)
			for i := range paths {
				paths[i] = fmt.Sprintf("/user/user-%d/api/kernels/abc/channels", (i*7919)%n)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				e, err := tb.match(paths[i%len(paths)])
				if err != nil || e == nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkSet: adding one route to a table of n routes (copy on write
// of one shard per prefix segment).
func BenchmarkSet(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			tb := tableWith(b, n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p := fmt.Sprintf("/user/new-%d/", i%100)
				if err := tb.Set(p, "http://127.0.0.1:1"); err != nil {
					b.Fatal(err)
				}
				tb.Delete(p)
				i++
			}
		})
	}
}

// cannedBackend answers every request on a connection with the same
// small response, allocating nothing: the proxy's own cost shows.
func cannedBackend(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					// Requests without bodies: read to the blank line.
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkServeHTTP: one request through Proxy.ServeHTTP to a live
// backend, without a client connection: the handler's own cost and
// allocations.
func BenchmarkServeHTTP(b *testing.B) {
	addr := cannedBackend(b)
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			p := New(Options{Routes: tableWith(b, n)})
			defer p.Close()
			if err := p.Routes().Set("/user/bench/", "http://"+addr); err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/user/bench/api/status?x=1", nil)
			req.Header.Set("User-Agent", "bench")
			req.Header.Set("Accept", "*/*")
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				p.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkProxyLoopback: a full request over loopback through a client,
// the proxy and a backend, concurrently, compared with a stock
// httputil.ReverseProxy (with a Transport allowing enough idle
// connections) and with the backend directly. The Go client's own cost is
// in every figure; bench/proxy.sh measures with wrk instead.
func BenchmarkProxyLoopback(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 12)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "12")
		_, _ = w.Write(body)
	}))
	b.Cleanup(backend.Close)
	u, _ := url.Parse(backend.URL)

	run := func(b *testing.B, h http.Handler, target string) {
		front := backend
		if h != nil {
			front = httptest.NewServer(h)
			defer front.Close()
		}
		tr := &http.Transport{MaxIdleConnsPerHost: 256}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		b.ReportAllocs()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(front.URL + target)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("hubkit/routes=%d", n), func(b *testing.B) {
			p := New(Options{Routes: tableWith(b, n)})
			defer p.Close()
			_ = p.Routes().Set("/user/bench/", backend.URL)
			run(b, p, "/user/bench/x")
		})
	}
	b.Run("reverseproxy", func(b *testing.B) {
		rp := httputil.NewSingleHostReverseProxy(u)
		tr := &http.Transport{MaxIdleConnsPerHost: 256}
		defer tr.CloseIdleConnections()
		rp.Transport = tr
		run(b, rp, "/user/bench/x")
	})
	b.Run("direct", func(b *testing.B) { run(b, nil, "/user/bench/x") })
}
