package hubconfig

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/internal/hub/scopes"
	"github.com/hubkit/hubkit/secrets/vault"
)

// Validate checks the configuration as a whole: what each value means
// next to the others (an OpenID Connect login without a client id, a
// PostgreSQL store without a URL, pods that could not reach a hub
// listening on loopback, a profile the chosen spawner cannot start). The
// errors are *KeyError values naming the key to change, joined; they wrap
// ErrInvalid. Validate does no I/O.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	host, port, err := net.SplitHostPort(c.Listen)
	if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
		bad("hubkit.listen", "want host:port (\"127.0.0.1:8000\", \":8000\"), got %q", c.Listen)
	}
	if c.APIListen != "" {
		_, aport, err := net.SplitHostPort(c.APIListen)
		if p, perr := strconv.Atoi(aport); err != nil || perr != nil || p < 0 || p > 65535 {
			bad("hubkit.apiListen", "want host:port (\":8081\"), got %q", c.APIListen)
		}
	}
	if !strings.HasPrefix(c.BaseURL, "/") || !strings.HasSuffix(c.BaseURL, "/") || strings.ContainsAny(c.BaseURL, "?# \t\r\n") {
		bad("hub.baseUrl", "want a path starting and ending with \"/\", got %q", c.BaseURL)
	}
	checkURL := func(key, u string) {
		if u != "" && !httpURL(u) {
			bad(key, "want an absolute http(s) URL, got %q", u)
		}
	}
	checkURL("hubkit.publicURL", c.PublicURL)
	checkURL("hubkit.hubAPIURL", c.HubAPIURL)

	switch c.Spawner {
	case SpawnerKube:
		if c.Kube.Options.Image == "" {
			bad("singleuser.image.name", "the kube spawner needs an image")
		}
		switch c.Kube.SlugScheme {
		case "", "safe", "escape":
		default:
			bad("hubkit.kube.slugScheme", "want safe or escape, got %q", c.Kube.SlugScheme)
		}
		if loopback(host) && c.HubAPIURL == "" {
			bad("hubkit.listen", "the hub listens on loopback (%s), which servers in pods cannot reach: listen on "+
				"\":8000\" or set hubkit.hubAPIURL to where pods reach the hub", c.Listen)
		}
	case SpawnerLocal:
		if c.Local.Cmd != nil && (len(c.Local.Cmd) == 0 || c.Local.Cmd[0] == "") {
			bad("hubkit.local.cmd", "names no command")
		}
		if c.Profiles != nil {
			err := c.Profiles.Check(func(o map[string]any) error {
				var unknown []string
				for k := range o {
					if !slices.Contains(localOverrideKeys, k) {
						unknown = append(unknown, k)
					}
				}
				if len(unknown) > 0 {
					slices.Sort(unknown)
					return fmt.Errorf("the local spawner takes only %s, not %s (set hubkit.spawner: kube)",
						strings.Join(localOverrideKeys, ", "), strings.Join(unknown, ", "))
				}
				return nil
			})
			if err != nil {
				bad("singleuser.profileList", "%v", err)
			}
		}
	default:
		bad("hubkit.spawner", "want %q or %q, got %q", SpawnerLocal, SpawnerKube, c.Spawner)
	}
	if c.Spark != nil && c.Spawner != SpawnerKube {
		bad("hubkit.spark", "the Spark driver Service needs the kube spawner (hubkit.spawner: kube)")
	}

	c.validateAuth(bad)

	switch c.Store.Driver {
	case DriverSQLite:
		if c.Store.Path == "" {
			bad("hubkit.store.path", "the SQLite store needs a file name")
		}
	case DriverPostgres:
		if u, err := url.Parse(c.Store.URL); c.Store.URL == "" || err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("hub.db.url", "the postgres store needs a postgresql:// URL, got %q", c.Store.URL)
		}
	default:
		bad("hub.db.type", "want a sqlite or postgres store, got driver %q", c.Store.Driver)
	}

	o := c.Cull.Options
	if o.Timeout < 0 || o.Every < 0 || o.MaxAge < 0 || o.Concurrency < 0 {
		bad("cull", "timeout, every, maxAge and concurrency must not be negative")
	}
	if l := c.Limits; l.ConcurrentSpawnLimit < 0 || l.ActiveServerLimit < 0 || l.NamedServerLimitPerUser < 0 {
		bad("hub.concurrentSpawnLimit", "limits must not be negative")
	}

	if v := c.Vault; v != nil {
		checkURL("hubkit.vault.address", v.Address)
		if v.Address == "" {
			bad("hubkit.vault.address", "is required")
		}
		checkURL("hubkit.vault.serverAddress", v.Provisioner.Address)
		n := 0
		for _, set := range []bool{v.Kubernetes != nil, v.TokenFile != "", v.TokenEnv != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			bad("hubkit.vault", "set exactly one way for the hub to log in: kubernetes (recommended), tokenFile or tokenEnv")
		}
		if v.Kubernetes != nil && v.Kubernetes.Role == "" {
			bad("hubkit.vault.kubernetes.role", "is required")
		}
		ttl, maxTTL := v.Provisioner.TTL, v.Provisioner.MaxTTL
		if ttl == 0 {
			ttl = defaultVaultTTL
		}
		if maxTTL == 0 {
			maxTTL = defaultVaultMaxTTL
		}
		if ttl > maxTTL {
			bad("hubkit.vault.ttl", "%v is longer than maxTTL %v", ttl, maxTTL)
		}
		switch v.Provisioner.Revoke {
		case "", vault.RevokeOnSpawn, vault.RevokeOnStop, vault.RevokeNever:
		default:
			bad("hubkit.vault.revoke", "want spawn, stop or never, got %q", v.Provisioner.Revoke)
		}
	}

	names, tokens := map[string]bool{}, map[string]string{}
	for _, s := range c.Services {
		key := child("hub.services", s.Name)
		switch {
		case s.Name == "":
			bad("hub.services", "a service needs a name")
		case names[s.Name]:
			bad(key, "two services have this name")
		}
		names[s.Name] = true
		if s.APIToken != "" {
			if other, dup := tokens[s.APIToken]; dup {
				bad(key+".apiToken", "is the token of service %q too", other)
			}
			tokens[s.APIToken] = s.Name
		}
		checkURL(key+".url", s.URL)
		if err := scopes.Validate(s.Scopes); err != nil {
			bad("hub.loadRoles", "service %q: %v", s.Name, err)
		}
	}

	if len(c.CryptKeys) > 0 {
		if _, err := authenticator.ParseKeyring(strings.Join(c.CryptKeys, ";")); err != nil {
			bad("hub.config.CryptKeeper.keys", "%v", err)
		}
	} else if !envName(c.CryptKeyEnv) {
		bad("hubkit.cryptKeyEnv", "want an environment variable name, got %q", c.CryptKeyEnv)
	}
	for k := range c.HubEnv {
		if !envName(k) {
			bad("hub.extraEnv", "%q is not an environment variable name", k)
		}
	}
	return errors.Join(errs...)
}

