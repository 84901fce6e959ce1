package hubconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/oidc"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/sparksvc"
	"github.com/hubkit/hubkit/spawner/kube"
)

func ptr[T any](v T) *T { return &v }

type oidcKeycloak = oidc.Keycloak

func oidcEndpoints(auth, token, userinfo string) oidc.Endpoints {
	return oidc.Endpoints{AuthURL: auth, TokenURL: token, UserInfoURL: userinfo}
}

// z2jhKubeOptions is what z2jh 4.4.0's defaults make of KubeSpawner,
// written out by hand from the chart's values.yaml and
// jupyterhub_config.py.
func z2jhKubeOptions() kube.Options {
	userToleration := func(key string) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: "user", Effect: corev1.TaintEffectNoSchedule}
	}
	return kube.Options{
		Image:                    "quay.io/jupyterhub/k8s-singleuser-sample:4.4.0",
		Cmd:                      kube.StringList{"jupyterhub-singleuser"},
		MemGuarantee:             1 << 30,
		StartTimeout:             300,
		UID:                      ptr(int64(1000)),
		FSGID:                    ptr(int64(100)),
		AllowPrivilegeEscalation: ptr(false),
		ExtraLabels:              map[string]string{"hub.jupyter.org/network-access-hub": "true"},
		StoragePVCEnsure:         true,
		StorageCapacity:          "10Gi",
		StorageAccessModes:       []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Volumes: []corev1.Volume{{Name: "volume-{user_server}", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "{pvc_name}"}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "volume-{user_server}", MountPath: "/home/jovyan"}},
		Tolerations:  []corev1.Toleration{userToleration("hub.jupyter.org/dedicated"), userToleration("hub.jupyter.org_dedicated")},
		NodeAffinityPreferred: []corev1.PreferredSchedulingTerm{{Weight: 100, Preference: corev1.NodeSelectorTerm{
			MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: "hub.jupyter.org/node-purpose", Operator: corev1.NodeSelectorOpIn, Values: []string{"user"}}}}}},
	}
}

// check compares one field; the table tests below are lists of these.
type check struct {
	name      string
	got, want any
}

func runChecks(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s:\n got  %#v\n want %#v", c.name, c.got, c.want)
		}
	}
}

func mustLoad(t *testing.T, doc string) (*Config, []Warning) {
	t.Helper()
	cfg, warns, err := Load(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg, warns
}

func warningKeys(ws []Warning) []string {
	keys := []string{}
	for _, w := range ws {
		keys = append(keys, w.Key)
	}
	return keys
}

// validateKeys returns the keys of Validate's errors.
func validateKeys(t *testing.T, c *Config) []string {
	t.Helper()
	err := c.Validate()
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate error does not wrap ErrInvalid: %v", err)
	}
	var keys []string
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ke *KeyError
		if !errors.As(e, &ke) {
			t.Errorf("Validate error is not a *KeyError: %v", e)
			continue
		}
		keys = append(keys, ke.Key)
	}
	return keys
}

