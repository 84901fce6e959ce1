package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// This file is Proxy.Serve: a front end of the proxy's own for plain
// HTTP/1.1 connections. The common request — a GET or HEAD without a
// body to a route, with ordinary headers — is forwarded without
// net/http's server (which costs a goroutine and a read per request to
// watch the client, a header map and a response writer). Everything
// else is handed, with the bytes already read, to an http.Server whose
// handler is the same Proxy, and that connection stays there: websockets,
// request bodies, the hub's own pages, errors, and any request whose head
// is not plainly well-formed. The fast path parses strictly and hands off
// whenever in doubt, so net/http remains the judge of every unusual
// request. Responses are parsed the same way (response.go): the common
// ones in place, the rest by http.ReadResponse; both are framed anew.

// ServeOptions configure Proxy.Serve. The zero value works.
type ServeOptions struct {
	// ClientIdleTimeout closes a client connection that sends no request
	// for this long. Default: 2m.
	ClientIdleTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request head on connections
	// served by net/http. Default: 30s.
	ReadHeaderTimeout time.Duration
	// ShutdownTimeout bounds how long Serve waits, once ctx ends, for
	// requests in progress. Default: 5s.
	ShutdownTimeout time.Duration
}

func (o ServeOptions) withDefaults() ServeOptions {
	if o.ClientIdleTimeout <= 0 {
		o.ClientIdleTimeout = 2 * time.Minute
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 30 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	return o
}

// Serve accepts plain-HTTP connections on ln and serves them with the
// proxy (see the file comment for the fast path) until ctx ends; then it
// stops accepting, closes idle connections, waits up to ShutdownTimeout
// for requests in progress, closes ln and returns nil. It returns the
// error when accepting fails for good. Upgraded (websocket) connections
// outlive Serve until Proxy.Close. For TLS or HTTP/2, serve the Proxy as
// an http.Handler with an http.Server instead.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener, o ServeOptions) error {
	o = o.withDefaults()
	hl := &handoffListener{addr: ln.Addr(), conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		IdleTimeout:       o.ClientIdleTimeout,
		ErrorLog:          slog.NewLogLogger(p.opts.Logger.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if hc, ok := c.(*handoffConn); ok && hc.failure != nil {
				return context.WithValue(ctx, handoffKey{}, hc.failure)
			}
			return ctx
		},
	}
	srvDone := make(chan struct{})
	go func() {
		defer close(srvDone)
		_ = srv.Serve(hl)
	}()
	fs := &fastServer{p: p, o: o, hl: hl, conns: make(map[*fastConn]struct{})}
	fs.reqHEAD.Method, fs.reqOther.Method = http.MethodHead, http.MethodGet

	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		ln.Close()
	}()
	var err error
	for {
		nc, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil && !errors.Is(aerr, net.ErrClosed) {
				var ne net.Error
				if errors.As(aerr, &ne) && ne.Timeout() {
					continue
				}
				err = aerr
			}
			break
		}
		fs.start(nc)
	}
	close(stopped)

	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	fs.shutdown(sctx)
	_ = srv.Shutdown(sctx)
	hl.Close()
	<-srvDone
	return err
}

// handoffKey marks the context of a connection handed over after the
// fast path already failed its first request; the value is a
// *handoffFailure.
type handoffKey struct{}

// handoffFailure is that failure, to be answered by the ErrorHandler
// instead of trying the server a second time.
type handoffFailure struct {
	entry *entry
	err   error
	used  atomic.Bool
}

// handoffListener feeds connections to the http.Server.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

