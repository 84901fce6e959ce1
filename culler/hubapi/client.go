package hubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hubkit/hubkit/culler"
)

// Environment variables that Options falls back to, the ones JupyterHub
// sets for a managed service and jupyterhub-idle-culler reads.
const (
	EnvAPIURL         = "JUPYTERHUB_API_URL"
	EnvAPIToken       = "JUPYTERHUB_API_TOKEN"
	EnvRequestTimeout = "JUPYTERHUB_REQUEST_TIMEOUT"
)

// Options configure a Client. The zero value works inside a JupyterHub
// service, where JupyterHub sets JUPYTERHUB_API_URL and
// JUPYTERHUB_API_TOKEN.
type Options struct {
	// URL is the hub's API URL, for example
	// "http://127.0.0.1:8081/hub/api" (--url). Default: $JUPYTERHUB_API_URL.
	URL string

	// Token is the API token the requests carry. Default:
	// $JUPYTERHUB_API_TOKEN. It needs the scopes list:users,
	// read:users:activity, read:servers and delete:servers, and
	// admin:users to delete users.
	Token string

	// PageSize is the number of users asked for per page (the limit
	// parameter; --api-page-size). Default 0: the hub's default page size.
	PageSize int

	// RequestTimeout bounds each attempt of each request. Default:
	// $JUPYTERHUB_REQUEST_TIMEOUT seconds, else 60 s.
	RequestTimeout time.Duration

	// Retries is how many times a request is repeated after a connection
	// error, a timed-out attempt, or an answer of 429 or 5xx. Default 3;
	// negative: never.
	Retries int

	// Backoff is the wait before the first retry; it doubles for each
	// further retry, up to MaxBackoff. A Retry-After header of the hub
	// takes precedence, within MaxBackoff. Default 500 ms.
	Backoff time.Duration

	// MaxBackoff caps the wait between retries. Default 30 s.
	MaxBackoff time.Duration

	// Concurrency bounds the requests in flight at once, over all calls
	// (--concurrency). Default 10; negative: no bound.
	Concurrency int

	// HTTPClient sends the requests. Default: a client of its own (never
	// http.DefaultClient) with a transport that keeps Concurrency idle
	// connections to the hub. Its Timeout, if any, applies on top of
	// RequestTimeout.
	HTTPClient *http.Client

	// UserAgent is sent with every request. Default "hubkit-culler".
	UserAgent string

	// Logger receives retries and page fetches at debug level. Default:
	// discard.
	Logger *slog.Logger

	// Getenv reads the environment for the defaults above. Default
	// os.Getenv.
	Getenv func(string) string
}

// Defaults of Options.
const (
	DefaultRequestTimeout = 60 * time.Second
	DefaultRetries        = 3
	DefaultBackoff        = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultConcurrency    = 10
	DefaultUserAgent      = "hubkit-culler"
)

// withDefaults returns a copy of o with every default applied.
func (o Options) withDefaults() (Options, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.URL == "" {
		o.URL = o.Getenv(EnvAPIURL)
	}
	if o.Token == "" {
		o.Token = o.Getenv(EnvAPIToken)
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
		if s := strings.TrimSpace(o.Getenv(EnvRequestTimeout)); s != "" {
			secs, err := strconv.ParseFloat(s, 64)
			if err != nil || secs <= 0 {
				return o, fmt.Errorf("%w: %s=%q is not a positive number of seconds", ErrInvalidOptions, EnvRequestTimeout, s)
			}
			o.RequestTimeout = time.Duration(secs * float64(time.Second))
		}
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	if o.Backoff == 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = max(o.Concurrency, 2)
		o.HTTPClient = &http.Client{Transport: t}
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case o.URL == "":
		return o, fmt.Errorf("%w: no hub API URL (set Options.URL or %s)", ErrInvalidOptions, EnvAPIURL)
	case o.Token == "":
		return o, fmt.Errorf("%w: no API token (set Options.Token or %s)", ErrInvalidOptions, EnvAPIToken)
	case o.PageSize < 0:
		return o, fmt.Errorf("%w: negative PageSize", ErrInvalidOptions)
	case o.RequestTimeout < 0 || o.Backoff < 0 || o.MaxBackoff < 0:
		return o, fmt.Errorf("%w: negative duration", ErrInvalidOptions)
	}
	return o, nil
}

