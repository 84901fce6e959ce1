package hubconfig

import (
	"time"

	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/header"
	"github.com/hubkit/hubkit/authenticator/oidc"
	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/secrets/vault"
	"github.com/hubkit/hubkit/sparksvc"
	"github.com/hubkit/hubkit/spawner/kube"
	"github.com/hubkit/hubkit/spawner/local"
)

// Config is the example hub's configuration. Load reads it from a z2jh
// values.yaml; Default is what an empty document gives. The zero value is
// not a usable configuration: start from Default.
//
// Each field names the values.yaml key it comes from. The package
// documentation has the complete key reference.
type Config struct {
	// Listen is the address the hub (its proxy, web UI and API) listens
	// on: hubkit.listen. Default "127.0.0.1:8000". z2jh's proxy.service
	// ports configure Kubernetes Services, which deploy/ manifests own.
	Listen string

	// APIListen, when set, is a second address the hub serves on, for
	// the single-user servers' API calls (JupyterHub's hub port, 8081):
	// hubkit.apiListen. It serves the same handler as Listen; its point
	// is that a NetworkPolicy can let server pods reach only it. Default
	// "": servers use Listen.
	APIListen string

	// BaseURL is the URL prefix of everything the hub serves:
	// hub.baseUrl (or hub.config.JupyterHub.base_url), with a leading and
	// a trailing slash. Default "/".
	BaseURL string

	// PublicURL is the URL users reach the hub at, such as
	// "https://hub.example.com": hubkit.publicURL. Optional; when set and
	// no oauth_callback_url is given, the OpenID Connect callback is
	// PublicURL + BaseURL + "hub/oauth_callback".
	PublicURL string

	// HubAPIURL is where single-user servers reach the hub's API
	// (JUPYTERHUB_API_URL), such as "http://hub.jhub.svc:8000/hub/api":
	// hubkit.hubAPIURL. Default "": the hub derives it from Listen.
	HubAPIURL string

	// Spawner is "local" (the default) or "kube": hubkit.spawner. A z2jh
	// values file alone gives the local spawner; say hubkit.spawner: kube
	// to run servers as pods.
	Spawner string

	// Local configures spawner/local: singleuser.cmd (default
	// jupyterhub-singleuser), singleuser.startTimeout (default 300 s),
	// the plain values of singleuser.extraEnv, singleuser.defaultUrl (as
	// JUPYTERHUB_DEFAULT_URL), hub.config.Spawner's cmd, args,
	// environment, start_timeout and default_url, then hubkit.local
	// (cmd, args, startTimeout, stateDir, homeRoot, host) over them.
	Local local.Options

	// Kube configures spawner/kube: the singleuser block mapped to
	// KubeSpawner trait names as z2jh's jupyterhub_config.py maps it,
	// hub.config.Spawner and hub.config.KubeSpawner, then
	// hubkit.kube.options (trait names, merged last) and
	// hubkit.kube.{namespace, enableUserNamespaces,
	// userNamespaceTemplate, slugScheme, instance}. Its Options hold
	// z2jh's defaults even when Spawner is "local".
	Kube kube.Config

	// Profiles is singleuser.profileList, parsed by profiles.Parse and
	// checked against Kube.Options. Nil when the list is absent or empty.
	Profiles *profiles.List

	// Auth is the login: hub.config's authenticator sections and
	// hubkit.auth.
	Auth Auth

	// Cull is the idle culler: cull.
	Cull Cull

	// Limits are the hub's spawn and server limits.
	Limits Limits

	// Store is where the hub keeps its state: hub.db and hubkit.store.
	Store Store

	// Replica identifies this hub process among several sharing one
	// PostgreSQL store: hubkit.replica.
	Replica Replica

	// Vault enables per-user Vault tokens for servers: hubkit.vault. Nil
	// means no Vault.
	Vault *Vault

	// Spark enables the Spark driver Service and executor isolation of
	// package sparksvc (kube spawner only): hubkit.spark. Nil means off.
	Spark *sparksvc.Config

	// HubEnv holds the plain values of hub.extraEnv: the environment z2jh
	// gives the hub pod, which deploy/ manifests put into the hub's
	// Deployment.
	HubEnv map[string]string

	// HubEnvFrom holds the hub.extraEnv entries that take their value
	// from a Secret, ConfigMap or field (valueFrom). Only Kubernetes can
	// resolve them: they matter to the hub's Deployment, and a hub
	// running with the local spawner gets a Warning for each.
	HubEnvFrom map[string]corev1.EnvVarSource

	// CryptKeyEnv names the environment variable that holds the keys
	// sealing sessions and auth state, in JUPYTERHUB_CRYPT_KEY's format
	// (hex or base64 keys separated by ";"): hubkit.cryptKeyEnv. Default
	// "JUPYTERHUB_CRYPT_KEY".
	CryptKeyEnv string

	// CryptKeys are keys given in the document itself:
	// hub.config.CryptKeeper.keys. When set they are used instead of
	// CryptKeyEnv. A values file is a poor place for keys; prefer the
	// environment variable.
	CryptKeys []string

	// AdminUsers are the users who are admins from the start:
	// hub.config.Authenticator.admin_users (and the deprecated
	// hub.config.JupyterHub.admin_users). The same list is in
	// Auth.Rules.AdminUsers.
	AdminUsers []string

	// Services are the hub's API clients: hub.services, with the scopes
	// hub.loadRoles grants them.
	Services []Service

	// Debug turns on debug logging: debug.enabled.
	Debug bool
}

