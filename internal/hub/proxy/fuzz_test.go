package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// fuzzRoutes is the table of the fuzz targets: the hub, users with and
// without named servers, escaped names.
var fuzzRoutes = []string{
	"/", "/user/alice/", "/user/alice/lab/", "/user/bob/", "/user/J%C3%B6rg/", "/user/a%20b/",
	"/user/a%2Bb/", "/services/culler/", "/user/dots.in.name/", "/user/%7E/",
}

// segments splits a path (without its query) into percent-decoded
// segments; false when an escape is malformed.
func segments(path string) ([]string, bool) {
	var out []string
	for _, raw := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		s, err := url.PathUnescape(raw)
		if err != nil {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func routeSegments(prefix string) []string {
	s, _ := segments(strings.TrimSuffix(prefix, "/"))
	if len(s) == 1 && s[0] == "" {
		return nil
	}
	return s
}

func hasSegments(path, prefix []string) bool {
	if len(prefix) > len(path) {
		return false
	}
	for i := range prefix {
		if path[i] != prefix[i] {
			return false
		}
	}
	return true
}

// FuzzLookup checks route matching against a plain model of it: a path
// the table routes has well-formed escapes and no dot segment or
// backslash, and its decoded segments begin with those of the route it
// reaches — also when a server merges empty segments — and with no longer
// route's.
func FuzzLookup(f *testing.F) {
	for _, seed := range []string{
		"/", "/user/alice/", "/user/alice", "/user/alice/lab/tree", "/user/%62ob/x", "/user/J%c3%b6rg/",
		"/user/Jörg/", "/user/alice/../bob/", "/user/alice/%2e%2E/bob/", "/user/alice%2Fbob/", "/user//bob/",
		`/user/alice\..\bob/`, "/user/bob//tree", "/hub//api", "/user/alice/..%2F..%2Fuser/bob/", "/user/a+b/",
		"/user/a%2bb/", "/user/%7e/", "/user/~/", "/user/alice/lab?x=1", "/user/%zz/", "//user/bob/", "/user/bob%00/",
	} {
		f.Add(seed)
	}
	tb := NewTable()
	for i, p := range fuzzRoutes {
		if err := tb.Set(p, "http://127.0.0.1:"+string(rune('1'+i%9))+"000"); err != nil {
			f.Fatalf("Set(%q): %v", p, err)
		}
	}
	f.Fuzz(func(t *testing.T, path string) {
		r, err := tb.Lookup(path)
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if err != nil {
			if !errors.Is(err, ErrNoRoute) && !errors.Is(err, ErrAmbiguousPath) && !errors.Is(err, ErrBadPath) {
				t.Fatalf("Lookup(%q): unexpected error %v", path, err)
			}
			return
		}
		segs, ok := segments(path)
		if !ok || !strings.HasPrefix(path, "/") {
			t.Fatalf("Lookup(%q) = %s for a malformed path", path, r.Prefix)
		}
		if strings.Contains(path, `\`) {
			t.Fatalf("Lookup(%q) = %s for a path with a backslash", path, r.Prefix)
		}
		for _, s := range segs {
			if s == "." || s == ".." {
				t.Fatalf("Lookup(%q) = %s for a path with a dot segment", path, r.Prefix)
			}
		}
		want := routeSegments(r.Prefix)
		if !hasSegments(segs, want) {
			t.Fatalf("Lookup(%q) = %s: the path's segments %q do not begin with the route's %q", path, r.Prefix, segs, want)
		}
		var merged []string
		for _, s := range segs {
			if s != "" {
				merged = append(merged, s)
			}
		}
		if !hasSegments(merged, want) {
			t.Fatalf("Lookup(%q) = %s, but with empty segments merged the path is %q", path, r.Prefix, merged)
		}
		for _, p := range fuzzRoutes {
			if other := routeSegments(p); len(other) > len(want) && hasSegments(segs, other) {
				t.Fatalf("Lookup(%q) = %s, but the longer route %s matches", path, r.Prefix, p)
			}
		}
	})
}

// FuzzParseHead compares the fast path's reading of a request head with
// net/http's: a head the fast path takes (and whose path it would route)
// is one net/http's server accepts too, with the same method, target,
// host and connection handling, no body, and the same length.
func FuzzParseHead(f *testing.F) {
	for _, seed := range []string{
		"GET /user/alice/lab?x=1 HTTP/1.1\r\nHost: hub.example:8000\r\nAccept: */*\r\n\r\n",
		"HEAD /user/alice/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close, keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n continued\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nhost: x\r\nHOST: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 00\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if i := bytes.Index(data, crlfcrlf); i >= 0 {
			data = data[:i+4]
		} else {
			data = append(data, crlfcrlf...)
		}
		if len(data) > maxHeadSize || bytes.Index(data, crlf) < 0 {
			return
		}
		var h rawHead
		if !parseHead(data, &h) || checkPath(string(h.path())) != nil {
			return // net/http decides
		}
		br := bufio.NewReader(bytes.NewReader(data))
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("the fast path takes %q, net/http refuses it: %v", data, err)
		}
		if req.Method != string(h.method) || req.RequestURI != string(h.target) || req.Host != string(h.host) {
			t.Fatalf("%q: fast path %s %s host %q, net/http %s %s host %q", data, h.method, h.target, h.host, req.Method, req.RequestURI, req.Host)
		}
		if req.Close != h.close {
			t.Fatalf("%q: fast path close=%v, net/http %v", data, h.close, req.Close)
		}
		if req.ContentLength != 0 || len(req.TransferEncoding) != 0 {
			t.Fatalf("%q: the fast path took a request with a body (length %d, %v)", data, req.ContentLength, req.TransferEncoding)
		}
		if n, _ := io.Copy(io.Discard, req.Body); n != 0 || br.Buffered() != 0 {
			t.Fatalf("%q: net/http reads a head of another length", data)
		}
		// What net/http's server checks after reading a request.
		if !httpguts.ValidHostHeader(req.Host) {
			t.Fatalf("%q: the fast path took Host %q, which net/http's server refuses", data, req.Host)
		}
		for k, vv := range req.Header {
			if !httpguts.ValidHeaderFieldName(k) {
				t.Fatalf("%q: header name %q", data, k)
			}
			for _, v := range vv {
				if !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("%q: header value %q", data, v)
				}
			}
		}
	})
}

// FuzzParseResponseHead compares the fast path's reading of a response
// head with http.ReadResponse's: a head the fast path takes is one
// net/http reads too, with the same status, length and connection
// handling, and every header line the fast path forwards is one net/http
// sees, with a valid name and value.
func FuzzParseResponseHead(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200\r\nConnection: close, keep-alive\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n",
		"HTTP/1.1 200 OK\r\ncontent-length: 1\r\nCONTENT-LENGTH: 1\r\n\r\n",
	} {
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		if i := bytes.Index(data, crlfcrlf); i >= 0 {
			data = data[:i+4]
		} else {
			data = append(data, crlfcrlf...)
		}
		if len(data) > connBufSize || bytes.Index(data, crlf) < 0 {
			return
		}
		var rr rawResponse
		if !parseResponseHead(data, &rr, head) {
			return // http.ReadResponse decides
		}
		req := &http.Request{Method: http.MethodGet}
		if head {
			req.Method = http.MethodHead
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), req)
		if err != nil {
			t.Fatalf("the fast path takes %q, net/http refuses it: %v", data, err)
		}
		if resp.StatusCode != rr.status {
			t.Fatalf("%q: status %d, net/http %d", data, rr.status, resp.StatusCode)
		}
		if resp.Close != rr.close {
			t.Fatalf("%q: close=%v, net/http %v", data, rr.close, resp.Close)
		}
		if len(resp.TransferEncoding) != 0 {
			t.Fatalf("%q: the fast path took a response with Transfer-Encoding %v", data, resp.TransferEncoding)
		}
		if rr.bodyAllowed() && !head && resp.ContentLength != rr.length {
			t.Fatalf("%q: length %d, net/http %d", data, rr.length, resp.ContentLength)
		}
		if err := checkResponseHeader(resp.Header); err != nil {
			t.Fatalf("%q: the fast path took a header net/http's path refuses: %v", data, err)
		}
		for _, l := range rr.lines[:rr.nlines] {
			name, value, _ := bytes.Cut(l, []byte(":"))
			k := http.CanonicalHeaderKey(string(name))
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(string(value)) {
				t.Fatalf("%q: forwards header line %q", data, l)
			}
			if !slices.Contains(resp.Header[k], strings.Trim(string(value), " \t")) {
				t.Fatalf("%q: forwards %q, which net/http does not see (%v)", data, l, resp.Header[k])
			}
		}
	})
}