// Errors.
var (
	// ErrInvalidOptions is wrapped by New when the options cannot work.
	ErrInvalidOptions = errors.New("hubapi: invalid options")
	// ErrMalformed is wrapped by errors about answers of the hub that are
	// not what the JupyterHub REST API promises: bad JSON, a missing
	// field, a value of the wrong type or an unreadable timestamp.
	ErrMalformed = errors.New("hubapi: malformed answer from the hub")
)

// StatusError is the error of a request the hub answered with an
// unexpected HTTP status (after the retries, for 429 and 5xx).
type StatusError struct {
	// Method is the request's method.
	Method string
	// URL is the request's URL (it never contains the token).
	URL string
	// Code is the HTTP status code.
	Code int
	// Message is the hub's explanation: the "message" of its JSON error
	// body, or the start of a body that is not JSON.
	Message string
}

// Error implements error.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("hubapi: %s %s: %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Client is a culler.Source over a JupyterHub REST API. It is safe for
// concurrent use.
type Client struct {
	opts Options
	base *url.URL // the API URL, without a trailing slash
	sem  chan struct{}
}

var _ culler.Source = (*Client)(nil)

// New returns a client of the hub API at opts.URL. It makes no request.
func New(opts Options) (*Client, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%w: URL %q is not an http(s) URL", ErrInvalidOptions, o.URL)
	}
	base.RawQuery, base.Fragment = "", ""
	c := &Client{opts: o, base: base}
	if o.Concurrency > 0 {
		c.sem = make(chan struct{}, o.Concurrency)
	}
	return c, nil
}

// URL returns the hub API URL the client talks to.
func (c *Client) URL() string { return c.base.String() }

// endpoint returns the API URL with the path segments appended, each
// escaped, so that names with "/" or "%" stay one segment. endpoint("")
// is the API root with a trailing slash.
func (c *Client) endpoint(segments ...string) *url.URL {
	esc := c.base.EscapedPath()
	for _, s := range segments {
		esc += "/" + url.PathEscape(s)
	}
	u := *c.base
	u.RawPath = esc
	u.Path, _ = url.PathUnescape(esc) // cannot fail: esc is escaped
	return &u
}

// response is a read answer.
type response struct {
	code   int
	body   []byte
	header http.Header
}

// maxBody bounds what is read of one answer: an old hub answers the user
// list in one page, about 1 KiB per user.
const maxBody = 256 << 20

// do sends a request, retrying connection errors, timed-out attempts, 429
// and 5xx. It returns the last answer, or the last error. retried reports
// whether an earlier attempt may have reached the hub.
func (c *Client) do(ctx context.Context, method string, u *url.URL, body []byte, accept string) (resp response, retried bool, err error) {
	for attempt := 0; ; attempt++ {
		resp, err = c.attempt(ctx, method, u, body, accept)
		if ctx.Err() != nil {
			return resp, retried, ctx.Err()
		}
		retry := err != nil || resp.code == http.StatusTooManyRequests || resp.code >= 500
		if !retry || c.opts.Retries < 0 || attempt >= c.opts.Retries {
			if err == nil && (resp.code == http.StatusTooManyRequests || resp.code >= 500) {
				err = c.statusError(method, u, resp)
			}
			return resp, retried, err
		}
		wait := c.backoff(attempt, resp.header)
		cause := ""
		if err != nil {
			cause = err.Error()
		} else {
			cause = strconv.Itoa(resp.code)
		}
		c.opts.Logger.Debug("hubapi: retrying", slog.String("method", method), slog.String("url", u.String()),
			slog.String("cause", cause), slog.Int("attempt", attempt+1), slog.Duration("wait", wait))
		retried = true
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, retried, ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) backoff(attempt int, h http.Header) time.Duration {
	if s := h.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && secs >= 0 {
			return min(time.Duration(secs)*time.Second, c.opts.MaxBackoff)
		}
	}
	d := c.opts.Backoff
	for range attempt {
		d *= 2
		if d >= c.opts.MaxBackoff {
			return c.opts.MaxBackoff
		}
	}
	return min(d, c.opts.MaxBackoff)
}

