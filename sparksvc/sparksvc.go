package sparksvc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	admv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/hubkit/hubkit/internal/slug"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

// Names of the objects this package manages.
const (
	// PolicyName is the ValidatingAdmissionPolicy and its binding.
	PolicyName = "hubkit-spark-executor-isolation"
	// RoleName is the namespaced Role of every user's driver.
	RoleName = "hubkit-spark-driver"
	// ParamsLabel marks the per-user parameter ConfigMaps the policy reads.
	ParamsLabel = "hubkit.io/spark-isolation-params"
)

// Config configures a Driver. The zero value works.
type Config struct {
	// UIPort, DriverPort and BlockManagerPort of the driver Service.
	// Defaults 4040, 2222 and 7777.
	UIPort, DriverPort, BlockManagerPort int32
	// ClusterDomain for the driver's DNS name. Default "cluster.local".
	ClusterDomain string
	// ServiceAccountPrefix names the per-user driver service accounts:
	// prefix + the user's safe slug. Default "spark-".
	ServiceAccountPrefix string
	// SharedSecrets are Secrets every user's executors may mount (for
	// example object-store credentials shared by all users).
	SharedSecrets []string
	// InsecureNoExecutorIsolation skips the per-user service account, Role
	// and admission policy: the notebook pod keeps its configured service
	// account, and anything the driver can create may mount any volume or
	// Secret of the namespace. Use it only where every user of the
	// namespace may read every other user's data.
	InsecureNoExecutorIsolation bool
	// Logger. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.UIPort == 0 {
		c.UIPort = 4040
	}
	if c.DriverPort == 0 {
		c.DriverPort = 2222
	}
	if c.BlockManagerPort == 0 {
		c.BlockManagerPort = 7777
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = "cluster.local"
	}
	if c.ServiceAccountPrefix == "" {
		c.ServiceAccountPrefix = "spark-"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Driver provides the spawner hooks. It is safe for concurrent use.
type Driver struct {
	client kubernetes.Interface
	cfg    Config

	mu      sync.Mutex
	roles   map[string]bool // namespaces whose Role exists
	paramMu sync.Mutex      // serialises read-modify-write of parameter ConfigMaps
}

// New returns a Driver that uses client.
func New(client kubernetes.Interface, cfg Config) *Driver {
	return &Driver{client: client, cfg: cfg.withDefaults(), roles: map[string]bool{}}
}

// Hooks plugs the driver into a kube.Config: cfg's ModifyPod and
// AfterPodCreated run first, then the driver's.
func (d *Driver) Hooks(cfg *kube.Config) {
	prevModify, prevAfter := cfg.ModifyPod, cfg.AfterPodCreated
	cfg.ModifyPod = func(ctx context.Context, req spawner.Request, pod *corev1.Pod) error {
		if prevModify != nil {
			if err := prevModify(ctx, req, pod); err != nil {
				return err
			}
		}
		return d.ModifyPod(ctx, req, pod)
	}
	cfg.AfterPodCreated = func(ctx context.Context, req spawner.Request, pod *corev1.Pod) error {
		if prevAfter != nil {
			if err := prevAfter(ctx, req, pod); err != nil {
				return err
			}
		}
		return d.AfterPodCreated(ctx, req, pod)
	}
}

// ServiceAccountName returns the driver service account of user.
func (d *Driver) ServiceAccountName(user string) string {
	return d.cfg.ServiceAccountPrefix + slug.SafeObject(user)
}

func (d *Driver) paramsName(user string) string {
	return d.ServiceAccountName(user) + "-isolation"
}

// DriverHost returns the DNS name executors use to reach the driver in pod.
func (d *Driver) DriverHost(pod *corev1.Pod) string {
	return pod.Name + "." + pod.Namespace + ".svc." + d.cfg.ClusterDomain
}

// ModifyPod configures the notebook container as a Spark driver and, with
// isolation, provisions the user's service account, Role binding and
// policy parameters, and runs the pod as that service account.
func (d *Driver) ModifyPod(ctx context.Context, req spawner.Request, pod *corev1.Pod) error {
	if len(pod.Spec.Containers) == 0 {
		return fmt.Errorf("sparksvc: pod %s has no containers", pod.Name)
	}
	userLabel := pod.Labels[kube.LabelUsername]
	if userLabel == "" {
		userLabel = slug.SafeLabel(req.User)
	}
	sa := pod.Spec.ServiceAccountName
	if !d.cfg.InsecureNoExecutorIsolation {
		sa = d.ServiceAccountName(req.User)
		if err := d.provision(ctx, req.User, userLabel, pod); err != nil {
			return err
		}
		pod.Spec.ServiceAccountName = sa
		t := true
		pod.Spec.AutomountServiceAccountToken = &t
	}
	c := &pod.Spec.Containers[0]
	host := d.DriverHost(pod)
	conf := [][2]string{
		{"spark.driver.host", host},
		{"spark.driver.bindAddress", "0.0.0.0"},
		{"spark.driver.port", strconv.Itoa(int(d.cfg.DriverPort))},
		{"spark.driver.blockManager.port", strconv.Itoa(int(d.cfg.BlockManagerPort))},
		{"spark.blockManager.port", strconv.Itoa(int(d.cfg.BlockManagerPort))},
		{"spark.ui.port", strconv.Itoa(int(d.cfg.UIPort))},
		{"spark.kubernetes.namespace", pod.Namespace},
		{"spark.kubernetes.executor.label." + kube.LabelUsername, userLabel},
	}
	if sa != "" {
		conf = append(conf,
			[2]string{"spark.kubernetes.authenticate.driver.serviceAccountName", sa},
			[2]string{"spark.kubernetes.authenticate.executor.serviceAccountName", sa})
	}
	var args strings.Builder
	for _, kv := range conf {
		fmt.Fprintf(&args, "--conf %s=%s ", kv[0], kv[1])
	}
	args.WriteString("pyspark-shell")
	setEnv(c, "SPARK_DRIVER_HOST", host)
	setEnv(c, "SPARK_DRIVER_PORT", strconv.Itoa(int(d.cfg.DriverPort)))
	setEnv(c, "SPARK_BLOCKMANAGER_PORT", strconv.Itoa(int(d.cfg.BlockManagerPort)))
	setEnv(c, "SPARK_UI_PORT", strconv.Itoa(int(d.cfg.UIPort)))
	setEnv(c, "SPARK_EXECUTOR_NAMESPACE", pod.Namespace)
	setEnv(c, "SPARK_EXECUTOR_SERVICE_ACCOUNT", sa)
	setEnv(c, "SPARK_USER_LABEL", userLabel)
	setEnv(c, "PYSPARK_SUBMIT_ARGS", args.String())
	return nil
}

// setEnv sets name unless the container already has it.
func setEnv(c *corev1.Container, name, value string) {
	for _, e := range c.Env {
		if e.Name == name {
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
}

// AfterPodCreated creates the headless driver Service for pod, replacing a
// stale one of the same name.
func (d *Driver) AfterPodCreated(ctx context.Context, req spawner.Request, pod *corev1.Pod) error {
	svc := d.Service(pod)
	svcs := d.client.CoreV1().Services(pod.Namespace)
	_, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		old, gerr := svcs.Get(ctx, svc.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("sparksvc: reading existing service %s: %w", svc.Name, gerr)
		}
		if metav1.IsControlledBy(old, pod) {
			return nil
		}
		uid := old.UID
		if derr := svcs.Delete(ctx, svc.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); derr != nil && !apierrors.IsNotFound(derr) {
			return fmt.Errorf("sparksvc: deleting stale service %s: %w", svc.Name, derr)
		}
		_, err = svcs.Create(ctx, svc, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("sparksvc: creating driver service %s: %w", svc.Name, err)
	}
	d.cfg.Logger.Info("spark driver service created", "service", pod.Namespace+"/"+svc.Name, "server", req.Ref.String())
	return nil
}

// Service returns the headless driver Service of pod.
func (d *Driver) Service(pod *corev1.Pod) *corev1.Service {
	selector := map[string]string{}
	for _, k := range []string{kube.LabelUsername, kube.LabelServername, kube.LabelComponent} {
		if v, ok := pod.Labels[k]; ok {
			selector[k] = v
		}
	}
	labels := map[string]string{kube.LabelManagedBy: kube.ManagedBy, kube.LabelComponent: "spark-driver"}
	if v, ok := pod.Labels[kube.LabelUsername]; ok {
		labels[kube.LabelUsername] = v
	}
	t := true
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:      pod.Name,
			Namespace: pod.Namespace,
			Labels:    labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID,
				Controller: &t, BlockOwnerDeletion: &t}},
		},
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 selector,
			PublishNotReadyAddresses: true,
			Ports: []corev1.ServicePort{
				{Name: "spark-ui", Port: d.cfg.UIPort, TargetPort: intstr.FromInt32(d.cfg.UIPort)},
				{Name: "spark-driver", Port: d.cfg.DriverPort, TargetPort: intstr.FromInt32(d.cfg.DriverPort)},
				{Name: "spark-block-manager", Port: d.cfg.BlockManagerPort, TargetPort: intstr.FromInt32(d.cfg.BlockManagerPort)},
			},
		},
	}
}

