package proxy

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
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// seen is what the echo backend reports about a request.
type seen struct {
	Method string
	URI    string
	Host   string
	Header http.Header
	Body   string
}

// echoBackend answers every request with what it received, as JSON.
func echoBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{r.Method, r.RequestURI, r.Host, r.Header, string(b)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// frontEnd is where a test reaches the proxy.
type frontEnd struct {
	URL  string // http://host:port
	Addr string // host:port
}

// bothFronts runs a test against the proxy served as an http.Handler by
// net/http and served by Proxy.Serve (fast path plus hand-off).
func bothFronts(t *testing.T, test func(t *testing.T, front string)) {
	for _, front := range []string{"handler", "serve"} {
		t.Run(front, func(t *testing.T) { test(t, front) })
	}
}

func startProxy(t *testing.T, front string, opts Options) (*Proxy, frontEnd) {
	t.Helper()
	p := New(opts)
	if front == "handler" {
		srv := httptest.NewServer(p)
		t.Cleanup(func() {
			srv.Close()
			p.Close()
		})
		return p, frontEnd{URL: srv.URL, Addr: srv.Listener.Addr().String()}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln, ServeOptions{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		p.Close()
	})
	addr := ln.Addr().String()
	return p, frontEnd{URL: "http://" + addr, Addr: addr}
}

func mustSet(t *testing.T, p *Proxy, prefix, target string) {
	t.Helper()
	if err := p.Routes().Set(prefix, target); err != nil {
		t.Fatal(err)
	}
}

// rawRequest sends req, byte for byte, on a new connection to addr and
// reads one response.
func rawRequest(t *testing.T, addr, req string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response to %q: %v", req, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of the response to %q: %v", req, err)
	}
	return resp, string(b)
}

