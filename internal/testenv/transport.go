package testenv

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// APIRecorder counts the requests a client sends to the API server and can
// inject failures into them, for fault tests and request-count benchmarks
// against the real API server.
type APIRecorder struct {
	// Fault, when set, is asked about every request; a non-zero status is
	// answered with that HTTP status (and a Kubernetes Status body) instead
	// of sending the request.
	Fault func(r *http.Request, call string) int
	// LoseAnswer, when set, is asked about every request that was sent; a
	// non-zero status replaces the API server's answer with that status:
	// the request took effect, the client never learns it (a timeout
	// after the write was committed).
	LoseAnswer func(r *http.Request, call string) int

	mu     sync.Mutex
	counts map[string]int
}

// Call names a request as "VERB resource[/subresource]", for example
// "POST pods", "PUT pods/status", "GET pods" (list) or "WATCH pods".
func Call(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// /api/v1/... or /apis/group/version/...
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	}
	if len(parts) >= 2 && parts[0] == "namespaces" && len(parts) > 2 {
		parts = parts[2:]
	}
	res := ""
	if len(parts) > 0 {
		res = parts[0]
	}
	if len(parts) > 2 {
		res += "/" + parts[2]
	}
	verb := r.Method
	if r.Method == http.MethodGet && r.URL.Query().Get("watch") == "true" {
		verb = "WATCH"
	}
	return verb + " " + res
}

// Counts returns a copy of the request counts by call.
func (a *APIRecorder) Counts() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]int, len(a.counts))
	for k, v := range a.counts {
		out[k] = v
	}
	return out
}

// Writes returns the number of POST, PUT, PATCH and DELETE requests.
func (a *APIRecorder) Writes() int {
	n := 0
	for k, v := range a.Counts() {
		switch strings.SplitN(k, " ", 2)[0] {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			n += v
		}
	}
	return n
}

// Reset sets every count to zero.
func (a *APIRecorder) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.counts = nil
}

// Config returns a copy of cfg whose transport goes through a.
func (a *APIRecorder) Config(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &recordingRT{a: a, next: rt} })
	return c
}

// Client returns a clientset on cfg whose requests go through a.
func (a *APIRecorder) Client(cfg *rest.Config) (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(a.Config(cfg))
}

type recordingRT struct {
	a    *APIRecorder
	next http.RoundTripper
}

func (t *recordingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	call := Call(r)
	t.a.mu.Lock()
	if t.a.counts == nil {
		t.a.counts = map[string]int{}
	}
	t.a.counts[call]++
	fault, lose := t.a.Fault, t.a.LoseAnswer
	t.a.mu.Unlock()
	if fault != nil {
		if code := fault(r, call); code != 0 {
			return injected(r, code), nil
		}
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil || lose == nil {
		return resp, err
	}
	if code := lose(r, call); code != 0 {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return injected(r, code), nil
	}
	return resp, nil
}

// injected is an API server's answer with status code and a Kubernetes
// Status body.
func injected(r *http.Request, code int) *http.Response {
	body := fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected %d","reason":%q,"code":%d}`,
		code, reasonFor(code), code)
	return &http.Response{StatusCode: code, Status: fmt.Sprintf("%d injected", code), Request: r,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewBufferString(body))}
}

func reasonFor(code int) string {
	switch code {
	case http.StatusConflict:
		return "Conflict"
	case http.StatusTooManyRequests:
		return "TooManyRequests"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	case http.StatusGatewayTimeout:
		return "Timeout"
	default:
		return "InternalError"
	}
}
