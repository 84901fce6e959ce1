package kube_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

// logBuffer collects a spawner's logs for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// createClaim creates a claim the way an older deployment left it: with
// KubeSpawner's hub.jupyter.org annotations when user is set, bare when not.
func createClaim(t *testing.T, k *testenv.Kube, ns, name, user, server string) types.UID {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{"component": "singleuser-storage", "heritage": "jupyterhub"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
		},
	}
	if user != "" {
		pvc.Annotations = map[string]string{kube.AnnotationUsername: user}
		if server != "" {
			pvc.Annotations[kube.AnnotationServername] = server
		}
	}
	created, err := k.Client.CoreV1().PersistentVolumeClaims(ns).Create(t.Context(), pvc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created.UID
}

// claims returns the UID of every claim in ns by name, failing the test if
// one is marked for deletion.
func claims(t *testing.T, k *testenv.Kube, ns string) map[string]types.UID {
	t.Helper()
	list, err := k.Client.CoreV1().PersistentVolumeClaims(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, c := range list.Items {
		if c.DeletionTimestamp != nil {
			t.Errorf("claim %s is being deleted", c.Name)
		}
		out[c.Name] = c.UID
	}
	return out
}

// mountedClaim returns the claim of the pod's "home" volume.
func mountedClaim(t *testing.T, k *testenv.Kube, ns, pod string) string {
	t.Helper()
	p, err := k.Client.CoreV1().Pods(ns).Get(t.Context(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range p.Spec.Volumes {
		if v.Name == "home" && v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	t.Fatalf("pod %s mounts no home claim", pod)
	return ""
}

// TestLegacyClaimsKeepUsersFiles is a namespace after a z2jh upgrade:
// claims under the names of KubeSpawner < 7 (z2jh < 4), under the new safe
// names, and both, for users whose names the two schemes slug differently.
// Each server must find its existing claim, nothing is created twice,
// nothing is deleted, and the hub remembers the claim for the next start.
func TestLegacyClaimsKeepUsersFiles(t *testing.T) {
	k, ns := setup(t, nil)
	logs := &logBuffer{}
	s := newSpawner(t, k, kube.Config{Namespace: ns, Options: homeOptions(),
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	configured := func(ref spawner.Ref) string {
		objs, err := s.Render(spawner.Request{Ref: ref})
		if err != nil {
			t.Fatal(err)
		}
		return objs.PVC.Name
	}

	type existing struct{ name, user, server string }
	cases := []struct {
		name     string
		ref      spawner.Ref
		existing []existing
		want     string // "" = a new claim under the configured name
	}{
		{"unicode", spawner.Ref{User: "jörg"},
			[]existing{{"claim-j-c3-b6rg", "jörg", ""}}, "claim-j-c3-b6rg"},
		{"upper case, claim without annotations", spawner.Ref{User: "Alex"},
			[]existing{{"claim--41lex", "", ""}}, "claim--41lex"},
		{"e-mail", spawner.Ref{User: "a.b@example.org"},
			[]existing{{"claim-a-2eb-40example-2eorg", "a.b@example.org", ""}}, "claim-a-2eb-40example-2eorg"},
		{"legacy and safe names", spawner.Ref{User: "both@example.org"},
			[]existing{{"claim-both-40example-2eorg", "both@example.org", ""}, {"", "both@example.org", ""}}, ""},
		{"named server, KubeSpawner 6 name", spawner.Ref{User: "carol", Server: "Lab 1"},
			[]existing{{"claim-carol---4cab-201", "carol", "Lab 1"}}, "claim-carol---4cab-201"},
		{"named server, z2jh 3 name", spawner.Ref{User: "dave", Server: "lab"},
			[]existing{{"claim-davelab", "dave", "lab"}}, "claim-davelab"},
		{"named server, both legacy names", spawner.Ref{User: "erin", Server: "GPU"},
			[]existing{{"claim-erin-47-50-55", "erin", "GPU"}, {"claim-erin---47-50-55", "erin", "GPU"}}, "claim-erin---47-50-55"},
		{"legacy name of another user's claim", spawner.Ref{User: "alice", Server: "foo"},
			[]existing{{"claim-alicefoo", "alicefoo", ""}}, ""},
		{"ambiguous legacy name without annotations", spawner.Ref{User: "frank", Server: "lab"},
			[]existing{{"claim-franklab", "", ""}}, ""},
		{"no claim anywhere", spawner.Ref{User: "newbie"}, nil, ""},
	}
	before := map[string]types.UID{}
	for _, tc := range cases {
		for _, e := range tc.existing {
			name := e.name
			if name == "" {
				name = configured(tc.ref)
			}
			before[name] = createClaim(t, k, ns, name, e.user, e.server)
		}
	}
	wantNew := map[string]bool{}
	states := map[spawner.Ref]map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = configured(tc.ref)
				if !slices.ContainsFunc(tc.existing, func(e existing) bool { return e.name == "" }) {
					wantNew[want] = true
				}
			}
			srv, err := start(t, s, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := mountedClaim(t, k, ns, srv.State[kube.StatePod]); got != want {
				t.Errorf("pod mounts claim %s, want %s", got, want)
			}
			if got := srv.State[kube.StatePVC]; got != want {
				t.Errorf("State[%s] = %q, want %q", kube.StatePVC, got, want)
			}
			states[tc.ref] = srv.State
		})
	}

	after := claims(t, k, ns)
	for name, uid := range before {
		if after[name] != uid {
			t.Errorf("claim %s was deleted or replaced", name)
		}
	}
	for name := range wantNew {
		if after[name] == "" {
			t.Errorf("claim %s was not created", name)
		}
	}
	if len(after) != len(before)+len(wantNew) {
		t.Errorf("%d claims after the starts, want the %d there were and %d new ones: %v",
			len(after), len(before), len(wantNew), after)
	}
	for _, want := range []string{
		`msg="several claims under legacy names; using the first in lookup order" server=erin/GPU pvc=` + ns +
			`/claim-erin---47-50-55 candidates="[claim-erin---47-50-55 claim-erin-47-50-55]"`,
		`msg="using the claim under the configured name; claims under legacy names exist too and are left alone" server=both@example.org`,
		`msg="not using a claim with a legacy name: its annotations do not name this server" server=alice/foo pvc=` + ns + `/claim-alicefoo`,
		`msg="not using a claim with a legacy name: its annotations do not name this server" server=frank/lab pvc=` + ns + `/claim-franklab`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}

	// Stop keeps every claim.
	for _, tc := range cases {
		if err := s.Stop(t.Context(), tc.ref); err != nil {
			t.Fatal(err)
		}
	}
	stopped := claims(t, k, ns)
	if len(stopped) != len(after) {
		t.Errorf("%d claims after Stop, want %d", len(stopped), len(after))
	}
	for name, uid := range after {
		if stopped[name] != uid {
			t.Errorf("claim %s was deleted or replaced by Stop", name)
		}
	}

	// The next start, with the State the hub remembered, uses the same claim.
	for _, tc := range cases {
		t.Run(tc.name+"/restart", func(t *testing.T) {
			state := states[tc.ref]
			if state == nil {
				t.Skip("first start failed")
			}
			ctx := t.Context()
			srv, err := s.Start(ctx, spawner.Request{Ref: tc.ref, APIToken: "t", State: state})
			if err != nil {
				t.Fatal(err)
			}
			if got := mountedClaim(t, k, ns, srv.State[kube.StatePod]); got != state[kube.StatePVC] {
				t.Errorf("restarted pod mounts %s, want the remembered %s", got, state[kube.StatePVC])
			}
			if srv.State[kube.StatePVC] != state[kube.StatePVC] {
				t.Errorf("State[%s] = %q after restart, want %q", kube.StatePVC, srv.State[kube.StatePVC], state[kube.StatePVC])
			}
		})
	}
	restarted := claims(t, k, ns)
	if len(restarted) != len(after) {
		t.Errorf("%d claims after the restarts, want %d", len(restarted), len(after))
	}
	for name, uid := range after {
		if restarted[name] != uid {
			t.Errorf("claim %s was deleted or replaced by a restart", name)
		}
	}
}

// TestRememberedClaimIsAlwaysUsed: a claim name in Request.State is used as
// it is, created if missing, without looking for other claims (as
// KubeSpawner's remember_pvc_name).
func TestRememberedClaimIsAlwaysUsed(t *testing.T) {
	k, ns := setup(t, nil)
	rec := &testenv.APIRecorder{}
	client, err := rec.Client(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	s := newSpawner(t, &testenv.Kube{Config: k.Config, Client: client}, kube.Config{Namespace: ns, Options: homeOptions()})
	ref := spawner.Ref{User: "a.b@example.org"}
	legacy := createClaim(t, k, ns, "claim-a-2eb-40example-2eorg", ref.User, "")
	rec.Reset()
	srv, err := s.Start(t.Context(), spawner.Request{Ref: ref, APIToken: "t",
		State: map[string]string{kube.StateNamespace: ns, kube.StatePVC: "claim-remembered"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := mountedClaim(t, k, ns, srv.State[kube.StatePod]); got != "claim-remembered" {
		t.Errorf("pod mounts %s, want the remembered claim-remembered", got)
	}
	if srv.State[kube.StatePVC] != "claim-remembered" {
		t.Errorf("State[%s] = %q", kube.StatePVC, srv.State[kube.StatePVC])
	}
	if n := rec.Counts()["GET persistentvolumeclaims"]; n != 0 {
		t.Errorf("%d claim reads with a remembered claim, want none", n)
	}
	got := claims(t, k, ns)
	if got["claim-remembered"] == "" || got["claim-a-2eb-40example-2eorg"] != legacy || len(got) != 2 {
		t.Errorf("claims = %v, want the legacy one untouched and claim-remembered created", got)
	}
}

// TestClaimLookupNeedsGet: without get on persistentvolumeclaims the start
// fails, naming the missing right, rather than giving the user an empty
// claim next to their files.
func TestClaimLookupNeedsGet(t *testing.T) {
	k, ns := setup(t, nil)
	rec := &testenv.APIRecorder{Fault: func(_ *http.Request, c string) int {
		if c == "GET persistentvolumeclaims" {
			return http.StatusForbidden
		}
		return 0
	}}
	client, err := rec.Client(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	s := newSpawner(t, &testenv.Kube{Config: k.Config, Client: client}, kube.Config{Namespace: ns, Options: homeOptions()})
	_, err = start(t, s, spawner.Ref{User: "Alex"})
	var se *spawner.StartError
	if !errors.As(err, &se) || se.Reason != "Rejected" || !strings.Contains(se.Message, "get on persistentvolumeclaims") {
		t.Fatalf("err = %v, want a Rejected StartError naming the missing right", err)
	}
	if n := rec.Writes(); n != 0 {
		t.Errorf("%d writes after a failed claim lookup, want none (%v)", n, rec.Counts())
	}
}

// TestEscapeSchemeOnAPIServer starts servers under the escape scheme with
// per-user namespaces: the API server accepts KubeSpawner < 7's names for
// namespaces, pods and claims, and the labels.
func TestEscapeSchemeOnAPIServer(t *testing.T) {
	k := testenv.NeedKube(t, cluster)
	hubNS := k.Namespace(t)
	(&testenv.Kubelet{Client: k.Client}).Start(t)
	s := newSpawner(t, k, kube.Config{Namespace: hubNS, EnableUserNamespaces: true, Instance: hubNS,
		UserNamespaceTemplate: hubNS + "-{username}", SlugScheme: "escape", Options: homeOptions()})
	for _, tc := range []struct {
		ref                       spawner.Ref
		ns, pod, claim, userLabel string
	}{
		{spawner.Ref{User: "a.b@example.org"}, hubNS + "-a-2eb-40example-2eorg", "jupyter-a-2eb-40example-2eorg",
			"claim-a-2eb-40example-2eorg", "a-2eb-40example-2eorg"},
		{spawner.Ref{User: "Alex", Server: "Lab 1"}, hubNS + "--41lex", "jupyter--41lex---4cab-201",
			"claim--41lex---4cab-201", "Alex"},
		{spawner.Ref{User: "jörg"}, hubNS + "-j-c3-b6rg", "jupyter-j-c3-b6rg", "claim-j-c3-b6rg", "j-c3-b6rg"},
	} {
		t.Run(tc.ref.String(), func(t *testing.T) {
			srv, err := start(t, s, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if srv.State[kube.StateNamespace] != tc.ns || srv.State[kube.StatePod] != tc.pod || srv.State[kube.StatePVC] != tc.claim {
				t.Errorf("state = %v, want namespace %s, pod %s, claim %s", srv.State, tc.ns, tc.pod, tc.claim)
			}
			p, err := k.Client.CoreV1().Pods(tc.ns).Get(t.Context(), tc.pod, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Labels[kube.LabelUsername] != tc.userLabel {
				t.Errorf("username label %q, want %q", p.Labels[kube.LabelUsername], tc.userLabel)
			}
			if _, err := k.Client.CoreV1().PersistentVolumeClaims(tc.ns).Get(t.Context(), tc.claim, metav1.GetOptions{}); err != nil {
				t.Errorf("claim: %v", err)
			}
		})
	}
}
