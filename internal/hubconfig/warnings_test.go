package hubconfig

import (
	"slices"
	"strings"
	"testing"
)

// TestUnknownKeys: keys that no z2jh version has become warnings, with a
// suggestion when one is near, one per key path, in document order.
func TestUnknownKeys(t *testing.T) {
	doc := `
singlueser:
  image: {name: x}
jupyterhub:
  cull: {timeout: 60}
hub:
  baseURL: /x
  extraConfig:
    hook: print(1)
singleuser:
  cpu:
    request: 1
  storage:
    dynamic:
      storageClassName: fast
  networkTools:
    image:
      tag: "5.0"
  hugePages: true
proxy:
  chp:
    image:
      tag: "4.0"
  newThing: 1
cull:
  tmeout: 5
"example.com/x": 1
`
	_, warns := mustLoad(t, doc)
	want := []struct{ key, msg string }{
		{"singlueser", "is not a z2jh key (nor hubkit's); ignored: did you mean singleuser?"},
		{"jupyterhub", "ignored: the values of a chart that depends on z2jh? Pass the jupyterhub: block's content"},
		{"hub.baseURL", "did you mean baseUrl?"},
		{"hub.extraConfig", "hubkit runs no Python"},
		{"singleuser.cpu.request", "did you mean singleuser.cpu.guarantee?"},
		{"singleuser.storage.dynamic.storageClassName", "did you mean storageClass?"},
		{"singleuser.networkTools.image.tag", "cloud-metadata blocker"},
		{"singleuser.hugePages", "is not a z2jh key (nor hubkit's); ignored"},
		{"proxy.chp.image.tag", "has its own proxy"},
		{"proxy.newThing", "has its own proxy"},
		{"cull.tmeout", "did you mean timeout?"},
		{`["example.com/x"]`, "is not a z2jh key"},
	}
	if len(warns) != len(want) {
		t.Errorf("got %d warnings, want %d: %q", len(warns), len(want), warningKeys(warns))
	}
	for i := range min(len(warns), len(want)) {
		if warns[i].Key != want[i].key || !strings.Contains(warns[i].Message, want[i].msg) {
			t.Errorf("warning %d = %q, want key %q with %q", i, warns[i], want[i].key, want[i].msg)
		}
	}
	for _, w := range warns {
		if w.Key == "singleuser.hugePages" && strings.Contains(w.Message, "did you mean") {
			t.Errorf("a suggestion for a key near nothing: %q", w)
		}
	}
}

// TestExtraConfigNamesTheHooks: the warning for hub.extraConfig says what
// replaces the Python.
func TestExtraConfigNamesTheHooks(t *testing.T) {
	_, warns := mustLoad(t, "hub:\n  extraConfig:\n    spark: c.KubeSpawner.after_pod_created_hook = hook\n")
	if len(warns) != 1 || warns[0].Key != "hub.extraConfig" {
		t.Fatalf("warnings = %v", warns)
	}
	for _, s := range []string{"ModifyPod", "AfterPodCreated", "sparksvc", "hubkit.spark", "hubkit.kube.options", "hub.config"} {
		if !strings.Contains(warns[0].Message, s) {
			t.Errorf("the hub.extraConfig warning does not mention %s: %q", s, warns[0].Message)
		}
	}
}

