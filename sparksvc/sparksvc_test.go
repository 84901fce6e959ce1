package sparksvc_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/sparksvc"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

var cluster *testenv.Kube

func TestMain(m *testing.M) { os.Exit(testenv.MainWithKube(m, &cluster)) }

type env struct {
	k      *testenv.Kube
	ns     string
	driver *sparksvc.Driver
	sp     *kube.Spawner
}

func setup(t *testing.T, cfg sparksvc.Config) *env {
	t.Helper()
	k := testenv.NeedKube(t, cluster)
	ns := k.Namespace(t)
	(&testenv.Kubelet{Client: k.Client, Namespace: ns}).Start(t)
	d := sparksvc.New(k.Client, cfg)
	if err := d.Install(t.Context()); err != nil {
		t.Fatal(err)
	}
	kc := kube.Config{Namespace: ns, Options: kube.Options{
		StoragePVCEnsure: true,
		Volumes: []corev1.Volume{{Name: "home", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "{pvc_name}"}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "home", MountPath: "/home/jovyan"}},
	}}
	d.Hooks(&kc)
	sp, err := kube.New(k.Client, kc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = sp.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &env{k: k, ns: ns, driver: d, sp: sp}
}

func (e *env) start(t *testing.T, user string) spawner.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	srv, err := e.sp.Start(ctx, spawner.Request{Ref: spawner.Ref{User: user}, APIToken: "tok-" + user})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestDriverServiceAndEnv(t *testing.T) {
	e := setup(t, sparksvc.Config{})
	srv := e.start(t, "Isla Williams")
	podName := srv.State[kube.StatePod]
	pod, err := e.k.Client.CoreV1().Pods(e.ns).Get(t.Context(), podName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := e.k.Client.CoreV1().Services(e.ns).Get(t.Context(), podName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("driver service: %v", err)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("clusterIP %q, want headless", svc.Spec.ClusterIP)
	}
	ports := map[string]int32{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = p.Port
	}
	want := map[string]int32{"spark-ui": 4040, "spark-driver": 2222, "spark-block-manager": 7777}
	for n, p := range want {
		if ports[n] != p {
			t.Errorf("port %s = %d, want %d", n, ports[n], p)
		}
	}
	if !metav1.IsControlledBy(svc, pod) {
		t.Errorf("service owners %v, want the pod %s", svc.OwnerReferences, pod.UID)
	}
	for k, v := range svc.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod (%q)", k, v, pod.Labels[k])
		}
	}
	env := map[string]string{}
	for _, ev := range pod.Spec.Containers[0].Env {
		env[ev.Name] = ev.Value
	}
	host := podName + "." + e.ns + ".svc.cluster.local"
	if env["SPARK_DRIVER_HOST"] != host {
		t.Errorf("SPARK_DRIVER_HOST = %q, want %q", env["SPARK_DRIVER_HOST"], host)
	}
	if !strings.Contains(env["PYSPARK_SUBMIT_ARGS"], "spark.driver.host="+host) || !strings.HasSuffix(env["PYSPARK_SUBMIT_ARGS"], "pyspark-shell") {
		t.Errorf("PYSPARK_SUBMIT_ARGS = %q", env["PYSPARK_SUBMIT_ARGS"])
	}
	if pod.Spec.ServiceAccountName != e.driver.ServiceAccountName("Isla Williams") {
		t.Errorf("service account %q", pod.Spec.ServiceAccountName)
	}
}

func TestStaleServiceIsReplaced(t *testing.T) {
	e := setup(t, sparksvc.Config{InsecureNoExecutorIsolation: true})
	stale := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "jupyter-stale", Namespace: e.ns},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "x", Port: 1}}}}
	if _, err := e.k.Client.CoreV1().Services(e.ns).Create(t.Context(), stale, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.start(t, "stale")
	svc, err := e.k.Client.CoreV1().Services(e.ns).Get(t.Context(), "jupyter-stale", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.OwnerReferences) != 1 || len(svc.Spec.Ports) != 3 {
		t.Errorf("stale service not replaced: owners %v ports %v", svc.OwnerReferences, svc.Spec.Ports)
	}
}

// asServiceAccount returns a client that acts as the service account, as
// a Spark driver in that user's pod would.
func asServiceAccount(t *testing.T, k *testenv.Kube, ns, sa string) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(k.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":" + sa,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func executor(name, userLabel, claim, secret string) *corev1.Pod {
	f := false
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"spark-role": "executor"}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &f,
			Containers:                   []corev1.Container{{Name: "executor", Image: "spark:3.5"}},
		},
	}
	if userLabel != "" {
		p.Labels[kube.LabelUsername] = userLabel
	}
	if claim != "" {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
	}
	if secret != "" {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "sec", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: secret}}})
	}
	return p
}