func TestDefault(t *testing.T) {
	c := Default()
	runChecks(t, []check{
		{"Listen", c.Listen, "127.0.0.1:8000"},
		{"BaseURL", c.BaseURL, "/"},
		{"PublicURL", c.PublicURL, ""},
		{"HubAPIURL", c.HubAPIURL, ""},
		{"Spawner", c.Spawner, SpawnerLocal},
		{"Auth.Type", c.Auth.Type, AuthDev},
		{"Auth.Rules", c.Auth.Rules, authenticator.Rules{AllowAll: true}},
		{"Auth.Warning", c.Auth.Warning, DevWarning},
		{"Store", c.Store, Store{Driver: DriverSQLite, Path: "hubkit.sqlite"}},
		{"Cull.Enabled", c.Cull.Enabled, true},
		{"Cull.Timeout", c.Cull.Options.Timeout, 3600 * time.Second},
		{"Cull.Every", c.Cull.Options.Every, 600 * time.Second},
		{"Cull.MaxAge", c.Cull.Options.MaxAge, time.Duration(0)},
		{"Cull.Concurrency", c.Cull.Options.Concurrency, 10},
		{"Cull.CullUsers", c.Cull.Options.CullUsers, false},
		{"Cull.SkipAdminUsers", c.Cull.Options.SkipAdminUsers, false},
		{"Cull.RemoveNamedServers", c.Cull.Options.RemoveNamedServers, false},
		{"Limits", c.Limits, Limits{ConcurrentSpawnLimit: 64}},
		{"CryptKeyEnv", c.CryptKeyEnv, "JUPYTERHUB_CRYPT_KEY"},
		{"CryptKeys", c.CryptKeys, []string(nil)},
		{"Local.Cmd", c.Local.Cmd, []string{"jupyterhub-singleuser"}},
		{"Local.StartTimeout", c.Local.StartTimeout, 300 * time.Second},
		{"Local.Env", c.Local.Env, map[string]string(nil)},
		{"Kube.Options", c.Kube.Options, z2jhKubeOptions()},
		{"Kube.Namespace", c.Kube.Namespace, ""},
		{"Profiles", c.Profiles, (*profiles.List)(nil)},
		{"Vault", c.Vault, (*Vault)(nil)},
		{"Spark", c.Spark, (*sparksvc.Config)(nil)},
		{"HubEnv", c.HubEnv, map[string]string(nil)},
		{"Services", c.Services, []Service(nil)},
		{"AdminUsers", c.AdminUsers, []string(nil)},
		{"Debug", c.Debug, false},
	})
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	// Default returns a fresh copy each time.
	c.Kube.Options.ExtraLabels["x"] = "y"
	if _, ok := Default().Kube.Options.ExtraLabels["x"]; ok {
		t.Error("Default shares maps between calls")
	}
}

func TestEmptyDocuments(t *testing.T) {
	for _, doc := range []string{"", "\n# only a comment\n", "---\n", "{}", "null"} {
		cfg, warns := mustLoad(t, doc)
		if !reflect.DeepEqual(cfg, Default()) || len(warns) != 0 {
			t.Errorf("Load(%q) differs from Default() (warnings %v)", doc, warns)
		}
	}
}

// TestZ2JHDefaultValues loads the chart's documented values.yaml: every key
// is at its default, so the result is Default() and nothing is warned
// about; with the kube spawner, Kube.Options are z2jh's KubeSpawner
// settings and the two chart protections hubkit does not reproduce are
// warned about.
func TestZ2JHDefaultValues(t *testing.T) {
	cfg, warns, err := LoadFile("testdata/z2jh-default-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("the chart's values.yaml does not load as Default()")
	}

	data, err := os.ReadFile("testdata/z2jh-default-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, warns = mustLoad(t, string(data)+"\nhubkit:\n  spawner: kube\n  listen: \":8000\"\n")
	wantWarn := []string{"singleuser.cloudMetadata.blockWithIptables", "singleuser.networkPolicy.enabled"}
	if got := warningKeys(warns); !slices.Equal(got, wantWarn) {
		t.Errorf("kube warnings = %q, want %q", got, wantWarn)
	}
	runChecks(t, []check{
		{"Spawner", cfg.Spawner, SpawnerKube},
		{"Kube.Options", cfg.Kube.Options, z2jhKubeOptions()},
		{"Kube.Options.Image", cfg.Kube.Options.Image, "quay.io/jupyterhub/k8s-singleuser-sample:4.4.0"},
		{"Kube.Options.StorageCapacity", cfg.Kube.Options.StorageCapacity, "10Gi"},
		{"Kube.Options.MemGuarantee", cfg.Kube.Options.MemGuarantee, kube.ByteSize(1 << 30)},
		{"Kube.Options.UID", *cfg.Kube.Options.UID, int64(1000)},
		{"Kube.Options.FSGID", *cfg.Kube.Options.FSGID, int64(100)},
		{"Kube.Options.StartTimeout", cfg.Kube.Options.StartTimeout, 300},
		{"Cull.Timeout", cfg.Cull.Options.Timeout, time.Hour},
		{"Cull.Every", cfg.Cull.Options.Every, 10 * time.Minute},
	})
	if keys := validateKeys(t, cfg); keys != nil {
		t.Errorf("Validate: %v", keys)
	}
}

