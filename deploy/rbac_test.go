package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/secrets/kubesecret"
	"github.com/hubkit/hubkit/sparksvc"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

// apiCall is one request to the API server in RBAC terms.
type apiCall struct {
	Group, Resource, Verb, Namespace, Name string // Resource is "pods" or "pods/log"
	Code                                   int    // HTTP status of the answer, 0 when none came
}

func (c apiCall) String() string {
	g := c.Group
	if g == "" {
		g = "core"
	}
	return fmt.Sprintf("%s %s/%s ns=%q name=%q → %d", c.Verb, g, c.Resource, c.Namespace, c.Name, c.Code)
}

// callLog records the requests of the clients made by client.
type callLog struct {
	// noWatchList answers streaming list requests (a watch with
	// sendInitialEvents) as an API server without the WatchList feature
	// does, so that client-go's informers fall back to LIST and WATCH as
	// they do against such servers. The hub must work against them too.
	noWatchList bool

	mu    sync.Mutex
	calls []apiCall
}

// client returns a clientset on k's API server that acts as user through
// impersonation, so that the API server's authorizer (RBAC in envtest)
// decides every request as it would for the real service account, and
// records each request in l.
func (l *callLog) client(t testing.TB, k *testenv.Kube, user string) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(k.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if l.noWatchList && r.URL.Query().Get("sendInitialEvents") == "true" {
				return watchListUnsupported(r), nil
			}
			c, ok := parseCall(r)
			resp, err := rt.RoundTrip(r)
			if ok {
				if resp != nil {
					c.Code = resp.StatusCode
				}
				l.mu.Lock()
				l.calls = append(l.calls, c)
				l.mu.Unlock()
			}
			return resp, err
		})
	})
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// watchListUnsupported is the answer of an API server without the
// WatchList feature to a streaming list request.
func watchListUnsupported(r *http.Request) *http.Response {
	body := `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Invalid","code":422,` +
		`"message":"ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"}`
	return &http.Response{StatusCode: http.StatusUnprocessableEntity, Status: "422 Unprocessable Entity", Request: r,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// parseCall names a resource request as RBAC sees it; discovery and other
// non-resource requests are not resource calls.
func parseCall(r *http.Request) (apiCall, bool) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var c apiCall
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		c.Group, parts = parts[1], parts[3:]
	default:
		return c, false
	}
	if parts[0] == "namespaces" && len(parts) >= 3 {
		c.Namespace, parts = parts[1], parts[2:]
	}
	c.Resource = parts[0]
	if len(parts) >= 2 {
		c.Name = parts[1]
	}
	if len(parts) >= 3 {
		c.Resource += "/" + parts[2]
	}
	switch r.Method {
	case http.MethodGet:
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			c.Verb = "watch"
		case c.Name != "":
			c.Verb = "get"
		default:
			c.Verb = "list"
		}
	case http.MethodPost:
		c.Verb = "create"
	case http.MethodPut:
		c.Verb = "update"
	case http.MethodPatch:
		c.Verb = "patch"
	case http.MethodDelete:
		c.Verb = "delete"
		if c.Name == "" {
			c.Verb = "deletecollection"
		}
	default:
		return c, false
	}
	return c, true
}

// split returns the calls the API server authorized and those it refused.
func (l *callLog) split() (allowed, refused []apiCall) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.calls {
		if c.Code == http.StatusForbidden {
			refused = append(refused, c)
		} else {
			allowed = append(allowed, c)
		}
	}
	return allowed, refused
}

// perm is one right a rule grants: a verb on a resource, on any object
// (Name "") or on one named object.
type perm struct{ Group, Resource, Verb, Name string }

func (p perm) String() string {
	g := p.Group
	if g == "" {
		g = "core"
	}
	s := p.Verb + " " + g + "/" + p.Resource
	if p.Name != "" {
		s += " named " + p.Name
	}
	return s
}

