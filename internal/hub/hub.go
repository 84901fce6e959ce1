package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/internal/hub/proxy"
	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/ui"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner"
)

// APIVersion is the JupyterHub REST API version the hub speaks, reported
// by GET /hub/api/ and in the X-JupyterHub-Version header. The
// single-user server compares it with its own and warns on a mismatch
// of major.minor; Debian's jupyterhub-singleuser is 3.0.
const APIVersion = "3.0.0"

// Config configures a Hub. Store, Spawner, Authenticator and Keys are
// required; everything else has a working default.
type Config struct {
	// Store keeps the hub's state. Required.
	Store store.Store
	// Spawner starts and stops the single-user servers. Required.
	Spawner spawner.Spawner
	// Authenticator logs people in; its callback is mounted at
	// /hub/oauth_callback (the development login posts there too).
	// Required.
	Authenticator authenticator.Authenticator
	// Keys seal session cookies and auth state. Every replica of a hub
	// needs the same keys (JUPYTERHUB_CRYPT_KEY's format). Required.
	Keys *authenticator.Keyring
	// SessionStore keeps each session's sealed auth state (the
	// provider's tokens) between requests. Default: the Store's shared
	// values (SessionStore), so that every replica, and the hub after a
	// restart, can refresh a session. The latest login's auth state is
	// also kept, sealed, per user (JupyterHub's auth_state).
	SessionStore authenticator.StateStore

	// Profiles, when set, is the spawn form (z2jh's profileList).
	Profiles *profiles.List
	// ProfileBase is the spawner's configuration as a JSON object, given
	// to profiles.Resolve so that a profile that deletes a map keeps it
	// deleted. Optional.
	ProfileBase map[string]any

	// BaseURL is the prefix of every URL of the hub (JupyterHub's
	// base_url): the hub is at BaseURL+"hub/", servers at
	// BaseURL+"user/NAME/". Default "/".
	BaseURL string
	// HubAPIURL is where servers reach the hub's API, for example
	// "http://hubkit-api:8081/hub/api" in a cluster. Default
	// "http://127.0.0.1:8000" + BaseURL + "hub/api".
	HubAPIURL string
	// DefaultURL is where a server opens (JUPYTERHUB_DEFAULT_URL, z2jh's
	// singleuser.defaultUrl); "" for the server's own default.
	DefaultURL string

	// SecretEnv returns secret environment variables for a server (a
	// per-user Vault token: secrets/vault's Grant.SecretEnv), called at
	// every start. An error fails the start. Optional.
	SecretEnv func(ctx context.Context, user store.User, ref spawner.Ref) (map[string]string, error)
	// SecretEnvOptional starts a server without its secret variables when
	// SecretEnv fails (Vault is down), saying so in the progress stream
	// and the log. Default false: the start fails with the reason.
	SecretEnvOptional bool
	// AfterStop is called after a server stopped (revoking the Vault
	// token the start handed out). Errors are logged. Optional.
	AfterStop func(ctx context.Context, ref spawner.Ref)

	// Limits bound what users may start.
	Limits Limits

	// StartTimeout bounds a start, including the spawner's own wait.
	// Default 5 minutes (z2jh's singleuser.startTimeout is 300 s).
	StartTimeout time.Duration
	// StopTimeout bounds a stop. Default 2 minutes.
	StopTimeout time.Duration
	// SlowSpawnTimeout is how long a start or stop request waits for the
	// operation before it answers 202 (JupyterHub's slow_spawn_timeout
	// and slow_stop_timeout). Default 10 s.
	SlowSpawnTimeout time.Duration
	// PollInterval is how often running servers are checked, so that a
	// server that died is noticed (JupyterHub's Spawner.poll_interval).
	// Default 30 s.
	PollInterval time.Duration
	// ActivityInterval is how often the proxy's per-route activity is
	// written to the store. Default 30 s.
	ActivityInterval time.Duration

	// Services are the hub's API clients with tokens from configuration
	// (z2jh's hub.services), such as an external idle culler.
	Services []Service

	// ReplicaID names this hub process in server claims. Default "hubkit":
	// right for one replica, whose restarts then recognise their own
	// unfinished claims. Replicas sharing a store need distinct IDs and a
	// ClaimTTL.
	ReplicaID string
	// ClaimTTL is how long a claim on a server lasts before another
	// replica may take it over; the owner renews it while it works.
	// Default 0: claims never expire (one replica).
	ClaimTTL time.Duration
	// SyncInterval is how often the hub reads the store's active servers
	// to follow what other replicas do: routes of servers they started or
	// stopped, the active-server count, and operations of replicas that
	// died (see ha.go). Default: 1 s when ClaimTTL is set (several
	// replicas), else never.
	SyncInterval time.Duration

	// SessionMaxAge is how long a login lasts. Default 24 h.
	SessionMaxAge time.Duration
	// SecureCookies sets Secure on cookies even over plain HTTP (set it
	// behind a TLS-terminating load balancer).
	SecureCookies bool
	// ManageGroups copies the identity's groups into the store at every
	// login (OAuthenticator's manage_groups), so that profiles filtered by
	// group apply to starts through the API too. Default false: groups
	// are managed through the API, and the groups of the login session
	// are used for the spawn form.
	ManageGroups bool
	// MetricsPublic serves /hub/metrics without a token (JupyterHub's
	// authenticate_prometheus=False). Default false: the read:metrics
	// scope is needed.
	MetricsPublic bool
	// MaxBodyBytes bounds request bodies of the hub's API and forms.
	// Default 1 MiB.
	MaxBodyBytes int64

	// Registerer receives the hub's Prometheus metrics. Default: a
	// registry of the hub's own, served at /hub/metrics.
	Registerer prometheus.Registerer
	// Gatherer serves /hub/metrics. Default: the hub's own registry
	// (when Registerer is nil), else prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Logger receives structured logs. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Limits bound what users may start. Zero means no limit.
type Limits struct {
	// ConcurrentSpawns is how many starts may be in progress at once
	// (z2jh's hub.concurrentSpawnLimit); beyond it a start is answered
	// 429 with Retry-After.
	ConcurrentSpawns int
	// ActiveServers is how many servers may be running or starting at
	// once (hub.activeServerLimit); beyond it a start is answered 429.
	ActiveServers int
	// AllowNamedServers lets users have servers other than their default
	// one (hub.allowNamedServers).
	AllowNamedServers bool
	// NamedServersPerUser bounds each user's named servers
	// (hub.namedServerLimitPerUser); beyond it a start is answered 400.
	NamedServersPerUser int
}

// Service is an API client of the hub configured with its token, as
// JupyterHub's services are.
type Service struct {
	// Name identifies the service.
	Name string
	// APIToken is the service's token (at least 8 characters).
	APIToken string
	// Scopes are the JupyterHub scopes the service holds.
	Scopes []string
	// Admin gives the service the admin role's scopes (JupyterHub's
	// deprecated admin flag).
	Admin bool
}

// Hub is a JupyterHub-compatible hub: REST API, OAuth provider for the
// single-user servers, web pages, in-process proxy and the orchestration of
// starts and stops. Create it with New, serve Handler, and call Run.
type Hub struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	st       store.Store
	sessions *authenticator.Sessions
	proxy    *proxy.Proxy
	pages    *ui.UI
	mux      *http.ServeMux
	batcher  *store.ActivityBatcher
	metrics  *metrics
	prefix   string // BaseURL + "hub/"
	services map[string]*serviceEntry

	mu       sync.Mutex
	ops      map[spawner.Ref]*operation
	lastErr  map[spawner.Ref]string
	routes   map[string]spawner.Ref // proxy prefix → server
	routeSet map[string]time.Time   // proxy prefix → when this replica set it
	checking map[spawner.Ref]bool   // takeovers in progress (ha.go)
	spawning atomic.Int64
	active   atomic.Int64

	ready atomic.Bool
}

