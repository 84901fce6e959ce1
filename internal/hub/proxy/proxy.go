package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options configure a [Proxy]. The zero value works; every default is
// written on its field.
type Options struct {
	// Routes is the route table. Default: a new empty [Table], returned
	// by Proxy.Routes.
	Routes *Table

	// Fallback serves requests whose path matches no route: the hub's own
	// handler (its /hub/ pages and API, and /user/… for users whose
	// server is not running, as JupyterHub does). Default nil: such
	// requests go to ErrorHandler with ErrNoRoute. A route for "/" in the
	// table takes precedence over Fallback.
	Fallback http.Handler

	// ErrorHandler answers requests the proxy cannot forward (no route,
	// ambiguous path, server down or too slow). Default:
	// [DefaultErrorHandler]; [SpawnRedirect] sends users to the hub's
	// spawn page instead.
	ErrorHandler ErrorHandler

	// DialTimeout bounds connecting to a target. Default: 10s.
	DialTimeout time.Duration

	// ResponseHeaderTimeout bounds the wait for a target's response
	// header once the request (with its body) was sent, and for the
	// answer to a websocket handshake. A server that takes longer gets a
	// 504 (ErrTimeout); requests to other routes never wait for it.
	// Default: 5m (long enough for a slow notebook export).
	ResponseHeaderTimeout time.Duration

	// IdleConnTimeout is how long an idle connection to a target is kept
	// for reuse. Default: 90s.
	IdleConnTimeout time.Duration

	// MaxIdleConnsPerTarget bounds the idle connections kept per target
	// address. Default: 256.
	MaxIdleConnsPerTarget int

	// UpgradeCloseTimeout: once one side of an upgraded (websocket)
	// connection has closed its half, how long the other side may still
	// send before both are closed. Default: 10s.
	UpgradeCloseTimeout time.Duration

	// DialContext connects to a target address ("host:port"). Default: a
	// net.Dialer with DialTimeout and 30s TCP keep-alive. The proxy never
	// uses http.DefaultTransport or any other global.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Logger receives the proxy's logs (targets unavailable, bad
	// responses). Default: discard.
	Logger *slog.Logger

	// Now is the clock for last-activity times. Default: time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Routes == nil {
		o.Routes = NewTable()
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = DefaultErrorHandler
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = 5 * time.Minute
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.MaxIdleConnsPerTarget <= 0 {
		o.MaxIdleConnsPerTarget = 256
	}
	if o.UpgradeCloseTimeout <= 0 {
		o.UpgradeCloseTimeout = 10 * time.Second
	}
	if o.DialContext == nil {
		d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
		o.DialContext = d.DialContext
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Proxy is the hub's reverse proxy: an http.Handler that forwards each
// request to the target of the longest matching route prefix in its
// [Table], HTTP and websockets alike. Safe for concurrent use.
type Proxy struct {
	opts     Options
	routes   *Table
	bufs     sync.Pool // *[]byte of copyBufSize, for bodies
	pumpBufs sync.Pool // *[]byte of pumpBufSize, for upgraded connections

	realClock bool // opts.Now is time.Now

	fastRequests  atomic.Int64 // requests Serve's fast path answered
	fastResponses atomic.Int64 // of those, responses it read without http.ReadResponse

	mu      sync.Mutex
	tunnels map[*tunnel]struct{} // open upgraded connections
}

const (
	copyBufSize = 32 << 10
	pumpBufSize = 8 << 10
)

// New returns a Proxy. It starts no goroutines.
func New(opts Options) *Proxy {
	realClock := opts.Now == nil
	opts = opts.withDefaults()
	return &Proxy{opts: opts, routes: opts.Routes, realClock: realClock, tunnels: make(map[*tunnel]struct{})}
}

// Routes returns the proxy's route table, for the hub to Set and Delete
// routes as servers start and stop.
func (p *Proxy) Routes() *Table { return p.routes }

// Close closes the idle connections to targets and every open upgraded
// (websocket) connection. Requests in progress finish; the proxy stays
// usable. Call it after http.Server.Shutdown, which does not know about
// upgraded connections.
func (p *Proxy) Close() error {
	p.routes.closeIdle()
	p.mu.Lock()
	ts := make([]*tunnel, 0, len(p.tunnels))
	for t := range p.tunnels {
		ts = append(ts, t)
	}
	p.mu.Unlock()
	for _, t := range ts {
		t.close()
	}
	return nil
}

func (p *Proxy) getBuf() *[]byte {
	if b, ok := p.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, copyBufSize)
	return &b
}

// requestTarget returns the request target to forward (path and query as
// the client sent them) and its path.
func requestTarget(r *http.Request) (uri, path string, ok bool) {
	uri = r.RequestURI
	if uri == "" || uri[0] != '/' {
		// Absolute form ("GET http://host/p HTTP/1.1") or a request
		// built in a test: use the parsed URL, escaped as received.
		if r.URL == nil || r.URL.Opaque != "" || len(r.URL.Path) == 0 || r.URL.Path[0] != '/' {
			return "", "", false
		}
		uri = r.URL.EscapedPath()
		if r.URL.RawQuery != "" || r.URL.ForceQuery {
			uri += "?" + r.URL.RawQuery
		}
	}
	path = uri
	for i := 0; i < len(uri); i++ {
		if uri[i] == '?' {
			path = uri[:i]
			break
		}
	}
	return uri, path, true
}

// ServeHTTP forwards r to the target of its route, hands it to Fallback
// when no route matches, or answers it through ErrorHandler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := r.Context().Value(handoffKey{}).(*handoffFailure); ok && f.used.CompareAndSwap(false, true) {
		// Serve's fast path already tried this request and failed.
		p.fail(w, r, f.entry, f.err)
		return
	}
	uri, path, ok := requestTarget(r)
	if !ok || r.Method == http.MethodConnect {
		p.fail(w, r, nil, fmt.Errorf("%w: request target %q", ErrBadPath, r.RequestURI))
		return
	}
	e, err := p.routes.match(path)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	if e == nil {
		if p.opts.Fallback != nil {
			p.opts.Fallback.ServeHTTP(w, r)
			return
		}
		p.fail(w, r, nil, ErrNoRoute)
		return
	}
	if up := upgradeProtocol(r); up != "" {
		p.serveUpgrade(w, r, e, uri, up)
		return
	}
	p.forward(w, r, e, uri)
}

