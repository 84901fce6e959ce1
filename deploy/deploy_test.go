package deploy

import (
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/hubkit/hubkit/internal/hubconfig"
	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/sparksvc"
	"github.com/hubkit/hubkit/spawner/kube"
)

var cluster *testenv.Kube

func TestMain(m *testing.M) { os.Exit(testenv.MainWithKube(m, &cluster)) }

// Every YAML file under kubernetes/ belongs to a kustomization, except the
// Secret templates, which belong to none (applying them would overwrite
// the real values).
func TestEveryFileIsUsed(t *testing.T) {
	used := map[string]string{}
	for _, dir := range targets {
		for _, f := range mustRender(t, dir).files {
			used[relPath(f)] = dir
		}
	}
	for _, p := range templates {
		if dir, ok := used[p]; ok {
			t.Errorf("%s is a Secret template but %s applies it", p, dir)
		}
		used[p] = "template"
	}
	err := filepath.WalkDir(manifestsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch {
		case filepath.Ext(p) != ".yaml":
			t.Errorf("%s: only .yaml files belong under %s", p, manifestsDir)
		case used[relPath(p)] == "":
			t.Errorf("%s is in no kustomization and is not a listed Secret template", p)
		}
		if strings.HasSuffix(p, ".template.yaml") && used[relPath(p)] != "template" {
			t.Errorf("%s is named like a template but is not in the templates list", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// layout is what each kustomization must produce.
type layout struct {
	replicas     int32
	strategy     appsv1.DeploymentStrategyType
	sqlite       bool     // SQLite on the hubkit-db claim, else PostgreSQL from a Secret
	clusterRoles []string // ClusterRoles bound to the hub
	userNS       bool     // per-user namespaces
}

var layouts = map[string]layout{
	baseDir:   {replicas: 1, strategy: appsv1.RecreateDeploymentStrategyType, sqlite: true},
	haDir:     {replicas: 2, strategy: appsv1.RollingUpdateDeploymentStrategyType},
	userNSDir: {replicas: 1, strategy: appsv1.RecreateDeploymentStrategyType, sqlite: true, userNS: true, clusterRoles: []string{"hubkit-user-namespaces", "hubkit-user-namespaces-spark"}},
}

// The objects of each kustomization fit together: selectors select the
// hub's pods, ports and volumes exist, Secrets and keys referenced exist
// in the templates, RBAC binds what exists, and values.yaml agrees with
// the Deployment and Services.
func TestManifestsFitTogether(t *testing.T) {
	secretKeys := map[string][]string{}
	for _, s := range mustTemplates(t) {
		sec := typed[*corev1.Secret](t, s)
		for k := range sec.StringData {
			secretKeys[sec.Name] = append(secretKeys[sec.Name], k)
		}
	}
	for _, dir := range targets {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want := layouts[dir]
			b := mustRender(t, dir)
			for _, o := range b.objs {
				_ = typed[runtime.Object](t, o)
				if o.GetNamespace() != "" {
					t.Errorf("%s names namespace %q; the manifests take the namespace from kubectl -n", objID(o), o.GetNamespace())
				}
				if o.GetKind() == "Secret" {
					t.Errorf("%s: Secrets are templates, never part of a kustomization", objID(o))
				}
			}

			dep := find[*appsv1.Deployment](t, b, "Deployment", "hubkit")
			podLabels := labels.Set(dep.Spec.Template.Labels)
			if !selects(t, dep.Spec.Selector, podLabels) {
				t.Errorf("Deployment selector %v does not select its pods %v", dep.Spec.Selector, podLabels)
			}
			if r := dep.Spec.Replicas; r == nil || *r != want.replicas {
				t.Errorf("replicas %v, want %d", r, want.replicas)
			}
			if dep.Spec.Strategy.Type != want.strategy {
				t.Errorf("strategy %q, want %q", dep.Spec.Strategy.Type, want.strategy)
			}
			spec := dep.Spec.Template.Spec
			if spec.ServiceAccountName != "hubkit" || !b.has("ServiceAccount", "hubkit") {
				t.Errorf("service account %q; want hubkit, defined in the build", spec.ServiceAccountName)
			}
			if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
				t.Error("pod securityContext.runAsNonRoot is not true")
			}
			if len(spec.Containers) != 1 {
				t.Fatalf("%d containers, want the hub only", len(spec.Containers))
			}
			c := spec.Containers[0]
			checkContainer(t, c)
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			if ports["http"] != 8000 || ports["hub-api"] != 8081 {
				t.Errorf("container ports %v, want http 8000 and hub-api 8081", ports)
			}

			// Volumes and mounts.
			vols := map[string]corev1.Volume{}
			for _, v := range spec.Volumes {
				vols[v.Name] = v
				switch {
				case v.ConfigMap != nil && !b.has("ConfigMap", v.ConfigMap.Name):
					t.Errorf("volume %s: no ConfigMap %s", v.Name, v.ConfigMap.Name)
				case v.PersistentVolumeClaim != nil && !b.has("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName):
					t.Errorf("volume %s: no PersistentVolumeClaim %s", v.Name, v.PersistentVolumeClaim.ClaimName)
				}
			}
			mounts := map[string]string{} // mount path → volume
			for _, m := range c.VolumeMounts {
				if _, ok := vols[m.Name]; !ok {
					t.Errorf("mount %s: no volume %s", m.MountPath, m.Name)
				}
				mounts[m.MountPath] = m.Name
			}
			if !slices.Equal(c.Command, []string{"/hubkit-hub"}) || len(c.Args) != 2 || c.Args[0] != "--config" {
				t.Fatalf("command %q args %q, want /hubkit-hub --config <file>", c.Command, c.Args)
			}
			cfgVol := vols[mounts[path.Dir(c.Args[1])]]
			if cfgVol.ConfigMap == nil {
				t.Fatalf("--config %s is not in a ConfigMap mount (mounts %v)", c.Args[1], mounts)
			}
			cm := find[*corev1.ConfigMap](t, b, "ConfigMap", cfgVol.ConfigMap.Name)
			raw, ok := cm.Data[path.Base(c.Args[1])]
			if !ok {
				t.Fatalf("ConfigMap %s has no key %s", cm.Name, path.Base(c.Args[1]))
			}

			// Every Secret the hub reads is one of the templates, with that key.
			env := map[string]corev1.EnvVar{}
			for _, e := range c.Env {
				env[e.Name] = e
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					ref := e.ValueFrom.SecretKeyRef
					if !slices.Contains(secretKeys[ref.Name], ref.Key) {
						t.Errorf("env %s: Secret %s key %s is in no template (templates: %v)", e.Name, ref.Name, ref.Key, secretKeys)
					}
				}
			}
			for _, name := range []string{"JUPYTERHUB_CRYPT_KEY", "OAUTH_CLIENT_SECRET"} {
				if e, ok := env[name]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("env %s is not read from a Secret", name)
				}
			}

			// Services.
			for name, port := range map[string]string{"hubkit": "http", "hubkit-api": "hub-api"} {
				svc := find[*corev1.Service](t, b, "Service", name)
				if !selects(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, podLabels) {
					t.Errorf("Service %s selector %v does not select the hub", name, svc.Spec.Selector)
				}
				if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.StrVal != port || svc.Spec.Ports[0].Port != ports[port] {
					t.Errorf("Service %s ports %+v, want %d → container port %s", name, svc.Spec.Ports, ports[port], port)
				}
			}
			np := find[*networkingv1.NetworkPolicy](t, b, "NetworkPolicy", "hubkit")
			if !selects(t, &np.Spec.PodSelector, podLabels) {
				t.Error("the NetworkPolicy does not select the hub")
			}
			if np := find[*networkingv1.NetworkPolicy](t, b, "NetworkPolicy", "hubkit-singleuser"); selects(t, &np.Spec.PodSelector, podLabels) {
				t.Error("the servers' NetworkPolicy selects the hub")
			}
			pdb := find[*policyv1.PodDisruptionBudget](t, b, "PodDisruptionBudget", "hubkit")
			if !selects(t, pdb.Spec.Selector, podLabels) {
				t.Error("the PodDisruptionBudget does not select the hub")
			}
			switch {
			case want.replicas == 1 && (pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil):
				t.Errorf("one replica: PodDisruptionBudget %+v must allow the eviction (maxUnavailable 1)", pdb.Spec)
			case want.replicas > 1 && (pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || pdb.Spec.MinAvailable.IntValue() >= int(want.replicas) || pdb.Spec.MaxUnavailable != nil):
				t.Errorf("%d replicas: PodDisruptionBudget %+v must keep some up and let one go", want.replicas, pdb.Spec)
			}

			checkRBACObjects(t, b, want)

			// values.yaml, as the hub reads it, against the Deployment, the
			// Services and the storage.
			cfg := loadHubConfig(t, raw)
			if cfg.Spawner != hubconfig.SpawnerKube {
				t.Errorf("spawner %q, want kube", cfg.Spawner)
			}
			if _, p, err := net.SplitHostPort(cfg.Listen); err != nil || p != "8000" {
				t.Errorf("hubkit.listen %q, want port 8000 (container port http)", cfg.Listen)
			}
			u, err := url.Parse(cfg.HubAPIURL)
			wantHost := "hubkit-api"
			if want.userNS {
				wantHost = "hubkit-api." + hubNamespace + ".svc.cluster.local"
			}
			if err != nil || u.Scheme != "http" || u.Hostname() != wantHost || u.Port() != "8081" || u.Path != "/hub/api" {
				t.Errorf("hubkit.hubAPIURL %q, want http://%s:8081/hub/api (Service hubkit-api)", cfg.HubAPIURL, wantHost)
			}
			if cfg.Kube.EnableUserNamespaces != want.userNS {
				t.Errorf("hubkit.kube.enableUserNamespaces = %v, want %v", cfg.Kube.EnableUserNamespaces, want.userNS)
			}
			if cfg.Spark == nil {
				t.Error("hubkit.spark is off, but the manifests grant sparksvc's rights and install its policy")
			}
			if cfg.Vault == nil || cfg.Vault.Kubernetes == nil || cfg.Vault.Kubernetes.Role == "" {
				t.Error("hubkit.vault does not log in with the hub's service account (kubernetes.role)")
			}
			if cfg.Auth.OIDC.ClientSecret != "" {
				t.Error("the client secret belongs in the Secret (OAUTH_CLIENT_SECRET), not in the ConfigMap")
			}
			if want.sqlite {
				vol := vols[mounts[path.Dir(cfg.Store.Path)]]
				if cfg.Store.Driver != hubconfig.DriverSQLite || vol.PersistentVolumeClaim == nil || vol.PersistentVolumeClaim.ClaimName != "hubkit-db" {
					t.Errorf("store %q at %q: want SQLite on the hubkit-db claim (mounts %v)", cfg.Store.Driver, cfg.Store.Path, mounts)
				}
			} else {
				e := env["PGPASSWORD"]
				db, err := url.Parse(cfg.Store.URL)
				if cfg.Store.Driver != hubconfig.DriverPostgres || err != nil || db.User == nil || cfg.Store.Password != "" {
					t.Errorf("store %q at %q: want PostgreSQL with a user", cfg.Store.Driver, cfg.Store.URL)
				}
				if _, set := db.User.Password(); set || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("the database password must come from a Secret as PGPASSWORD (env %+v), not from values.yaml", e)
				}
				if b.has("PersistentVolumeClaim", "hubkit-db") || slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.PersistentVolumeClaim != nil }) {
					t.Error("several replicas must not share a claim")
				}
			}
		})
	}
}