func (l *handoffListener) handoff(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// handoffConn replays what the fast path read before the connection's own
// bytes.
type handoffConn struct {
	net.Conn
	br      *bufio.Reader // nil once drained
	failure *handoffFailure
}

func (c *handoffConn) Read(p []byte) (int, error) {
	if c.br != nil {
		if c.br.Buffered() > 0 {
			return c.br.Read(p)
		}
		c.br = nil
	}
	return c.Conn.Read(p)
}

func (c *handoffConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// fastServer tracks the connections on the fast path.
type fastServer struct {
	p  *Proxy
	o  ServeOptions
	hl *handoffListener

	closing atomic.Bool

	mu       sync.Mutex
	conns    map[*fastConn]struct{}
	wg       sync.WaitGroup
	reqHEAD  http.Request // what http.ReadResponse needs to know of a request
	reqOther http.Request
}

// fastConn is one client connection on the fast path.
type fastConn struct {
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	clientIP string
	deadline time.Time // the read deadline last set
	head     rawHead
	resp     rawResponse // the response of the current exchange, when the fast path reads it
	pending  int         // bytes of the current request still in br
	idle     atomic.Bool // waiting for a request
}

const maxHeadSize = 8 << 10

func (s *fastServer) start(nc net.Conn) {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		nc.Close()
		return
	}
	c := &fastConn{nc: nc, br: bufio.NewReaderSize(nc, maxHeadSize), bw: bufio.NewWriterSize(nc, connBufSize)}
	c.idle.Store(true)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		handedOff := s.serve(c)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		if !handedOff {
			nc.Close()
		}
	}()
}

// shutdown wakes idle connections so that they close, and waits for the
// others until ctx ends, then closes them.
func (s *fastServer) shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing.Store(true)
	for c := range s.conns {
		if c.idle.Load() {
			_ = c.nc.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
	}
}

// serve runs the connection's request loop; it reports whether the
// connection was handed to net/http (which then owns it).
func (s *fastServer) serve(c *fastConn) (handedOff bool) {
	if h, _, err := net.SplitHostPort(c.nc.RemoteAddr().String()); err == nil {
		c.clientIP = h
	} else {
		c.clientIP = c.nc.RemoteAddr().String()
	}
	handoff := func(f *handoffFailure) bool {
		_ = c.nc.SetReadDeadline(time.Time{})
		s.hl.handoff(&handoffConn{Conn: c.nc, br: c.br, failure: f})
		return true
	}
	for {
		if s.closing.Load() && c.br.Buffered() == 0 {
			return false
		}
		c.idle.Store(true)
		if c.br.Buffered() == 0 {
			// Renew the idle deadline only when half of it is used up:
			// one timer change per minute, not per request.
			if now := time.Now(); c.deadline.Sub(now) < s.o.ClientIdleTimeout/2 {
				c.deadline = now.Add(s.o.ClientIdleTimeout)
				_ = c.nc.SetReadDeadline(c.deadline)
			}
		}
		buf, ok := peekHead(c.br)
		c.idle.Store(false)
		if !ok {
			if c.br.Buffered() == 0 {
				return false // closed, idle timeout or shutdown
			}
			return handoff(nil) // a head too long or cut short: net/http decides
		}
		h := &c.head
		c.pending = len(buf)
		if !parseHead(buf, h) {
			return handoff(nil)
		}
		e, err := s.p.routes.match(string(h.path()))
		if err != nil || e == nil {
			return handoff(nil) // 400s and the Fallback
		}
		keep, failure := s.exchange(c, e)
		if failure != nil {
			return handoff(failure)
		}
		if !keep {
			return false
		}
	}
}

// peekHead returns the request head at the start of br's buffer (up to
// and including the blank line) without consuming it; false when the
// connection ends first or the head exceeds the buffer.
func peekHead(br *bufio.Reader) ([]byte, bool) {
	if br.Buffered() == 0 {
		if _, err := br.Peek(1); err != nil {
			return nil, false
		}
	}
	for {
		b, _ := br.Peek(br.Buffered())
		if i := bytes.Index(b, crlfcrlf); i >= 0 {
			return b[:i+4], true
		}
		if len(b) >= br.Size() {
			return nil, false
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			return nil, false
		}
	}
}

var crlfcrlf = []byte("\r\n\r\n")