// Vault's defaults (secrets/vault.ProvisionerOptions), for the TTL check.
const (
	defaultVaultTTL    = 24 * time.Hour
	defaultVaultMaxTTL = 168 * time.Hour
)

func (c *Config) validateAuth(bad func(key, format string, args ...any)) {
	a := c.Auth
	const gen = "hub.config.GenericOAuthenticator."
	switch a.Type {
	case AuthDev:
	case AuthOIDC:
		o := a.OIDC
		if o.ClientID == "" {
			bad(gen+"client_id", "is required for the OpenID Connect login")
		}
		switch {
		case o.Issuer == "":
			bad("hubkit.auth.oidc.issuer", "is required for the OpenID Connect login: hubkit verifies every ID token "+
				"against the issuer (a Keycloak realm is recognised from its authorize_url, token_url or userdata_url)")
		case !httpURL(o.Issuer):
			bad("hubkit.auth.oidc.issuer", "want an http(s) URL, got %q", o.Issuer)
		}
		if o.RedirectURL == "" {
			bad(gen+"oauth_callback_url", "is required for the OpenID Connect login (or set hubkit.publicURL to derive it)")
		} else if !httpURL(o.RedirectURL) {
			bad(gen+"oauth_callback_url", "want an absolute http(s) URL, got %q", o.RedirectURL)
		}
		if o.PostLogoutRedirectURL != "" && !httpURL(o.PostLogoutRedirectURL) {
			bad(gen+"logout_redirect_url", "want an absolute http(s) URL, got %q", o.PostLogoutRedirectURL)
		}
		for _, u := range []string{o.Endpoints.AuthURL, o.Endpoints.TokenURL, o.Endpoints.UserInfoURL, o.Endpoints.JWKSURL, o.Endpoints.EndSessionURL} {
			if u != "" && !httpURL(u) {
				bad(gen+"authorize_url", "endpoint %q is not an absolute http(s) URL", u)
			}
		}
	case AuthHeader:
		h := a.Header
		if h.Issuer == "" {
			bad("hubkit.auth.header.issuer", "is required (or cloudflareTeam)")
		} else if !httpURL(h.Issuer) {
			bad("hubkit.auth.header.issuer", "want an http(s) URL, got %q", h.Issuer)
		}
		if h.Audience == "" {
			bad("hubkit.auth.header.audience", "is required: the Cloudflare Access application's AUD tag, or the oauth2-proxy's client id")
		}
	default:
		bad("hub.config.JupyterHub.authenticator_class", "unknown login type %q", a.Type)
		return
	}
	r := a.Rules
	if !r.AllowAll && len(r.AllowedUsers)+len(r.AllowedGroups)+len(r.AllowedRoles)+len(r.AdminUsers)+len(r.AdminGroups)+len(r.AdminRoles) == 0 {
		bad("hub.config.Authenticator.allow_all", "no one may log in: set allow_all, allowed_users, allowed_groups or admin_users")
	}
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func envName(s string) bool {
	return s != "" && !strings.ContainsAny(s, "=\x00")
}
