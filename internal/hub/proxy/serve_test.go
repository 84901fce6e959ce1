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
		if n := p.fastResponses.Load(); n != want {
			t.Fatalf("%d responses read by the fast path, want %d", n, want)
		}
	})
}

// TestParseResponseHead: which response heads the fast path reads itself;
// every other one goes to http.ReadResponse.
func TestParseResponseHead(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\n"
	for _, tc := range []struct {
		name, head string
		isHead     bool // the request was HEAD
		fast       bool
	}{
		{"plain", ok + "Content-Length: 12\r\nContent-Type: text/plain\r\n\r\n", false, true},
		{"no reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, true},
		{"empty reason", "HTTP/1.1 404 \r\nContent-Length: 3\r\n\r\n", false, true},
		{"204 without length", "HTTP/1.1 204 No Content\r\n\r\n", false, true},
		{"304 without length", "HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n", false, true},
		{"HEAD without length", ok + "Content-Type: text/html\r\n\r\n", true, true},
		{"close", ok + "Connection: close\r\nContent-Length: 1\r\n\r\n", false, true},
		{"hop headers", ok + "Keep-Alive: timeout=5\r\nUpgrade: h2c\r\nContent-Length: 1\r\n\r\n", false, true},
		{"no length", ok + "Content-Type: text/plain\r\n\r\n", false, false},
		{"chunked", ok + "Transfer-Encoding: chunked\r\n\r\n", false, false},
		{"chunked and length", ok + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", false, false},
		{"two lengths", ok + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", false, false},
		{"signed length", ok + "Content-Length: +5\r\n\r\n", false, false},
		{"huge length", ok + "Content-Length: 1234567890123456789012\r\n\r\n", false, false},
		{"100 Continue", "HTTP/1.1 100 Continue\r\n\r\n", false, false},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", false, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, false},
		{"status 600", "HTTP/1.1 600 X\r\nContent-Length: 1\r\n\r\n", false, false},
		{"status letters", "HTTP/1.1 2x0 OK\r\nContent-Length: 1\r\n\r\n", false, false},
		{"no space after status", "HTTP/1.1 200OK\r\nContent-Length: 1\r\n\r\n", false, false},
		{"Connection naming a header", ok + "Connection: X-Secret\r\nContent-Length: 1\r\n\r\n", false, false},
		{"folded line", ok + "X-A: 1\r\n 2\r\nContent-Length: 1\r\n\r\n", false, false},
		{"bare CR", ok + "X-A: 1\r2\r\nContent-Length: 1\r\n\r\n", false, false},
		{"NUL", ok + "X-A: 1\x002\r\nContent-Length: 1\r\n\r\n", false, false},
		{"non-ASCII value", ok + "Content-Disposition: attachment; filename=\xc3\xa9\r\nContent-Length: 1\r\n\r\n", false, false},
		{"space before colon", ok + "X-A : 1\r\nContent-Length: 1\r\n\r\n", false, false},
		{"too many lines", ok + strings.Repeat("X-A: 1\r\n", maxHeadLines+1) + "Content-Length: 1\r\n\r\n", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rr rawResponse
			if got := parseResponseHead([]byte(tc.head), &rr, tc.isHead); got != tc.fast {
				t.Fatalf("parseResponseHead(%q) = %v, want %v", tc.head, got, tc.fast)
			}
		})
	}
	var rr rawResponse
	if !parseResponseHead([]byte("HTTP/1.1 201 Created\r\nConnection: close\r\nDate: x\r\nKeep-Alive: 1\r\nContent-Length: 42\r\nX-A: b\r\n\r\n"), &rr, false) ||
		rr.status != 201 || rr.length != 42 || !rr.close || !rr.hasDate || rr.nlines != 2 ||
		string(rr.lines[0]) != "Date: x" || string(rr.lines[1]) != "X-A: b" {
		t.Fatalf("parsed: %+v", rr)
	}
}
