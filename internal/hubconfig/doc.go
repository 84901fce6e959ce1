// Package hubconfig is the example hub's configuration, read from a Zero
// to JupyterHub values.yaml in the chart's own structure, plus a hubkit:
// section for what z2jh has no name for. A platform that runs z2jh today
// points the hub at the values file it already has and adds a few hubkit
// lines.
//
// # Loading
//
// Load (LoadFile for a file) lays the document over the chart's defaults
// (those of z2jh 4.4.0, embedded in the package) the way Helm lays a values
// file over a chart: mappings merge key by key, other values replace, and
// null removes a default (memory.guarantee: null means no guarantee). It
// then maps the result the way z2jh's jupyterhub_config.py maps it onto
// JupyterHub and KubeSpawner. Default returns what an empty document
// gives: the local spawner, the development login allowing everyone,
// SQLite in hubkit.sqlite, culling with z2jh's defaults, 127.0.0.1:8000.
//
// Load fails on a malformed document, on a value of the wrong type (the
// error names the key path and the line: "singleuser.storage.capacity:
// want string, got list (line 12)"), on a value out of its range, on a
// profile list or a KubeSpawner option that does not parse, on an
// authenticator hubkit does not have (it never falls back to another
// login), and on an unknown key in the hubkit section. Validate then
// checks the configuration as a whole (an OpenID Connect login without a
// client id or issuer, PostgreSQL without a URL, pods that cannot reach a
// hub on loopback, a profile the local spawner cannot start).
//
// # Warnings
//
// Nothing in the document is dropped silently. Every key that Load does
// not act on comes back as a Warning naming the key path and saying what
// replaces it: z2jh settings of the chart's own Kubernetes objects
// (proxy, ingress, scheduling, prePuller, the hub's pod: hubkit's deploy/
// manifests own those), hub.extraConfig (Python; hubkit has typed hooks
// instead), KubeSpawner settings while the spawner is local, keys that no
// z2jh version has (with a "did you mean"), deprecated spellings. A key
// set to the chart's default value draws no warning: it changes nothing.
// With the kube spawner, two chart defaults that protect user pods and
// that hubkit does not reproduce are warned about until set to false:
// singleuser.cloudMetadata.blockWithIptables and
// singleuser.networkPolicy.enabled.
//
// # The hubkit section
//
//	hubkit:
//	  listen: ":8000"                     # Config.Listen (default 127.0.0.1:8000)
//	  apiListen: ":8081"                  # Config.APIListen: also serve here, for servers' API calls
//	  replica: {id: hub-0, claimTTL: 30}  # Config.Replica (several replicas on PostgreSQL)
//	  publicURL: https://hub.example.com  # Config.PublicURL
//	  hubAPIURL: http://hub.jhub.svc:8000/hub/api  # Config.HubAPIURL
//	  spawner: kube                       # Config.Spawner: local (default) or kube
//	  cryptKeyEnv: JUPYTERHUB_CRYPT_KEY   # Config.CryptKeyEnv
//	  local: {cmd, args, startTimeout, stateDir, homeRoot, host}   # Config.Local
//	  kube:                               # Config.Kube
//	    namespace: jhub
//	    enableUserNamespaces: false
//	    userNamespaceTemplate: "{hubnamespace}-{username}"
//	    slugScheme: safe                  # or escape (KubeSpawner < 7 names)
//	    instance: ""
//	    options: {cpu_limit: 2}           # KubeSpawner trait names, merged last
//	  auth:
//	    oidc: {issuer, jwksURL, endSessionURL}          # Auth.OIDC
//	    header: {cloudflareTeam, audience, issuer, header, cookie,
//	             certsURL, usernameClaim, emailClaim, groupsClaims, rolesClaims}  # Auth.Header
//	  store: {path: hubkit.sqlite}        # Store.Path
//	  vault:                              # Config.Vault (absent: no Vault)
//	    address: https://vault.example.com
//	    kubernetes: {role: jupyterhub, mountPath: kubernetes, tokenPath: ...}  # or tokenFile, or tokenEnv
//	    serverAddress, namespace, mount, pathTemplate, policyTemplate, tokenRole,
//	    ttl: 24h, maxTTL: 168h, revoke: spawn, statePath,
//	    optional: false                   # true: start without the token when Vault fails
//	  spark: {}                           # Config.Spark (absent: off): uiPort, driverPort,
//	                                      # blockManagerPort, clusterDomain, serviceAccountPrefix,
//	                                      # sharedSecrets, insecureNoExecutorIsolation
//
// Durations (startTimeout, ttl, maxTTL) are seconds or Go durations
// ("90s", "24h").
//
// # Logins
//
// hub.config.JupyterHub.authenticator_class chooses the login: dummy
// (z2jh's default) is the development login of authenticator/dev, with
// Auth.Warning saying loudly what it is; generic-oauth (also
// GenericOAuthenticator, oauthenticator.generic.GenericOAuthenticator) and
// keycloak are authenticator/oidc; a hubkit.auth.header section is
// authenticator/header (Cloudflare Access, oauth2-proxy). The traits of
// hub.config.Authenticator, OAuthenticator and GenericOAuthenticator (or
// DummyAuthenticator) are read as traitlets reads them, the more specific
// class winning. hubkit verifies every ID token against the issuer: a
// Keycloak realm is recognised from its URLs
// (…/realms/<realm>/protocol/openid-connect/…) and uses the Keycloak
// preset; for other providers set hubkit.auth.oidc.issuer. z2jh's auth
// block from before 1.0 is read the way z2jh 1.0's migration helper
// translated it, with a warning.
//
// # Key reference
//
// Status: "yes" is read; "kube" is read into Config.Kube (with a Warning
// when the spawner is local and the document sets the key); "warn" is not
// supported and draws a Warning when set to anything but the chart's
// default; "error" fails Load. Defaults in parentheses are z2jh's.
//
//	z2jh key                                          hubkit field                                     status
//	fullnameOverride, nameOverride                    -                                                warn: deploy/
//	enabled                                           -                                                warn (no effect in z2jh)
//	custom                                            -                                                warn (only extraConfig reads it)
//	imagePullSecret.*                                 -                                                warn: deploy/
//	imagePullSecrets                                  Kube.Options.ImagePullSecrets (first)            kube
//	rbac.*                                            -                                                warn: deploy/
//	auth.* (z2jh before 1.0)                          Auth, CryptKeys, read as hub.config              yes, warning
//	hub.config.JupyterHub.authenticator_class         Auth.Type                                        yes
//	hub.config.JupyterHub.admin_users                 Auth.Rules.AdminUsers, AdminUsers                yes, warns (deprecated)
//	hub.config.JupyterHub.base_url                    BaseURL (over hub.baseUrl)                       yes
//	hub.config.JupyterHub.concurrent_spawn_limit      Limits.ConcurrentSpawnLimit (over hub.*)         yes
//	hub.config.JupyterHub.active_server_limit         Limits.ActiveServerLimit (over hub.*)            yes
//	hub.config.JupyterHub.allow_named_servers         Limits.AllowNamedServers (over hub.*)            yes
//	hub.config.JupyterHub.named_server_limit_per_user Limits.NamedServerLimitPerUser                   yes
//	hub.config.JupyterHub.admin_access                -                                                warn
//	hub.config.JupyterHub.cookie_secret               - (CryptKeyEnv keys seal cookies)                warn
//	hub.config.JupyterHub.<other trait>               -                                                warn
//	hub.config.{Authenticator, OAuthenticator, GenericOAuthenticator, DummyAuthenticator}.<trait>:
//	  allow_all, allowed_users, allowed_groups        Auth.Rules                                       yes
//	  admin_users, admin_groups, blocked_users        Auth.Rules (admin_users also AdminUsers)         yes
//	  enable_auth_state                               Auth.EnableAuthState                             yes
//	  manage_groups                                   Auth.ManageGroups                                yes
//	  auto_login                                      Auth.AutoLogin                                   yes
//	  login_service                                   Auth.LoginService                                yes
//	  client_id, client_secret                        Auth.OIDC.ClientID, ClientSecret                 yes (oidc)
//	  oauth_callback_url                              Auth.OIDC.RedirectURL; default hubkit.publicURL  yes (oidc)
//	                                                  + BaseURL + hub/oauth_callback
//	  authorize_url, token_url, userdata_url          Auth.OIDC.Endpoints; a Keycloak realm's URLs     yes (oidc)
//	                                                  also give Auth.Keycloak and the issuer
//	  username_claim, username_key                    Auth.OIDC.UsernameClaim                          yes (oidc; username_key warns)
//	  scope                                           Auth.OIDC.Scopes                                 yes (oidc)
//	  claim_groups_key, auth_state_groups_key         Auth.OIDC.GroupsClaims (oauth_user.<claim>)      yes (oidc)
//	  logout_redirect_url                             Auth.OIDC.PostLogoutRedirectURL                  yes (oidc)
//	  extra_authorize_params                          Auth.OIDC.AuthParams                             yes (oidc)
//	  userdata_from_id_token                          Auth.OIDC.UserInfo (negated; ID tokens are       yes (oidc)
//	                                                  always verified)
//	  enable_pkce, validate_server_cert,              - (always PKCE, TLS verified, userinfo by GET)   warn if not default
//	  tls_verify, userdata_method
//	  password (DummyAuthenticator)                   Auth.DevPassword                                 yes (dev)
//	  <other trait>                                   -                                                warn
//	hub.config.CryptKeeper.keys                       CryptKeys                                        yes
//	hub.config.Spawner.<kube.Options name>            Kube.Options (over singleuser.*)                 kube
//	hub.config.KubeSpawner.<kube.Options name>        Kube.Options (over hub.config.Spawner)           kube
//	hub.config.Spawner.cmd, args, environment,        Local                                            yes
//	  start_timeout, default_url
//	hub.config.<lower-case name>                      -                                                error, as in z2jh
//	hub.config.<other section>                        -                                                warn
//	hub.baseUrl                                       BaseURL                                          yes
//	hub.concurrentSpawnLimit                          Limits.ConcurrentSpawnLimit (64)                 yes
//	hub.activeServerLimit                             Limits.ActiveServerLimit                         yes
//	hub.allowNamedServers                             Limits.AllowNamedServers                         yes
//	hub.namedServerLimitPerUser                       Limits.NamedServerLimitPerUser                   yes
//	hub.db.type                                       Store.Driver: sqlite-pvc: sqlite; sqlite-memory: yes
//	                                                  sqlite (warning); postgres; other: by URL;
//	                                                  mysql: error
//	hub.db.url                                        Store.URL (postgres), Store.Path (sqlite:///)    yes
//	hub.db.password                                   Store.Password (postgres)                        yes
//	hub.db.upgrade                                    - (the store migrates at every start)            warn
//	hub.db.pvc.*                                      -                                                warn: deploy/
//	hub.extraEnv                                      HubEnv, HubEnvFrom (valueFrom)                   yes
//	hub.services.<name>.apiToken, api_token           Services[].APIToken                              yes
//	hub.services.<name>.admin, url, name              Services[].Admin, URL, Name                      yes
//	hub.services.<name>.command, environment,         - (hubkit starts no services)                    warn
//	  user, cwd, oauth_*, ...
//	hub.loadRoles.<name>.scopes, services             Services[].Scopes                                yes
//	hub.loadRoles.<name>.users, groups                -                                                warn
//	hub.extraConfig                                   - (ModifyPod/AfterPodCreated hooks, sparksvc,    warn
//	                                                  singleuser.*, hubkit.kube.options, hub.config)
//	hub.cookieSecret                                  - (CryptKeyEnv keys seal cookies)                warn
//	hub.consecutiveFailureLimit                       -                                                warn
//	hub.authenticatePrometheus                        -                                                warn
//	hub.redirectToServer                              -                                                warn
//	hub.shutdownOnLogout                              -                                                warn
//	hub.templatePaths, hub.templateVars               - (hubkit's web UI has its own)                  warn
//	hub.revisionHistoryLimit, hub.service,            - (the hub's own pod)                            warn: deploy/
//	  hub.initContainers, hub.nodeSelector,
//	  hub.tolerations, hub.deploymentStrategy,
//	  hub.labels, hub.annotations, hub.command,
//	  hub.args, hub.extraFiles, hub.extraContainers,
//	  hub.extraVolumes, hub.extraVolumeMounts,
//	  hub.image, hub.resources, hub.podSecurityContext,
//	  hub.containerSecurityContext, hub.lifecycle,
//	  hub.pdb, hub.networkPolicy, hub.livenessProbe,
//	  hub.readinessProbe, hub.existingSecret,
//	  hub.serviceAccount, hub.extraPodSpec
//	proxy.*                                           - (the hub has its own proxy: Listen)            warn
//	singleuser.image.name, singleuser.image.tag       Kube.Options.Image (name:tag)                    kube
//	singleuser.image.pullPolicy                       Kube.Options.ImagePullPolicy                     kube
//	singleuser.image.pullSecrets                      Kube.Options.ImagePullSecrets (after)            kube
//	singleuser.podNameTemplate                        Kube.Options.PodNameTemplate                     kube
//	singleuser.cmd                                    Kube.Options.Cmd, Local.Cmd                      yes
//	singleuser.defaultUrl                             Kube.Options.DefaultURL, Local.Env               yes
//	                                                  JUPYTERHUB_DEFAULT_URL
//	singleuser.startTimeout                           Kube.Options.StartTimeout, Local.StartTimeout    yes
//	singleuser.extraEnv                               Kube.Options.Environment; plain values also      yes
//	                                                  Local.Env (valueFrom there: warning)
//	singleuser.cpu.limit                              Kube.Options.CPULimit                            kube
//	singleuser.cpu.guarantee                          Kube.Options.CPUGuarantee                        kube
//	singleuser.memory.limit                           Kube.Options.MemLimit ("2G": 2 GiB)              kube
//	singleuser.memory.guarantee                       Kube.Options.MemGuarantee (1G)                   kube
//	singleuser.extraResource.limits                   Kube.Options.ExtraResourceLimits                 kube
//	singleuser.extraResource.guarantees               Kube.Options.ExtraResourceGuarantees             kube
//	singleuser.storage.type                           dynamic: StoragePVCEnsure and a volume           kube
//	                                                  named volumeNameTemplate on claim {pvc_name};
//	                                                  static: volume "home" on static.pvcName;
//	                                                  none: no volume
//	singleuser.storage.capacity                       Kube.Options.StorageCapacity (dynamic)           kube
//	singleuser.storage.homeMountPath                  the home volume's mount path                     kube
//	singleuser.storage.dynamic.storageClass           Kube.Options.StorageClass                        kube
//	singleuser.storage.dynamic.pvcNameTemplate        Kube.Options.PVCNameTemplate; z2jh leaves it     kube
//	                                                  unset, so KubeSpawner 7's and spawner/kube's
//	                                                  claim-{user_server} applies
//	singleuser.storage.dynamic.volumeNameTemplate     the home volume's name (volume-{user_server})    kube
//	singleuser.storage.dynamic.storageAccessModes     Kube.Options.StorageAccessModes                  kube
//	singleuser.storage.dynamic.subPath                the home mount's subPath                         kube
//	singleuser.storage.static.pvcName                 the home volume's claim                          kube
//	singleuser.storage.static.subPath                 the home mount's subPath ({username})            kube
//	singleuser.storage.extraLabels                    Kube.Options.StorageExtraLabels                  kube
//	singleuser.storage.extraVolumes                   Kube.Options.Volumes (list or mapping; by key,   kube
//	                                                  as KubeSpawner orders a mapping)
//	singleuser.storage.extraVolumeMounts              Kube.Options.VolumeMounts (likewise)             kube
//	singleuser.extraLabels                            Kube.Options.ExtraLabels                         kube
//	singleuser.extraAnnotations                       Kube.Options.ExtraAnnotations                    kube
//	singleuser.nodeSelector                           Kube.Options.NodeSelector                        kube
//	singleuser.extraTolerations                       Kube.Options.Tolerations (after scheduling.*)    kube
//	singleuser.extraNodeAffinity.required             Kube.Options.NodeAffinityRequired                kube
//	singleuser.extraNodeAffinity.preferred            Kube.Options.NodeAffinityPreferred               kube
//	singleuser.extraPodAffinity.required              Kube.Options.PodAffinityRequired                 kube
//	singleuser.extraPodAffinity.preferred             Kube.Options.PodAffinityPreferred                kube
//	singleuser.extraPodAntiAffinity.required          Kube.Options.PodAntiAffinityRequired             kube
//	singleuser.extraPodAntiAffinity.preferred         Kube.Options.PodAntiAffinityPreferred            kube
//	singleuser.uid                                    Kube.Options.UID (1000)                          kube
//	singleuser.fsGid                                  Kube.Options.FSGID (100)                         kube
//	singleuser.allowPrivilegeEscalation               Kube.Options.AllowPrivilegeEscalation            kube
//	singleuser.serviceAccountName                     Kube.Options.ServiceAccount                      kube
//	singleuser.lifecycleHooks                         Kube.Options.LifecycleHooks                      kube
//	singleuser.initContainers                         Kube.Options.InitContainers                      kube
//	singleuser.extraContainers                        Kube.Options.ExtraContainers                     kube
//	singleuser.extraPodConfig                         Kube.Options.ExtraPodConfig                      kube
//	singleuser.profileList                            Profiles (checked against Kube.Options)          yes
//	singleuser.extraFiles                             - (mount a Secret with extraVolumes)             warn
//	singleuser.events                                 - (pod events are always read)                   warn
//	singleuser.cloudMetadata.blockWithIptables        - (block it with a NetworkPolicy)                warn (kube, while true)
//	singleuser.cloudMetadata.ip                       -                                                warn
//	singleuser.networkTools.*                         -                                                warn
//	singleuser.networkPolicy.enabled                  - (deploy/)                                      warn (kube, while true)
//	singleuser.networkPolicy.*                        - (deploy/)                                      warn
//	scheduling.userPods.tolerations                   Kube.Options.Tolerations (first)                 kube
//	scheduling.userPods.nodeAffinity.matchNodePurpose prefer: a NodeAffinityPreferred term             kube
//	                                                  (weight 100); require: a NodeAffinityRequired
//	                                                  term; ignore: none
//	scheduling.userScheduler.*, podPriority.*,        - (cluster components)                           warn: deploy/
//	  userPlaceholder.*, corePods.*
//	prePuller.*                                       -                                                warn: deploy/
//	ingress.*, httpRoute.*                            -                                                warn: deploy/
//	cull.enabled                                      Cull.Enabled (true)                              yes
//	cull.timeout                                      Cull.Options.Timeout (3600 s)                    yes
//	cull.every                                        Cull.Options.Every (600 s)                       yes
//	cull.maxAge                                       Cull.Options.MaxAge (0: off)                     yes
//	cull.users                                        Cull.Options.CullUsers (false)                   yes
//	cull.adminUsers                                   Cull.Options.SkipAdminUsers (negated; true)      yes
//	cull.removeNamedServers                           Cull.Options.RemoveNamedServers (false)          yes
//	cull.concurrency                                  Cull.Options.Concurrency (10)                    yes
//	debug.enabled                                     Debug                                            yes
//	global.*                                          -                                                warn
//	<any other key>                                   -                                                warn: unknown
//
// Mapping details follow z2jh's jupyterhub_config.py: a null or empty value
// sets nothing; the image is name:tag; pull secrets are imagePullSecrets
// then singleuser.image.pullSecrets; tolerations are
// scheduling.userPods.tolerations then singleuser.extraTolerations; the
// node-purpose affinity term comes after extraNodeAffinity's. hubkit sets
// no scheduler name (z2jh's user scheduler is a cluster component) and
// keeps spawner/kube's common labels.
package hubconfig