// loadHubConfig reads a values.yaml with the hub's own loader, which must
// accept it without an error or a warning (a key it would ignore).
func loadHubConfig(t *testing.T, raw string) *hubconfig.Config {
	t.Helper()
	cfg, warns, err := hubconfig.Load(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("the hub does not load values.yaml: %v", err)
	}
	for _, w := range warns {
		t.Errorf("the hub ignores %s: %s", w.Key, w.Message)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the hub refuses values.yaml: %v", err)
	}
	return cfg
}

// checkContainer checks the hub container's image, probes, resources and
// security context.
func checkContainer(t *testing.T, c corev1.Container) {
	t.Helper()
	if c.Image != "ghcr.io/hubkit/hubkit:latest" {
		t.Errorf("image %q", c.Image)
	}
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/hub/health" || p.HTTPGet.Port.StrVal != "http" {
			t.Errorf("%s probe %+v, want GET /hub/health on port http", name, p)
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("no %s limit", r)
		}
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("no container securityContext")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("runAsNonRoot is not true")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem is not true")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation is not false")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("capabilities %+v, want drop ALL and add nothing", sc.Capabilities)
	}
}

// checkRBACObjects checks that the bindings bind the hub's service account
// to roles of the build, and that the ClusterRoles are the expected ones.
func checkRBACObjects(t *testing.T, b *build, want layout) {
	t.Helper()
	var clusterRoles []string
	for _, o := range b.objs {
		switch o.GetKind() {
		case "ClusterRole":
			clusterRoles = append(clusterRoles, o.GetName())
		case "RoleBinding", "ClusterRoleBinding":
			var ref rbacv1.RoleRef
			var subjects []rbacv1.Subject
			if o.GetKind() == "RoleBinding" {
				rb := typed[*rbacv1.RoleBinding](t, o)
				ref, subjects = rb.RoleRef, rb.Subjects
			} else {
				crb := typed[*rbacv1.ClusterRoleBinding](t, o)
				ref, subjects = crb.RoleRef, crb.Subjects
				if ref.Kind != "ClusterRole" {
					t.Errorf("%s binds a %s", objID(o), ref.Kind)
				}
			}
			if !b.has(ref.Kind, ref.Name) {
				t.Errorf("%s binds %s %s, which is not in the build", objID(o), ref.Kind, ref.Name)
			}
			wantNS := ""
			if o.GetKind() == "ClusterRoleBinding" {
				wantNS = hubNamespace
			}
			if len(subjects) != 1 || subjects[0].Kind != "ServiceAccount" || subjects[0].Name != "hubkit" || subjects[0].Namespace != wantNS {
				t.Errorf("%s subjects %+v, want only the service account hubkit (namespace %q)", objID(o), subjects, wantNS)
			}
		}
	}
	slices.Sort(clusterRoles)
	if !slices.Equal(clusterRoles, want.clusterRoles) {
		t.Errorf("ClusterRoles %v, want %v", clusterRoles, want.clusterRoles)
	}
}