func TestExecutorIsolation(t *testing.T) {
	e := setup(t, sparksvc.Config{SharedSecrets: []string{"s3-shared"}})
	if err := e.driver.Install(t.Context()); err != nil { // idempotent: updates in place
		t.Fatalf("second Install: %v", err)
	}
	alice, bob := e.start(t, "alice"), e.start(t, "bob")
	aliceClaim, bobClaim := alice.State[kube.StatePVC], bob.State[kube.StatePVC]
	bobToken := bob.State[kube.StatePod] + "-token"
	asAlice := asServiceAccount(t, e.k, e.ns, e.driver.ServiceAccountName("alice"))
	pods := asAlice.CoreV1().Pods(e.ns)

	withEnvSecret := executor("exec-env", "alice", "", "")
	withEnvSecret.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "T", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: bobToken}, Key: "token"}}}}
	withEnvFrom := executor("exec-envfrom", "alice", "", "")
	withEnvFrom.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: bobToken}}}}
	withHostPath := executor("exec-hostpath", "alice", "", "")
	withHostPath.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	initSecret := executor("exec-init", "alice", "", "")
	initSecret.Spec.InitContainers = []corev1.Container{{Name: "i", Image: "busybox", EnvFrom: withEnvFrom.Spec.Containers[0].EnvFrom}}

	rejected := map[string]*corev1.Pod{
		"another user's claim":          executor("exec-bobclaim", "alice", bobClaim, ""),
		"another user's secret":         executor("exec-bobsecret", "alice", aliceClaim, bobToken),
		"another user's secret in env":  withEnvSecret,
		"another user's secret envFrom": withEnvFrom,
		"secret in an init container":   initSecret,
		"hostPath":                      withHostPath,
		"another user's label":          executor("exec-boblabel", "bob", "", ""),
		"no user label":                 executor("exec-nolabel", "", "", ""),
	}
	// The API server loads new policies asynchronously: wait until the
	// policy rejects the first bad pod, then check the rest at once.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := pods.Create(t.Context(), rejected["another user's claim"], metav1.CreateOptions{})
		if err != nil {
			if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
				t.Fatalf("unexpected error: %v", err)
			}
			break
		}
		_ = e.k.Client.CoreV1().Pods(e.ns).Delete(t.Context(), "exec-bobclaim", metav1.DeleteOptions{})
		if time.Now().After(deadline) {
			t.Fatal("the admission policy never rejected a pod mounting another user's claim")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for what, p := range rejected {
		_, err := pods.Create(t.Context(), p, metav1.CreateOptions{})
		if err == nil {
			t.Errorf("%s: pod admitted, want rejected", what)
		} else if !strings.Contains(err.Error(), "Spark driver") {
			t.Errorf("%s: rejected for another reason: %v", what, err)
		}
	}
	// Well-formed executors are admitted: own label, own claim, shared secret.
	if _, err := pods.Create(t.Context(), executor("exec-good", "alice", aliceClaim, "s3-shared"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("well-formed executor rejected: %v", err)
	}
	if err := pods.Delete(t.Context(), "exec-good", metav1.DeleteOptions{}); err != nil {
		t.Errorf("deleting its own executor: %v", err)
	}
	// Another user's notebook pod cannot be deleted, nor Secrets read.
	if err := pods.Delete(t.Context(), bob.State[kube.StatePod], metav1.DeleteOptions{}); err == nil {
		t.Error("alice's driver deleted bob's notebook pod")
	} else if !strings.Contains(err.Error(), "another user's objects") {
		t.Errorf("deleting bob's pod failed for another reason: %v", err)
	}
	if _, err := asAlice.CoreV1().Secrets(e.ns).Get(t.Context(), bobToken, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("reading bob's token secret: err = %v, want Forbidden", err)
	}
	// The driver cannot loosen its own parameters.
	params := e.driver.ServiceAccountName("alice") + "-isolation"
	if err := asAlice.CoreV1().ConfigMaps(e.ns).Delete(t.Context(), params, metav1.DeleteOptions{}); err == nil {
		t.Error("alice's driver deleted its isolation parameters")
	} else if !strings.Contains(err.Error(), "isolation parameters") {
		t.Errorf("deleting the parameters failed for another reason: %v", err)
	}
	// Requests by anyone else (the hub) are not affected.
	if _, err := e.k.Client.CoreV1().Pods(e.ns).Create(t.Context(), executor("admin-pod", "", bobClaim, bobToken), metav1.CreateOptions{}); err != nil {
		t.Errorf("the policy blocked a request from outside the driver accounts: %v", err)
	}
}