// perms expands rules into single rights. Wildcards and non-resource
// URLs are refused: every right must be written out.
func perms(t testing.TB, what string, rules []rbacv1.PolicyRule) []perm {
	t.Helper()
	var out []perm
	for _, r := range rules {
		if len(r.NonResourceURLs) > 0 {
			t.Errorf("%s: non-resource URLs %v", what, r.NonResourceURLs)
		}
		for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames} {
			if slices.Contains(list, "*") || slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, "*") }) {
				t.Errorf("%s: wildcard in rule %+v", what, r)
			}
		}
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					for _, n := range names {
						out = append(out, perm{g, res, v, n})
					}
				}
			}
		}
	}
	return out
}

// usedBy reports whether some call exercised p.
func (p perm) usedBy(calls []apiCall) bool {
	return slices.ContainsFunc(calls, func(c apiCall) bool {
		return c.Group == p.Group && c.Resource == p.Resource && c.Verb == p.Verb && (p.Name == "" || c.Name == p.Name)
	})
}

// in reports whether p is one of rights.
func (p perm) in(rights []perm) bool {
	return slices.ContainsFunc(rights, func(q perm) bool {
		return q.Group == p.Group && q.Resource == p.Resource && q.Verb == p.Verb && (q.Name == "" || q.Name == p.Name)
	})
}

// checkMinimal fails for every right in granted that no call used and
// that is not in also (rights that must be held for another reason).
func checkMinimal(t *testing.T, what string, granted []perm, calls []apiCall, also []perm) {
	t.Helper()
	var unused []string
	for _, p := range granted {
		if !p.usedBy(calls) && !p.in(also) {
			unused = append(unused, p.String())
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		t.Errorf("%s grants rights nothing used: %s", what, strings.Join(unused, "; "))
	}
}

// checkRefused fails for refused calls other than those wanted.
func checkRefused(t *testing.T, what string, refused []apiCall, wanted ...func(apiCall) bool) {
	t.Helper()
	for _, c := range refused {
		if !slices.ContainsFunc(wanted, func(w func(apiCall) bool) bool { return w(c) }) {
			t.Errorf("%s: the API server refused %s", what, c)
		}
	}
}

// roleRules returns the rules of the Role or ClusterRole name in b.
func roleRules(t testing.TB, b *build, kind, name string) []rbacv1.PolicyRule {
	t.Helper()
	if kind == "Role" {
		return find[*rbacv1.Role](t, b, kind, name).Rules
	}
	return find[*rbacv1.ClusterRole](t, b, kind, name).Rules
}

// sparkObjects are the objects a deployment without Spark leaves out.
var sparkObjects = []string{"hubkit-spark", "hubkit-user-namespaces-spark", sparksvc.PolicyName}

// split returns b's objects without and with Spark's.
func (b *build) split() (core, spark []*unstructured.Unstructured) {
	for _, o := range b.objs {
		if slices.Contains(sparkObjects, o.GetName()) {
			spark = append(spark, o)
		} else {
			core = append(core, o)
		}
	}
	return core, spark
}

// hubUser is the hub's service account as the API server names it.
func hubUser(ns string) string { return "system:serviceaccount:" + ns + ":hubkit" }

// requireRBAC fails the test unless the API server authorizes with RBAC:
// with an AlwaysAllow authorizer every check below would pass vacuously.
func requireRBAC(t *testing.T, k *testenv.Kube, ns string) {
	t.Helper()
	nobody := "system:serviceaccount:" + ns + ":nobody"
	if canI(t, k, nobody, authorizationv1.ResourceAttributes{Namespace: ns, Verb: "list", Resource: "pods"}) {
		t.Fatal("the API server lets a service account without bindings list pods: it does not authorize with RBAC")
	}
	_, err := (&callLog{}).client(t, k, nobody).CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("a service account without bindings listed pods: %v", err)
	}
}

// canI asks the API server's authorizer (SubjectAccessReview) whether the
// service account user may do attrs, with the groups a service account has.
func canI(t testing.TB, k *testenv.Kube, user string, attrs authorizationv1.ResourceAttributes) bool {
	t.Helper()
	ns := strings.Split(user, ":")[2]
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               user,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: &attrs,
	}}
	res, err := k.Client.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status.Allowed
}