// selects reports whether sel selects set.
func selects(t testing.TB, sel *metav1.LabelSelector, set labels.Set) bool {
	t.Helper()
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(set)
}

func parseValues(t testing.TB, raw string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.UnmarshalStrict([]byte(raw), &v); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	return v
}

// get walks a decoded YAML document; nil when a key is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// del removes the value at keys.
func del(v any, keys ...string) {
	m, ok := get(v, keys[:len(keys)-1]...).(map[string]any)
	if ok {
		delete(m, keys[len(keys)-1])
	}
}

func configValues(t *testing.T, dir string) map[string]any {
	t.Helper()
	cm := find[*corev1.ConfigMap](t, mustRender(t, dir), "ConfigMap", "hubkit-config")
	return parseValues(t, cm.Data["values.yaml"])
}

// The example values.yaml is a z2jh values file whose profile list
// parses with package profiles and whose overrides spawner/kube accepts;
// the overlays' copies differ from it only where they must.
func TestValues(t *testing.T) {
	values := configValues(t, baseDir)
	for _, keys := range [][]string{
		{"hub", "config", "GenericOAuthenticator", "client_id"},
		{"hub", "config", "GenericOAuthenticator", "authorize_url"},
		{"hub", "config", "GenericOAuthenticator", "token_url"},
		{"hub", "config", "GenericOAuthenticator", "oauth_callback_url"},
		{"singleuser", "image", "name"},
		{"singleuser", "profileList"},
		{"cull", "enabled"},
		{"cull", "timeout"},
		{"hubkit", "vault", "address"},
	} {
		if get(values, keys...) == nil {
			t.Errorf("values.yaml has no %s", strings.Join(keys, "."))
		}
	}
	realm := regexp.MustCompile(`^https://[^/]+/realms/[^/]+/protocol/openid-connect/(auth|token|userinfo)$`)
	for _, k := range []string{"authorize_url", "token_url", "userdata_url"} {
		if u, _ := get(values, "hub", "config", "GenericOAuthenticator", k).(string); !realm.MatchString(u) {
			t.Errorf("%s %q is not a Keycloak realm endpoint", k, u)
		}
	}

	public, _ := get(values, "hubkit", "publicURL").(string)
	if cb, _ := get(values, "hub", "config", "GenericOAuthenticator", "oauth_callback_url").(string); cb != public+"/hub/oauth_callback" {
		t.Errorf("oauth_callback_url %q is not hubkit.publicURL %q + /hub/oauth_callback", cb, public)
	}

	pl, err := json.Marshal(get(values, "singleuser", "profileList"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := profiles.Parse(pl)
	if err != nil {
		t.Fatal(err)
	}
	if list.Len() == 0 {
		t.Fatal("empty profile list")
	}
	apply := func(what string, o map[string]any) {
		if _, err := (kube.Options{}).Apply(o); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	for _, p := range list.Profiles() {
		apply("profile "+p.Slug, p.Override)
		for _, o := range p.Options {
			for _, c := range o.Choices {
				apply("profile "+p.Slug+" option "+o.Key+" choice "+c.Key, c.Override)
			}
		}
	}

	for dir, differs := range map[string][][]string{
		haDir:     {{"hubkit", "store"}, {"hub", "db"}},
		userNSDir: {{"hubkit", "hubAPIURL"}, {"hubkit", "kube", "enableUserNamespaces"}},
	} {
		want, got := configValues(t, baseDir), configValues(t, dir)
		for _, keys := range differs {
			del(want, keys...)
			del(got, keys...)
		}
		if !reflect.DeepEqual(want, got) {
			w, _ := yaml.Marshal(want)
			g, _ := yaml.Marshal(got)
			t.Errorf("%s's values.yaml differs from the base's beyond %v:\nbase:\n%s\n%s:\n%s", dir, differs, w, dir, g)
		}
	}
}

// The Secret templates hold placeholders, never a usable value.
func TestSecretTemplatesHoldNoSecrets(t *testing.T) {
	for _, s := range mustTemplates(t) {
		sec := typed[*corev1.Secret](t, s)
		if len(sec.Data) > 0 {
			t.Errorf("%s: data is set; templates use stringData placeholders", sec.Name)
		}
		if len(sec.StringData) == 0 {
			t.Errorf("%s: no keys", sec.Name)
		}
		for k, v := range sec.StringData {
			if !strings.Contains(v, "REPLACE") {
				t.Errorf("%s: %s = %q does not look like a placeholder", sec.Name, k, v)
			}
		}
	}
}

// The admission policy in the manifests is the one sparksvc would install.
func TestSparkPolicyMatchesCode(t *testing.T) {
	policy, binding := sparksvc.New(nil, sparksvc.Config{}).Policy()
	b := mustRender(t, baseDir)
	gotPolicy := find[*admv1.ValidatingAdmissionPolicy](t, b, "ValidatingAdmissionPolicy", sparksvc.PolicyName)
	gotBinding := find[*admv1.ValidatingAdmissionPolicyBinding](t, b, "ValidatingAdmissionPolicyBinding", sparksvc.PolicyName)
	same := func(got, want metav1.Object, gotSpec, wantSpec any) bool {
		return got.GetName() == want.GetName() && reflect.DeepEqual(got.GetLabels(), want.GetLabels()) && equality.Semantic.DeepEqual(gotSpec, wantSpec)
	}
	if !same(gotPolicy, policy, gotPolicy.Spec, policy.Spec) || !same(gotBinding, binding, gotBinding.Spec, binding.Spec) {
		policy.APIVersion, policy.Kind = "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"
		binding.APIVersion, binding.Kind = "admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"
		p, _ := yaml.Marshal(policy)
		bb, _ := yaml.Marshal(binding)
		t.Errorf("%s/spark-isolation-policy.yaml differs from sparksvc's Policy(); it should read:\n%s---\n%s", baseDir, p, bb)
	}
}

// The Dockerfile builds the example hub statically into the path the
// Deployment runs, and the image runs as a non-root user.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms, users []string
	var entrypoint string
	var build string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		word, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			froms = append(froms, rest)
			users = nil // USER counts in the last stage only
		case "USER":
			users = append(users, strings.TrimSpace(rest))
		case "ENTRYPOINT":
			entrypoint = strings.TrimSpace(rest)
		}
		if strings.Contains(line, "go build") {
			build = line
		}
	}
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, got FROM %q", froms)
	}
	if final := froms[len(froms)-1]; !strings.Contains(final, "distroless/static") && !strings.HasPrefix(final, "scratch") {
		t.Errorf("final stage FROM %s, want distroless/static or scratch", final)
	}
	if len(users) == 0 || slices.ContainsFunc(users, func(u string) bool { return u == "root" || u == "0" || strings.HasPrefix(u, "0:") }) {
		t.Errorf("final stage USER %q, want a non-root user", users)
	}
	dep := find[*appsv1.Deployment](t, mustRender(t, baseDir), "Deployment", "hubkit")
	cmd := dep.Spec.Template.Spec.Containers[0].Command[0]
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) != 1 || ep[0] != cmd {
		t.Errorf("ENTRYPOINT %s, want [%q] as the Deployment runs", entrypoint, cmd)
	}
	for _, s := range []string{"CGO_ENABLED=0", "-o " + cmd, "./examples/hub"} {
		if !strings.Contains(build, s) {
			t.Errorf("go build line %q lacks %q", build, s)
		}
	}
}

