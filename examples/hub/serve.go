package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/dev"
	"github.com/hubkit/hubkit/authenticator/header"
	"github.com/hubkit/hubkit/authenticator/oidc"
	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
	"github.com/hubkit/hubkit/internal/hub"
	"github.com/hubkit/hubkit/internal/hub/proxy"
	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/postgres"
	"github.com/hubkit/hubkit/internal/hub/store/sqlite"
	"github.com/hubkit/hubkit/internal/hubconfig"
	"github.com/hubkit/hubkit/secrets/vault"
	"github.com/hubkit/hubkit/sparksvc"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
	"github.com/hubkit/hubkit/spawner/local"
)

// cullerService is the name of the in-process culler's service account.
const cullerService = "cull-idle"

// cullerScopes are what the in-process culler needs (z2jh's culler role).
var cullerScopes = []string{"list:users", "read:users:activity", "read:servers", "delete:servers", "admin:users"}

// serve builds the blocks cfg names, runs the hub on cfg.Listen until ctx
// ends, and stops everything it started.
func serve(ctx context.Context, cfg *hubconfig.Config, getenv func(string) string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	local := localURL(ln.Addr().(*net.TCPAddr))
	var apiLn net.Listener
	if cfg.APIListen != "" {
		if apiLn, err = net.Listen("tcp", cfg.APIListen); err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.APIListen, err)
		}
		defer apiLn.Close()
	}

	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	keys, err := cryptKeys(cfg, getenv, log)
	if err != nil {
		return err
	}

	var bg sync.WaitGroup
	bctx, bcancel := context.WithCancel(ctx)
	defer func() { bcancel(); bg.Wait() }()

	sp, profileBase, err := buildSpawner(bctx, cfg, &bg, log)
	if err != nil {
		return err
	}
	auth, err := buildAuthenticator(cfg, keys, local, db, getenv, log)
	if err != nil {
		return err
	}
	hcfg := hub.Config{
		Store:         db,
		Spawner:       sp,
		Authenticator: auth,
		Keys:          keys,
		Profiles:      cfg.Profiles,
		ProfileBase:   profileBase,
		BaseURL:       cfg.BaseURL,
		HubAPIURL:     cfg.HubAPIURL,
		DefaultURL:    cfg.Kube.Options.DefaultURL,
		Limits: hub.Limits{
			ConcurrentSpawns:    cfg.Limits.ConcurrentSpawnLimit,
			ActiveServers:       cfg.Limits.ActiveServerLimit,
			AllowNamedServers:   cfg.Limits.AllowNamedServers,
			NamedServersPerUser: cfg.Limits.NamedServerLimitPerUser,
		},
		ManageGroups: cfg.Auth.ManageGroups,
		Logger:       log.With("component", "hub"),
	}
	hcfg.ReplicaID, hcfg.ClaimTTL = replica(cfg)
	if hcfg.HubAPIURL == "" {
		hcfg.HubAPIURL = local + cfg.BaseURL + "hub/api"
		if apiLn != nil {
			hcfg.HubAPIURL = localURL(apiLn.Addr().(*net.TCPAddr)) + cfg.BaseURL + "hub/api"
		}
	}
	// The hub's bound on a start leaves the spawner its own timeout first.
	switch cfg.Spawner {
	case hubconfig.SpawnerKube:
		if t := cfg.Kube.Options.StartTimeout; t > 0 {
			hcfg.StartTimeout = time.Duration(t)*time.Second + 30*time.Second
		}
	case hubconfig.SpawnerLocal:
		if t := cfg.Local.StartTimeout; t > 0 {
			hcfg.StartTimeout = t + 30*time.Second
		}
	}
	for _, s := range cfg.Services {
		hcfg.Services = append(hcfg.Services, hub.Service{Name: s.Name, APIToken: s.APIToken, Scopes: s.Scopes, Admin: s.Admin})
	}
	cullToken := ""
	if cfg.Cull.Enabled {
		if cullToken, err = store.NewSecret(nil); err != nil {
			return err
		}
		hcfg.Services = append(hcfg.Services, hub.Service{Name: cullerService, APIToken: cullToken, Scopes: cullerScopes})
	}
	if cfg.Vault != nil {
		if err := wireVault(bctx, cfg, &hcfg, &bg, getenv, log); err != nil {
			return err
		}
	}

	h, err := hub.New(hcfg)
	if err != nil {
		return err
	}
	log.Info("hub listening", "url", local+cfg.BaseURL, "spawner", cfg.Spawner, "login", cfg.Auth.Type, "store", cfg.Store.Driver)
	if cfg.Auth.Warning != "" {
		log.Warn(cfg.Auth.Warning)
	}

	hubCtx, hubCancel := context.WithCancel(ctx)
	defer hubCancel()
	errc := make(chan error, 3)
	running := 2
	go func() { errc <- h.Run(hubCtx) }()
	go func() { errc <- h.Proxy().Serve(hubCtx, ln, proxy.ServeOptions{}) }()
	if apiLn != nil {
		running++
		go func() { errc <- h.Proxy().Serve(hubCtx, apiLn, proxy.ServeOptions{}) }()
	}
	if cfg.Cull.Enabled {
		bg.Go(func() {
			runCuller(bctx, h, db, hcfg.ReplicaID, hcfg.ClaimTTL, cfg, local+cfg.BaseURL+"hub/api", cullToken, log)
		})
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	hubCancel()
	if first != nil {
		running--
	}
	for range running {
		if err := <-errc; first == nil {
			first = err
		}
	}
	h.Proxy().Close()
	if first != nil && !errors.Is(first, context.Canceled) {
		return first
	}
	return nil
}