// Spawner names.
const (
	SpawnerLocal = "local"
	SpawnerKube  = "kube"
)

// Auth types.
const (
	// AuthDev is authenticator/dev, the development login (z2jh's
	// default "dummy" authenticator).
	AuthDev = "dev"
	// AuthOIDC is authenticator/oidc (GenericOAuthenticator, Keycloak).
	AuthOIDC = "oidc"
	// AuthHeader is authenticator/header (a signed JWT from a trusted
	// front proxy such as Cloudflare Access or oauth2-proxy).
	AuthHeader = "header"
)

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Defaults that are not z2jh's.
const (
	DefaultListen      = "127.0.0.1:8000"
	DefaultCryptKeyEnv = "JUPYTERHUB_CRYPT_KEY"
	DefaultSQLitePath  = "hubkit.sqlite"
)

// DevWarning is Auth.Warning for the development login.
const DevWarning = "DEVELOPMENT LOGIN: anyone who can reach the hub can log in as any user " +
	"(with the one shared password, if set) and start servers as them. " +
	"Never use it where people other than you can reach the hub; " +
	"set hub.config.JupyterHub.authenticator_class to generic-oauth (OpenID Connect, Keycloak) " +
	"or configure hubkit.auth.header for a trusted front proxy."

// Auth configures the login.
type Auth struct {
	// Type is AuthDev, AuthOIDC or AuthHeader.
	// hub.config.JupyterHub.authenticator_class "dummy" (z2jh's default)
	// is AuthDev; "generic-oauth", "GenericOAuthenticator",
	// "oauthenticator.generic.GenericOAuthenticator" and "keycloak" are
	// AuthOIDC; a hubkit.auth.header section is AuthHeader. Any other
	// authenticator class is an error: hubkit never falls back to another
	// login than the one asked for.
	Type string

	// Rules decide who may log in and who is an admin:
	// allow_all, allowed_users, allowed_groups, admin_users,
	// admin_groups, blocked_users from hub.config.Authenticator,
	// OAuthenticator and GenericOAuthenticator (the more specific class
	// winning, as in traitlets). For AuthDev, AllowAll defaults to true
	// when no allow rule is given. Copied into OIDC.Rules and
	// Header.Rules.
	Rules authenticator.Rules

	// OIDC is the authenticator/oidc configuration for AuthOIDC, from
	// GenericOAuthenticator's client_id, client_secret,
	// oauth_callback_url, authorize_url, token_url, userdata_url,
	// username_claim (or username_key), scope, claim_groups_key or
	// auth_state_groups_key, logout_redirect_url and
	// extra_authorize_params, and hubkit.auth.oidc (issuer, jwksURL,
	// endSessionURL). When the provider is a Keycloak realm it starts
	// from the Keycloak preset. Keys are left for the hub to set.
	OIDC oidc.Options

	// Keycloak is the realm when the issuer or the endpoint URLs are a
	// Keycloak realm's (…/realms/<realm>/protocol/openid-connect/…);
	// OIDC was built from its preset. Nil otherwise.
	Keycloak *oidc.Keycloak

	// Header is the authenticator/header configuration for AuthHeader:
	// hubkit.auth.header.
	Header header.Options

	// DevPassword is the development login's shared password:
	// hub.config.DummyAuthenticator.password. Empty: the hub chooses.
	DevPassword string

	// Warning is DevWarning for AuthDev, empty otherwise. Show it loudly.
	Warning string

	// EnableAuthState keeps the login's tokens (encrypted) for the
	// user's servers: hub.config.Authenticator.enable_auth_state.
	EnableAuthState bool

	// ManageGroups makes the provider's groups the hub's groups:
	// hub.config.Authenticator.manage_groups.
	ManageGroups bool

	// AutoLogin skips the hub's login page and goes straight to the
	// provider: hub.config.Authenticator.auto_login.
	AutoLogin bool

	// LoginService names the provider on the login button ("Sign in with
	// …"): login_service.
	LoginService string
}