// exchange forwards the parsed request to e's target and the response to
// the client. keep reports whether the client connection can carry
// another request; failure is set when nothing was written to the client
// and the request is still unconsumed, so that net/http can answer it.
func (s *fastServer) exchange(c *fastConn, e *entry) (keep bool, failure *handoffFailure) {
	p := s.p
	h := &c.head
	start := time.Now()
	req := &s.reqOther
	if h.head {
		req = &s.reqHEAD
	}
	var (
		uc   *upConn
		resp *http.Response // nil when the fast path reads the response (c.resp)
		fast bool
	)
	for attempt := 0; ; attempt++ {
		var reused bool
		var err error
		uc, reused, err = p.conn(context.Background(), e, start, attempt > 0)
		if err != nil {
			p.opts.Logger.Warn("proxy: cannot connect to server", "prefix", e.prefix, "target", e.target, "err", err)
			return false, &handoffFailure{entry: e, err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
		}
		uc.ctx = c
		uc.readLimit = start.Add(p.opts.ResponseHeaderTimeout)
		writeRawRequest(uc.bw, h, c.clientIP)
		var nothingRead bool
		resp, fast = nil, false
		err = uc.bw.Flush()
		if err == nil {
			fast, nothingRead, err = peekRawResponse(uc.br, &c.resp, h.head)
		} else {
			nothingRead = true
		}
		if err == nil && !fast {
			resp, nothingRead, err = readResponse(uc.br, req)
			if err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
				err = fmt.Errorf("101 Switching Protocols to a request without Upgrade")
			}
			if err == nil {
				err = checkResponseHeader(resp.Header)
			}
		}
		if err == nil {
			break
		}
		uc.nc.Close()
		if errors.Is(err, errClientGone) {
			return false, nil
		}
		if reused && nothingRead && attempt == 0 && !isTimeout(err) {
			continue
		}
		kind := ErrBadGateway
		switch {
		case isTimeout(err):
			kind = ErrTimeout
		case nothingRead && isConnDrop(err):
			kind = ErrUnavailable
		}
		p.opts.Logger.Warn("proxy: request to server failed", "prefix", e.prefix, "target", e.target, "reused", reused, "err", err)
		return false, &handoffFailure{entry: e, err: fmt.Errorf("%w: %w", kind, err)}
	}
	uc.readLimit = time.Time{}
	keep = !h.close
	c.pending = 0
	if _, err := c.br.Discard(h.n); err != nil {
		uc.nc.Close()
		return false, nil
	}

	// Counted, and activity recorded, before the client can see the
	// response: whoever reads them after the response never races the
	// update. Activity is the server answering with success, as in CHP.
	p.fastRequests.Add(1)
	now := p.opts.Now()
	status, serverClose := c.resp.status, c.resp.close
	if !fast {
		status, serverClose = resp.StatusCode, resp.Close
	}
	if status < 300 {
		e.touch(now.UnixNano())
	}
	var complete bool
	var werr error
	if fast {
		p.fastResponses.Add(1)
		complete, werr = writeFastResponse(c.bw, &c.resp, h.head, keep, uc, p)
	} else {
		complete, werr = writeRawResponse(c.bw, resp, h.head, keep, uc, p)
	}
	uc.endExchange()
	if complete && !serverClose && uc.br.Buffered() == 0 {
		idleAt := now
		if !p.realClock {
			idleAt = time.Now()
		}
		e.pool.put(uc, idleAt, p.opts.MaxIdleConnsPerTarget, p.opts.IdleConnTimeout)
	} else {
		uc.nc.Close()
	}
	return keep && complete && werr == nil, nil
}

// rawHead is a request head parsed in place: byte slices into the
// client's read buffer, valid until the head is discarded.
type rawHead struct {
	n         int // length of the head, blank line included
	method    []byte
	target    []byte
	host      []byte
	head      bool // method HEAD
	close     bool // Connection: close
	nlines    int
	lines     [maxHeadLines][]byte // header lines to forward as they are
	xff       []byte               // X-Forwarded-* values the client sent (one line each at most)
	xfPort    []byte
	xfProto   []byte
	xfHost    []byte
	hasCookie bool
}

const maxHeadLines = 64

func (h *rawHead) path() []byte {
	if i := bytes.IndexByte(h.target, '?'); i >= 0 {
		return h.target[:i]
	}
	return h.target
}

