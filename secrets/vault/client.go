package vault

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/vault/api"
)

// ClientOptions configure NewClient. The zero value is not enough: Address
// is required.
type ClientOptions struct {
	// Address is Vault's URL, for example "https://vault.example.com" or
	// "http://127.0.0.1:8200". Required.
	Address string

	// Token is the client's initial token. Optional: a Credential sets it
	// (and keeps it alive) for clients that log in.
	Token string

	// Namespace is the Vault Enterprise namespace. Default: none.
	Namespace string

	// HTTPClient carries the requests. It is copied, never modified; a
	// nil Transport in it, or a nil HTTPClient, means a transport of this
	// package's own (TLS 1.2+, keep-alive, proxies from the environment),
	// never http.DefaultTransport. Redirects are not followed by the
	// copy: Vault's client handles them itself.
	HTTPClient *http.Client

	// Timeout bounds each request, retries included. Default 60 s.
	Timeout time.Duration

	// MaxRetries is how often a request that got no answer or a 5xx
	// answer (Vault sealed or in standby included) is retried, with a
	// short backoff. Default 2; negative disables retries.
	MaxRetries int
}

func (o ClientOptions) withDefaults() ClientOptions {
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = 2
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	hc := &http.Client{}
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		hc = &c
	}
	if hc.Transport == nil {
		hc.Transport = newTransport()
	}
	if hc.CheckRedirect == nil {
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	o.HTTPClient = hc
	return o
}

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
}

// NewClient returns a Vault API client for opts. Unlike api.NewClient
// alone, the result does not depend on the process environment: VAULT_TOKEN,
// VAULT_NAMESPACE and VAULT_HEADERS are not applied, and the HTTP
// transport is never one configured from VAULT_CACERT or
// VAULT_SKIP_VERIFY. (api.NewClient still parses the VAULT_* variables
// and fails if one is malformed.)
//
// The client is safe for concurrent use; a Credential may change its
// token while other goroutines use it.
func NewClient(opts ClientOptions) (*api.Client, error) {
	if opts.Address == "" {
		return nil, errors.New("vault: ClientOptions.Address is required")
	}
	opts = opts.withDefaults()
	c, err := api.NewClient(&api.Config{
		Address:    opts.Address,
		HttpClient: opts.HTTPClient,
		Timeout:    opts.Timeout,
		MaxRetries: opts.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("vault: creating client: %w", err)
	}
	c.SetHeaders(http.Header{api.RequestHeaderName: []string{"true"}})
	if opts.Namespace != "" {
		c.SetNamespace(opts.Namespace)
	}
	c.ClearToken()
	if opts.Token != "" {
		c.SetToken(opts.Token)
	}
	return c, nil
}

// withToken returns a copy of c (same address, transport, namespace and
// headers) that sends token, or no token when token is "".
func withToken(c *api.Client, token string) (*api.Client, error) {
	cc, err := c.CloneWithHeaders()
	if err != nil {
		return nil, fmt.Errorf("vault: cloning client: %w", err)
	}
	cc.ClearToken()
	if token != "" {
		cc.SetToken(token)
	}
	return cc, nil
}