func get(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func decodeSeen(t *testing.T, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("backend answer %q: %v", body, err)
	}
	return s
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// The path and query reach the server exactly as sent, with the client's
// Host and CHP's X-Forwarded-* headers.
func TestForwardPreservesRequest(t *testing.T) { bothFronts(t, testForwardPreservesRequest) }

func testForwardPreservesRequest(t *testing.T, front string) {
	be := echoBackend(t)
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/alice/", be.URL)
	addr := ps.Addr

	for _, uri := range []string{
		"/user/alice/",
		"/user/alice",
		"/user/alice/api/contents/a%2Fb/%7Bx%7D?q=%2F%2e%2e&x=1;y&&z=%zz",
		"/user/alice/files/a%5Cb.txt",
		"/user/alice//tree",
		"/user/%61lice/lab?",
		"/user/alice/J%c3%b6rg/%E2%82%AC",
		"/user/alice/a+b/~c@d/!$&'()*,;=:",
	} {
		t.Run(uri, func(t *testing.T) {
			resp, body := rawRequest(t, addr, "GET "+uri+" HTTP/1.1\r\nHost: hub.example.org:8443\r\n"+
				"X-Forwarded-For: 10.0.0.1\r\nConnection: close\r\n\r\n")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			s := decodeSeen(t, body)
			if s.URI != uri {
				t.Errorf("server saw %q, want %q", s.URI, uri)
			}
			if s.Host != "hub.example.org:8443" {
				t.Errorf("Host = %q", s.Host)
			}
			for k, want := range map[string]string{
				"X-Forwarded-For":   "10.0.0.1,127.0.0.1",
				"X-Forwarded-Port":  "8443",
				"X-Forwarded-Proto": "http",
				"X-Forwarded-Host":  "hub.example.org:8443",
			} {
				if got := strings.Join(s.Header[k], "|"); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestForwardHeadersAndBodies(t *testing.T) { bothFronts(t, testForwardHeadersAndBodies) }

func testForwardHeadersAndBodies(t *testing.T, front string) {
	be := echoBackend(t)
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/alice/", be.URL)
	client := newClient(t)

	t.Run("hop-by-hop request headers", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", ps.URL+"/user/alice/x", nil)
		req.Header.Set("Connection", "X-Secret, keep-alive")
		req.Header.Set("X-Secret", "1")
		req.Header.Set("Proxy-Authorization", "Basic eA==")
		req.Header.Set("Te", "trailers")
		req.Header.Add("Cookie", "a=1")
		req.Header.Add("Cookie", "b=2")
		req.Header.Set("X-Kept", "yes")
		req.Host = "plain.example"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s := decodeSeen(t, string(b))
		for _, k := range []string{"X-Secret", "Proxy-Authorization", "Te", "Connection"} {
			if v, ok := s.Header[k]; ok {
				t.Errorf("%s forwarded: %q", k, v)
			}
		}
		if got := s.Header["Cookie"]; len(got) != 1 || got[0] != "a=1; b=2" {
			t.Errorf("Cookie = %q, want one line %q", got, "a=1; b=2")
		}
		if s.Header.Get("X-Kept") != "yes" || s.Header.Get("X-Forwarded-Port") != "80" {
			t.Errorf("headers: %v", s.Header)
		}
	})

	t.Run("POST with Content-Length", func(t *testing.T) {
		body := strings.Repeat("x", 100_000)
		resp, err := client.Post(ps.URL+"/user/alice/api/contents", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if s := decodeSeen(t, string(b)); s.Method != "POST" || s.Body != body || s.Header.Get("Content-Length") != "100000" {
			t.Errorf("server saw %s with %d bytes, CL %q", s.Method, len(s.Body), s.Header.Get("Content-Length"))
		}
	})

	t.Run("chunked request body", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for i := range 5 {
				fmt.Fprintf(pw, "part%d;", i)
			}
			pw.Close()
		}()
		req, _ := http.NewRequestWithContext(t.Context(), "PUT", ps.URL+"/user/alice/up", pr)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if s := decodeSeen(t, string(b)); s.Body != "part0;part1;part2;part3;part4;" {
			t.Errorf("server saw body %q", s.Body)
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		resp, err := client.Head(ps.URL + "/user/alice/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("HEAD status %d", resp.StatusCode)
		}
	})
}

func TestForwardResponses(t *testing.T) { bothFronts(t, testForwardResponses) }

func testForwardResponses(t *testing.T, front string) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/user/alice/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		_, _ = w.Write(big)
	})
	mux.HandleFunc("/user/alice/notype", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil
		_, _ = w.Write([]byte("<html>no type</html>"))
	})
	mux.HandleFunc("/user/alice/hop", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Internal")
		w.Header().Set("X-Internal", "secret")
		w.Header().Set("X-Public", "ok")
		w.Header().Add("Set-Cookie", "a=1; Path=/user/alice/")
		w.Header().Add("Set-Cookie", "b=2; Path=/user/alice/")
		w.WriteHeader(201)
	})
	mux.HandleFunc("/user/alice/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "data: second\n\n")
	})
	mux.HandleFunc("/user/alice/204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	be := httptest.NewServer(mux)
	t.Cleanup(be.Close)
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/alice/", be.URL)
	client := newClient(t)

	t.Run("1 MiB", func(t *testing.T) {
		resp, body := get(t, client, ps.URL+"/user/alice/big")
		if resp.StatusCode != 200 || body != string(big) || resp.ContentLength != int64(len(big)) {
			t.Fatalf("status %d, %d bytes, CL %d", resp.StatusCode, len(body), resp.ContentLength)
		}
	})
	t.Run("no Content-Type stays so", func(t *testing.T) {
		resp, _ := get(t, client, ps.URL+"/user/alice/notype")
		if ct, ok := resp.Header["Content-Type"]; ok {
			t.Fatalf("Content-Type added: %q", ct)
		}
	})
	t.Run("status and headers", func(t *testing.T) {
		resp, _ := get(t, client, ps.URL+"/user/alice/hop")
		if resp.StatusCode != 201 || resp.Header.Get("X-Public") != "ok" || len(resp.Header["Set-Cookie"]) != 2 {
			t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
		}
		if resp.Header.Get("X-Internal") != "" {
			t.Fatalf("hop-by-hop response header forwarded: %v", resp.Header)
		}
	})
	t.Run("204", func(t *testing.T) {
		resp, body := get(t, client, ps.URL+"/user/alice/204")
		if resp.StatusCode != 204 || body != "" {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
	})
	t.Run("streamed response arrives while it is written", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", ps.URL+"/user/alice/stream", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		line, err := br.ReadString('\n')
		if err != nil || line != "data: first\n" {
			t.Fatalf("first event: %q, %v", line, err)
		}
		close(release) // the backend finishes only now
		rest, _ := io.ReadAll(br)
		if string(rest) != "\ndata: second\n\n" {
			t.Fatalf("rest: %q", rest)
		}
	})
}

// A target that breaks off mid-body: the client must not take the
// truncated response as complete.
func TestForwardTruncatedBody(t *testing.T) { bothFronts(t, testForwardTruncatedBody) }

func testForwardTruncatedBody(t *testing.T, front string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = http.ReadRequest(bufio.NewReader(c))
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			}()
		}
	}()
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/alice/", "http://"+ln.Addr().String())
	resp, err := newClient(t).Get(ps.URL + "/user/alice/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("truncated chunked response read without error")
	}
}