// localURL is the hub's URL on this machine: a wildcard listen address
// becomes loopback.
func localURL(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "http://" + net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

// closingStore is a store the hub closes when it stops.
type closingStore interface {
	store.Store
	Close() error
}

func openStore(ctx context.Context, cfg *hubconfig.Config) (closingStore, error) {
	switch cfg.Store.Driver {
	case hubconfig.DriverSQLite:
		if dir := filepath.Dir(cfg.Store.Path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
		}
		return sqlite.Open(ctx, cfg.Store.Path, sqlite.Options{})
	case hubconfig.DriverPostgres:
		if cfg.Store.Password != "" && os.Getenv("PGPASSWORD") == "" {
			// z2jh's hub.db.password reaches PostgreSQL as PGPASSWORD.
			_ = os.Setenv("PGPASSWORD", cfg.Store.Password)
		}
		return postgres.Open(ctx, cfg.Store.URL, postgres.Options{})
	default:
		return nil, fmt.Errorf("%w: unknown store driver %q", errUsage, cfg.Store.Driver)
	}
}

// replica is this process's identity among the hub's replicas: with
// PostgreSQL, its host name (the pod's name) and claims that expire, so
// that another replica takes over what a dead one was doing; with SQLite,
// the one replica, whose claims never expire.
func replica(cfg *hubconfig.Config) (id string, ttl time.Duration) {
	id, ttl = cfg.Replica.ID, cfg.Replica.ClaimTTL
	if cfg.Store.Driver != hubconfig.DriverPostgres {
		return cmp.Or(id, "hubkit"), ttl
	}
	if id == "" {
		host, _ := os.Hostname()
		suffix, _ := store.NewSecret(nil)
		id = cmp.Or(host, "hubkit") + "-" + suffix[:6]
	}
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	return id, ttl
}

// cryptKeys reads the keys that seal sessions. The embedded default (the
// development login with SQLite) makes one and keeps it beside the
// database, so that logins survive restarts; any other setup must be given
// keys, as every replica needs the same ones.
func cryptKeys(cfg *hubconfig.Config, getenv func(string) string, log *slog.Logger) (*authenticator.Keyring, error) {
	if len(cfg.CryptKeys) > 0 {
		return authenticator.ParseKeyring(strings.Join(cfg.CryptKeys, ";"))
	}
	if v := getenv(cfg.CryptKeyEnv); v != "" {
		k, err := authenticator.ParseKeyring(v)
		if err != nil {
			return nil, fmt.Errorf("%w: $%s: %v", errUsage, cfg.CryptKeyEnv, err)
		}
		return k, nil
	}
	if cfg.Auth.Type != hubconfig.AuthDev || cfg.Store.Driver != hubconfig.DriverSQLite {
		return nil, fmt.Errorf("%w: set $%s to one or more keys (openssl rand -hex 32)", errUsage, cfg.CryptKeyEnv)
	}
	path := cfg.Store.Path + ".key"
	if b, err := os.ReadFile(path); err == nil {
		return authenticator.ParseKeyring(strings.TrimSpace(string(b)))
	}
	key := fmt.Sprintf("%x", authenticator.NewKey())
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return nil, err
	}
	log.Info("made a crypt key for the development setup", "file", path)
	return authenticator.ParseKeyring(key)
}