// TestSeedDeployments loads the values of the deployments hubkit grew
// from (shared/seeds), with what each must give.
func TestSeedDeployments(t *testing.T) {
	tests := []struct {
		file     string
		warnings []string
		checks   func(c *Config) []check
		invalid  []string // Validate's error keys
	}{{
		file: "university.yaml",
		warnings: []string{
			"proxy.secretToken", "proxy.https.type", "hub.image.name", "hub.image.tag", "hub.templatePaths",
			"hub.extraConfig", "auth", "auth.custom.config.userdata_params", "auth.custom.config.username_key",
			"scheduling.userScheduler.enabled",
			"singleuser.cloudMetadata.blockWithIptables", "singleuser.networkPolicy.enabled",
		},
		checks: func(c *Config) []check {
			o := c.Kube.Options
			return []check{
				{"Limits", c.Limits, Limits{ConcurrentSpawnLimit: 10, ActiveServerLimit: 100}},
				{"Image", o.Image, "OUR-PROJECT/k8s-single-user:v1.0"},
				{"CPULimit", o.CPULimit, kube.Float(2)},
				{"CPUGuarantee", o.CPUGuarantee, kube.Float(0.5)},
				{"MemLimit", o.MemLimit, kube.ByteSize(2 << 30)},
				{"MemGuarantee", o.MemGuarantee, kube.ByteSize(1 << 30)},
				{"StorageCapacity", o.StorageCapacity, "10G"},
				{"DefaultURL", o.DefaultURL, "/lab"},
				{"Local JUPYTERHUB_DEFAULT_URL", c.Local.Env["JUPYTERHUB_DEFAULT_URL"], "/lab"},
				{"Cull", []time.Duration{c.Cull.Options.Timeout, c.Cull.Options.Every}, []time.Duration{30 * time.Minute, 3 * time.Minute}},
				{"Auth.Type", c.Auth.Type, AuthOIDC},
				{"ClientID", c.Auth.OIDC.ClientID, "*****"},
				{"Endpoints", c.Auth.OIDC.Endpoints, oidcEndpoints("", "https://proxy.eduteams.org/OIDC/token", "https://proxy.eduteams.org/OIDC/userinfo")},
				{"UserInfo", c.Auth.OIDC.UserInfo, true},
				{"UsernameClaim", c.Auth.OIDC.UsernameClaim, "sub"},
				{"Scopes", c.Auth.OIDC.Scopes, []string{"openid"}},
				{"LoginService", c.Auth.LoginService, "SSO"},
				{"Keycloak", c.Auth.Keycloak, (*oidcKeycloak)(nil)},
			}
		},
		// eduTEAMS is no Keycloak realm: its issuer must be said, and
		// the write-up's values allow nobody and name no callback.
		invalid: []string{"hubkit.listen", "hubkit.auth.oidc.issuer",
			"hub.config.GenericOAuthenticator.oauth_callback_url", "hub.config.Authenticator.allow_all"},
	}, {
		file: "spark-demo.yaml",
		warnings: []string{
			"hub.extraVolumes", "hub.extraVolumeMounts", "hub.extraConfig", "proxy.service.type",
			"proxy.service.nodePorts.http",
			"singleuser.cloudMetadata.blockWithIptables", "singleuser.networkPolicy.enabled",
		},
		checks: func(c *Config) []check {
			var optKeys []string
			if c.Profiles != nil {
				for _, o := range c.Profiles.Default().Options {
					optKeys = append(optKeys, o.Key)
				}
			}
			return []check{
				{"Auth.Type", c.Auth.Type, AuthOIDC},
				{"Keycloak realm", c.Auth.Keycloak.URL + " " + c.Auth.Keycloak.Realm, "https://172.18.0.2:31093 demo"},
				{"Issuer", c.Auth.OIDC.Issuer, "https://172.18.0.2:31093/realms/demo"},
				{"RedirectURL", c.Auth.OIDC.RedirectURL, "http://172.18.0.2:31095/hub/oauth_callback"},
				{"ClientID", c.Auth.OIDC.ClientID, "jupyterhub"},
				{"Scopes", c.Auth.OIDC.Scopes, []string{"openid"}},
				{"UsernameClaim", c.Auth.OIDC.UsernameClaim, "preferred_username"},
				{"MapClaims (Keycloak preset)", c.Auth.OIDC.MapClaims != nil, true},
				{"Rules", c.Auth.Rules, authenticator.Rules{AllowAll: true, AdminUsers: []string{"isla.williams"}}},
				{"OIDC.Rules", c.Auth.OIDC.Rules, c.Auth.Rules},
				{"AdminUsers", c.AdminUsers, []string{"isla.williams"}},
				{"HubEnv", c.HubEnv, map[string]string{
					"CACERT":         "/etc/ssl/certs/ca-certificates.crt",
					"CERT":           "/etc/ssl/certs/ca-certificates.crt",
					"CURLOPT_CAINFO": "/etc/ssl/certs/ca-certificates.crt",
				}},
				{"HubEnvFrom", c.HubEnvFrom["KEYCLOAK_NODE_IP"].ConfigMapKeyRef, &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "keycloak-address"}, Key: "keycloakNodeIp"}},
				{"Spark", c.Spark, &sparksvc.Config{}},
				{"Profiles", c.Profiles.Len(), 1},
				{"profile options in document order", optKeys, []string{"cpu", "memory", "image"}},
				{"Kube.Namespace", c.Kube.Namespace, "default"},
			}
		},
	}, {
		file:     "lakehouse.yaml",
		warnings: []string{"hub.extraConfig", "singleuser.cloudMetadata.blockWithIptables", "singleuser.networkPolicy.enabled"},
		checks: func(c *Config) []check {
			o := c.Kube.Options
			secret := func(name, key string) kube.EnvValue {
				return kube.EnvValue{ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}}
			}
			var volumes, mounts []string
			for _, v := range o.Volumes {
				volumes = append(volumes, v.Name)
			}
			for _, m := range o.VolumeMounts {
				mounts = append(mounts, m.Name+" "+m.MountPath)
			}
			return []check{
				{"Image", o.Image, "akko-notebook:latest"},
				{"CPULimit", o.CPULimit, kube.Float(2)},
				{"CPUGuarantee", o.CPUGuarantee, kube.Float(0.5)},
				{"MemLimit", o.MemLimit, kube.ByteSize(4 << 30)},
				{"MemGuarantee", o.MemGuarantee, kube.ByteSize(1 << 30)},
				{"StorageCapacity", o.StorageCapacity, "10Gi"},
				{"StoragePVCEnsure", o.StoragePVCEnsure, true},
				{"TRINO_HOST", o.Environment["TRINO_HOST"], kube.EnvValue{Value: "akko-trino"}},
				{"TRINO_PORT", o.Environment["TRINO_PORT"], kube.EnvValue{Value: "8080"}},
				{"SPARK_REMOTE", o.Environment["SPARK_REMOTE"], kube.EnvValue{Value: "sc://akko-akko-spark-connect:15002"}},
				{"POSTGRES_AKKO_PASSWORD", o.Environment["POSTGRES_AKKO_PASSWORD"], secret("akko-postgres", "password")},
				{"MINIO_ROOT_PASSWORD", o.Environment["MINIO_ROOT_PASSWORD"], secret("akko-minio", "root-password")},
				{"environment size", len(o.Environment), 12},
				{"volumes by key", volumes, []string{"published-reports", "shared-notebooks", "volume-{user_server}"}},
				{"mounts by key", mounts, []string{
					"shared-notebooks /home/{username}/work/notebooks",
					"published-reports /home/{username}/published-reports",
					"volume-{user_server} /home/jovyan"}},
				{"read-only notebooks", o.VolumeMounts[0].ReadOnly, true},
				{"Cull", []time.Duration{c.Cull.Options.Timeout, c.Cull.Options.Every, c.Cull.Options.MaxAge},
					[]time.Duration{30 * time.Minute, 5 * time.Minute, 8 * time.Hour}},
				{"Keycloak", *c.Auth.Keycloak, oidcKeycloak{URL: "https://keycloak.akko.local", Realm: "akko",
					ClientID: "jupyterhub", ClientSecret: "lakehouse-client-secret", RedirectURL: "https://lab.akko.local/hub/oauth_callback"}},
				{"Scopes", c.Auth.OIDC.Scopes, []string{"openid", "profile", "email"}},
				{"AutoLogin", c.Auth.AutoLogin, true},
				{"Rules", c.Auth.Rules, authenticator.Rules{AllowAll: true}},
				{"HubEnv", c.HubEnv, map[string]string{"JUPYTERHUB_ADMIN_USER": "admin"}},
				{"Local.Env TRINO_PORT", c.Local.Env["TRINO_PORT"], "8080"},
				{"Local.Env has no secrets", c.Local.Env["MINIO_ROOT_USER"], ""},
			}
		},
	}, {
		file:     "homelab.yaml",
		warnings: []string{"singleuser.cloudMetadata.blockWithIptables", "singleuser.networkPolicy.enabled"},
		checks: func(c *Config) []check {
			o := c.Kube.Options
			return []check{
				{"Kube.Namespace", c.Kube.Namespace, "jupyter"},
				{"Volumes", o.Volumes, []corev1.Volume{{Name: "home", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "jupyter-nfs-pvc"}}}}},
				{"VolumeMounts", o.VolumeMounts, []corev1.VolumeMount{{Name: "home", MountPath: "/home/jovyan", SubPath: "{username}"}}},
				{"StoragePVCEnsure", o.StoragePVCEnsure, false},
				{"StorageCapacity", o.StorageCapacity, ""},
				{"FSGID", *o.FSGID, int64(100)},
				{"Cull.Timeout", c.Cull.Options.Timeout, 2 * time.Hour},
				{"Vault.Address", c.Vault.Address, "https://vault.example.com"},
				{"Vault.TokenFile", c.Vault.TokenFile, "/vault/secrets/vault-token"},
				{"Vault.TTL", c.Vault.Provisioner.TTL, 24 * time.Hour},
				{"Vault.MaxTTL", c.Vault.Provisioner.MaxTTL, 168 * time.Hour},
				{"Vault.Kubernetes", c.Vault.Kubernetes == nil, true},
				{"Keycloak", c.Auth.Keycloak.URL + " " + c.Auth.Keycloak.Realm, "https://auth.example.com buunstack"},
				{"Issuer", c.Auth.OIDC.Issuer, "https://auth.example.com/realms/buunstack"},
				{"EnableAuthState", c.Auth.EnableAuthState, true},
				{"Profiles", c.Profiles.Len(), 3},
				{"default profile", c.Profiles.Default().Slug, "datascience"},
			}
		},
	}, {
		file: "energy.yaml",
		warnings: []string{"singleuser.cpu.request", "singleuser.memory.request", "singleuser.environment",
			"hub.config.JupyterHub.admin_users",
			"singleuser.cloudMetadata.blockWithIptables", "singleuser.networkPolicy.enabled"},
		checks: func(c *Config) []check {
			o := c.Kube.Options
			h := c.Auth.Header
			return []check{
				{"Auth.Type", c.Auth.Type, AuthHeader},
				{"Header.Issuer", h.Issuer, "https://carbon254.cloudflareaccess.com"},
				{"Header.CertsURL", h.CertsURL, "https://carbon254.cloudflareaccess.com/cdn-cgi/access/certs"},
				{"Header.Header", h.Header, "Cf-Access-Jwt-Assertion"},
				{"Header.Cookie", h.Cookie, "CF_Authorization"},
				{"Header.Audience", h.Audience, "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"},
				{"Header.Rules", h.Rules, authenticator.Rules{AdminUsers: []string{"admin", "user1@254carbon.com"}}},
				{"AdminUsers", c.AdminUsers, []string{"admin", "user1@254carbon.com"}},
				{"CPULimit", o.CPULimit, kube.Float(4)},
				{"CPUGuarantee (cpu.request is not z2jh's)", o.CPUGuarantee, kube.Float(0)},
				{"MemLimit", o.MemLimit, kube.ByteSize(16 << 30)},
				{"MemGuarantee (the chart's)", o.MemGuarantee, kube.ByteSize(1 << 30)},
				{"Image", o.Image, "REGISTRY/jupyter-notebook:latest"},
				{"Environment (singleuser.environment is not z2jh's)", o.Environment, map[string]kube.EnvValue(nil)},
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, warns, err := LoadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := warningKeys(warns); !slices.Equal(got, tt.warnings) {
				t.Errorf("warnings:\n got  %q\n want %q", got, tt.warnings)
			}
			runChecks(t, tt.checks(cfg))
			if got := validateKeys(t, cfg); !slices.Equal(got, tt.invalid) {
				t.Errorf("Validate: got %q, want %q", got, tt.invalid)
			}
		})
	}
}