// neverAllowed are rights the hub must not have in any layout. ns is the
// hub's namespace, userNS a namespace where servers run.
func neverAllowed(ns, userNS string) []authorizationv1.ResourceAttributes {
	return []authorizationv1.ResourceAttributes{
		// Users' storage outlives their servers: the hub creates claims, never removes or changes them.
		{Namespace: userNS, Verb: "delete", Resource: "persistentvolumeclaims", Name: "claim-alice"},
		{Namespace: userNS, Verb: "deletecollection", Resource: "persistentvolumeclaims"},
		{Namespace: userNS, Verb: "update", Resource: "persistentvolumeclaims", Name: "claim-alice"},
		{Namespace: userNS, Verb: "patch", Resource: "persistentvolumeclaims", Name: "claim-alice"},
		{Verb: "delete", Resource: "persistentvolumes", Name: "pv-1"},
		// Secrets: only its own namespace (kubesecret), never cluster-wide.
		{Verb: "list", Resource: "secrets"},
		{Namespace: "kube-system", Verb: "get", Resource: "secrets", Name: "any"},
		{Namespace: "kube-system", Verb: "list", Resource: "secrets"},
		// No way into a user's running server, or to act as someone else.
		{Namespace: userNS, Verb: "create", Resource: "pods", Subresource: "exec", Name: "jupyter-alice"},
		{Namespace: userNS, Verb: "create", Resource: "pods", Subresource: "attach", Name: "jupyter-alice"},
		{Namespace: userNS, Verb: "create", Resource: "pods", Subresource: "portforward", Name: "jupyter-alice"},
		{Namespace: userNS, Verb: "update", Resource: "pods", Subresource: "ephemeralcontainers", Name: "jupyter-alice"},
		{Namespace: userNS, Verb: "create", Resource: "serviceaccounts", Subresource: "token", Name: "spark-alice"},
		{Verb: "impersonate", Resource: "serviceaccounts"},
		{Verb: "impersonate", Resource: "users"},
		// No cluster-wide RBAC, no escalation shortcuts, no admission policies.
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"},
		{Namespace: ns, Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "roles"},
		{Namespace: ns, Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "roles"},
		{Namespace: ns, Verb: "update", Group: "rbac.authorization.k8s.io", Resource: "roles", Name: "hubkit"},
		{Namespace: ns, Verb: "update", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Name: "hubkit"},
		{Verb: "create", Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicies"},
		{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicybindings", Name: sparksvc.PolicyName},
		// Namespaces are never deleted; nodes are none of its business.
		{Verb: "delete", Resource: "namespaces", Name: userNS},
		{Verb: "list", Resource: "nodes"},
		// Its own Deployment and configuration stay as the operator applied them.
		{Namespace: ns, Verb: "update", Group: "apps", Resource: "deployments", Name: "hubkit"},
	}
}

func checkNeverAllowed(t *testing.T, k *testenv.Kube, user string, attrs []authorizationv1.ResourceAttributes) {
	t.Helper()
	for _, a := range attrs {
		if canI(t, k, user, a) {
			t.Errorf("the hub may %s %s/%s (subresource %q) in namespace %q name %q; it must not",
				a.Verb, a.Group, a.Resource, a.Subresource, a.Namespace, a.Name)
		}
	}
}

// homeOptions mount each server's claim, as a z2jh dynamic storage block does.
func homeOptions() kube.Options {
	return kube.Options{
		StoragePVCEnsure: true,
		Volumes: []corev1.Volume{{Name: "home", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "{pvc_name}"}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "home", MountPath: "/home/jovyan"}},
	}
}

func newSpawner(t *testing.T, c kubernetes.Interface, cfg kube.Config) *kube.Spawner {
	t.Helper()
	sp, err := kube.New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	testenv.RunInBackground(t, sp.Run)
	return sp
}

func start(t *testing.T, sp *kube.Spawner, ref spawner.Ref) spawner.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	srv, err := sp.Start(ctx, spawner.Request{Ref: ref, APIToken: "token-" + ref.User})
	if err != nil {
		t.Fatalf("start %s as the hub: %v", ref, err)
	}
	return srv
}