// A server that sends a bad response or more than it announced cannot
// leak bytes into the next response on the client's connection.
func TestForwardBadResponses(t *testing.T) { bothFronts(t, testForwardBadResponses) }

func testForwardBadResponses(t *testing.T, front string) {
	for _, tc := range []struct {
		name, answer string
		status       int
	}{
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", 502},
		{"duplicate content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 502},
		{"extra bytes", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
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
							if _, err := http.ReadRequest(br); err != nil {
								return
							}
							_, _ = io.WriteString(c, tc.answer)
						}
					}()
				}
			}()
			p, ps := startProxy(t, front, Options{})
			mustSet(t, p, "/user/mallory/", "http://"+ln.Addr().String())
			mustSet(t, p, "/user/alice/", echoBackend(t).URL)
			// Two requests on one client connection: mallory's, then alice's.
			c, err := net.Dial("tcp", ps.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			_, _ = io.WriteString(c, "GET /user/mallory/ HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tc.status, b)
			}
			if tc.status == 200 && string(b) != "ok" {
				t.Fatalf("body %q", b)
			}
			_, _ = io.WriteString(c, "GET /user/alice/ HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err = http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			if s := decodeSeen(t, string(b)); s.URI != "/user/alice/" {
				t.Fatalf("second response is not alice's: %q", b)
			}
		})
	}
}

// Ambiguous paths are answered 400 and never reach any server.
func TestForwardRefusesAmbiguousPaths(t *testing.T) { bothFronts(t, testForwardRefusesAmbiguousPaths) }

func testForwardRefusesAmbiguousPaths(t *testing.T, front string) {
	var hits atomic.Int32
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "server "+r.RequestURI)
	}))
	t.Cleanup(be.Close)
	var fallbackHits atomic.Int32
	p, ps := startProxy(t, front, Options{Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fallbackHits.Add(1)
		_, _ = io.WriteString(w, "hub")
	})})
	mustSet(t, p, "/user/alice/", be.URL)
	mustSet(t, p, "/user/alice/lab/", be.URL)
	mustSet(t, p, "/user/bob/", be.URL)
	for _, uri := range []string{
		"/user/alice/../bob/",
		"/user/alice/%2e%2e/bob/",
		"/user/alice/.%2E/bob/",
		`/user/alice\..\bob/`,
		"/user/alice%2F..%2Fbob/",
		"/user/alice%2fbob/",
		"/user/alice%5Cbob/",
		"/user//bob/",
		"//user/bob/",
		"/user/alice//lab/",
		"/user/alice/lab%2F..%2F..%2Fbob/",
	} {
		t.Run(uri, func(t *testing.T) {
			resp, body := rawRequest(t, ps.Addr, "GET "+uri+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if resp.StatusCode != 400 {
				t.Fatalf("status %d: %q", resp.StatusCode, body)
			}
		})
	}
	if hits.Load() != 0 || fallbackHits.Load() != 0 {
		t.Fatalf("%d requests reached a server, %d the hub", hits.Load(), fallbackHits.Load())
	}
}

func TestRoutesAtRuntime(t *testing.T) { bothFronts(t, testRoutesAtRuntime) }

func testRoutesAtRuntime(t *testing.T, front string) {
	be1, be2 := echoBackend(t), httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "two")
	}))
	t.Cleanup(be2.Close)
	p, ps := startProxy(t, front, Options{Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hub "+r.URL.Path)
	})})
	client := newClient(t)
	if _, body := get(t, client, ps.URL+"/user/alice/x"); body != "hub /user/alice/x" {
		t.Fatalf("before Set: %q", body)
	}
	mustSet(t, p, "/user/alice/", be1.URL)
	if _, body := get(t, client, ps.URL+"/user/alice/x"); decodeSeen(t, body).URI != "/user/alice/x" {
		t.Fatalf("after Set: %q", body)
	}
	mustSet(t, p, "/user/alice/", be2.URL)
	if _, body := get(t, client, ps.URL+"/user/alice/x"); body != "two" {
		t.Fatalf("after a new target: %q", body)
	}
	p.Routes().Delete("/user/alice/")
	if _, body := get(t, client, ps.URL+"/user/alice/x"); body != "hub /user/alice/x" {
		t.Fatalf("after Delete: %q", body)
	}
	// A default route in the table takes precedence over Fallback.
	mustSet(t, p, "/", be2.URL)
	if _, body := get(t, client, ps.URL+"/hub/home"); body != "two" {
		t.Fatalf("default route: %q", body)
	}
}

