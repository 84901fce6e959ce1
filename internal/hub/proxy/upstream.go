package proxy

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// This file is the client side of the proxy: a small HTTP/1.1 client that
// keeps idle connections per target address and does all I/O of one
// request on the handler's goroutine. net/http's Transport hands every
// request to two goroutines per connection (a reader and a writer) and
// back; doing the write and the read in place is most of what makes this
// proxy faster than httputil.ReverseProxy. Responses are parsed by
// net/http (http.ReadResponse), or on Serve's fast path by a strict parser
// of the proxy's own (response.go): the proxy never writes a response it
// did not parse, so a server cannot desynchronise a client connection
// that other users' responses travel on.

// connPool holds the idle connections to one target address. Safe for
// concurrent use.
type connPool struct {
	addr string
	refs int // routes using this pool; guarded by the owning Table's mu

	mu     sync.Mutex
	idle   []*upConn // the most recently used last
	closed bool      // no route uses the pool any more
}

// upConn is one connection to a target with its buffers. Reads and
// writes go through Read and Write below, which watch the request's
// context while they wait.
type upConn struct {
	nc     net.Conn
	br     *bufio.Reader // reads through the upConn
	bw     *bufio.Writer // writes through the upConn
	idleAt time.Time
	rdl    time.Time // the read deadline last set on nc (zero: none)

	// Set for the duration of one exchange; zero while idle or tunnelling.
	ctx         watcher       // the client's side: the exchange ends when its Err is not nil
	readLimit   time.Time     // when a read gives up (the response header timeout); zero: never
	stallLimit  time.Duration // with guardWrites: how long a write may make no progress
	guardWrites bool          // writes may block (a request body): watch them too
}

const connBufSize = 4 << 10

// pollInterval is how often a blocked read or write checks whether the
// client is still there. Instead of a goroutine or context.AfterFunc per
// request, each read sets a read deadline at most this far away and, when
// it passes, looks at the request's context and waits again; a client
// that leaves frees its exchange with the server within this time.
const pollInterval = time.Second

// watcher tells whether the client of an exchange is still there: a
// request's context.Context, or the fast path's client connection.
type watcher interface{ Err() error }

func newUpConn(nc net.Conn) *upConn {
	c := &upConn{nc: nc}
	c.br = bufio.NewReaderSize(c, connBufSize)
	c.bw = bufio.NewWriterSize(c, connBufSize)
	return c
}

// Read reads from the connection; during an exchange it gives up when the
// request's context ends or readLimit passes, whichever comes first.
func (c *upConn) Read(p []byte) (int, error) {
	if c.ctx == nil {
		return c.nc.Read(p)
	}
	for {
		now := time.Now()
		d := now.Add(pollInterval)
		if !c.readLimit.IsZero() && c.readLimit.Before(d) {
			d = c.readLimit
		}
		// The deadline set by an earlier read stays while it is at least
		// half a poll interval away and not later than d: one timer
		// change per half second on a busy connection, not one per read.
		if c.rdl.IsZero() || c.rdl.After(d) || c.rdl.Sub(now) < pollInterval/2 {
			c.rdl = d
			_ = c.nc.SetReadDeadline(d)
		}
		n, err := c.nc.Read(p)
		if n > 0 || err == nil || !isTimeout(err) {
			return n, err
		}
		if cerr := c.ctx.Err(); cerr != nil {
			return 0, cerr
		}
		if !c.readLimit.IsZero() && !time.Now().Before(c.readLimit) {
			return 0, err
		}
	}
}

// Write writes to the connection. With guardWrites, a write that makes no
// progress for stallLimit, or outlives the request's context, fails.
func (c *upConn) Write(p []byte) (n int, err error) {
	if !c.guardWrites {
		return c.nc.Write(p)
	}
	last := time.Now()
	for {
		_ = c.nc.SetWriteDeadline(time.Now().Add(pollInterval))
		m, err := c.nc.Write(p[n:])
		n += m
		if err == nil || !isTimeout(err) {
			return n, err
		}
		if cerr := c.ctx.Err(); cerr != nil {
			return n, cerr
		}
		now := time.Now()
		if m > 0 {
			last = now
		} else if now.Sub(last) >= c.stallLimit {
			return n, err
		}
	}
}

// endExchange detaches the connection from its request.
func (c *upConn) endExchange() {
	c.ctx = nil
	c.readLimit = time.Time{}
	if c.guardWrites {
		c.guardWrites = false
		_ = c.nc.SetWriteDeadline(time.Time{})
	}
}

// get takes the most recently used idle connection that has been idle for
// less than maxIdle, closing the ones that are older; nil if none.
func (p *connPool) get(now time.Time, maxIdle time.Duration) *upConn {
	p.mu.Lock()
	n := len(p.idle)
	if n == 0 {
		p.mu.Unlock()
		return nil
	}
	c := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	if now.Sub(c.idleAt) < maxIdle {
		p.mu.Unlock()
		return c
	}
	// The newest is too old, so are all others.
	stale := p.idle
	p.idle = nil
	p.mu.Unlock()
	c.nc.Close()
	for _, s := range stale {
		s.nc.Close()
	}
	return nil
}