// buildSpawner makes the local or the Kubernetes spawner, and returns the
// spawner's options as a JSON object for profile resolution.
func buildSpawner(ctx context.Context, cfg *hubconfig.Config, bg *sync.WaitGroup, log *slog.Logger) (spawner.Spawner, map[string]any, error) {
	switch cfg.Spawner {
	case hubconfig.SpawnerLocal:
		o := cfg.Local
		if len(o.Cmd) == 0 {
			o.Cmd = []string{"jupyterhub-singleuser"}
		}
		if _, err := exec.LookPath(o.Cmd[0]); err != nil {
			return nil, nil, fmt.Errorf("%w: the local spawner runs %s, which is not installed: "+
				"install Debian's jupyterhub package (sudo apt-get install jupyterhub, or hack/install-jupyterhub.sh), "+
				"or set hubkit.local.cmd", errUsage, o.Cmd[0])
		}
		if os.Geteuid() == 0 && len(o.Args) == 0 && filepath.Base(o.Cmd[0]) == "jupyterhub-singleuser" {
			log.Warn("running as root: servers get --allow-root and run as root too")
			o.Args = []string{"--allow-root"}
		}
		if o.StateDir == "" {
			o.StateDir = filepath.Join(filepath.Dir(cfg.Store.Path), "hubkit-servers")
		}
		o.Logger = log.With("component", "local")
		sp, err := local.New(o)
		return sp, nil, err
	case hubconfig.SpawnerKube:
		rc, err := restConfig()
		if err != nil {
			return nil, nil, err
		}
		client, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, nil, err
		}
		kc := cfg.Kube
		kc.Logger = log.With("component", "kube")
		if cfg.Spark != nil {
			sc := *cfg.Spark
			sc.Logger = log.With("component", "sparksvc")
			sparksvc.New(client, sc).Hooks(&kc)
		}
		sp, err := kube.New(client, kc)
		if err != nil {
			return nil, nil, err
		}
		bg.Go(func() {
			if err := sp.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("spawner informers stopped", "err", err)
			}
		})
		var base map[string]any
		if b, err := json.Marshal(kc.Options); err == nil {
			_ = json.Unmarshal(b, &base)
		}
		return sp, base, nil
	}
	return nil, nil, fmt.Errorf("%w: unknown spawner %q", errUsage, cfg.Spawner)
}

// restConfig is the in-cluster configuration, else $KUBECONFIG's.
func restConfig() (*rest.Config, error) {
	if rc, err := rest.InClusterConfig(); err == nil {
		return rc, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes configuration (not in a cluster, and $KUBECONFIG / ~/.kube/config): %w", err)
	}
	return rc, nil
}

func buildAuthenticator(cfg *hubconfig.Config, keys *authenticator.Keyring, local string, db store.Store, getenv func(string) string, log *slog.Logger) (authenticator.Authenticator, error) {
	callback := cfg.BaseURL + "hub/oauth_callback"
	switch cfg.Auth.Type {
	case hubconfig.AuthDev:
		pw := cfg.Auth.DevPassword
		if pw == "" {
			pw = getenv("HUBKIT_DEV_PASSWORD")
		}
		if pw == "" {
			s, err := store.NewSecret(nil)
			if err != nil {
				return nil, err
			}
			pw = s[:12]
			log.Warn("development login: log in as any user name with this password (set HUBKIT_DEV_PASSWORD to choose one)", "password", pw)
		}
		return dev.NewInsecure(dev.Options{Password: pw, Rules: cfg.Auth.Rules, Keys: keys, CallbackPath: callback, Logger: log})
	case hubconfig.AuthOIDC:
		o := cfg.Auth.OIDC
		o.Keys = keys
		// OAuthenticator reads these from the environment too; a Secret
		// is a better home for the client secret than values.yaml.
		if o.ClientID == "" {
			o.ClientID = getenv("OAUTH_CLIENT_ID")
		}
		if o.ClientSecret == "" {
			o.ClientSecret = getenv("OAUTH_CLIENT_SECRET")
		}
		if o.RedirectURL == "" {
			o.RedirectURL = getenv("OAUTH_CALLBACK_URL")
		}
		if o.RedirectURL == "" {
			base := cfg.PublicURL
			if base == "" {
				base = local
			}
			o.RedirectURL = strings.TrimSuffix(base, "/") + callback
		}
		o.Logger = log.With("component", "oidc")
		// A login's state is single use across every replica.
		o.UsedStates = hub.OnceStore(db)
		return oidc.New(o)
	case hubconfig.AuthHeader:
		return header.New(cfg.Auth.Header)
	}
	return nil, fmt.Errorf("%w: unknown login type %q", errUsage, cfg.Auth.Type)
}