func stop(t *testing.T, sp *kube.Spawner, ref spawner.Ref) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := sp.Stop(ctx, ref); err != nil {
		t.Fatalf("stop %s as the hub: %v", ref, err)
	}
}

// removeIsRefused checks that the hub cannot delete a user's claim, through
// the spawner's Remove and directly, and that the claim survives.
func removeIsRefused(t *testing.T, k *testenv.Kube, hub kubernetes.Interface, sp *kube.Spawner, ref spawner.Ref, ns, claim string) {
	t.Helper()
	ctx := t.Context()
	if err := sp.Remove(ctx, ref); !apierrors.IsForbidden(err) {
		t.Errorf("Remove (server and storage) as the hub: %v, want Forbidden", err)
	}
	err := hub.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, claim, metav1.DeleteOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("deleting claim %s as the hub: %v, want Forbidden", claim, err)
	}
	if _, err := k.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{}); err != nil {
		t.Errorf("the user's claim is gone: %v", err)
	}
}

// refusedCalls checks, as the hub, calls it must never be able to make.
func refusedCalls(t *testing.T, hub kubernetes.Interface) {
	t.Helper()
	ctx := t.Context()
	_, err := hub.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("listing Secrets cluster-wide as the hub: %v, want Forbidden", err)
	}
	_, err = hub.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "hubkit-escalation"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("creating a ClusterRole as the hub: %v, want Forbidden", err)
	}
	if err := sparksvc.New(hub, sparksvc.Config{}).Install(ctx); !apierrors.IsForbidden(err) {
		t.Errorf("sparksvc Install (admission policy) as the hub: %v, want Forbidden", err)
	}
}

func isPVCDelete(c apiCall) bool {
	return c.Group == "" && c.Resource == "persistentvolumeclaims" && c.Verb == "delete"
}

// npAllows reports whether np lets a pod with podLabels in a namespace
// with nsLabels connect to port (TCP) of the pods np selects, np being in
// namespace npNS.
func npAllows(t testing.TB, np *networkingv1.NetworkPolicy, npNS, podNS string, podLabels, nsLabels labels.Set, port int32) bool {
	t.Helper()
	for _, rule := range np.Spec.Ingress {
		portOK := len(rule.Ports) == 0
		for _, p := range rule.Ports {
			if (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP) && p.Port != nil && p.Port.IntValue() == int(port) {
				portOK = true
			}
		}
		if !portOK {
			continue
		}
		if len(rule.From) == 0 {
			return true
		}
		for _, peer := range rule.From {
			if peer.IPBlock != nil || (peer.NamespaceSelector == nil && peer.PodSelector == nil) {
				continue
			}
			nsOK := podNS == npNS
			if peer.NamespaceSelector != nil {
				nsOK = matches(t, peer.NamespaceSelector, nsLabels)
			}
			podOK := peer.PodSelector == nil || matches(t, peer.PodSelector, podLabels)
			if nsOK && podOK {
				return true
			}
		}
	}
	return false
}

// matches is selects, where an empty selector selects everything.
func matches(t testing.TB, sel *metav1.LabelSelector, set labels.Set) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return s.Matches(set)
}

// npEgressAllows reports whether np lets its pods connect to ip (not a
// pod's address).
func npEgressAllows(t testing.TB, np *networkingv1.NetworkPolicy, ip string) bool {
	t.Helper()
	addr := netip.MustParseAddr(ip)
	for _, rule := range np.Spec.Egress {
		if len(rule.To) == 0 {
			return true
		}
		for _, peer := range rule.To {
			if peer.IPBlock == nil {
				continue
			}
			in := func(cidr string) bool {
				p, err := netip.ParsePrefix(cidr)
				if err != nil {
					t.Fatalf("ipBlock %q: %v", cidr, err)
				}
				return p.Contains(addr)
			}
			if in(peer.IPBlock.CIDR) && !slices.ContainsFunc(peer.IPBlock.Except, in) {
				return true
			}
		}
	}
	return false
}