// Cull configures the in-process idle culler, with z2jh's defaults.
type Cull struct {
	// Enabled runs the culler: cull.enabled. Default true.
	Enabled bool
	// Options: cull.timeout (default 3600 s), cull.every (600 s),
	// cull.maxAge (0, off), cull.users (false → CullUsers),
	// cull.adminUsers (true; false sets SkipAdminUsers),
	// cull.removeNamedServers (false), cull.concurrency (10).
	Options culler.Options
}

// Limits are the hub's limits on servers.
type Limits struct {
	// ConcurrentSpawnLimit bounds the servers starting at once:
	// hub.concurrentSpawnLimit. Default 64; 0 means no limit.
	ConcurrentSpawnLimit int
	// ActiveServerLimit bounds the servers running at once:
	// hub.activeServerLimit. Default 0, no limit.
	ActiveServerLimit int
	// NamedServerLimitPerUser bounds each user's named servers:
	// hub.namedServerLimitPerUser. Default 0, no limit.
	NamedServerLimitPerUser int
	// AllowNamedServers lets users run named servers besides their
	// default one: hub.allowNamedServers. Default false.
	AllowNamedServers bool
}

// Store says where the hub keeps its state.
type Store struct {
	// Driver is "sqlite" (hub.db.type sqlite-pvc, the default, or
	// sqlite-memory) or "postgres" (hub.db.type postgres, or other with a
	// postgres:// URL).
	Driver string
	// Path is the SQLite file: hubkit.store.path, or the path of a
	// sqlite:/// hub.db.url. Default "hubkit.sqlite" in the working
	// directory.
	Path string
	// URL is the PostgreSQL connection URL: hub.db.url.
	URL string
	// Password is hub.db.password, which z2jh hands to PostgreSQL as
	// PGPASSWORD rather than in the URL.
	Password string
}

// Replica identifies a hub replica: hubkit.replica. Only a hub on the
// PostgreSQL store may run as several replicas.
type Replica struct {
	// ID names this process in claims on servers and in leases: id.
	// Default: the host name (a pod's name in Kubernetes) with the store
	// on PostgreSQL, "hubkit" with SQLite. Every replica needs its own.
	ID string
	// ClaimTTL is how long a replica's claim on a server (a start or stop
	// in progress) and its lease on periodic work (the culler) last
	// without renewal before another replica takes over: claimTTL.
	// Default 30 s with PostgreSQL; with SQLite claims never expire.
	ClaimTTL time.Duration
}

