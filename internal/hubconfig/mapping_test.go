package hubconfig

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/secrets/vault"
	"github.com/hubkit/hubkit/sparksvc"
	"github.com/hubkit/hubkit/spawner/kube"
)

// TestMapping: how z2jh and hubkit keys land in the Config.
func TestMapping(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		checks func(c *Config) []check
	}{{
		name: "null removes a chart default",
		doc:  "singleuser:\n  memory:\n    guarantee: null\n  cmd: null\n  uid: ~\n",
		checks: func(c *Config) []check {
			return []check{
				{"MemGuarantee", c.Kube.Options.MemGuarantee, kube.ByteSize(0)},
				{"Kube Cmd", c.Kube.Options.Cmd, kube.StringList(nil)},
				{"Local Cmd (the spawner's default)", c.Local.Cmd, []string(nil)},
				{"UID", c.Kube.Options.UID, (*int64)(nil)},
				{"FSGID stays", *c.Kube.Options.FSGID, int64(100)},
			}
		},
	}, {
		name: "maps merge with the chart's",
		doc:  "singleuser:\n  extraLabels:\n    team: data\n",
		checks: func(c *Config) []check {
			return []check{{"ExtraLabels", c.Kube.Options.ExtraLabels,
				map[string]string{"hub.jupyter.org/network-access-hub": "true", "team": "data"}}}
		},
	}, {
		name: "image, pull secrets, resources",
		doc: "imagePullSecrets: [global]\nsingleuser:\n  image:\n    name: quay.io/jupyter/pyspark-notebook\n    tag: spark-3.5.2\n" +
			"    pullPolicy: IfNotPresent\n    pullSecrets: [{name: mine}]\n  extraResource:\n    limits:\n      nvidia.com/gpu: 1\n" +
			"  cpu:\n    guarantee: \"0.5\"\n  memory:\n    limit: 512Mi\n",
		checks: func(c *Config) []check {
			o := c.Kube.Options
			return []check{
				{"Image", o.Image, "quay.io/jupyter/pyspark-notebook:spark-3.5.2"},
				{"ImagePullPolicy", o.ImagePullPolicy, corev1.PullIfNotPresent},
				{"ImagePullSecrets", o.ImagePullSecrets, kube.NameList{"global", "mine"}},
				{"ExtraResourceLimits", o.ExtraResourceLimits, map[string]string{"nvidia.com/gpu": "1"}},
				{"CPUGuarantee", o.CPUGuarantee, kube.Float(0.5)},
				{"MemLimit", o.MemLimit, kube.ByteSize(512 << 20)},
			}
		},
	}, {
		name: "image without tag",
		doc:  "singleuser:\n  image:\n    name: my/image\n    tag: \"\"\n",
		checks: func(c *Config) []check {
			return []check{{"Image", c.Kube.Options.Image, "my/image"}}
		},
	}, {
		name: "storage: dynamic with templates and subPath",
		doc: "singleuser:\n  storage:\n    homeMountPath: /home/{username}\n    dynamic:\n      storageClass: fast\n" +
			"      pvcNameTemplate: claim-{username}{servername}\n      volumeNameTemplate: home\n      subPath: data\n" +
			"      storageAccessModes: [ReadWriteMany]\n    extraLabels:\n      backup: daily\n",
		checks: func(c *Config) []check {
			o := c.Kube.Options
			return []check{
				{"StorageClass", o.StorageClass, "fast"},
				{"PVCNameTemplate", o.PVCNameTemplate, "claim-{username}{servername}"},
				{"StorageAccessModes", o.StorageAccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}},
				{"StorageExtraLabels", o.StorageExtraLabels, map[string]string{"backup": "daily"}},
				{"Volumes", o.Volumes, []corev1.Volume{{Name: "home", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "{pvc_name}"}}}}},
				{"VolumeMounts", o.VolumeMounts, []corev1.VolumeMount{{Name: "home", MountPath: "/home/{username}", SubPath: "data"}}},
			}
		},
	}, {
		name: "storage: none, extra volumes as a mapping",
		doc: "singleuser:\n  storage:\n    type: none\n    extraVolumes:\n      b-scratch: {name: scratch, emptyDir: {}}\n" +
			"      a-shm: {name: shm, emptyDir: {medium: Memory}}\n    extraVolumeMounts:\n" +
			"      b: {name: scratch, mountPath: /scratch}\n      a: {name: shm, mountPath: /dev/shm}\n",
		checks: func(c *Config) []check {
			o := c.Kube.Options
			var vols, mounts []string
			for _, v := range o.Volumes {
				vols = append(vols, v.Name)
			}
			for _, m := range o.VolumeMounts {
				mounts = append(mounts, m.MountPath)
			}
			return []check{
				{"StoragePVCEnsure", o.StoragePVCEnsure, false},
				{"volumes by key", vols, []string{"shm", "scratch"}},
				{"mounts by key", mounts, []string{"/dev/shm", "/scratch"}},
				{"emptyDir medium", o.Volumes[0].EmptyDir.Medium, corev1.StorageMediumMemory},
			}
		},
	}, {
		name: "storage type null is none",
		doc:  "singleuser:\n  storage:\n    type: null\n",
		checks: func(c *Config) []check {
			o := c.Kube.Options
			return []check{
				{"Volumes", o.Volumes, []corev1.Volume(nil)},
				{"StoragePVCEnsure", o.StoragePVCEnsure, false},
			}
		},
	}, {
		name: "an extra volume replaces the home volume of the same name",
		doc:  "singleuser:\n  storage:\n    extraVolumes:\n      - name: volume-{user_server}\n        emptyDir: {}\n",
		checks: func(c *Config) []check {
			o := c.Kube.Options
			return []check{
				{"one volume", len(o.Volumes), 1},
				{"emptyDir", o.Volumes[0].EmptyDir != nil, true},
			}
		},
	}, {
		name: "scheduling",
		doc: "scheduling:\n  userPods:\n    nodeAffinity:\n      matchNodePurpose: require\n    tolerations: []\n" +
			"singleuser:\n  extraTolerations:\n    - {key: gpu, operator: Exists, effect: NoSchedule}\n  nodeSelector:\n    pool: user\n" +
			"  extraNodeAffinity:\n    required:\n      - matchExpressions: [{key: zone, operator: In, values: [a]}]\n" +
			"  extraPodAntiAffinity:\n    preferred:\n      - weight: 1\n        podAffinityTerm: {topologyKey: kubernetes.io/hostname}\n",
		checks: func(c *Config) []check {
			o := c.Kube.Options
			var keys []string
			for _, term := range o.NodeAffinityRequired {
				keys = append(keys, term.MatchExpressions[0].Key)
			}
			return []check{
				{"Tolerations", o.Tolerations, []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}},
				{"NodeSelector", o.NodeSelector, map[string]string{"pool": "user"}},
				{"required terms: extra, then node purpose", keys, []string{"zone", "hub.jupyter.org/node-purpose"}},
				{"NodeAffinityPreferred", len(o.NodeAffinityPreferred), 0},
				{"PodAntiAffinityPreferred", o.PodAntiAffinityPreferred[0].PodAffinityTerm.TopologyKey, "kubernetes.io/hostname"},
			}
		},
	}, {
		name: "pod settings",
		doc: "singleuser:\n  podNameTemplate: nb-{user_server}\n  serviceAccountName: notebook\n  allowPrivilegeEscalation: true\n" +
			"  startTimeout: 600\n  defaultUrl: /lab\n  cmd: [start-notebook.py, --debug]\n  extraAnnotations: {a: b}\n" +
			"  lifecycleHooks:\n    postStart:\n      exec: {command: [sh, -c, 'true']}\n  initContainers:\n    - {name: init, image: busybox}\n" +
			"  extraContainers:\n    - {name: sidecar, image: busybox}\n  extraPodConfig:\n    restartPolicy: Never\n",
		checks: func(c *Config) []check {
			o := c.Kube.Options
			return []check{
				{"PodNameTemplate", o.PodNameTemplate, "nb-{user_server}"},
				{"ServiceAccount", o.ServiceAccount, "notebook"},
				{"AllowPrivilegeEscalation", *o.AllowPrivilegeEscalation, true},
				{"StartTimeout", o.StartTimeout, 600},
				{"Local.StartTimeout", c.Local.StartTimeout, 600 * time.Second},
				{"DefaultURL", o.DefaultURL, "/lab"},
				{"Cmd", o.Cmd, kube.StringList{"start-notebook.py", "--debug"}},
				{"Local.Cmd", c.Local.Cmd, []string{"start-notebook.py", "--debug"}},
				{"ExtraAnnotations", o.ExtraAnnotations, map[string]string{"a": "b"}},
				{"LifecycleHooks", o.LifecycleHooks.PostStart.Exec.Command, []string{"sh", "-c", "true"}},
				{"InitContainers", o.InitContainers[0].Name, "init"},
				{"ExtraContainers", o.ExtraContainers[0].Name, "sidecar"},
				{"ExtraPodConfig", o.ExtraPodConfig, map[string]any{"restartPolicy": "Never"}},
			}
		},
	}, {
		name: "environment: list form, explicit names, numbers",
		doc: "singleuser:\n  extraEnv:\n    - name: B\n      value: two\n    - name: A\n      valueFrom:\n        fieldRef: {fieldPath: metadata.name}\n" +
			"hub:\n  extraEnv:\n    SHOWN:\n      name: REAL\n      value: x\n    PORT: 8080\n    ON: true\n",
		checks: func(c *Config) []check {
			return []check{
				{"B", c.Kube.Options.Environment["B"], kube.EnvValue{Value: "two"}},
				{"A", c.Kube.Options.Environment["A"].ValueFrom.FieldRef.FieldPath, "metadata.name"},
				{"Local.Env", c.Local.Env, map[string]string{"B": "two"}},
				{"HubEnv", c.HubEnv, map[string]string{"REAL": "x", "PORT": "8080", "ON": "true"}},
			}
		},
	}, {
		name: "hub.config spawner sections and hubkit.kube.options, in that order",
		doc: "singleuser:\n  cpu:\n    limit: 2\n  memory:\n    limit: 1G\nhub:\n  config:\n    Spawner:\n      cpu_limit: 3\n" +
			"      args: [--collaborative]\n      environment: {X: y}\n      default_url: /tree\n    KubeSpawner:\n      cpu_limit: 4\n      working_dir: /w\n" +
			"hubkit:\n  kube:\n    namespace: jhub\n    enableUserNamespaces: true\n    userNamespaceTemplate: u-{username}\n" +
			"    slugScheme: escape\n    instance: blue\n    options:\n      mem_limit: null\n      priority_class_name: jupyter\n",
		checks: func(c *Config) []check {
			o := c.Kube.Options
			return []check{
				{"CPULimit (KubeSpawner wins)", o.CPULimit, kube.Float(4)},
				{"WorkingDir", o.WorkingDir, "/w"},
				{"Args (Spawner)", o.Args, kube.StringList{"--collaborative"}},
				{"MemLimit (null in options deletes)", o.MemLimit, kube.ByteSize(0)},
				{"PriorityClassName", o.PriorityClassName, "jupyter"},
				{"Local.Args", c.Local.Args, []string{"--collaborative"}},
				{"Local.Env", c.Local.Env, map[string]string{"X": "y", "JUPYTERHUB_DEFAULT_URL": "/tree"}},
				{"Kube config", []any{c.Kube.Namespace, c.Kube.EnableUserNamespaces, c.Kube.UserNamespaceTemplate, c.Kube.SlugScheme, c.Kube.Instance},
					[]any{"jhub", true, "u-{username}", "escape", "blue"}},
			}
		},
	}, {
		name: "hubkit section",
		doc: "hubkit:\n  listen: \":9000\"\n  publicURL: https://hub.example.com\n  hubAPIURL: http://hub:9000/hub/api\n" +
			"  cryptKeyEnv: HUB_KEYS\n  local:\n    cmd: jupyter-lab\n    args: [--no-browser]\n    startTimeout: 90s\n" +
			"    stateDir: /var/lib/hub\n    homeRoot: /home\n    host: 0.0.0.0\n  store:\n    path: /data/hub.sqlite\n" +
			"  spark:\n    uiPort: 4041\n    sharedSecrets: [s3]\n    clusterDomain: cluster.example\n",
		checks: func(c *Config) []check {
			l := c.Local
			return []check{
				{"Listen", c.Listen, ":9000"},
				{"PublicURL", c.PublicURL, "https://hub.example.com"},
				{"HubAPIURL", c.HubAPIURL, "http://hub:9000/hub/api"},
				{"CryptKeyEnv", c.CryptKeyEnv, "HUB_KEYS"},
				{"Local", []any{l.Cmd, l.Args, l.StartTimeout, l.StateDir, l.HomeRoot, l.Host},
					[]any{[]string{"jupyter-lab"}, []string{"--no-browser"}, 90 * time.Second, "/var/lib/hub", "/home", "0.0.0.0"}},
				{"Store", c.Store, Store{Driver: DriverSQLite, Path: "/data/hub.sqlite"}},
				{"Spark", c.Spark, &sparksvc.Config{UIPort: 4041, SharedSecrets: []string{"s3"}, ClusterDomain: "cluster.example"}},
			}
		},
	}, {
		name: "vault with Kubernetes auth",
		doc: "hubkit:\n  vault:\n    address: https://vault:8200\n    serverAddress: https://vault.example.com\n    namespace: team\n" +
			"    kubernetes:\n      role: jupyterhub\n      mountPath: k8s\n    mount: kv\n    pathTemplate: users/{username}\n" +
			"    policyTemplate: user-{username}\n    tokenRole: notebooks\n    ttl: 3600\n    maxTTL: 48h\n    revoke: stop\n    statePath: hub/tokens\n",
		checks: func(c *Config) []check {
			return []check{{"Vault", *c.Vault, Vault{
				Address:    "https://vault:8200",
				Namespace:  "team",
				Kubernetes: &vault.KubernetesAuth{Role: "jupyterhub", MountPath: "k8s"},
				Provisioner: vault.ProvisionerOptions{
					Layout:    vault.Layout{Mount: "kv", PathTemplate: "users/{username}", PolicyTemplate: "user-{username}"},
					TokenRole: "notebooks", TTL: time.Hour, MaxTTL: 48 * time.Hour, Revoke: vault.RevokeOnStop,
					StatePath: "hub/tokens", Address: "https://vault.example.com",
				},
			}}}
		},
	}, {
		name: "limits, base URL and debug",
		doc: "hub:\n  baseUrl: jhub\n  concurrentSpawnLimit: 5\n  activeServerLimit: 50\n  allowNamedServers: true\n  namedServerLimitPerUser: 3\n" +
			"  config:\n    JupyterHub:\n      active_server_limit: 60\ndebug:\n  enabled: true\n",
		checks: func(c *Config) []check {
			return []check{
				{"BaseURL", c.BaseURL, "/jhub/"},
				{"Limits", c.Limits, Limits{ConcurrentSpawnLimit: 5, ActiveServerLimit: 60, AllowNamedServers: true, NamedServerLimitPerUser: 3}},
				{"Debug", c.Debug, true},
			}
		},
	}, {
		name: "postgres",
		doc:  "hub:\n  db:\n    type: postgres\n    url: postgresql+psycopg2://hub@db.example.com:5432/jupyterhub\n    password: secret\n",
		checks: func(c *Config) []check {
			return []check{{"Store", c.Store, Store{Driver: DriverPostgres, URL: "postgresql://hub@db.example.com:5432/jupyterhub", Password: "secret"}}}
		},
	}, {
		name: "other: a SQLite URL",
		doc:  "hub:\n  db:\n    type: other\n    url: sqlite:////srv/jupyterhub/jupyterhub.sqlite\n",
		checks: func(c *Config) []check {
			return []check{{"Store", c.Store, Store{Driver: DriverSQLite, Path: "/srv/jupyterhub/jupyterhub.sqlite"}}}
		},
	}, {
		name: "services and roles",
		doc: "hub:\n  services:\n    grafana:\n      apiToken: t1\n      url: http://grafana:3000\n    admin-bot:\n      api_token: t2\n      admin: true\n" +
			"  loadRoles:\n    monitoring:\n      scopes: [read:metrics, read:users]\n      services: [grafana]\n" +
			"    readers:\n      scopes: [read:users, list:users]\n      services: [grafana, admin-bot]\n",
		checks: func(c *Config) []check {
			return []check{{"Services", c.Services, []Service{
				{Name: "grafana", APIToken: "t1", URL: "http://grafana:3000", Scopes: []string{"read:metrics", "read:users", "list:users"}},
				{Name: "admin-bot", APIToken: "t2", Admin: true, Scopes: []string{"read:users", "list:users"}},
			}}}
		},
	}, {
		name: "cull",
		doc:  "cull:\n  enabled: false\n  users: true\n  adminUsers: false\n  removeNamedServers: true\n  timeout: 600\n  every: 60\n  maxAge: 86400\n  concurrency: 2\n",
		checks: func(c *Config) []check {
			o := c.Cull.Options
			return []check{
				{"Enabled", c.Cull.Enabled, false},
				{"options", []any{o.CullUsers, o.SkipAdminUsers, o.RemoveNamedServers, o.Timeout, o.Every, o.MaxAge, o.Concurrency},
					[]any{true, true, true, 10 * time.Minute, time.Minute, 24 * time.Hour, 2}},
			}
		},
	}, {
		name: "dev login: an empty allow list keeps allow-all",
		doc:  "hub:\n  config:\n    Authenticator:\n      allowed_users: []\n",
		checks: func(c *Config) []check {
			return []check{{"Rules", c.Auth.Rules, authenticator.Rules{AllowAll: true, AllowedUsers: []string{}}}}
		},
	}, {
		name: "dev login: allowed users turn allow-all off; the password",
		doc:  "hub:\n  config:\n    Authenticator:\n      allowed_users: [alice]\n      admin_users: [root]\n    DummyAuthenticator:\n      password: pw\n",
		checks: func(c *Config) []check {
			return []check{
				{"Rules", c.Auth.Rules, authenticator.Rules{AllowedUsers: []string{"alice"}, AdminUsers: []string{"root"}}},
				{"DevPassword", c.Auth.DevPassword, "pw"},
				{"AdminUsers", c.AdminUsers, []string{"root"}},
			}
		},
	}, {
		name: "OpenID Connect: traitlets precedence, derived callback, groups",
		doc: "hub:\n  baseUrl: /jhub\n  config:\n    JupyterHub:\n      authenticator_class: oauthenticator.generic.GenericOAuthenticator\n" +
			"    Authenticator:\n      allowed_groups: [staff]\n      admin_users: [a]\n      enable_auth_state: true\n      manage_groups: true\n" +
			"    OAuthenticator:\n      scope: openid email\n    GenericOAuthenticator:\n      admin_users: [b]\n      client_id: hub\n" +
			"      auth_state_groups_key: oauth_user.realm_access.roles\n      logout_redirect_url: https://hub.example.com/jhub/\n" +
			"      extra_authorize_params: {kc_idp_hint: saml}\n      userdata_from_id_token: true\n" +
			"hubkit:\n  publicURL: https://hub.example.com/\n  auth:\n    oidc:\n      issuer: https://login.example.com\n      jwksURL: https://login.example.com/keys\n",
		checks: func(c *Config) []check {
			o := c.Auth.OIDC
			return []check{
				{"Type", c.Auth.Type, AuthOIDC},
				{"Rules", c.Auth.Rules, authenticator.Rules{AllowedGroups: []string{"staff"}, AdminUsers: []string{"b"}}},
				{"RedirectURL", o.RedirectURL, "https://hub.example.com/jhub/hub/oauth_callback"},
				{"Issuer", o.Issuer, "https://login.example.com"},
				{"Keycloak", c.Auth.Keycloak, (*oidcKeycloak)(nil)},
				{"JWKSURL", o.Endpoints.JWKSURL, "https://login.example.com/keys"},
				{"Scopes", o.Scopes, []string{"openid", "email"}},
				{"GroupsClaims", o.GroupsClaims, []string{"realm_access.roles"}},
				{"PostLogoutRedirectURL", o.PostLogoutRedirectURL, "https://hub.example.com/jhub/"},
				{"AuthParams", o.AuthParams, map[string]string{"kc_idp_hint": "saml"}},
				{"UserInfo", o.UserInfo, false},
				{"EnableAuthState", c.Auth.EnableAuthState, true},
				{"ManageGroups", c.Auth.ManageGroups, true},
				{"Warning", c.Auth.Warning, ""},
			}
		},
	}, {
		name: "keycloak class with the realm as issuer (Keycloak < 17 context path)",
		doc: "hub:\n  config:\n    JupyterHub:\n      authenticator_class: keycloak\n    GenericOAuthenticator:\n      client_id: hub\n" +
			"      claim_groups_key: groups\nhubkit:\n  auth:\n    oidc:\n      issuer: https://auth.example.com/auth/realms/master\n",
		checks: func(c *Config) []check {
			return []check{
				{"Keycloak", *c.Auth.Keycloak, oidcKeycloak{URL: "https://auth.example.com/auth", Realm: "master", ClientID: "hub"}},
				{"Issuer", c.Auth.OIDC.Issuer, "https://auth.example.com/auth/realms/master"},
				{"UsernameClaim (preset)", c.Auth.OIDC.UsernameClaim, "preferred_username"},
				{"GroupsClaims", c.Auth.OIDC.GroupsClaims, []string{"groups"}},
			}
		},
	}, {
		name: "endpoints of two realms are no Keycloak preset",
		doc: "hub:\n  config:\n    JupyterHub:\n      authenticator_class: generic-oauth\n    GenericOAuthenticator:\n" +
			"      authorize_url: https://kc/realms/a/protocol/openid-connect/auth\n      token_url: https://kc/realms/b/protocol/openid-connect/token\n",
		checks: func(c *Config) []check {
			return []check{
				{"Keycloak", c.Auth.Keycloak, (*oidcKeycloak)(nil)},
				{"Issuer", c.Auth.OIDC.Issuer, ""},
			}
		},
	}, {
		name: "legacy auth",
		doc: "auth:\n  type: custom\n  custom:\n    className: oauthenticator.generic.GenericOAuthenticator\n    config:\n      client_id: old\n" +
			"  admin:\n    users: [root]\n  allowedUsers: [alice]\n  scopes: [openid, profile]\n  state:\n    enabled: true\n    cryptoKey: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n" +
			"hub:\n  config:\n    GenericOAuthenticator:\n      client_secret: new\n",
		checks: func(c *Config) []check {
			return []check{
				{"Type", c.Auth.Type, AuthOIDC},
				{"ClientID", c.Auth.OIDC.ClientID, "old"},
				{"ClientSecret", c.Auth.OIDC.ClientSecret, "new"},
				{"Rules", c.Auth.Rules, authenticator.Rules{AllowedUsers: []string{"alice"}, AdminUsers: []string{"root"}}},
				{"Scopes", c.Auth.OIDC.Scopes, []string{"openid", "profile"}},
				{"EnableAuthState", c.Auth.EnableAuthState, true},
				{"CryptKeys", c.CryptKeys, []string{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
			}
		},
	}, {
		name: "header login from its own fields",
		doc: "hub:\n  config:\n    Authenticator:\n      allowed_groups: [data]\nhubkit:\n  auth:\n    header:\n      issuer: https://login.example.com/realms/x\n" +
			"      audience: oauth2-proxy\n      header: Authorization\n      usernameClaim: preferred_username\n      groupsClaims: [groups, roles]\n",
		checks: func(c *Config) []check {
			h := c.Auth.Header
			return []check{
				{"Type", c.Auth.Type, AuthHeader},
				{"fields", []string{h.Issuer, h.Audience, h.Header, h.UsernameClaim, h.Cookie},
					[]string{"https://login.example.com/realms/x", "oauth2-proxy", "Authorization", "preferred_username", ""}},
				{"GroupsClaims", h.GroupsClaims, []string{"groups", "roles"}},
				{"Rules", h.Rules, authenticator.Rules{AllowedGroups: []string{"data"}}},
				{"Rules (not allow-all)", c.Auth.Rules.AllowAll, false},
			}
		},
	}, {
		name: "crypt keys as z2jh stores them",
		doc:  "hub:\n  config:\n    CryptKeeper:\n      keys: \"a; b;\"\n",
		checks: func(c *Config) []check {
			return []check{{"CryptKeys", c.CryptKeys, []string{"a", "b"}}}
		},
	}, {
		name: "YAML anchors and merge keys",
		doc: "base: &res\n  limit: 2\n  guarantee: 1\nsingleuser:\n  cpu:\n    <<: *res\n    limit: 3\n" +
			"  extraLabels: &labels {team: x}\n  extraAnnotations: *labels\n",
		checks: func(c *Config) []check {
			o := c.Kube.Options
			return []check{
				{"CPULimit (explicit wins)", o.CPULimit, kube.Float(3)},
				{"CPUGuarantee (merged)", o.CPUGuarantee, kube.Float(1)},
				{"ExtraAnnotations (alias)", o.ExtraAnnotations, map[string]string{"team": "x"}},
			}
		},
	}, {
		name: "JSON document",
		doc:  `{"singleuser": {"image": {"name": "j", "tag": "1"}}, "hubkit": {"spawner": "kube"}}`,
		checks: func(c *Config) []check {
			return []check{
				{"Image", c.Kube.Options.Image, "j:1"},
				{"Spawner", c.Spawner, SpawnerKube},
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustLoad(t, tt.doc)
			runChecks(t, tt.checks(c))
		})
	}
}