// fakeClock is an injected clock for activity times.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time       { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Set(t time.Time)      { c.ns.Store(t.UnixNano()) }
func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.Set(t); return c }

func TestActivity(t *testing.T) { bothFronts(t, testActivity) }

func testActivity(t *testing.T, front string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/user/alice/ok", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/user/alice/missing", http.NotFound)
	mux.HandleFunc("/user/alice/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/user/alice/ok", http.StatusFound)
	})
	be := httptest.NewServer(mux)
	t.Cleanup(be.Close)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := newFakeClock(t0)
	p, ps := startProxy(t, front, Options{Now: clock.Now})
	mustSet(t, p, "/user/alice/", be.URL)
	mustSet(t, p, "/user/bob/", be.URL)
	client := newClient(t)
	last := func(prefix string) time.Time {
		r, ok := p.Routes().Get(prefix)
		if !ok {
			t.Fatalf("no route %s", prefix)
		}
		return r.LastActivity
	}
	if !last("/user/alice/").IsZero() {
		t.Fatal("activity before any request")
	}
	get(t, client, ps.URL+"/user/alice/ok")
	if got := last("/user/alice/"); !got.Equal(t0) {
		t.Fatalf("after a 200: %v, want %v", got, t0)
	}
	if !last("/user/bob/").IsZero() {
		t.Fatal("activity recorded on the wrong route")
	}
	// Errors and redirects are not activity (as in CHP).
	clock.Set(t0.Add(time.Hour))
	get(t, client, ps.URL+"/user/alice/missing")
	get(t, client, ps.URL+"/user/alice/redirect")
	if got := last("/user/alice/"); !got.Equal(t0) {
		t.Fatalf("after a 404 and a 302: %v, want %v", got, t0)
	}
	get(t, client, ps.URL+"/user/alice/ok")
	if got := last("/user/alice/"); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after a later 200: %v", got)
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUnavailable(t *testing.T) { bothFronts(t, testUnavailable) }

func testUnavailable(t *testing.T, front string) {
	var got []error
	var mu sync.Mutex
	record := func(w http.ResponseWriter, r *http.Request, err error) {
		mu.Lock()
		got = append(got, err)
		mu.Unlock()
		DefaultErrorHandler(w, r, err)
	}
	p, ps := startProxy(t, front, Options{ErrorHandler: record})
	mustSet(t, p, "/user/alice/", "http://"+closedAddr(t))
	client := newClient(t)

	resp, body := get(t, client, ps.URL+"/user/alice/lab")
	if resp.StatusCode != 503 || !strings.Contains(body, "/user/alice/") || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("dead server: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, client, ps.URL+"/user/nobody/")
	if resp.StatusCode != 503 {
		t.Fatalf("no route: %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	var pe *Error
	if len(got) != 2 || !errors.Is(got[0], ErrUnavailable) || !errors.As(got[0], &pe) || pe.Prefix != "/user/alice/" ||
		!errors.Is(got[1], ErrNoRoute) {
		t.Fatalf("errors: %v", got)
	}
}

func TestSpawnRedirect(t *testing.T) { bothFronts(t, testSpawnRedirect) }

func testSpawnRedirect(t *testing.T, front string) {
	p, ps := startProxy(t, front, Options{ErrorHandler: SpawnRedirect("/hub/")})
	mustSet(t, p, "/user/alice/", "http://"+closedAddr(t))
	client := newClient(t)
	for _, tc := range []struct {
		method, path string
		status       int
		location     string
	}{
		{"GET", "/user/alice/lab/tree?x=1", 302, "/hub/user/alice/lab/tree?x=1"},
		{"GET", "/user/carol/", 302, "/hub/user/carol/"},
		{"HEAD", "/user/alice/", 302, "/hub/user/alice/"},
		{"POST", "/user/alice/api/kernels", 503, ""},
		{"GET", "/hub/", 503, ""},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tc.method, ps.URL+tc.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.location)
		}
	}
}

// A hung server holds only its own requests: others go through while it
// hangs, and its own get a 504 after ResponseHeaderTimeout.
func TestSlowServerDoesNotBlockOthers(t *testing.T) { bothFronts(t, testSlowServerDoesNotBlockOthers) }

func testSlowServerDoesNotBlockOthers(t *testing.T, front string) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); slow.Close() })
	fast := echoBackend(t)
	p, ps := startProxy(t, front, Options{ResponseHeaderTimeout: 300 * time.Millisecond})
	mustSet(t, p, "/user/slow/", slow.URL)
	mustSet(t, p, "/user/fast/", fast.URL)
	client := newClient(t)

	// Fill the slow server with requests first.
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for range 8 {
		wg.Go(func() {
			resp, err := client.Get(ps.URL + "/user/slow/")
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	for i := range 20 {
		if resp, body := get(t, client, ps.URL+fmt.Sprintf("/user/fast/%d", i)); resp.StatusCode != 200 {
			t.Fatalf("fast server: %d %q", resp.StatusCode, body)
		}
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusGatewayTimeout {
			t.Errorf("slow server: status %d, want 504", s)
		}
	}
}

// A client that goes away while its server is slow releases the exchange:
// the proxy hangs up on the server.
func TestClientCancelAbortsExchange(t *testing.T) { bothFronts(t, testClientCancelAbortsExchange) }

func testClientCancelAbortsExchange(t *testing.T, front string) {
	arrived, gone := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done() // the proxy closed the connection
		close(gone)
	}))
	t.Cleanup(slow.Close)
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/slow/", slow.URL)
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", ps.URL+"/user/slow/", nil)
	client := newClient(t)
	errc := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-arrived
	cancel()
	<-errc
	select {
	case <-gone:
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy kept the exchange with the server open after the client left")
	}
}