// Every object of every kustomization, and the Secret templates, are
// accepted by a real kube-apiserver with strict field validation and
// without warnings.
func TestAPIServerAcceptsManifests(t *testing.T) {
	for _, dir := range targets {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			k := testenv.NeedKube(t, cluster)
			ns := k.Namespace(t)
			b := mustRender(t, dir)
			objs := forNamespace(append(b.objs, mustTemplates(t)...), ns)
			apply(t, k, objs)
		})
	}
}

// warnings collects the API server's warnings.
type warnings struct {
	mu  sync.Mutex
	msg []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msg = append(w.msg, text)
}

// apply creates objs as the administrator (no dry run), checking each
// kind's scope against discovery. The admission policy, the same in
// every test, may exist already.
func apply(t *testing.T, k *testenv.Kube, objs []*unstructured.Unstructured) {
	t.Helper()
	cfg := rest.CopyConfig(k.Config)
	warn := &warnings{}
	cfg.WarningHandler = warn
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", objID(o), err)
		}
		namespaced := m.Scope.Name() == meta.RESTScopeNameNamespace
		if namespaced == slices.Contains(clusterScoped, gvk.Kind) {
			t.Errorf("%s: namespaced=%v disagrees with the clusterScoped list", objID(o), namespaced)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if namespaced {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		_, err = ri.Create(ctx, o, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict})
		if apierrors.IsAlreadyExists(err) && strings.HasPrefix(gvk.Kind, "ValidatingAdmissionPolicy") {
			err = nil
		}
		if err != nil {
			t.Errorf("the API server refused %s: %v", objID(o), err)
		}
	}
	if len(warn.msg) > 0 {
		t.Errorf("API server warnings: %q", warn.msg)
	}
}
