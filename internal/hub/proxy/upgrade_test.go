package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

func (p *Proxy) openTunnels() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tunnels)
}

// waitFor polls cond until it holds; it fails the test after a long
// bound, which only a broken proxy reaches.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// wsEcho is a websocket echo server (golang.org/x/net/websocket) that
// reports the handshake request it saw.
func wsEcho(t *testing.T) (*httptest.Server, chan *http.Request) {
	t.Helper()
	reqs := make(chan *http.Request, 16)
	srv := httptest.NewServer(websocket.Handler(func(ws *websocket.Conn) {
		reqs <- ws.Request()
		for {
			var msg []byte
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				return
			}
			if err := websocket.Message.Send(ws, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

func TestWebsocketThroughProxy(t *testing.T) { bothFronts(t, testWebsocketThroughProxy) }

func testWebsocketThroughProxy(t *testing.T, front string) {
	be, reqs := wsEcho(t)
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := newFakeClock(t0)
	p, ps := startProxy(t, front, Options{Now: clock.Now})
	mustSet(t, p, "/user/alice/", be.URL)
	mustSet(t, p, "/user/bob/", be.URL)
	host := ps.Addr

	ws, err := websocket.Dial("ws://"+host+"/user/alice/api/kernels/k1/channels?session_id=s", "", "http://"+host)
	if err != nil {
		t.Fatal(err)
	}
	r := <-reqs
	if r.RequestURI != "/user/alice/api/kernels/k1/channels?session_id=s" || r.Host != host ||
		r.Header.Get("X-Forwarded-Proto") != "ws" || r.Header.Get("X-Forwarded-For") != "127.0.0.1" {
		t.Fatalf("handshake seen by the server: %s Host=%s %v", r.RequestURI, r.Host, r.Header)
	}
	for i, size := range []int{1, 125, 126, 65535, 65536, 300_000} {
		clock.Set(t0.Add(time.Duration(i+1) * time.Second))
		msg := bytes.Repeat([]byte{byte('a' + i)}, size)
		if err := websocket.Message.Send(ws, msg); err != nil {
			t.Fatal(err)
		}
		var got []byte
		if err := websocket.Message.Receive(ws, &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("message %d: got %d bytes, want %d", i, len(got), size)
		}
	}
	if r, _ := p.Routes().Get("/user/alice/"); !r.LastActivity.Equal(t0.Add(6 * time.Second)) {
		t.Fatalf("activity %v, want %v", r.LastActivity, t0.Add(6*time.Second))
	}
	if r, _ := p.Routes().Get("/user/bob/"); !r.LastActivity.IsZero() {
		t.Fatal("activity on the wrong route")
	}
	if p.openTunnels() != 1 {
		t.Fatalf("%d open tunnels", p.openTunnels())
	}
	ws.Close()
	waitFor(t, "the tunnel to close", func() bool { return p.openTunnels() == 0 })
}

func TestUpgradeDeclinedOrUnavailable(t *testing.T) { bothFronts(t, testUpgradeDeclinedOrUnavailable) }

func testUpgradeDeclinedOrUnavailable(t *testing.T, front string) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad origin", http.StatusForbidden)
	}))
	t.Cleanup(be.Close)
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/alice/", be.URL)
	mustSet(t, p, "/user/dead/", "http://"+closedAddr(t))
	addr := ps.Addr
	handshake := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	}
	resp, body := rawRequest(t, addr, handshake("/user/alice/ws"))
	if resp.StatusCode != 403 || !strings.Contains(body, "bad origin") {
		t.Fatalf("declined: %d %q", resp.StatusCode, body)
	}
	resp, _ = rawRequest(t, addr, handshake("/user/dead/ws"))
	if resp.StatusCode != 503 {
		t.Fatalf("dead server: %d", resp.StatusCode)
	}
	resp, _ = rawRequest(t, addr, handshake("/user/alice/%2e%2e/dead/ws"))
	if resp.StatusCode != 400 {
		t.Fatalf("ambiguous: %d", resp.StatusCode)
	}
	if p.openTunnels() != 0 {
		t.Fatal("tunnel left open")
	}
}

// halfCloseServer speaks a made-up upgraded protocol: it answers 101 with
// a greeting in the same write, echoes until the client closes its half,
// then sends "bye" and closes.
func halfCloseServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo-test" {
			http.Error(w, "want Upgrade: echo-test", 400)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo-test\r\n\r\nwelcome;")
		_, _ = io.Copy(c, brw.Reader) // echo until EOF
		_, _ = io.WriteString(c, "bye")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestUpgradeGenericHalfClose(t *testing.T) { bothFronts(t, testUpgradeGenericHalfClose) }

func testUpgradeGenericHalfClose(t *testing.T, front string) {
	be := halfCloseServer(t)
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/alice/", be.URL)
	c, err := net.Dial("tcp", ps.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The first bytes of the new protocol travel with the handshake.
	_, _ = io.WriteString(c, "GET /user/alice/echo HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: echo-test\r\n\r\nearly;")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "echo-test" {
		t.Fatalf("handshake answer: %d %v", resp.StatusCode, resp.Header)
	}
	_, _ = io.WriteString(c, "hello;")
	want := "welcome;early;hello;"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
		t.Fatalf("read %q, %v; want %q", got, err, want)
	}
	// Close our half: the server sees EOF, says bye and closes; we get
	// the bye and then EOF.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "bye" {
		t.Fatalf("after half-close: %q, %v", rest, err)
	}
	waitFor(t, "the tunnel to close", func() bool { return p.openTunnels() == 0 })
}

func TestCloseEndsTunnels(t *testing.T) { bothFronts(t, testCloseEndsTunnels) }

func testCloseEndsTunnels(t *testing.T, front string) {
	be, _ := wsEcho(t)
	p, ps := startProxy(t, front, Options{})
	mustSet(t, p, "/user/alice/", be.URL)
	host := ps.Addr
	ws, err := websocket.Dial("ws://"+host+"/user/alice/ws", "", "http://"+host)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := websocket.Message.Send(ws, "ping"); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := websocket.Message.Receive(ws, &s); err != nil || s != "ping" {
		t.Fatalf("echo: %q %v", s, err)
	}
	p.Close()
	if err := websocket.Message.Receive(ws, &s); err == nil {
		t.Fatal("websocket still open after Proxy.Close")
	}
	waitFor(t, "the tunnel to close", func() bool { return p.openTunnels() == 0 })
}
