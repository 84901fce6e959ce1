package proxy

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// This file is the response side of Proxy.Serve's fast path. The common
// response — a final status with a Content-Length body (or none) and
// ordinary headers — is parsed in place in the server connection's read
// buffer and copied to the client without http.ReadResponse's header map,
// strings and body reader. The parse is strict, like the request side's:
// a response it does not take (chunked or close-delimited bodies,
// interim 1xx responses, obs-text or control characters in a header,
// a Connection header naming other headers, a head longer than the
// buffer) is left unread for http.ReadResponse, which then decides as on
// the handler path. Either way the proxy never writes a response it did
// not parse.

// rawResponse is a response head parsed in place: byte slices into the
// server connection's read buffer, valid until the head is discarded.
type rawResponse struct {
	n       int   // length of the head, blank line included
	status  int   // 200…599
	length  int64 // Content-Length; -1 when absent
	close   bool  // Connection: close
	hasDate bool
	nlines  int
	lines   [maxHeadLines][]byte // header lines to forward as they are
}

// peekRawResponse reads until a response head is in br's buffer and
// parses it into rr without consuming it. fast reports whether the fast
// path takes the response; when it does not and err is nil, nothing of
// the response was consumed and http.ReadResponse can read it from br.
// nothingRead reports, with err, that the server sent nothing at all.
func peekRawResponse(br *bufio.Reader, rr *rawResponse, head bool) (fast, nothingRead bool, err error) {
	if _, err := br.Peek(1); err != nil {
		return false, true, err
	}
	for {
		b, _ := br.Peek(br.Buffered())
		if i := bytes.Index(b, crlfcrlf); i >= 0 {
			return parseResponseHead(b[:i+4], rr, head), false, nil
		}
		if len(b) >= br.Size() {
			return false, false, nil // a long head: http.ReadResponse's
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			// Cut short: let http.ReadResponse report what it makes of
			// the bytes that came.
			return false, false, nil
		}
	}
}

// parseResponseHead parses b, a complete response head, into rr and
// reports whether the fast path takes it: HTTP/1.1, a status from 200 to
// 599 (not 101), header names that are tokens and values of printable
// ASCII and tabs, no folded lines, no Transfer-Encoding, at most one
// Content-Length of digits — required unless the response has no body
// (HEAD, 204, 304) — and a Connection header naming only close or
// keep-alive. Hop-by-hop headers are dropped from the lines to forward.
func parseResponseHead(b []byte, rr *rawResponse, head bool) bool {
	rr.n, rr.length, rr.close, rr.hasDate, rr.nlines = len(b), -1, false, false, 0
	eol := bytes.Index(b, crlf)
	line := b[:eol]
	// "HTTP/1.1 200 OK": the version, a space, three digits, then a
	// space and a reason (possibly empty) or the end of the line.
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') {
		return false
	}
	status := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return false
		}
		status = status*10 + int(c-'0')
	}
	if status < 200 || status > 599 {
		return false
	}
	if !printable(line[12:]) {
		return false
	}
	rr.status = status
	for line := range headerLines(b) {
		name, value, ok := splitHeaderLine(line)
		if !ok {
			return false
		}
		switch {
		case asciiEqualFold(name, "content-length"):
			if rr.length >= 0 || len(value) == 0 || len(value) > 18 {
				return false
			}
			n := int64(0)
			for _, c := range value {
				if c < '0' || c > '9' {
					return false
				}
				n = n*10 + int64(c-'0')
			}
			rr.length = n
			continue // written anew
		case asciiEqualFold(name, "transfer-encoding"):
			return false
		case asciiEqualFold(name, "connection"):
			closes, ok := connectionClose(value)
			if !ok {
				return false
			}
			rr.close = rr.close || closes
			continue
		case asciiEqualFold(name, "keep-alive"), asciiEqualFold(name, "proxy-connection"),
			asciiEqualFold(name, "proxy-authenticate"), asciiEqualFold(name, "proxy-authorization"),
			asciiEqualFold(name, "te"), asciiEqualFold(name, "trailer"), asciiEqualFold(name, "upgrade"):
			continue // hop-by-hop: dropped
		case asciiEqualFold(name, "date"):
			rr.hasDate = true
		}
		if rr.nlines == maxHeadLines {
			return false
		}
		rr.lines[rr.nlines] = line
		rr.nlines++
	}
	if rr.length < 0 && !head && rr.bodyAllowed() {
		return false // chunked or until close: http.ReadResponse's
	}
	return true
}

// bodyAllowed reports whether the status may carry a body.
func (rr *rawResponse) bodyAllowed() bool {
	return rr.status != http.StatusNoContent && rr.status != http.StatusNotModified
}

// writeFastResponse writes rr to the client with its body, read from uc,
// and consumes both from uc's buffer. It reports, as writeRawResponse
// does, whether the server's body was read completely and the error
// writing to the client.
func writeFastResponse(bw *bufio.Writer, rr *rawResponse, head, keep bool, uc *upConn, p *Proxy) (complete bool, werr error) {
	var nb [20]byte
	bw.WriteString("HTTP/1.1 ")
	bw.Write(strconv.AppendInt(nb[:0], int64(rr.status), 10))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(rr.status))
	bw.WriteString("\r\n")
	for _, l := range rr.lines[:rr.nlines] {
		bw.Write(l)
		bw.WriteString("\r\n")
	}
	if !rr.hasDate {
		writeHeaderLine(bw, "Date", time.Now().UTC().Format(http.TimeFormat))
	}
	bodyAllowed := rr.bodyAllowed()
	if bodyAllowed && rr.length >= 0 {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(nb[:0], rr.length, 10))
		bw.WriteString("\r\n")
	}
	if !keep {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	// The head's bytes are copied: the buffer they live in may now be
	// refilled.
	if _, err := uc.br.Discard(rr.n); err != nil {
		return false, bw.Flush()
	}
	if head || !bodyAllowed || rr.length == 0 {
		return true, bw.Flush()
	}

	// The part of the body already read with the head, then the rest
	// straight from the connection.
	remaining := rr.length
	if n := uc.br.Buffered(); n > 0 {
		chunk, _ := uc.br.Peek(int(min(int64(n), remaining)))
		if _, werr = bw.Write(chunk); werr != nil {
			return false, werr
		}
		_, _ = uc.br.Discard(len(chunk))
		remaining -= int64(len(chunk))
	}
	if remaining > 0 {
		bp := p.getBuf()
		defer p.bufs.Put(bp)
		buf := *bp
		for remaining > 0 {
			n, rerr := uc.Read(buf[:min(int64(len(buf)), remaining)])
			if n > 0 {
				if _, werr = bw.Write(buf[:n]); werr != nil {
					return false, werr
				}
				remaining -= int64(n)
			}
			if rerr != nil && remaining > 0 {
				// The server broke off: the client's response cannot be
				// completed, so its connection is closed.
				_ = bw.Flush()
				return false, nil
			}
		}
	}
	return true, bw.Flush()
}
