package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestParseHead: which request heads the fast path takes; every other
// one goes to net/http.
func TestParseHead(t *testing.T) {
	const base = "GET /user/alice/lab?x=1 HTTP/1.1\r\nHost: hub.example:8000\r\n"
	for _, tc := range []struct {
		name, head string
		fast       bool
	}{
		{"plain GET", base + "Accept: */*\r\n\r\n", true},
		{"HEAD", "HEAD /user/alice/ HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"Content-Length 0", base + "Content-Length: 0\r\n\r\n", true},
		{"keep-alive", base + "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n", true},
		{"close", base + "Connection: close\r\n\r\n", true},
		{"one X-Forwarded-For", base + "X-Forwarded-For: 10.0.0.1\r\n\r\n", true},
		{"POST", "POST /user/alice/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", false},
		{"body", base + "Content-Length: 5\r\n\r\n", false},
		{"two Content-Length", base + "Content-Length: 0\r\nContent-Length: 0\r\n\r\n", true},
		{"Content-Length +0", base + "Content-Length: +0\r\n\r\n", false},
		{"chunked", base + "Transfer-Encoding: chunked\r\n\r\n", false},
		{"no Host", "GET /user/alice/ HTTP/1.1\r\nAccept: */*\r\n\r\n", false},
		{"two Host", base + "Host: evil\r\n\r\n", false},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", false},
		{"folded line", base + "X-A: 1\r\n continued\r\n\r\n", false},
		{"space before colon", base + "X-A : 1\r\n\r\n", false},
		{"bare LF in value", base + "X-A: 1\n2\r\n\r\n", false},
		{"bare CR in value", base + "X-A: 1\r2\r\n\r\n", false},
		{"NUL in value", base + "X-A: 1\x002\r\n\r\n", false},
		{"non-ASCII value", base + "X-A: \xc3\xa9\r\n\r\n", false},
		{"non-ASCII target", "GET /user/J\xc3\xb6rg/ HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"HTTP/1.0", "GET /user/alice/ HTTP/1.0\r\nHost: x\r\n\r\n", false},
		{"absolute form", "GET http://x/user/alice/ HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"lower-case method", "get /user/alice/ HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"websocket", base + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false},
		{"Connection naming a header", base + "Connection: X-Secret\r\n\r\n", false},
		{"Expect", base + "Expect: 100-continue\r\n\r\n", false},
		{"TE", base + "TE: trailers\r\n\r\n", false},
		{"two Cookie lines", base + "Cookie: a=1\r\nCookie: b=2\r\n\r\n", false},
		{"two X-Forwarded-For", base + "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n\r\n", false},
		{"too many lines", base + strings.Repeat("X-A: 1\r\n", maxHeadLines+1) + "\r\n", false},
		{"empty name", base + ": 1\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h rawHead
			if got := parseHead([]byte(tc.head), &h); got != tc.fast {
				t.Fatalf("parseHead(%q) = %v, want %v", tc.head, got, tc.fast)
			}
		})
	}
	var h rawHead
	if !parseHead([]byte(base+"Connection: close\r\nX-Forwarded-For: 10.0.0.1\r\nCookie: a=1\r\n\r\n"), &h) ||
		!h.close || string(h.host) != "hub.example:8000" || string(h.path()) != "/user/alice/lab" ||
		string(h.xff) != "10.0.0.1" || h.nlines != 1 {
		t.Fatalf("parsed: %+v", h)
	}
}

// Requests on one connection move from the fast path to net/http at the
// first one the fast path does not take, with the pipelined bytes intact.
func TestServeHandoffMidConnection(t *testing.T) {
	be := echoBackend(t)
	p, ps := startProxy(t, "serve", Options{})
	mustSet(t, p, "/user/alice/", be.URL)
	mustSet(t, p, "/user/bob/", be.URL)
	c, err := net.Dial("tcp", ps.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// All four at once: pipelined.
	_, _ = io.WriteString(c, "GET /user/alice/1 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /user/bob/2 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /user/alice/3 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"+
		"GET /user/bob/4 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []struct{ method, uri, body string }{
		{"GET", "/user/alice/1", ""}, {"GET", "/user/bob/2", ""}, {"POST", "/user/alice/3", "body"}, {"GET", "/user/bob/4", ""},
	} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		s := decodeSeen(t, string(b))
		if s.Method != want.method || s.URI != want.uri || s.Body != want.body {
			t.Fatalf("got %s %s %q, want %+v", s.Method, s.URI, s.Body, want)
		}
	}
	if n := p.fastRequests.Load(); n != 2 {
		t.Fatalf("%d requests on the fast path, want 2", n)
	}
}

// The fast path is really taken by the end-to-end tests on the serve
// front, and never on the handler front.
func TestFastPathCounts(t *testing.T) {
	bothFronts(t, func(t *testing.T, front string) {
		be := echoBackend(t)
		p, ps := startProxy(t, front, Options{})
		mustSet(t, p, "/user/alice/", be.URL)
		client := newClient(t)
		for range 5 {
			if resp, _ := get(t, client, ps.URL+"/user/alice/x"); resp.StatusCode != 200 {
				t.Fatal(resp.Status)
			}
		}
		want := int64(5)
		if front == "handler" {
			want = 0
		}
		if n := p.fastRequests.Load(); n != want {
			t.Fatalf("%d requests on the fast path, want %d", n, want)
		}
	})
}