// A pooled connection that the server closed while idle is replaced
// transparently for a request without a body.
func TestStaleIdleConnectionRetried(t *testing.T) { bothFronts(t, testStaleIdleConnectionRetried) }

func testStaleIdleConnectionRetried(t *testing.T, front string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				// One request per connection, then close without
				// saying so (as a server whose idle timeout fired).
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/alice/", "http://"+ln.Addr().String())
	client := newClient(t)
	for i := range 3 {
		if resp, body := get(t, client, ps.URL+"/user/alice/"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if conns.Load() < 3 {
		t.Fatalf("%d connections for 3 requests", conns.Load())
	}
}

// Many clients, many routes, routes changing underneath: run with -race.
func TestConcurrentTrafficAndRouteUpdates(t *testing.T) {
	bothFronts(t, testConcurrentTrafficAndRouteUpdates)
}

func testConcurrentTrafficAndRouteUpdates(t *testing.T, front string) {
	be := echoBackend(t)
	p, ps := startProxy(t, front, Options{Fallback: http.NotFoundHandler()})
	const users = 20
	for u := range users {
		mustSet(t, p, fmt.Sprintf("/user/u%d/", u), be.URL)
	}
	client := newClient(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Go(func() {
		for i := range 300 {
			u := i % users
			prefix := fmt.Sprintf("/user/u%d/", u)
			if i%3 == 0 {
				p.Routes().Delete(prefix)
			} else {
				_ = p.Routes().Set(prefix, be.URL)
			}
			_ = p.Routes().Snapshot()
		}
	})
	for c := range 4 {
		wg.Go(func() {
			for i := range 50 {
				u := (c*7 + i) % users
				path := fmt.Sprintf("/user/u%d/x%d", u, i)
				resp, err := client.Get(ps.URL + path)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					if s := decodeSeen(t, string(b)); s.URI != path {
						errs <- fmt.Errorf("asked %s, server saw %s", path, s.URI)
					}
				case 404: // route deleted: the fallback
				default:
					errs <- fmt.Errorf("%s: status %d", path, resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRequestTargetForms(t *testing.T) { bothFronts(t, testRequestTargetForms) }

func testRequestTargetForms(t *testing.T, front string) {
	be := echoBackend(t)
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/alice/", be.URL)
	addr := ps.Addr
	// Absolute form: routed by its path, forwarded in origin form.
	resp, body := rawRequest(t, addr, "GET http://hub.example/user/alice/x?y=1 HTTP/1.1\r\nHost: hub.example\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 || decodeSeen(t, body).URI != "/user/alice/x?y=1" {
		t.Fatalf("absolute form: %d %q", resp.StatusCode, body)
	}
	// "*" (net/http's server answers OPTIONS * itself; a handler can
	// still be given one): nothing to route.
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("OPTIONS", "*", nil))
	if rec.Code != 400 {
		t.Fatalf("OPTIONS *: %d", rec.Code)
	}
	// A handler test without a server: httptest.NewRequest.
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/user/alice/rec?q", nil))
	if rec.Code != 200 || decodeSeen(t, rec.Body.String()).URI != "/user/alice/rec?q" {
		t.Fatalf("recorder: %d %q", rec.Code, rec.Body.String())
	}
}