func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, e *entry, err error) {
	pe := &Error{Err: err}
	if e != nil {
		pe.Prefix, pe.Target = e.prefix, e.target
	}
	p.opts.ErrorHandler(w, r, pe)
}

// conn returns an idle connection to e's target, or dials one when there
// is none or fresh is set.
func (p *Proxy) conn(ctx context.Context, e *entry, now time.Time, fresh bool) (c *upConn, reused bool, err error) {
	if !fresh {
		if c := e.pool.get(now, p.opts.IdleConnTimeout); c != nil {
			return c, true, nil
		}
	}
	nc, err := p.opts.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return nil, false, err
	}
	return newUpConn(nc), false, nil
}

// forward sends r to e's target and copies the response back.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, e *entry, uri string) {
	ctx := r.Context()
	start := time.Now()
	bodyless := r.ContentLength == 0
	var (
		c    *upConn
		resp *http.Response
	)
	for attempt := 0; ; attempt++ {
		var reused, nothingRead bool
		var err error
		c, reused, err = p.conn(ctx, e, start, attempt > 0)
		if err != nil {
			if ctx.Err() == nil {
				p.opts.Logger.Warn("proxy: cannot connect to server", "prefix", e.prefix, "target", e.target, "err", err)
				p.fail(w, r, e, fmt.Errorf("%w: %w", ErrUnavailable, err))
			}
			return
		}
		resp, nothingRead, err = p.roundTrip(ctx, c, r, e, uri, start)
		if err == nil {
			break
		}
		c.nc.Close()
		if ctx.Err() != nil {
			return
		}
		// A reused connection that the server had closed while idle:
		// try once more on a new one when nothing can have been
		// consumed or processed twice.
		if reused && nothingRead && bodyless && attempt == 0 && !isTimeout(err) {
			continue
		}
		p.failExchange(w, r, e, err, reused, nothingRead)
		return
	}
	// The body may take as long as it takes while the client is there.
	c.readLimit = time.Time{}

	h := w.Header()
	removeResponseHopHeaders(resp.Header)
	for k, vv := range resp.Header {
		h[k] = vv
	}
	if _, ok := h["Content-Type"]; !ok {
		// Forward "no Content-Type" as it is: net/http would sniff one.
		h["Content-Type"] = nil
	}
	w.WriteHeader(resp.StatusCode)

	complete, werr := p.copyBody(w, resp, e)
	c.endExchange()
	now := p.opts.Now()
	if complete && !resp.Close && c.br.Buffered() == 0 {
		idleAt := now
		if !p.realClock {
			idleAt = time.Now()
		}
		e.pool.put(c, idleAt, p.opts.MaxIdleConnsPerTarget, p.opts.IdleConnTimeout)
	} else {
		c.nc.Close()
	}
	if resp.StatusCode < 300 && complete {
		e.touch(now.UnixNano())
	}
	if !complete && werr == nil && ctx.Err() == nil {
		// The target broke off mid-body while the client is still
		// there: abort the client's response too, so that it is not
		// taken as complete.
		panic(http.ErrAbortHandler)
	}
}

