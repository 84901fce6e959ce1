package proxy

import (
	"errors"
	"html"
	"net/http"
	"strings"
)

// Conditions the proxy reports, to its ErrorHandler (wrapped in an
// [*Error]) or from [Table] methods. Test with errors.Is.
var (
	// ErrNoRoute: no route prefix matches the request path and the
	// Proxy has no Fallback.
	ErrNoRoute = errors.New("proxy: no route")
	// ErrUnavailable: the route's target refused the connection, could
	// not be reached within the dial timeout, or dropped the connection
	// before answering.
	ErrUnavailable = errors.New("proxy: server unavailable")
	// ErrTimeout: the target accepted the request but sent no response
	// header within the response header timeout.
	ErrTimeout = errors.New("proxy: server did not answer in time")
	// ErrBadGateway: the target answered with something that is not a
	// valid HTTP/1.1 response.
	ErrBadGateway = errors.New("proxy: bad response from server")
	// ErrAmbiguousPath: the request path could mean different routes to
	// different readers (dot segments, backslashes, or an empty segment
	// or encoded slash where the route is chosen). Answered with 400.
	ErrAmbiguousPath = errors.New("proxy: ambiguous request path")
	// ErrBadPath: the request target is not a usable origin-form path
	// (bad percent escape, "*", …). Answered with 400.
	ErrBadPath = errors.New("proxy: malformed request path")
	// ErrInvalidPrefix: Table.Set or Replace got a prefix that is not a
	// clean absolute path.
	ErrInvalidPrefix = errors.New("proxy: invalid route prefix")
	// ErrInvalidTarget: Table.Set or Replace got a target that is not
	// http://host:port.
	ErrInvalidTarget = errors.New("proxy: invalid route target")
)

// Error is what the proxy hands to its ErrorHandler when it cannot forward
// a request. Err wraps one of the sentinels above, and the cause when
// there is one (the dial error, the read error).
type Error struct {
	Prefix string // the matched route's prefix, "" when none matched
	Target string // the matched route's target, "" when none matched
	Err    error
}

func (e *Error) Error() string {
	if e.Prefix == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + " (route " + e.Prefix + " -> " + e.Target + ")"
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorHandler writes the response for a request the proxy could not
// forward; err is an [*Error]. It runs before anything was written to w,
// including for websocket upgrade requests. It must be safe for
// concurrent use.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

// StatusCode is the HTTP status the default error page uses for err: 400
// for ErrAmbiguousPath and ErrBadPath, 502 for ErrBadGateway, 504 for
// ErrTimeout, 503 for everything else (ErrNoRoute, ErrUnavailable).
func StatusCode(err error) int {
	switch {
	case errors.Is(err, ErrAmbiguousPath), errors.Is(err, ErrBadPath):
		return http.StatusBadRequest
	case errors.Is(err, ErrBadGateway):
		return http.StatusBadGateway
	case errors.Is(err, ErrTimeout):
		return http.StatusGatewayTimeout
	}
	return http.StatusServiceUnavailable
}

// DefaultErrorHandler writes a small HTML page with the status from
// [StatusCode]. It never includes the target address or the cause.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := StatusCode(err)
	var msg string
	switch code {
	case http.StatusBadRequest:
		msg = "The request path is ambiguous or malformed."
	case http.StatusServiceUnavailable:
		msg = "No server is running at this address, or it is not answering."
		var pe *Error
		if errors.As(err, &pe) && pe.Prefix != "" {
			msg = "The server at " + html.EscapeString(pe.Prefix) + " is not running or not answering."
		}
	default:
		msg = "The server behind this address did not answer properly."
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	title := http.StatusText(code)
	_, _ = w.Write([]byte("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
		title + "</title></head>\n<body><h1>" + title + "</h1>\n<p>" + msg + "</p></body></html>\n"))
}

// SpawnRedirect returns an ErrorHandler that does what JupyterHub does when
// a user's server is not reachable: a GET or HEAD for /user/… that has no
// route or whose server is unavailable is redirected (302) to the same
// path and query under hubPrefix ("/hub/" → /hub/user/alice/lab?x), where
// the hub shows the spawn or spawn-pending page. Every other error,
// websocket upgrades and other methods get [DefaultErrorHandler].
func SpawnRedirect(hubPrefix string) ErrorHandler {
	hubPrefix = strings.TrimSuffix(hubPrefix, "/") + "/"
	return func(w http.ResponseWriter, r *http.Request, err error) {
		uri := r.RequestURI
		redirectable := (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			r.Header.Get("Upgrade") == "" &&
			strings.HasPrefix(uri, "/user/") &&
			(errors.Is(err, ErrNoRoute) || errors.Is(err, ErrUnavailable))
		if !redirectable {
			DefaultErrorHandler(w, r, err)
			return
		}
		// uri is the origin-form target the client sent, which passed the
		// path checks; it starts with "/user/", so the result is a path on
		// this host, never a scheme-relative URL. It is not cleaned.
		h := w.Header()
		h.Set("Location", hubPrefix+uri[1:])
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusFound)
	}
}
