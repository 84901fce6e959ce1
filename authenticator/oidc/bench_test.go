package oidc_test

import (
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/testenv"
)

// providerClock sums the time the authenticator's requests spend at the
// provider: from sending a request to closing its response body.
type providerClock struct {
	base http.RoundTripper
	ns   atomic.Int64
	n    atomic.Int64
}

func (p *providerClock) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := p.base.RoundTrip(r)
	if err != nil {
		p.ns.Add(int64(time.Since(start)))
		return nil, err
	}
	p.n.Add(1)
	res.Body = &timedBody{ReadCloser: res.Body, start: start, clock: p}
	return res, nil
}

type timedBody struct {
	io.ReadCloser
	start time.Time
	clock *providerClock
	done  bool
}

func (t *timedBody) Close() error {
	if !t.done {
		t.done = true
		t.clock.ns.Add(int64(time.Since(t.start)))
	}
	return t.ReadCloser.Close()
}

// BenchmarkLoginCallback measures FinishLogin — the OAuth callback: state
// check, code exchange (PKCE), ID-token verification, userinfo, claims,
// rules — against the real provider. The browser's part (authorization,
// login page) runs with the timer stopped; the provider's share of the
// callback (token and userinfo requests, measured at the HTTP client) is
// reported apart from hubkit's own work:
//
//	callbacks/s      whole callbacks per second, one at a time
//	provider-ms/op   time inside provider requests
//	hubkit-µs/op     the rest: hubkit, go-oidc, x/oauth2
//	provider-calls/op
func BenchmarkLoginCallback(b *testing.B) {
	e := newEnv(b, testenv.OIDCTTL{})
	pc := &providerClock{base: &http.Transport{MaxIdleConnsPerHost: 4}}
	o := e.options(allowAll)
	o.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: pc}
	a := e.newAuth(o)
	br := testenv.NewBrowser(b)
	login := func() {
		s := e.start(a, "/hub/home")
		cb, _ := e.p.Login(b, br, s.authURL.String(), "alice", "alice-pw")
		b.StartTimer()
		_, _, err := e.callback(a, cb, s.cookies)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	login() // warm up: discovery, keys, the provider session (SSO from here on)
	b.ResetTimer()
	b.StopTimer()
	pc.ns.Store(0)
	pc.n.Store(0)
	for range b.N {
		login()
	}
	total := b.Elapsed()
	provider := time.Duration(pc.ns.Load())
	n := float64(b.N)
	b.ReportMetric(n/total.Seconds(), "callbacks/s")
	b.ReportMetric(provider.Seconds()*1e3/n, "provider-ms/op")
	b.ReportMetric((total-provider).Seconds()*1e6/n, "hubkit-µs/op")
	b.ReportMetric(float64(pc.n.Load())/n, "provider-calls/op")
}
