package hubconfig

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/secrets/vault"
	"github.com/hubkit/hubkit/sparksvc"
)

func TestValidate(t *testing.T) {
	oidcBase := func(c *Config) {
		c.Auth.Type = AuthOIDC
		c.Auth.Warning = ""
		c.Auth.OIDC.ClientID = "hub"
		c.Auth.OIDC.Issuer = "https://auth.example.com/realms/demo"
		c.Auth.OIDC.RedirectURL = "https://hub.example.com/hub/oauth_callback"
	}
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // error keys; nil: valid
	}{
		{"default", func(*Config) {}, nil},
		{"listen", func(c *Config) { c.Listen = "nope" }, []string{"hubkit.listen"}},
		{"listen port", func(c *Config) { c.Listen = ":99999" }, []string{"hubkit.listen"}},
		{"base URL", func(c *Config) { c.BaseURL = "jhub" }, []string{"hub.baseUrl"}},
		{"public URL", func(c *Config) { c.PublicURL = "hub.example.com" }, []string{"hubkit.publicURL"}},
		{"hub API URL", func(c *Config) { c.HubAPIURL = "/hub/api" }, []string{"hubkit.hubAPIURL"}},
		{"spawner", func(c *Config) { c.Spawner = "docker" }, []string{"hubkit.spawner"}},
		{"kube on loopback", func(c *Config) { c.Spawner = SpawnerKube }, []string{"hubkit.listen"}},
		{"kube on loopback with an API URL", func(c *Config) {
			c.Spawner, c.HubAPIURL = SpawnerKube, "http://hub.jhub.svc:8000/hub/api"
		}, nil},
		{"kube without image", func(c *Config) {
			c.Spawner, c.Listen, c.Kube.Options.Image = SpawnerKube, ":8000", ""
		}, []string{"singleuser.image.name"}},
		{"kube slug scheme", func(c *Config) {
			c.Spawner, c.Listen, c.Kube.SlugScheme = SpawnerKube, ":8000", "fancy"
		}, []string{"hubkit.kube.slugScheme"}},
		{"local profile with kube options", func(c *Config) {
			c.Profiles = mustProfiles(t, "- display_name: Big\n  kubespawner_override: {cpu_limit: 4, cmd: [x]}\n")
		}, []string{"singleuser.profileList"}},
		{"local profile with local options", func(c *Config) {
			c.Profiles = mustProfiles(t, "- display_name: Lab\n  kubespawner_override: {cmd: [jupyter-lab], environment: {A: b}}\n")
		}, nil},
		{"local empty command", func(c *Config) { c.Local.Cmd = []string{""} }, []string{"hubkit.local.cmd"}},
		{"spark with the local spawner", func(c *Config) { c.Spark = &sparksvc.Config{} }, []string{"hubkit.spark"}},
		{"oidc complete", func(c *Config) { oidcBase(c) }, nil},
		{"oidc without anything", func(c *Config) {
			c.Auth.Type, c.Auth.Rules.AllowAll = AuthOIDC, false
		}, []string{"hub.config.GenericOAuthenticator.client_id", "hubkit.auth.oidc.issuer",
			"hub.config.GenericOAuthenticator.oauth_callback_url", "hub.config.Authenticator.allow_all"}},
		{"oidc bad URLs", func(c *Config) {
			oidcBase(c)
			c.Auth.OIDC.Issuer = "auth.example.com"
			c.Auth.OIDC.RedirectURL = "/hub/oauth_callback"
			c.Auth.OIDC.PostLogoutRedirectURL = "/"
			c.Auth.OIDC.Endpoints.TokenURL = "token"
		}, []string{"hubkit.auth.oidc.issuer", "hub.config.GenericOAuthenticator.oauth_callback_url",
			"hub.config.GenericOAuthenticator.logout_redirect_url", "hub.config.GenericOAuthenticator.authorize_url"}},
		{"admins alone may log in", func(c *Config) {
			oidcBase(c)
			c.Auth.Rules.AllowAll, c.Auth.Rules.AdminUsers = false, []string{"root"}
		}, nil},
		{"header without issuer and audience", func(c *Config) {
			c.Auth.Type = AuthHeader
		}, []string{"hubkit.auth.header.issuer", "hubkit.auth.header.audience"}},
		{"unknown login", func(c *Config) { c.Auth.Type = "saml" }, []string{"hub.config.JupyterHub.authenticator_class"}},
		{"postgres without URL", func(c *Config) { c.Store = Store{Driver: DriverPostgres} }, []string{"hub.db.url"}},
		{"postgres", func(c *Config) { c.Store = Store{Driver: DriverPostgres, URL: "postgres://db/hub"} }, nil},
		{"sqlite without file", func(c *Config) { c.Store.Path = "" }, []string{"hubkit.store.path"}},
		{"unknown driver", func(c *Config) { c.Store.Driver = "mysql" }, []string{"hub.db.type"}},
		{"negative cull", func(c *Config) { c.Cull.Options.Every = -time.Second }, []string{"cull"}},
		{"negative limit", func(c *Config) { c.Limits.ActiveServerLimit = -1 }, []string{"hub.concurrentSpawnLimit"}},
		{"vault", func(c *Config) {
			c.Vault = &Vault{Address: "https://vault", Kubernetes: &vault.KubernetesAuth{Role: "hub"}}
		}, nil},
		{"vault without login", func(c *Config) { c.Vault = &Vault{Address: "https://vault"} }, []string{"hubkit.vault"}},
		{"vault with two logins", func(c *Config) {
			c.Vault = &Vault{Address: "https://vault", TokenFile: "/t", TokenEnv: "VAULT_TOKEN"}
		}, []string{"hubkit.vault"}},
		{"vault without address or role", func(c *Config) {
			c.Vault = &Vault{Kubernetes: &vault.KubernetesAuth{}}
		}, []string{"hubkit.vault.address", "hubkit.vault.kubernetes.role"}},
		{"vault TTL over max", func(c *Config) {
			c.Vault = &Vault{Address: "https://vault", TokenEnv: "T"}
			c.Vault.Provisioner.TTL = 200 * time.Hour
		}, []string{"hubkit.vault.ttl"}},
		{"vault revoke", func(c *Config) {
			c.Vault = &Vault{Address: "https://vault", TokenEnv: "T"}
			c.Vault.Provisioner.Revoke = "later"
		}, []string{"hubkit.vault.revoke"}},
		{"services", func(c *Config) {
			c.Services = []Service{{Name: "a", APIToken: "t"}, {Name: "a", APIToken: "t"}, {APIToken: "u", URL: "x"}}
		}, []string{"hub.services.a", "hub.services.a.apiToken", "hub.services", `hub.services[""].url`}},
		{"service scopes", func(c *Config) {
			c.Services = []Service{{Name: "a", Scopes: []string{"read:nothing"}}}
		}, []string{"hub.loadRoles"}},
		{"crypt keys", func(c *Config) { c.CryptKeys = []string{"not-a-key"} }, []string{"hub.config.CryptKeeper.keys"}},
		{"crypt key variable", func(c *Config) { c.CryptKeyEnv = "" }, []string{"hubkit.cryptKeyEnv"}},
		{"hub env name", func(c *Config) { c.HubEnv = map[string]string{"A=B": "x"} }, []string{"hub.extraEnv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(c)
			if got := validateKeys(t, c); !slices.Equal(got, tt.want) {
				t.Errorf("Validate keys = %q, want %q (%v)", got, tt.want, c.Validate())
			}
		})
	}
}

func mustProfiles(t *testing.T, doc string) *profiles.List {
	t.Helper()
	l, err := profiles.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestValidateMessages(t *testing.T) {
	c := Default()
	c.Spawner = SpawnerKube
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "hubconfig: hubkit.listen: the hub listens on loopback") {
		t.Errorf("Validate() = %v", err)
	}
}