// checkNetworkPolicy evaluates the NetworkPolicies for a server pod the
// spawner really created: it reaches the hub API and nothing else of the
// hub, while other pods reach the public port; in the hub's namespace it
// reaches anything but the cloud metadata service.
func checkNetworkPolicy(t *testing.T, b *build, hubNS string, pod *corev1.Pod) {
	t.Helper()
	if pod.Namespace == hubNS {
		su := find[*networkingv1.NetworkPolicy](t, b, "NetworkPolicy", "hubkit-singleuser")
		if !matches(t, &su.Spec.PodSelector, pod.Labels) || !slices.Contains(su.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			t.Errorf("the servers' NetworkPolicy does not restrict the egress of the server pod %v", pod.Labels)
		}
		for ip, want := range map[string]bool{"169.254.169.254": false, "fd00:ec2::254": false, "10.96.0.10": true, "140.82.112.3": true, "2606:4700::1": true} {
			if got := npEgressAllows(t, su, ip); got != want {
				t.Errorf("server → %s: allowed=%v, want %v", ip, got, want)
			}
		}
		hub := find[*appsv1.Deployment](t, b, "Deployment", "hubkit").Spec.Template.Labels
		executor := labels.Set{kube.LabelUsername: pod.Labels[kube.LabelUsername], "spark-role": "executor"}
		nsLabels := labels.Set{"kubernetes.io/metadata.name": hubNS}
		for _, c := range []struct {
			who    string
			labels labels.Set
			port   int32
			want   bool
		}{
			{"the hub", hub, 8888, true},
			{"another pod", labels.Set{"app": "other"}, 8888, false},
			{"a Spark executor", executor, 2222, true},
			{"a Spark executor", executor, 7777, true},
			{"a Spark executor", executor, 8888, false},
			{"the hub", hub, 2222, false},
		} {
			if got := npAllows(t, su, hubNS, hubNS, c.labels, nsLabels, c.port); got != c.want {
				t.Errorf("%s → server port %d: allowed=%v, want %v", c.who, c.port, got, c.want)
			}
		}
	}
	np := find[*networkingv1.NetworkPolicy](t, b, "NetworkPolicy", "hubkit")
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		t.Fatal("the NetworkPolicy does not restrict ingress")
	}
	if matches(t, &np.Spec.PodSelector, pod.Labels) {
		t.Errorf("the hub's NetworkPolicy selects the server pod %v", pod.Labels)
	}
	nsLabels := labels.Set{"kubernetes.io/metadata.name": pod.Namespace}
	cases := []struct {
		who        string
		ns         string
		labels     labels.Set
		api, proxy bool
	}{
		{"the server pod", pod.Namespace, pod.Labels, true, false},
		{"an ingress controller", "ingress-nginx", labels.Set{"app.kubernetes.io/name": "ingress-nginx"}, false, true},
		{"a hub service with network-access-hub", hubNS, labels.Set{"hub.jupyter.org/network-access-hub": "true"}, true, true},
	}
	for _, c := range cases {
		nl := nsLabels
		if c.ns != pod.Namespace {
			nl = labels.Set{"kubernetes.io/metadata.name": c.ns}
		}
		if got := npAllows(t, np, hubNS, c.ns, c.labels, nl, 8081); got != c.api {
			t.Errorf("%s → hub API 8081: allowed=%v, want %v", c.who, got, c.api)
		}
		if got := npAllows(t, np, hubNS, c.ns, c.labels, nl, 8000); got != c.proxy {
			t.Errorf("%s → public port 8000: allowed=%v, want %v", c.who, got, c.proxy)
		}
	}
}