// claimsOf lists the claims pod mounts.
func claimsOf(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		}
	}
	return out
}

// provision writes the user's policy parameters (first, so the policy
// applies before the account can be used), the service account and its
// Role binding.
func (d *Driver) provision(ctx context.Context, user, userLabel string, pod *corev1.Pod) error {
	ns := pod.Namespace
	sa := d.ServiceAccountName(user)
	if err := d.putParams(ctx, ns, user, userLabel, "system:serviceaccount:"+ns+":"+sa, claimsOf(pod)); err != nil {
		return err
	}
	if err := d.ensureRole(ctx, ns); err != nil {
		return err
	}
	labels := map[string]string{kube.LabelManagedBy: kube.ManagedBy, kube.LabelUsername: userLabel}
	_, err := d.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns, Labels: labels,
			Annotations: map[string]string{kube.AnnotationUsername: user}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sparksvc: creating service account %s: %w", sa, err)
	}
	_, err = d.client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns, Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: RoleName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("sparksvc: binding role for %s: %w", sa, err)
	}
	return nil
}

func (d *Driver) putParams(ctx context.Context, ns, user, userLabel, principal string, claims []string) error {
	d.paramMu.Lock()
	defer d.paramMu.Unlock()
	cms := d.client.CoreV1().ConfigMaps(ns)
	name := d.paramsName(user)
	cm, err := cms.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels:      map[string]string{ParamsLabel: "true", kube.LabelManagedBy: kube.ManagedBy, kube.LabelUsername: userLabel},
			Annotations: map[string]string{kube.AnnotationUsername: user}}}
	case err != nil:
		return fmt.Errorf("sparksvc: reading isolation parameters %s: %w", name, err)
	}
	have := strings.Fields(cm.Data["claims"])
	for _, c := range claims {
		if !slices.Contains(have, c) {
			have = append(have, c)
		}
	}
	slices.Sort(have)
	cm.Data = map[string]string{
		"serviceAccount": principal,
		"userLabel":      userLabel,
		"claims":         strings.Join(have, " "),
		"secrets":        strings.Join(d.cfg.SharedSecrets, " "),
	}
	if cm.ResourceVersion == "" {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	} else {
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("sparksvc: writing isolation parameters %s: %w", name, err)
	}
	return nil
}

