package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// upgradeProtocol returns the protocol an HTTP/1.1 request asks to switch
// to (the Upgrade header, "websocket" for websockets), or "" when it asks
// for none.
func upgradeProtocol(r *http.Request) string {
	if r.ProtoMajor != 1 {
		return ""
	}
	up := r.Header.Get("Upgrade")
	if up == "" {
		return ""
	}
	for _, v := range r.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return up
			}
		}
	}
	return ""
}

// tunnel is an upgraded connection: the client's, taken over from
// net/http, and the server's.
type tunnel struct {
	client, server net.Conn
}

func (t *tunnel) close() {
	t.client.Close()
	t.server.Close()
}

// serveUpgrade forwards a protocol upgrade (a websocket handshake) on a
// new connection to the target. When the target switches protocols, both
// connections are joined and bytes are copied both ways until one side
// closes; otherwise the target's answer is forwarded as a plain response.
func (p *Proxy) serveUpgrade(w http.ResponseWriter, r *http.Request, e *entry, uri, proto string) {
	ctx := r.Context()
	nc, err := p.opts.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		if ctx.Err() == nil {
			p.opts.Logger.Warn("proxy: cannot connect to server", "prefix", e.prefix, "target", e.target, "err", err)
			p.fail(w, r, e, fmt.Errorf("%w: %w", ErrUnavailable, err))
		}
		return
	}
	c := newUpConn(nc)
	c.ctx, c.readLimit = ctx, time.Now().Add(p.opts.ResponseHeaderTimeout)
	writeRequestHead(c.bw, r, uri, proto, e.addr)
	if r.ContentLength != 0 {
		c.guardWrites, c.stallLimit = true, p.opts.ResponseHeaderTimeout
		err = p.writeBody(c, r)
	}
	if err == nil {
		err = c.bw.Flush()
	}
	var resp *http.Response
	nothingRead := true
	if err == nil {
		resp, nothingRead, err = readResponse(c.br, r)
	}
	if err != nil {
		nc.Close()
		if ctx.Err() == nil {
			p.failExchange(w, r, e, err, false, nothingRead)
		}
		return
	}

	if resp.StatusCode != http.StatusSwitchingProtocols {
		// Declined (403 for a bad origin, 404, …): an ordinary response,
		// on a connection that is not reused.
		c.readLimit = time.Time{}
		h := w.Header()
		removeResponseHopHeaders(resp.Header)
		for k, vv := range resp.Header {
			h[k] = vv
		}
		w.WriteHeader(resp.StatusCode)
		complete, werr := p.copyBody(w, resp, e)
		nc.Close()
		if !complete && werr == nil && ctx.Err() == nil {
			panic(http.ErrAbortHandler)
		}
		return
	}
	if got := resp.Header.Get("Upgrade"); !strings.EqualFold(got, proto) {
		nc.Close()
		p.failExchange(w, r, e, fmt.Errorf("server switched to %q, client asked for %q", got, proto), false, false)
		return
	}
	if ctx.Err() != nil {
		nc.Close() // the client went away
		return
	}
	// From here on the connection is a plain byte pipe.
	c.endExchange()
	c.rdl = time.Time{}
	_ = nc.SetDeadline(time.Time{})

	cc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		nc.Close()
		p.fail(w, r, e, fmt.Errorf("%w: cannot take over the client connection: %w", ErrBadGateway, err))
		return
	}
	_ = cc.SetDeadline(time.Time{})
	t := &tunnel{client: cc, server: nc}
	p.mu.Lock()
	p.tunnels[t] = struct{}{}
	p.mu.Unlock()
	defer func() {
		t.close()
		p.mu.Lock()
		delete(p.tunnels, t)
		p.mu.Unlock()
	}()

	// The 101 answer, with the server's handshake headers (Upgrade,
	// Connection, Sec-WebSocket-Accept, -Protocol, -Extensions).
	bw := brw.Writer
	bw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	for k, vv := range resp.Header {
		for _, v := range vv {
			writeHeaderLine(bw, k, v)
		}
	}
	bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil {
		return
	}
	e.touch(p.opts.Now().UnixNano())
	// Whatever either side sent after its handshake is already in the
	// buffered readers, so the copies read through them.
	p.join(t, brw.Reader, c.br, e)
}

// join copies client→server and server→client until both directions
// end. A direction that ends with a clean EOF closes the write half of
// its destination (the peer sees the close) and leaves the other
// direction UpgradeCloseTimeout to finish; an error closes both.
func (p *Proxy) join(t *tunnel, fromClient, fromServer *bufio.Reader, e *entry) {
	type result struct {
		toServer bool
		err      error
	}
	results := make(chan result, 2)
	go func() { results <- result{true, p.pump(t.server, fromClient, e)} }()
	go func() { results <- result{false, p.pump(t.client, fromServer, e)} }()
	first := <-results
	if first.err == nil {
		// The side that closed is the destination of the other
		// direction's writes and the source of its reads.
		c := t.client
		if first.toServer {
			c = t.server
		}
		closeWrite(c)
		_ = c.SetReadDeadline(time.Now().Add(p.opts.UpgradeCloseTimeout))
	} else {
		t.close()
	}
	<-results
}

// pump copies src to dst until src ends (nil) or either fails, recording
// activity for each chunk.
func (p *Proxy) pump(dst net.Conn, src io.Reader, e *entry) error {
	bp, _ := p.pumpBufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, pumpBufSize)
		bp = &b
	}
	defer p.pumpBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return err
			}
			e.touch(p.opts.Now().UnixNano())
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}