// Vault configures per-user Vault access (package secrets/vault):
// hubkit.vault. The hub logs in with Kubernetes auth (recommended) or a
// token it reads from a file or an environment variable; exactly one of
// Kubernetes, TokenFile and TokenEnv is set.
type Vault struct {
	// Address is Vault's URL as the hub reaches it: address. Required.
	Address string
	// Namespace is the Vault Enterprise namespace: namespace.
	Namespace string
	// Kubernetes logs the hub in with its service account:
	// kubernetes.{role, mountPath, tokenPath}.
	Kubernetes *vault.KubernetesAuth
	// TokenFile holds the hub's token, read at every login (an
	// ExternalSecret may replace it): tokenFile.
	TokenFile string
	// TokenEnv names the environment variable holding the hub's token:
	// tokenEnv.
	TokenEnv string
	// Optional starts servers without their Vault token when Vault
	// cannot give one (down, the hub's token revoked), saying so in the
	// start's progress: optional. Default false: such starts fail.
	Optional bool
	// Provisioner makes the users' policies and tokens: mount,
	// pathTemplate, policyTemplate, tokenRole, ttl, maxTTL, revoke,
	// statePath, and serverAddress (the VAULT_ADDR servers get).
	Provisioner vault.ProvisionerOptions
}

// Service is a client of the hub's API, from hub.services (and the
// scopes hub.loadRoles gives it).
type Service struct {
	// Name is the service's name: the key under hub.services (or its
	// name).
	Name string
	// APIToken is the service's token: apiToken (or api_token).
	APIToken string
	// Admin gives the service the admin role: admin.
	Admin bool
	// Scopes are the scopes of the hub.loadRoles roles that list the
	// service, in order, without duplicates.
	Scopes []string
	// URL is where the hub proxies /services/<name>/ to: url.
	URL string
}

// Warning is a key of the document that hubkit does not act on: a z2jh
// setting with no counterpart, a key that no chart version has, or a
// setting that does not apply to the chosen spawner or login. Load
// returns one per key path; a key set to the chart's default value gets
// none.
type Warning struct {
	// Key is the key path, such as "hub.extraConfig" or
	// `singleuser.extraLabels["example.com/team"]`.
	Key string
	// Message says why nothing happens and what to use instead.
	Message string
}

// String returns "key: message".
func (w Warning) String() string { return w.Key + ": " + w.Message }

// ErrInvalid is wrapped by every error about the configuration's content
// (Load's and Validate's), as opposed to I/O errors.
var ErrInvalid = errors.New("hubconfig: invalid configuration")

// KeyError is a value of the configuration that cannot be used. It wraps
// ErrInvalid.
type KeyError struct {
	// Key is the key path ("singleuser.storage.capacity"); empty for the
	// document as a whole.
	Key string
	// Line is the value's line in the document, 0 when unknown.
	Line int
	// Msg says what is wrong ("want string, got list").
	Msg string
}

// Error returns "hubconfig: key: message (line n)".
func (e *KeyError) Error() string {
	s := "hubconfig: "
	if e.Key != "" {
		s += e.Key + ": "
	}
	s += e.Msg
	if e.Line > 0 {
		s += fmt.Sprintf(" (line %d)", e.Line)
	}
	return s
}

// Unwrap returns ErrInvalid.
func (e *KeyError) Unwrap() error { return ErrInvalid }

// Default returns the configuration of an empty document: the local
// spawner, the development login allowing everyone, SQLite in
// "hubkit.sqlite", culling on with z2jh's defaults (idle 3600 s, checked
// every 600 s), listening on 127.0.0.1:8000, and Kube.Options holding
// z2jh's singleuser defaults for when hubkit.spawner is "kube".
func Default() *Config {
	cfg, _, err := load(newMap(0))
	if err != nil {
		panic("hubconfig: the embedded chart defaults do not load: " + err.Error())
	}
	return cfg
}