// New checks cfg and returns a hub. It does no I/O; Run starts it.
func New(cfg Config) (*Hub, error) {
	if cfg.Store == nil || cfg.Spawner == nil || cfg.Authenticator == nil || cfg.Keys == nil {
		return nil, errors.New("hub: Store, Spawner, Authenticator and Keys are required")
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	h := &Hub{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		st:       cfg.Store,
		prefix:   cfg.BaseURL + "hub/",
		ops:      map[spawner.Ref]*operation{},
		lastErr:  map[spawner.Ref]string{},
		routes:   map[string]spawner.Ref{},
		routeSet: map[string]time.Time{},
		checking: map[spawner.Ref]bool{},
	}
	ss := cfg.SessionStore
	if ss == nil {
		ss = SessionStore(cfg.Store)
	}
	var err error
	h.sessions, err = authenticator.NewSessions(authenticator.SessionOptions{
		Keys:         cfg.Keys,
		Store:        ss,
		CookieName:   "hubkit-session",
		Path:         h.prefix,
		MaxAge:       cfg.SessionMaxAge,
		AlwaysSecure: cfg.SecureCookies,
		Now:          cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("hub: sessions: %w", err)
	}
	h.pages, err = ui.New(ui.Options{BaseURL: h.prefix, Logger: cfg.Logger, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("hub: pages: %w", err)
	}
	h.services, err = newServices(cfg.Services)
	if err != nil {
		return nil, err
	}
	h.metrics, err = newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	if cfg.Gatherer == nil {
		if cfg.Registerer == nil {
			cfg.Gatherer = h.metrics.registry
		} else {
			cfg.Gatherer = prometheus.DefaultGatherer
		}
		h.cfg.Gatherer = cfg.Gatherer
	}
	h.batcher = store.NewActivityBatcher(cfg.Store, store.BatcherOptions{})
	h.mux = h.routesMux()
	h.proxy = proxy.New(proxy.Options{
		Fallback:     h.withMetrics(h.mux),
		ErrorHandler: h.proxyError,
	})
	return h, nil
}

func (c *Config) defaults() error {
	if c.BaseURL == "" {
		c.BaseURL = "/"
	}
	if !strings.HasPrefix(c.BaseURL, "/") || !strings.HasSuffix(c.BaseURL, "/") || strings.Contains(c.BaseURL, "//") {
		return fmt.Errorf("hub: BaseURL %q must begin and end with a single /", c.BaseURL)
	}
	if c.HubAPIURL == "" {
		c.HubAPIURL = "http://127.0.0.1:8000" + c.BaseURL + "hub/api"
	}
	c.HubAPIURL = strings.TrimSuffix(c.HubAPIURL, "/")
	if u, err := url.Parse(c.HubAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("hub: HubAPIURL %q is not an http(s) URL", c.HubAPIURL)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.StartTimeout, 5*time.Minute)
	def(&c.StopTimeout, 2*time.Minute)
	def(&c.SlowSpawnTimeout, 10*time.Second)
	def(&c.PollInterval, 30*time.Second)
	def(&c.ActivityInterval, 30*time.Second)
	def(&c.SessionMaxAge, 24*time.Hour)
	if c.SyncInterval <= 0 && c.ClaimTTL > 0 {
		c.SyncInterval = time.Second
	}
	if c.ReplicaID == "" {
		c.ReplicaID = "hubkit"
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Handler returns the hub's one HTTP handler: the proxy, which sends
// /user/… to the servers and everything else to the hub's pages and API.
func (h *Hub) Handler() http.Handler { return h.proxy }

// Proxy returns the hub's proxy, for serving it with proxy.Serve's fast
// path.
func (h *Hub) Proxy() *proxy.Proxy { return h.proxy }

// Ready reports whether Run has finished its start-up checks.
func (h *Hub) Ready() bool { return h.ready.Load() }

// Run starts the hub's background work and blocks until ctx ends: it
// first checks every server the store says is active (re-adopting those
// that run, cleaning up those that do not) and stops servers the spawner
// runs that the store does not know, then polls running servers, writes
// activity and purges expired tokens. It returns nil when ctx ends, after
// flushing activity.
func (h *Hub) Run(ctx context.Context) error {
	start := h.now()
	if err := h.startup(ctx); err != nil {
		return err
	}
	h.metrics.startup.Set(h.now().Sub(start).Seconds())
	h.ready.Store(true)
	defer h.ready.Store(false)

	var wg sync.WaitGroup
	bctx, bcancel := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() { _ = h.batcher.Run(bctx) })
	wg.Go(func() { h.every(ctx, h.cfg.ActivityInterval, h.collectActivity) })
	wg.Go(func() { h.every(ctx, h.cfg.PollInterval, h.poll) })
	wg.Go(func() { h.every(ctx, time.Hour, h.purge) })
	wg.Go(func() { h.every(ctx, time.Minute, h.countUsers) })
	if h.cfg.SyncInterval > 0 {
		wg.Go(func() { h.every(ctx, h.cfg.SyncInterval, h.sync) })
	}
	<-ctx.Done()
	h.collectActivity(context.WithoutCancel(ctx))
	h.waitOps(10 * time.Second)
	bcancel()
	wg.Wait()
	return nil
}

func (h *Hub) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

func (h *Hub) purge(ctx context.Context) {
	if n, err := h.st.PurgeExpired(ctx); err != nil {
		h.log.Warn("purging expired tokens", "err", err)
	} else if n > 0 {
		h.log.Info("purged expired tokens and codes", "count", n)
	}
}

func (h *Hub) countUsers(ctx context.Context) {
	n, err := h.st.CountUsers(ctx, store.UserQuery{})
	if err == nil {
		h.metrics.users.Set(float64(n))
	}
}