// The base's Role "hubkit" is what spawner/kube and secrets/kubesecret
// need, exactly: run as the hub's service account, with the base applied
// without its Spark objects, they start, replace and stop servers and
// write users' secrets without one refused request, every right the Role
// grants is one they used, and what the hub must never do is refused.
func TestRBACSpawnerAndSecretStore(t *testing.T) {
	k := testenv.NeedKube(t, cluster)
	ns := k.Namespace(t)
	requireRBAC(t, k, ns)
	b := mustRender(t, baseDir)
	core, _ := b.split()
	apply(t, k, forNamespace(core, ns))
	(&testenv.Kubelet{Client: k.Client, Namespace: ns}).Start(t)
	ctx := t.Context()

	spLog := &callLog{}
	sp := newSpawner(t, spLog.client(t, k, hubUser(ns)), kube.Config{Namespace: ns, Options: homeOptions()})
	alice := spawner.Ref{User: "alice"}
	objs, err := sp.Render(spawner.Request{Ref: alice})
	if err != nil {
		t.Fatal(err)
	}
	// A token Secret left behind by an earlier hub: the start replaces it.
	left := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: objs.Secret.Name, Namespace: ns}}
	if _, err := k.Client.CoreV1().Secrets(ns).Create(ctx, left, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start(t, sp, alice)
	pod, err := k.Client.CoreV1().Pods(ns).Get(ctx, objs.Pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkNetworkPolicy(t, b, ns, pod)
	stop(t, sp, alice)
	// The same against an API server without streaming lists, where the
	// spawner's informers LIST before they WATCH.
	oldLog := &callLog{noWatchList: true}
	spOld := newSpawner(t, oldLog.client(t, k, hubUser(ns)), kube.Config{Namespace: ns, Options: homeOptions()})
	start(t, spOld, alice) // the existing claim is reused
	stop(t, spOld, alice)
	hubClient := (&callLog{}).client(t, k, hubUser(ns))
	removeIsRefused(t, k, hubClient, sp, alice, ns, objs.PVC.Name)

	ksLog := &callLog{}
	store, err := kubesecret.New(ksLog.client(t, k, hubUser(ns)), kubesecret.Options{Namespace: ns, User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name string
		run  func() error
	}{
		{"put", func() error { return store.Put(ctx, "db", map[string]string{"user": "alice", "password": "p1"}) }},
		{"put again", func() error { return store.Put(ctx, "db", map[string]string{"user": "alice", "password": "p2"}) }},
		{"get", func() error { _, err := store.Get(ctx, "db"); return err }},
		{"list", func() error { _, err := store.List(ctx); return err }},
		{"delete fields", func() error { return store.DeleteFields(ctx, "db", "user") }},
		{"delete", func() error { return store.Delete(ctx, "db") }},
	} {
		if err := step.run(); err != nil {
			t.Errorf("kubesecret %s as the hub: %v", step.name, err)
		}
	}

	refusedCalls(t, hubClient)
	checkNeverAllowed(t, k, hubUser(ns), append(neverAllowed(ns, ns),
		authorizationv1.ResourceAttributes{Verb: "create", Resource: "namespaces"},
		authorizationv1.ResourceAttributes{Namespace: "default", Verb: "create", Resource: "pods"},
		authorizationv1.ResourceAttributes{Namespace: "default", Verb: "list", Resource: "pods"},
	))

	spCalls, spRefused := spLog.split()
	oldCalls, oldRefused := oldLog.split()
	ksCalls, ksRefused := ksLog.split()
	checkRefused(t, "spawner/kube", spRefused, isPVCDelete)
	checkRefused(t, "spawner/kube (no streaming lists)", oldRefused)
	checkRefused(t, "secrets/kubesecret", ksRefused)
	all := slices.Concat(spCalls, oldCalls, ksCalls)
	checkMinimal(t, "Role hubkit", perms(t, "Role hubkit", roleRules(t, b, "Role", "hubkit")), all, nil)
	if testing.Verbose() {
		for _, c := range all {
			t.Log(c)
		}
	}
}

// The base's Role "hubkit-spark" is what sparksvc needs: run as the hub
// with executor isolation it writes the driver Service (replacing a stale
// one), the per-user service account, binding and parameters, and the
// driver Role (creating and rewriting it), and every right it grants was
// used or is one of the driver Role's rules, which RBAC requires the hub
// to hold to write that Role. The admission policy from the manifests is
// in force.
func TestRBACSpark(t *testing.T) {
	k := testenv.NeedKube(t, cluster)
	ns := k.Namespace(t)
	requireRBAC(t, k, ns)
	b := mustRender(t, baseDir)
	apply(t, k, forNamespace(b.objs, ns))
	(&testenv.Kubelet{Client: k.Client, Namespace: ns}).Start(t)
	ctx := t.Context()

	sparkLog := &callLog{}
	sparkClient := sparkLog.client(t, k, hubUser(ns))
	d := sparksvc.New(sparkClient, sparksvc.Config{})
	cfg := kube.Config{Namespace: ns, Options: homeOptions()}
	d.Hooks(&cfg)
	spLog := &callLog{}
	sp := newSpawner(t, spLog.client(t, k, hubUser(ns)), cfg)

	bob := spawner.Ref{User: "bob"}
	start(t, sp, bob)
	stop(t, sp, bob)
	// The old pod's Service is still there (no garbage collector in
	// envtest, and in a cluster one may linger): the next start replaces
	// it, and rewrites bob's parameters.
	srv := start(t, sp, bob)
	// A new hub process writes the driver Role again (update by name).
	objs, err := sp.Render(spawner.Request{Ref: spawner.Ref{User: "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sparksvc.New(sparkClient, sparksvc.Config{}).ModifyPod(ctx, spawner.Request{Ref: bob}, objs.Pod); err != nil {
		t.Fatalf("sparksvc as a restarted hub: %v", err)
	}

	// The policy applied from the manifests holds bob's driver to bob's things.
	driver := (&callLog{}).client(t, k, "system:serviceaccount:"+ns+":"+d.ServiceAccountName("bob"))
	sneaky := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "executor-sneaky", Labels: map[string]string{kube.LabelUsername: "bob"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "x", Image: "spark"}},
			Volumes: []corev1.Volume{{Name: "other", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim-carol"}}}},
		},
	}
	if _, err := driver.CoreV1().Pods(ns).Create(ctx, sneaky, metav1.CreateOptions{}); !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		t.Errorf("bob's driver mounted carol's claim: %v, want a refusal by the admission policy", err)
	}
	executor := sneaky.DeepCopy()
	executor.Name = "executor-1"
	executor.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = srv.State[kube.StatePVC]
	if _, err := driver.CoreV1().Pods(ns).Create(ctx, executor, metav1.CreateOptions{}); err != nil {
		t.Errorf("bob's driver starting an executor on bob's claim: %v", err)
	}
	stop(t, sp, bob)

	hubClient := (&callLog{}).client(t, k, hubUser(ns))
	refusedCalls(t, hubClient)
	checkNeverAllowed(t, k, hubUser(ns), neverAllowed(ns, ns))

	driverRole, err := k.Client.RbacV1().Roles(ns).Get(ctx, sparksvc.RoleName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sparkCalls, sparkRefused := sparkLog.split()
	_, spRefused := spLog.split()
	checkRefused(t, "sparksvc", sparkRefused)
	checkRefused(t, "spawner/kube with sparksvc", spRefused)
	checkMinimal(t, "Role hubkit-spark", perms(t, "Role hubkit-spark", roleRules(t, b, "Role", "hubkit-spark")),
		sparkCalls, perms(t, "driver Role", driverRole.Rules))
	if testing.Verbose() {
		for _, c := range sparkCalls {
			t.Log(c)
		}
	}
}

// The user-namespaces overlay's ClusterRoles are what spawner/kube and
// sparksvc need when every user has a namespace: the hub creates the
// namespace and runs the server there (first with the overlay applied
// without its Spark objects, then with them), and the same checks as in
// the base hold cluster-wide.
func TestRBACUserNamespaces(t *testing.T) {
	k := testenv.NeedKube(t, cluster)
	ns := k.Namespace(t)
	requireRBAC(t, k, ns)
	b := mustRender(t, userNSDir)
	core, spark := b.split()
	apply(t, k, forNamespace(core, ns))
	(&testenv.Kubelet{Client: k.Client}).Start(t)
	ctx := t.Context()

	// The informers watch every namespace; against an API server without
	// streaming lists they LIST first.
	spLog := &callLog{noWatchList: true}
	cfg := kube.Config{Namespace: ns, EnableUserNamespaces: true, Instance: ns,
		UserNamespaceTemplate: ns + "-{username}", Options: homeOptions()}
	plain := newSpawner(t, spLog.client(t, k, hubUser(ns)), cfg)

	// The first start creates dave's namespace, claim and server. (Without
	// Spark: sparksvc writes into the user's namespace from ModifyPod,
	// which spawner/kube calls before it creates the namespace.)
	dave := spawner.Ref{User: "dave"}
	srv := start(t, plain, dave)
	userNS := srv.State[kube.StateNamespace]
	if userNS != ns+"-dave" {
		t.Fatalf("server namespace %q, want %s-dave", userNS, ns)
	}
	pod, err := k.Client.CoreV1().Pods(userNS).Get(ctx, srv.State[kube.StatePod], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkNetworkPolicy(t, b, ns, pod)
	stop(t, plain, dave)
	// A token Secret left behind by an earlier hub: the next start
	// replaces it; the namespace and claim exist.
	objs, err := plain.Render(spawner.Request{Ref: dave})
	if err != nil {
		t.Fatal(err)
	}
	left := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: objs.Secret.Name, Namespace: userNS}}
	if _, err := k.Client.CoreV1().Secrets(userNS).Create(ctx, left, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start(t, plain, dave)
	stop(t, plain, dave)

	plainCalls, plainRefused := spLog.split()
	checkRefused(t, "spawner/kube", plainRefused)
	checkMinimal(t, "ClusterRole hubkit-user-namespaces",
		perms(t, "ClusterRole hubkit-user-namespaces", roleRules(t, b, "ClusterRole", "hubkit-user-namespaces")), plainCalls, nil)
	if !slices.ContainsFunc(plainCalls, func(c apiCall) bool { return c.Resource == "namespaces" && c.Verb == "create" }) {
		t.Error("the spawner created no namespace")
	}

	apply(t, k, forNamespace(spark, ns))
	sparkLog := &callLog{}
	sparkClient := sparkLog.client(t, k, hubUser(ns))
	d := sparksvc.New(sparkClient, sparksvc.Config{})
	d.Hooks(&cfg)
	sp := newSpawner(t, spLog.client(t, k, hubUser(ns)), cfg)
	start(t, sp, dave)
	stop(t, sp, dave)
	start(t, sp, dave) // the driver Service and parameters are replaced
	if err := sparksvc.New(sparkClient, sparksvc.Config{}).ModifyPod(ctx, spawner.Request{Ref: dave}, objs.Pod); err != nil {
		t.Fatalf("sparksvc as a restarted hub: %v", err)
	}
	stop(t, sp, dave)
	hubClient := (&callLog{}).client(t, k, hubUser(ns))
	removeIsRefused(t, k, hubClient, sp, dave, userNS, srv.State[kube.StatePVC])

	refusedCalls(t, hubClient)
	checkNeverAllowed(t, k, hubUser(ns), append(neverAllowed(ns, userNS),
		authorizationv1.ResourceAttributes{Verb: "get", Resource: "namespaces", Name: userNS},
		authorizationv1.ResourceAttributes{Verb: "update", Resource: "namespaces", Name: userNS},
	))

	driverRole, err := k.Client.RbacV1().Roles(userNS).Get(ctx, sparksvc.RoleName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, spRefused := spLog.split()
	sparkCalls, sparkRefused := sparkLog.split()
	checkRefused(t, "spawner/kube", spRefused, isPVCDelete)
	checkRefused(t, "sparksvc", sparkRefused)
	checkMinimal(t, "ClusterRole hubkit-user-namespaces-spark",
		perms(t, "ClusterRole hubkit-user-namespaces-spark", roleRules(t, b, "ClusterRole", "hubkit-user-namespaces-spark")),
		sparkCalls, perms(t, "driver Role", driverRole.Rules))
}
