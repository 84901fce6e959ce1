// Package proxy is the hub's in-process reverse proxy: what
// configurable-http-proxy (CHP) is to JupyterHub, as an http.Handler.
//
// A [Proxy] forwards each request to the target of the longest matching
// route prefix in its [Table] — /user/{name}/ and /user/{name}/{server}/
// for single-user servers, with names escaped as JupyterHub escapes them
// (spawner.DefaultPrefix) — and hands everything else to its Fallback,
// the hub's own handler. HTTP requests and protocol upgrades (websockets:
// the kernel channels of a notebook) are forwarded; the path and query
// reach the server exactly as the client sent them, and the Host header
// is kept. X-Forwarded-For, -Port and -Proto are extended and
// X-Forwarded-Host set as CHP sets them.
//
// # Routes
//
// The hub calls Table.Set when a server becomes ready and Table.Delete
// when it stops; Table.Replace resynchronises the whole table, which is
// how a hub replica in high-availability mode follows routes kept in
// shared state (a database change feed, an informer). Lookups never
// block on those writes (copy-on-write shards) and cost one map probe
// per path segment examined, so the proxy is as fast with 10,000 routes
// as with one.
//
// Each route records its last activity — the end of a request answered
// with a status below 300, data on a websocket — as an atomic
// timestamp, without a lock. The hub's activity batcher reads them with
// Table.All or Table.Snapshot and writes them to its store off the
// request path.
//
// # Paths the proxy refuses
//
// A path that different readers could route differently must never reach
// another user's server. Browsers resolve dot segments and turn
// backslashes into slashes before they send a request, and cookies are
// matched against the path as sent, so the proxy routes on the path as
// sent and refuses (400, ErrAmbiguousPath) what a browser would not send
// or what could be read as another route:
//
//	/user/alice/../bob/          400: dot segment, anywhere in the path
//	/user/alice/%2e%2E/bob/      400: encoded dot segment, anywhere
//	/user/alice\..\bob/          400: raw backslash, anywhere
//	/user/alice%2F..%2Fbob/      400: encoded slash where the route is chosen
//	/user/alice%5Cbob/           400: encoded backslash where the route is chosen
//	/user//alice/                400: empty segment where the route is chosen
//	/user/%zz/                   400: bad percent escape (ErrBadPath)
//	/user/bob/files/a%2Fb        bob's server, as sent: after bob's prefix
//	/user/bob//tree              bob's server, as sent
//	/user/%62ob/  /user/bob      bob's server: same name once decoded
//	/user/J%c3%b6rg/             Jörg's server (route /user/J%C3%B6rg/)
//	/user/alice2/                not alice's: prefixes match whole segments
//
// "Where the route is chosen" means the segments the lookup compares
// with route prefixes: it descends only while deeper routes exist below
// the prefix matched so far, so /user/bob/a%2Fb is bob's business when bob
// has no named servers, and refused when /user/bob/{server}/ routes
// exist. No route prefix can contain an empty segment, a dot segment or
// an encoded slash or backslash (Set refuses them), so such a segment
// could only ever select the wrong route.
//
// # Failures
//
// When no route matches and there is no Fallback, when the target
// refuses the connection or cannot be reached within DialTimeout, or
// when it sends no response header within ResponseHeaderTimeout, the
// proxy calls its ErrorHandler: a plain 503 (504 for the timeout) page by
// default, or, with [SpawnRedirect], a redirect to the hub's spawn page
// as JupyterHub does. A slow or hung server holds only the requests sent
// to it.
//
// # Serving, and the fast path
//
// A Proxy is an http.Handler: serve it with any http.Server (TLS,
// HTTP/2, middleware). For plain HTTP, [Proxy.Serve] is faster: it reads
// each request head itself and forwards the common request — GET or HEAD
// without a body to a route, with ordinary headers — without net/http's
// server, which costs a goroutine and a read per request to watch the
// client, plus a header map and a response writer. Anything else (request
// bodies, websockets, the hub's own pages, errors, any head that is not
// plainly well-formed) is handed, with the bytes already read, to an
// http.Server serving the same Proxy, and that connection stays there. The
// fast path parses strictly and hands off when in doubt, so net/http
// remains the judge of every unusual request.
//
// # Performance
//
// The proxy does its own HTTP/1.1 client work: per target address it
// keeps idle connections (MaxIdleConnsPerTarget, 256 by default) and
// writes the request and reads the response on the goroutine that serves
// the client, where net/http's Transport would hand each request to two
// more goroutines. A client that leaves is noticed by polling (a read
// deadline of one second, then a look at the request's context or, on
// the fast path, a non-blocking peek at the client's socket) rather than
// by a goroutine or timer per request. Responses are parsed — on the
// fast path by a strict parser in place in the connection's buffer for
// the common case (a final status with a Content-Length), otherwise with
// http.ReadResponse — and framed anew for the client, so a server cannot
// smuggle bytes into another response. Copy buffers are pooled, and the
// fast path's common exchange makes no response object, header map or
// strings.
// bench/README.md ("Proxy") has the figures against
// configurable-http-proxy, a stock httputil.ReverseProxy and a direct
// connection.
//
// Not supported yet: https targets, targets with a path, host-based
// routing, HTTP trailers; Serve takes plain HTTP only.
package proxy