// wireVault logs the hub in to Vault and hands each server a token of its
// own (NOTEBOOK_VAULT_TOKEN and friends, from secrets/vault's Grant),
// released when the server stops.
func wireVault(ctx context.Context, cfg *hubconfig.Config, hcfg *hub.Config, bg *sync.WaitGroup, getenv func(string) string, log *slog.Logger) error {
	vc := cfg.Vault
	client, err := vault.NewClient(vault.ClientOptions{Address: vc.Address, Namespace: vc.Namespace})
	if err != nil {
		return err
	}
	var method api.AuthMethod
	switch {
	case vc.Kubernetes != nil:
		method = vc.Kubernetes
	case vc.TokenFile != "":
		method = &vault.TokenAuth{TokenFile: vc.TokenFile}
	case vc.TokenEnv != "":
		method = &vault.TokenAuth{Token: getenv(vc.TokenEnv)}
	default:
		return fmt.Errorf("%w: hubkit.vault needs kubernetes, tokenFile or tokenEnv", errUsage)
	}
	cred, err := vault.NewCredential(client, method, vault.CredentialOptions{Logger: log.With("component", "vault")})
	if err != nil {
		return err
	}
	if err := cred.Login(ctx); err != nil {
		return fmt.Errorf("logging in to Vault at %s: %w", vc.Address, err)
	}
	bg.Go(func() {
		if err := cred.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("vault credential renewal stopped", "err", err)
		}
	})
	prov, err := vault.NewProvisioner(client, vc.Provisioner)
	if err != nil {
		return err
	}
	hcfg.SecretEnv = func(ctx context.Context, u store.User, ref spawner.Ref) (map[string]string, error) {
		g, err := prov.Provision(ctx, ref.User, ref.Server)
		if err != nil {
			return nil, err
		}
		env := maps.Clone(g.Env())
		if env == nil {
			env = map[string]string{}
		}
		maps.Copy(env, g.SecretEnv())
		return env, nil
	}
	hcfg.SecretEnvOptional = vc.Optional
	hcfg.AfterStop = func(ctx context.Context, ref spawner.Ref) {
		if err := prov.Release(ctx, ref.User, ref.Server); err != nil {
			log.Warn("releasing a server's Vault token", "server", ref.User+"/"+ref.Server, "err", err)
		}
	}
	return nil
}

// runCuller culls idle servers through the hub's own API once the hub is
// ready, as z2jh runs jupyterhub-idle-culler as a hub service.
func runCuller(ctx context.Context, h *hub.Hub, db store.Leases, replicaID string, claimTTL time.Duration, cfg *hubconfig.Config, apiURL, token string, log *slog.Logger) {
	for !h.Ready() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	client, err := hubapi.New(hubapi.Options{URL: apiURL, Token: token})
	if err != nil {
		log.Error("culler", "err", err)
		return
	}
	o := cfg.Cull.Options
	o.Logger = log.With("component", "culler")
	c, err := culler.New(client, o)
	if err != nil {
		log.Error("culler", "err", err)
		return
	}
	// One replica culls at a time: the holder of the "culler" lease, which
	// it renews at every pass; when it dies, another takes the lease over
	// once it expires.
	every := c.Options().Every
	ttl := max(2*every, claimTTL, time.Second)
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = db.ReleaseLease(rctx, "culler", replicaID)
	}()
	held := false
	for {
		lease, err := db.AcquireLease(ctx, "culler", replicaID, ttl)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Warn("culler lease", "err", err)
			}
		case lease.Held:
			if !held {
				log.Info("this replica runs the culler", "replica", replicaID)
			}
			if _, err := c.Once(ctx); err != nil && ctx.Err() == nil {
				log.Warn("cull pass", "err", err)
			}
		case held:
			log.Info("the culler moved to another replica", "holder", lease.Holder)
		}
		held = err == nil && lease.Held
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