// attempt sends one request, holding a place in the concurrency bound.
func (c *Client) attempt(ctx context.Context, method string, u *url.URL, body []byte, accept string) (response, error) {
	if c.sem != nil {
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return response{}, ctx.Err()
		}
		defer func() { <-c.sem }()
	}
	actx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, u.String(), rd)
	if err != nil {
		return response{}, fmt.Errorf("hubapi: %s %s: %w", method, u, err)
	}
	req.Header.Set("Authorization", "token "+c.opts.Token)
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return response{}, fmt.Errorf("hubapi: %s %s: no answer within %v: %w", method, u, c.opts.RequestTimeout, context.DeadlineExceeded)
		}
		return response{}, fmt.Errorf("hubapi: %s %w", method, stripURLError(err))
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if res.ContentLength > 0 && res.ContentLength <= maxBody {
		buf.Grow(int(res.ContentLength) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(io.LimitReader(res.Body, maxBody+1))
	b := buf.Bytes()
	if err != nil {
		if actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return response{}, fmt.Errorf("hubapi: %s %s: answer not complete within %v: %w", method, u, c.opts.RequestTimeout, context.DeadlineExceeded)
		}
		return response{}, fmt.Errorf("hubapi: %s %s: reading the answer: %w", method, u, err)
	}
	if len(b) > maxBody {
		return response{}, fmt.Errorf("%w: %s %s: answer larger than %d bytes", ErrMalformed, method, u, maxBody)
	}
	return response{code: res.StatusCode, body: b, header: res.Header}, nil
}

// stripURLError returns "URL: cause" of a *url.Error without Go's
// method prefix, so that messages do not repeat it.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.URL, ue.Err)
	}
	return err
}

func (c *Client) statusError(method string, u *url.URL, r response) error {
	e := &StatusError{Method: method, URL: u.String(), Code: r.code}
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(r.body, &m) == nil && m.Message != "" {
		e.Message = m.Message
	} else if s := strings.TrimSpace(string(r.body)); s != "" && !strings.HasPrefix(s, "<") {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		e.Message = s
	}
	return e
}

// Version returns the hub's version, from GET /hub/api/.
func (c *Client) Version(ctx context.Context) (string, error) {
	u := c.endpoint("")
	r, _, err := c.do(ctx, http.MethodGet, u, nil, "application/json")
	if err != nil {
		return "", err
	}
	if r.code != http.StatusOK {
		return "", c.statusError(http.MethodGet, u, r)
	}
	var m struct {
		Version *string `json:"version"`
	}
	if err := json.Unmarshal(r.body, &m); err != nil {
		return "", fmt.Errorf("%w: GET %s: %v", ErrMalformed, u.String(), err)
	}
	if m.Version == nil || *m.Version == "" {
		return "", fmt.Errorf("%w: GET %s: no version", ErrMalformed, u.String())
	}
	return *m.Version, nil
}

// StopServer implements culler.Source: DELETE /users/{user}/server, or
// /users/{user}/servers/{server} for a named server.
func (c *Client) StopServer(ctx context.Context, user, server string) error {
	return c.stop(ctx, user, server, false)
}

// RemoveServer implements culler.Source: DELETE
// /users/{user}/servers/{server} with {"remove": true}.
func (c *Client) RemoveServer(ctx context.Context, user, server string) error {
	if server == "" {
		return fmt.Errorf("hubapi: removing a server of %s: the default server cannot be removed", user)
	}
	return c.stop(ctx, user, server, true)
}

func (c *Client) stop(ctx context.Context, user, server string, remove bool) error {
	if user == "" {
		return fmt.Errorf("hubapi: stopping a server: empty user name")
	}
	u := c.endpoint("users", user, "server")
	if server != "" {
		u = c.endpoint("users", user, "servers", server)
	}
	var body []byte
	if remove {
		body = []byte(`{"remove": true}`)
	}
	r, retried, err := c.do(ctx, http.MethodDelete, u, body, "")
	if err != nil {
		return err
	}
	switch {
	case r.code == http.StatusAccepted:
		return fmt.Errorf("hubapi: DELETE %s: 202 Accepted: %w", u, culler.ErrStopPending)
	case r.code >= 200 && r.code < 300:
		return nil
	case r.code == http.StatusNotFound && remove && retried:
		// An earlier attempt that timed out removed it.
		return nil
	}
	return c.statusError(http.MethodDelete, u, r)
}

// DeleteUser implements culler.Source: DELETE /users/{user}.
func (c *Client) DeleteUser(ctx context.Context, user string) error {
	if user == "" {
		return fmt.Errorf("hubapi: deleting a user: empty user name")
	}
	u := c.endpoint("users", user)
	r, retried, err := c.do(ctx, http.MethodDelete, u, nil, "")
	if err != nil {
		return err
	}
	switch {
	case r.code >= 200 && r.code < 300:
		return nil
	case r.code == http.StatusNotFound && retried:
		// An earlier attempt that timed out deleted the user.
		return nil
	}
	return c.statusError(http.MethodDelete, u, r)
}