// put returns a connection that is ready for the next request, or closes
// it when the pool is closed or holds max connections already. The oldest
// idle connection is closed when it has been idle for maxIdle.
func (p *connPool) put(c *upConn, now time.Time, max int, maxIdle time.Duration) {
	c.idleAt = now
	var drop *upConn
	p.mu.Lock()
	if p.closed || len(p.idle) >= max {
		p.mu.Unlock()
		c.nc.Close()
		return
	}
	if len(p.idle) > 0 && now.Sub(p.idle[0].idleAt) >= maxIdle {
		drop = p.idle[0]
		copy(p.idle, p.idle[1:])
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	if drop != nil {
		drop.nc.Close()
	}
}

// drain closes the idle connections; the pool stays usable.
func (p *connPool) drain() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

// close drains the pool and makes put close connections from now on.
func (p *connPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.drain()
}

// hopHeader reports whether a request header must not be forwarded as it
// is: the hop-by-hop headers of RFC 9110 section 7.6.1, the framing
// headers that the proxy writes itself, Expect (net/http answers
// "100-continue" to the client), and the X-Forwarded-* headers that the
// proxy extends. Keys are in canonical form, as net/http gives them.
func hopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Expect",
		"X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Forwarded-Host":
		return true
	}
	return false
}

// connectionTokens returns the header names listed in Connection headers,
// in canonical form; nil when there are none.
func connectionTokens(h http.Header) []string {
	var names []string
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				names = append(names, http.CanonicalHeaderKey(tok))
			}
		}
	}
	return names
}

// writeRequestHead writes the request line and header for r to bw. uri is
// the request target exactly as the client sent it. upgrade is the
// Upgrade header value for protocol upgrades, "" otherwise. The
// X-Forwarded-* headers are set as configurable-http-proxy sets them:
// For, Port and Proto appended (comma-separated) to what the client sent,
// Host kept if present, else the request's Host.
func writeRequestHead(bw *bufio.Writer, r *http.Request, uri, upgrade, fallbackHost string) {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	host := r.Host
	if host == "" {
		host = fallbackHost
	}
	bw.WriteString(host)
	bw.WriteString("\r\n")

	conn := connectionTokens(r.Header)
	for k, vv := range r.Header {
		if hopHeader(k) || (conn != nil && contains(conn, k)) {
			continue
		}
		if k == "Cookie" && len(vv) > 1 {
			// One line, as HTTP/2 to HTTP/1.1 gateways do (RFC 9113
			// 8.2.3): servers that join repeated headers with ","
			// would break the cookie list.
			writeHeaderLine(bw, k, strings.Join(vv, "; "))
			continue
		}
		for _, v := range vv {
			writeHeaderLine(bw, k, v)
		}
	}

	switch {
	case upgrade != "":
		bw.WriteString("Connection: Upgrade\r\n")
		writeHeaderLine(bw, "Upgrade", upgrade)
	case r.ContentLength > 0:
		bw.WriteString("Content-Length: ")
		var nb [20]byte
		bw.Write(appendInt(nb[:0], r.ContentLength))
		bw.WriteString("\r\n")
	case r.ContentLength < 0:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}

	// X-Forwarded-*, as configurable-http-proxy (http-proxy's xfwd) sets
	// them.
	clientIP := r.RemoteAddr
	if h, _, err := net.SplitHostPort(clientIP); err == nil {
		clientIP = h
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	if upgrade != "" {
		proto = "ws"
		if r.TLS != nil {
			proto = "wss"
		}
	}
	port := hostPort(r.Host)
	if port == "" {
		port = "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	writeAppended(bw, "X-Forwarded-For", r.Header["X-Forwarded-For"], clientIP)
	writeAppended(bw, "X-Forwarded-Port", r.Header["X-Forwarded-Port"], port)
	writeAppended(bw, "X-Forwarded-Proto", r.Header["X-Forwarded-Proto"], proto)
	if xh := r.Header["X-Forwarded-Host"]; len(xh) > 0 {
		writeHeaderLine(bw, "X-Forwarded-Host", strings.Join(xh, ", "))
	} else if r.Host != "" {
		writeHeaderLine(bw, "X-Forwarded-Host", r.Host)
	}
	bw.WriteString("\r\n")
}

func writeHeaderLine(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

func writeAppended(bw *bufio.Writer, k string, prev []string, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	for i, p := range prev {
		if i > 0 {
			bw.WriteString(", ")
		}
		bw.WriteString(p)
	}
	if len(prev) > 0 {
		bw.WriteByte(',')
	}
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// hostPort returns the port of a Host header value, "" if it has none.
func hostPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.IndexByte(host[i:], ']') >= 0 {
		return ""
	}
	return host[i+1:]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func appendInt(b []byte, n int64) []byte {
	if n == 0 {
		return append(b, '0')
	}
	var tmp [20]byte
	i := len(tmp)
	for n > 0 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[i:]...)
}

// removeResponseHopHeaders removes the hop-by-hop headers of a response
// (and those its Connection header names) before it is copied to the
// client; net/http frames the response to the client itself.
func removeResponseHopHeaders(h http.Header) {
	if _, ok := h["Connection"]; ok {
		for _, k := range connectionTokens(h) {
			if k != "Content-Length" {
				delete(h, k)
			}
		}
	}
	for k := range h {
		switch k {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
			"Te", "Trailer", "Transfer-Encoding", "Upgrade":
			delete(h, k)
		}
	}
}