// parseHead parses b, a complete request head, into h and reports whether
// it is one the fast path takes: GET or HEAD, origin-form target of
// printable ASCII, HTTP/1.1, one Host, no body (no Content-Length other
// than 0, no Transfer-Encoding), no Upgrade, Expect, TE or Trailer, a
// Connection header naming only keep-alive or close, header names that
// are tokens and values of printable ASCII and tabs, no folded lines, no
// bare CR or LF, no repeated Cookie or X-Forwarded-* lines. Anything else
// is for net/http.
func parseHead(b []byte, h *rawHead) bool {
	*h = rawHead{n: len(b)}
	// Request line.
	eol := bytes.Index(b, crlf)
	line := b[:eol]
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return false
	}
	switch string(line[:sp1]) {
	case "GET":
	case "HEAD":
		h.head = true
	default:
		return false
	}
	h.method = line[:sp1]
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 || string(rest[sp2+1:]) != "HTTP/1.1" {
		return false
	}
	h.target = rest[:sp2]
	if h.target[0] != '/' {
		return false
	}
	for _, ch := range h.target {
		if ch <= ' ' || ch >= 0x7f {
			return false
		}
	}
	for line := range headerLines(b) {
		name, value, ok := splitHeaderLine(line)
		if !ok {
			return false
		}
		switch {
		case asciiEqualFold(name, "host"):
			if h.host != nil || len(value) == 0 || !validHost(value) {
				return false
			}
			h.host = value
			continue
		case asciiEqualFold(name, "content-length"):
			if string(value) != "0" {
				return false
			}
			continue // nothing to forward: no body
		case asciiEqualFold(name, "connection"):
			closes, ok := connectionClose(value)
			if !ok {
				return false
			}
			h.close = h.close || closes
			continue
		case asciiEqualFold(name, "keep-alive"), asciiEqualFold(name, "proxy-connection"),
			asciiEqualFold(name, "proxy-authorization"), asciiEqualFold(name, "proxy-authenticate"):
			continue // hop-by-hop: dropped
		case asciiEqualFold(name, "transfer-encoding"), asciiEqualFold(name, "upgrade"),
			asciiEqualFold(name, "expect"), asciiEqualFold(name, "te"), asciiEqualFold(name, "trailer"),
			asciiEqualFold(name, "http2-settings"):
			return false
		case asciiEqualFold(name, "cookie"):
			if h.hasCookie {
				return false
			}
			h.hasCookie = true
		case len(name) > 12 && asciiEqualFold(name[:12], "x-forwarded-"):
			var dst *[]byte
			switch {
			case asciiEqualFold(name[12:], "for"):
				dst = &h.xff
			case asciiEqualFold(name[12:], "port"):
				dst = &h.xfPort
			case asciiEqualFold(name[12:], "proto"):
				dst = &h.xfProto
			case asciiEqualFold(name[12:], "host"):
				dst = &h.xfHost
			}
			if dst != nil {
				if *dst != nil {
					return false
				}
				*dst = value
				continue
			}
		}
		if h.nlines == maxHeadLines {
			return false
		}
		h.lines[h.nlines] = line
		h.nlines++
	}
	return h.host != nil
}

var crlf = []byte("\r\n")

// headerLines yields the header lines of b, a complete head (its first
// line, the header lines, each ending in CRLF, and a blank line), without
// their CRLF.
func headerLines(b []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		pos := bytes.Index(b, crlf) + 2
		for pos < len(b)-2 {
			eol := bytes.Index(b[pos:], crlf)
			if !yield(b[pos : pos+eol]) {
				return
			}
			pos += eol + 2
		}
	}
}

// splitHeaderLine splits a header line into its name and its value, with
// the blanks around the value trimmed. ok is false unless the name is a
// non-empty token and the value printable ASCII and tabs; a folded line
// (one that starts with a blank) has no token before its colon.
func splitHeaderLine(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, false
	}
	name = line[:colon]
	for _, ch := range name {
		if !isTokenByte(ch) {
			return nil, nil, false
		}
	}
	value = line[colon+1:]
	if !printable(value) {
		return nil, nil, false
	}
	return name, bytes.Trim(value, " \t"), true
}

// printable reports whether b is printable ASCII and tabs only.
func printable(b []byte) bool {
	for _, ch := range b {
		if (ch < ' ' && ch != '\t') || ch >= 0x7f {
			return false
		}
	}
	return true
}

// connectionClose reads a Connection header value: closes reports whether
// it names close; ok is false when it names anything but close and
// keep-alive (a header the sender wants dropped, which the fast paths
// leave to net/http).
func connectionClose(value []byte) (closes, ok bool) {
	for tok := range bytes.SplitSeq(value, []byte(",")) {
		tok = bytes.Trim(tok, " \t")
		switch {
		case asciiEqualFold(tok, "close"):
			closes = true
		case asciiEqualFold(tok, "keep-alive"), len(tok) == 0:
		default:
			return false, false
		}
	}
	return closes, true
}