// TestWarnings: settings that exist in z2jh but do nothing in hubkit, or
// nothing with the chosen spawner or login, are warned about; the same
// keys at the chart's defaults are not.
func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"chart defaults are silent", "proxy:\n  service:\n    type: LoadBalancer\nhub:\n  db:\n    type: sqlite-pvc\n" +
			"singleuser:\n  events: true\n  uid: 1000\nscheduling:\n  userScheduler:\n    enabled: true\n", nil},
		{"z2jh settings without counterpart", "hub:\n  cookieSecret: abc\n  consecutiveFailureLimit: 3\n  db:\n    upgrade: true\n" +
			"ingress:\n  enabled: true\n  hosts: [hub.example.com]\nprePuller:\n  continuous:\n    enabled: false\n" +
			"singleuser:\n  events: false\n  extraFiles:\n    a: {mountPath: /a}\n",
			[]string{"hub.cookieSecret", "hub.consecutiveFailureLimit", "hub.db.upgrade", "ingress.enabled", "ingress.hosts",
				"prePuller.continuous.enabled", "singleuser.events", "singleuser.extraFiles"}},
		{"kube settings with the local spawner", "singleuser:\n  image:\n    name: my/image\n  cpu:\n    limit: 2\n  uid: 1000\n" +
			"  cmd: start-notebook.sh\n  extraEnv:\n    A: b\n    S:\n      valueFrom:\n        secretKeyRef: {name: s, key: k}\n",
			[]string{"singleuser.image.name", "singleuser.cpu.limit", "singleuser.extraEnv.S"}},
		{"local settings with the kube spawner", "hubkit:\n  spawner: kube\n  listen: \":8000\"\n  local:\n    host: 0.0.0.0\n" +
			"singleuser:\n  cloudMetadata:\n    blockWithIptables: false\n  networkPolicy:\n    enabled: false\n",
			[]string{"hubkit.local"}},
		{"kube notices stay until set to false", "hubkit:\n  spawner: kube\nsingleuser:\n  cloudMetadata:\n    blockWithIptables: true\n",
			[]string{"singleuser.cloudMetadata.blockWithIptables", "singleuser.networkPolicy.enabled"}},
		{"hub env from Kubernetes, local", "hub:\n  extraEnv:\n    A:\n      valueFrom:\n        fieldRef: {fieldPath: metadata.name}\n",
			[]string{"hub.extraEnv.A"}},
		{"authenticator sections of another login", "hub:\n  config:\n    GenericOAuthenticator:\n      client_id: x\n    OAuthenticator:\n      scope: [openid]\n",
			[]string{"hub.config.GenericOAuthenticator", "hub.config.OAuthenticator"}},
		{"oidc traits with the dev login", "hub:\n  config:\n    Authenticator:\n      client_id: x\n      allow_all: true\n",
			[]string{"hub.config.Authenticator.client_id"}},
		{"overridden trait", "hub:\n  config:\n    JupyterHub:\n      authenticator_class: generic-oauth\n" +
			"    Authenticator:\n      admin_users: [a]\n    GenericOAuthenticator:\n      admin_users: [b]\n",
			[]string{"hub.config.Authenticator.admin_users"}},
		{"unsupported traits", "hub:\n  config:\n    JupyterHub:\n      authenticator_class: generic-oauth\n      admin_access: false\n" +
			"      log_level: DEBUG\n    GenericOAuthenticator:\n      enable_pkce: false\n      tls_verify: false\n" +
			"      userdata_method: POST\n      basic_auth: true\n    NativeAuthenticator:\n      open_signup: true\n" +
			"    CryptKeeper:\n      n_threads: 2\n",
			[]string{"hub.config.JupyterHub.admin_access", "hub.config.JupyterHub.log_level",
				"hub.config.GenericOAuthenticator.enable_pkce", "hub.config.GenericOAuthenticator.tls_verify",
				"hub.config.GenericOAuthenticator.userdata_method", "hub.config.GenericOAuthenticator.basic_auth",
				"hub.config.NativeAuthenticator", "hub.config.CryptKeeper.n_threads"}},
		{"kube traits hubkit does not have", "hub:\n  config:\n    KubeSpawner:\n      cpu_limit: 2\n      http_timeout: 60\n" +
			"      profile_list: []\n    Spawner:\n      cmd: [x]\n      poll_interval: 5\n",
			[]string{"hub.config.KubeSpawner.http_timeout", "hub.config.KubeSpawner.profile_list", "hub.config.Spawner.poll_interval"}},
		{"storage keys the type does not use", "hubkit:\n  spawner: kube\n" +
			"singleuser:\n  cloudMetadata: {blockWithIptables: false}\n  networkPolicy: {enabled: false}\n" +
			"  storage:\n    type: none\n    capacity: 20Gi\n" +
			"    static:\n      pvcName: x\n", []string{"singleuser.storage.capacity", "singleuser.storage.static.pvcName"}},
		{"services and roles", "hub:\n  services:\n    cull:\n      apiToken: t\n      command: [cullerd]\n      oauth_no_confirm: true\n" +
			"  loadRoles:\n    r:\n      scopes: [read:users]\n      services: [cull]\n      users: [alice]\n",
			[]string{"hub.services.cull.command", "hub.services.cull.oauth_no_confirm", "hub.loadRoles.r.users"}},
		{"databases", "hub:\n  db:\n    type: sqlite-memory\n    password: pw\n", []string{"hub.db.type", "hub.db.password"}},
		{"sqlite-pvc with a URL", "hub:\n  db:\n    url: postgresql://db/hub\n", []string{"hub.db.url"}},
		{"legacy auth", "auth:\n  type: dummy\n  dummy:\n    password: pw\n  admin:\n    users: [root]\n    access: false\n  github:\n    clientId: x\n",
			[]string{"auth", "auth.admin.access", "auth.github.clientId"}},
		{"deprecated admin users", "hub:\n  config:\n    JupyterHub:\n      admin_users: [root]\n",
			[]string{"hub.config.JupyterHub.admin_users"}},
		{"oidc settings with the dev login", "hubkit:\n  auth:\n    oidc:\n      issuer: https://x\n", []string{"hubkit.auth.oidc"}},
		{"store path with PostgreSQL", "hub:\n  db:\n    type: postgres\n    url: postgresql://db/hub\nhubkit:\n  store:\n    path: x.sqlite\n",
			[]string{"hubkit.store.path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warns := mustLoad(t, tt.doc)
			got := warningKeys(warns)
			if tt.want == nil {
				tt.want = []string{}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("warnings:\n got  %q\n want %q", got, tt.want)
			}
			for _, w := range warns {
				if w.Message == "" {
					t.Errorf("warning without a message: %q", w.Key)
				}
			}
		})
	}
}