// roundTrip writes r to c and reads the response header. nothingRead
// reports whether the failure came before any byte of a response.
func (p *Proxy) roundTrip(ctx context.Context, c *upConn, r *http.Request, e *entry, uri string, start time.Time) (resp *http.Response, nothingRead bool, err error) {
	c.ctx = ctx
	c.readLimit = start.Add(p.opts.ResponseHeaderTimeout)
	writeRequestHead(c.bw, r, uri, "", e.addr)
	if r.ContentLength != 0 {
		// The body comes at the client's pace; the header timeout
		// starts once it is sent. Writes are watched: a server that
		// stops reading must not hold the request for ever.
		c.guardWrites, c.stallLimit = true, p.opts.ResponseHeaderTimeout
		if err := p.writeBody(c, r); err != nil {
			return nil, true, err
		}
	}
	if err := c.bw.Flush(); err != nil {
		return nil, true, err
	}
	if r.ContentLength != 0 {
		c.readLimit = time.Now().Add(p.opts.ResponseHeaderTimeout)
	}
	resp, nothingRead, err = readResponse(c.br, r)
	if err != nil {
		return nil, nothingRead, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return nil, false, fmt.Errorf("101 Switching Protocols to a request without Upgrade")
	}
	return resp, false, nil
}

// readResponse reads a response header from br, skipping interim (1xx)
// responses other than 101.
func readResponse(br *bufio.Reader, r *http.Request) (*http.Response, bool, error) {
	if _, err := br.Peek(1); err != nil {
		return nil, true, err
	}
	for {
		resp, err := http.ReadResponse(br, r)
		if err != nil {
			return nil, false, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, false, nil
		}
	}
}

// writeBody copies r's body to c: Content-Length bytes, or chunked when
// the length is unknown.
func (p *Proxy) writeBody(c *upConn, r *http.Request) error {
	if r.ContentLength > 0 {
		n, err := io.CopyN(c.bw, r.Body, r.ContentLength)
		if err != nil {
			return fmt.Errorf("request body: %d of %d bytes: %w", n, r.ContentLength, err)
		}
		return nil
	}
	cw := httputil.NewChunkedWriter(c.bw)
	bp := p.getBuf()
	_, err := io.CopyBuffer(cw, onlyReader{r.Body}, *bp)
	p.bufs.Put(bp)
	if err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	if err := cw.Close(); err != nil {
		return err
	}
	_, err = c.bw.WriteString("\r\n")
	return err
}

type onlyReader struct{ io.Reader }

// copyBody copies resp's body to w. complete reports that the whole body
// was read; werr is the error writing to the client, if any. Streamed
// responses (unknown length) are flushed after every read and count as
// activity while they flow.
func (p *Proxy) copyBody(w http.ResponseWriter, resp *http.Response, e *entry) (complete bool, werr error) {
	defer resp.Body.Close()
	if resp.Body == http.NoBody {
		return true, nil
	}
	stream := resp.ContentLength < 0
	var rc *http.ResponseController
	if stream {
		rc = http.NewResponseController(w)
	}
	bp := p.getBuf()
	defer p.bufs.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr = w.Write(buf[:n]); werr != nil {
				return false, werr
			}
			if stream {
				if werr = rc.Flush(); werr != nil {
					return false, werr
				}
				if resp.StatusCode < 300 {
					e.touch(p.opts.Now().UnixNano())
				}
			}
		}
		if rerr == io.EOF {
			return true, nil
		}
		if rerr != nil {
			return false, nil
		}
	}
}

// failExchange answers a request whose exchange with the target failed
// before a response header arrived.
func (p *Proxy) failExchange(w http.ResponseWriter, r *http.Request, e *entry, err error, reused, nothingRead bool) {
	var kind error
	switch {
	case isTimeout(err):
		kind = ErrTimeout
	case nothingRead && isConnDrop(err):
		kind = ErrUnavailable
	default:
		kind = ErrBadGateway
	}
	p.opts.Logger.Warn("proxy: request to server failed", "prefix", e.prefix, "target", e.target,
		"reused", reused, "err", err)
	p.fail(w, r, e, fmt.Errorf("%w: %w", kind, err))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

func isConnDrop(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