func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// validHost accepts what can appear in a Host header: a reg-name, IPv4 or
// bracketed IPv6 address, and a port.
func validHost(v []byte) bool {
	for _, c := range v {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			bytes.IndexByte([]byte("-._~:[]%!$&'()*+,;="), c) >= 0) {
			return false
		}
	}
	return true
}

// asciiEqualFold compares b with the lower-case ASCII string s, ignoring
// the case of b.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// writeRawRequest writes the request to the target: the request line and
// header lines as the client sent them, minus hop-by-hop headers, plus
// the X-Forwarded-* headers as writeRequestHead sets them.
func writeRawRequest(bw *bufio.Writer, h *rawHead, clientIP string) {
	bw.Write(h.method)
	bw.WriteByte(' ')
	bw.Write(h.target)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.Write(h.host)
	bw.WriteString("\r\n")
	for _, l := range h.lines[:h.nlines] {
		bw.Write(l)
		bw.WriteString("\r\n")
	}
	writeAppendedRaw(bw, "X-Forwarded-For", h.xff, clientIP)
	port := hostPort(string(h.host))
	if port == "" {
		port = "80"
	}
	writeAppendedRaw(bw, "X-Forwarded-Port", h.xfPort, port)
	writeAppendedRaw(bw, "X-Forwarded-Proto", h.xfProto, "http")
	bw.WriteString("X-Forwarded-Host: ")
	if h.xfHost != nil {
		bw.Write(h.xfHost)
	} else {
		bw.Write(h.host)
	}
	bw.WriteString("\r\n\r\n")
}

func writeAppendedRaw(bw *bufio.Writer, k string, prev []byte, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	if prev != nil {
		bw.Write(prev)
		bw.WriteByte(',')
	}
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// checkResponseHeader refuses header values with control characters,
// which http.ReadResponse lets through and the fast path would otherwise
// copy to the client as they are.
func checkResponseHeader(h http.Header) error {
	for k, vv := range h {
		for _, v := range vv {
			for i := 0; i < len(v); i++ {
				if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
					return fmt.Errorf("control character in response header %s", k)
				}
			}
		}
	}
	return nil
}

// writeRawResponse writes resp to the client, framed anew: Content-Length
// when the target gave one, chunked otherwise, nothing for HEAD, 1xx,
// 204 and 304. It reports whether the target's body was read completely
// and the error writing to the client.
func writeRawResponse(bw *bufio.Writer, resp *http.Response, head, keep bool, uc *upConn, p *Proxy) (complete bool, werr error) {
	defer resp.Body.Close()
	removeResponseHopHeaders(resp.Header)
	var nb [20]byte
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(nb[:0], int64(resp.StatusCode), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(resp.StatusCode))
	bw.WriteString("\r\n")
	for k, vv := range resp.Header {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vv {
			writeHeaderLine(bw, k, v)
		}
	}
	if _, ok := resp.Header["Date"]; !ok {
		writeHeaderLine(bw, "Date", time.Now().UTC().Format(http.TimeFormat))
	}
	bodyAllowed := resp.StatusCode >= 200 && resp.StatusCode != 204 && resp.StatusCode != 304
	chunked := false
	switch {
	case !bodyAllowed:
	case resp.ContentLength >= 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(nb[:0], resp.ContentLength, 10))
		bw.WriteString("\r\n")
	case !head:
		chunked = true
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if !keep {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if head || !bodyAllowed || resp.Body == http.NoBody {
		// http.ReadResponse gives these no body to read.
		return true, bw.Flush()
	}

	bp := p.getBuf()
	defer p.bufs.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if chunked {
				bw.Write(strconv.AppendInt(nb[:0], int64(n), 16))
				bw.WriteString("\r\n")
			}
			if _, werr = bw.Write(buf[:n]); werr != nil {
				return false, werr
			}
			if chunked {
				bw.WriteString("\r\n")
				// A stream: the client gets each piece as it comes.
				if werr = bw.Flush(); werr != nil {
					return false, werr
				}
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				// The target broke off: the client's response cannot
				// be completed, so its connection is closed.
				_ = bw.Flush()
				return false, nil
			}
			break
		}
	}
	if chunked {
		bw.WriteString("0\r\n\r\n")
	}
	return true, bw.Flush()
}