func (d *Driver) ensureRole(ctx context.Context, ns string) error {
	d.mu.Lock()
	done := d.roles[ns]
	d.mu.Unlock()
	if done {
		return nil
	}
	all := []string{"create", "get", "list", "watch", "update", "patch", "delete", "deletecollection"}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: RoleName, Namespace: ns, Labels: map[string]string{kube.LabelManagedBy: kube.ManagedBy}},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "services", "configmaps"}, Verbs: all},
			{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"get", "list"}},
		},
	}
	_, err := d.client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = d.client.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("sparksvc: writing role %s/%s: %w", ns, RoleName, err)
	}
	d.mu.Lock()
	d.roles[ns] = true
	d.mu.Unlock()
	return nil
}

// Install creates or updates the cluster-wide admission policy and its
// binding. It needs rights on validatingadmissionpolicies and
// validatingadmissionpolicybindings; run it once at hub start-up (or apply
// the objects Policy returns with your own tooling). It does nothing with
// InsecureNoExecutorIsolation.
func (d *Driver) Install(ctx context.Context) error {
	if d.cfg.InsecureNoExecutorIsolation {
		return nil
	}
	policy, binding := d.Policy()
	if err := upsert(ctx, d.client.AdmissionregistrationV1().ValidatingAdmissionPolicies(), policy); err != nil {
		return fmt.Errorf("sparksvc: admission policy: %w", err)
	}
	if err := upsert(ctx, d.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings(), binding); err != nil {
		return fmt.Errorf("sparksvc: admission policy binding: %w", err)
	}
	return nil
}

// object is a cluster-scoped API object that upsert can write.
type object interface {
	metav1.Object
	*admv1.ValidatingAdmissionPolicy | *admv1.ValidatingAdmissionPolicyBinding
}

// clusterClient is the part of a typed client upsert uses.
type clusterClient[T object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// upsert creates obj, or updates the existing object of its name.
func upsert[T object](ctx context.Context, c clusterClient[T], obj T) error {
	cur, err := c.Get(ctx, obj.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.Create(ctx, obj, metav1.CreateOptions{})
	case err == nil:
		obj.SetResourceVersion(cur.GetResourceVersion())
		_, err = c.Update(ctx, obj, metav1.UpdateOptions{})
	}
	return err
}
