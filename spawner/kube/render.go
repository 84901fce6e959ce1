package kube

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/hubkit/hubkit/internal/slug"
	"github.com/hubkit/hubkit/spawner"
)

// Labels and annotations hubkit puts on the objects it creates. The
// hub.jupyter.org ones are KubeSpawner's, so tools written for z2jh keep
// working.
const (
	LabelUsername   = "hub.jupyter.org/username"
	LabelServername = "hub.jupyter.org/servername"
	LabelComponent  = "component"
	LabelAppComp    = "app.kubernetes.io/component"
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	LabelInstance   = "app.kubernetes.io/instance"
	ManagedBy       = "hubkit"

	AnnotationUsername   = "hub.jupyter.org/username"
	AnnotationServername = "hub.jupyter.org/servername"

	// ComponentServer and ComponentStorage are the component label values
	// of pods and claims.
	ComponentServer  = "singleuser-server"
	ComponentStorage = "singleuser-storage"

	// TokenKey is the key of the API token in the server's Secret.
	TokenKey = "token"
	// SecretEnvKeyPrefix prefixes the keys of Request.SecretEnv in the
	// server's Secret ("env-NOTEBOOK_VAULT_TOKEN").
	SecretEnvKeyPrefix = "env-"

	// ContainerName is the name of the notebook container.
	ContainerName = "notebook"

	// State keys of spawner.Server.State.
	StateNamespace = "namespace"
	StatePod       = "pod_name"
	StatePVC       = "pvc_name"
)

// Objects are the Kubernetes objects of one server, as Render makes them.
type Objects struct {
	// Namespace is set when per-user namespaces are enabled.
	Namespace *corev1.Namespace
	// PVC is set when Options.StoragePVCEnsure is.
	PVC *corev1.PersistentVolumeClaim
	// Secret holds the server's API token.
	Secret *corev1.Secret
	// Pod runs the server.
	Pod *corev1.Pod
	// Options are the resolved options (configuration + override, with defaults).
	Options Options
}

// Render builds the objects Start would create for req, without touching
// the cluster. It validates req: a bad name, an unknown option or an
// invalid template is an error wrapping spawner.ErrInvalid.
func (s *Spawner) Render(req spawner.Request) (*Objects, error) {
	if err := req.Ref.Validate(); err != nil {
		return nil, err
	}
	opts, err := s.cfg.Options.Apply(req.Override)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	r := renderer{cfg: &s.cfg, req: req, opts: opts, names: slug.For(req.User, req.Server, s.cfg.scheme)}
	objs, err := r.render()
	if err != nil {
		return nil, fmt.Errorf("%w: kube: %s: %v", spawner.ErrInvalid, req.Ref, err)
	}
	return objs, nil
}

type renderer struct {
	cfg   *Config
	req   spawner.Request
	opts  Options
	names slug.Names
	extra map[string]string
}

func (r *renderer) expand(s string) (string, error) {
	if !strings.ContainsAny(s, "{}") {
		return s, nil
	}
	return slug.Expand(s, r.names, r.extra)
}

// expandJSON expands every string inside v (a struct, slice or map) by
// round-tripping it through JSON.
func expandJSON[T any](r *renderer, v T) (T, error) {
	var zero T
	raw, err := json.Marshal(v)
	if err != nil {
		return zero, err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return zero, err
	}
	tree, err = r.expandTree(tree)
	if err != nil {
		return zero, err
	}
	raw, err = json.Marshal(tree)
	if err != nil {
		return zero, err
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return zero, err
	}
	return out, nil
}

func (r *renderer) expandTree(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return r.expand(v)
	case []any:
		for i := range v {
			e, err := r.expandTree(v[i])
			if err != nil {
				return nil, err
			}
			v[i] = e
		}
		return v, nil
	case map[string]any:
		for k := range v {
			e, err := r.expandTree(v[k])
			if err != nil {
				return nil, err
			}
			v[k] = e
		}
		return v, nil
	}
	return v, nil
}

func (r *renderer) render() (*Objects, error) {
	o := r.opts
	ns := r.cfg.Namespace
	r.extra = map[string]string{"hubnamespace": hubNamespaceValue(ns)}
	var nsObj *corev1.Namespace
	if r.cfg.EnableUserNamespaces {
		name, err := slug.Expand(r.cfg.UserNamespaceTemplate, r.names, r.extra)
		if err != nil {
			return nil, err
		}
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			return nil, fmt.Errorf("user namespace %q: %s", name, strings.Join(errs, "; "))
		}
		ns = name
		nsObj = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: r.commonLabels(nil),
			Annotations: map[string]string{
				AnnotationUsername: r.req.User,
			},
		}}
	}
	r.extra["namespace"] = ns

	podName, err := slug.Expand(o.PodNameTemplate, r.names, r.extra)
	if err != nil {
		return nil, err
	}
	if errs := validation.IsDNS1123Subdomain(podName); len(errs) > 0 {
		return nil, fmt.Errorf("pod name %q: %s", podName, strings.Join(errs, "; "))
	}
	r.extra["pod_name"] = podName
	pvcName := rememberedPVC(r.req.State, ns)
	if pvcName == "" {
		if pvcName, err = slug.Expand(o.PVCNameTemplate, r.names, r.extra); err != nil {
			return nil, err
		}
	}
	if errs := validation.IsDNS1123Subdomain(pvcName); len(errs) > 0 {
		return nil, fmt.Errorf("claim name %q: %s", pvcName, strings.Join(errs, "; "))
	}
	r.extra["pvc_name"] = pvcName

	objs := &Objects{Namespace: nsObj, Options: o}
	objs.Secret = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        podName + "-token",
			Namespace:   ns,
			Labels:      r.commonLabels(map[string]string{LabelComponent: ComponentServer, LabelAppComp: ComponentServer}),
			Annotations: r.annotations(nil),
		},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{TokenKey: r.req.APIToken},
	}
	for k, v := range r.req.SecretEnv {
		objs.Secret.StringData[SecretEnvKeyPrefix+k] = v
	}
	if o.StoragePVCEnsure {
		pvc, err := r.pvc(ns, pvcName)
		if err != nil {
			return nil, err
		}
		objs.PVC = pvc
	}
	pod, err := r.pod(ns, podName, objs.Secret.Name)
	if err != nil {
		return nil, err
	}
	objs.Pod = pod
	return objs, nil
}

// rememberedPVC returns the claim name a previous start recorded in state,
// or "" when there is none for namespace ns (a claim is namespaced, so a
// name remembered in another namespace means nothing here).
func rememberedPVC(state map[string]string, ns string) string {
	if state[StateNamespace] != ns {
		return ""
	}
	return state[StatePVC]
}

func hubNamespaceValue(ns string) string {
	if ns == "default" {
		return "user"
	}
	return ns
}

func (r *renderer) commonLabels(extra map[string]string) map[string]string {
	labels := map[string]string{LabelUsername: r.labelValue(r.req.User)}
	maps.Copy(labels, extra)
	maps.Copy(labels, r.opts.CommonLabels)
	labels[LabelManagedBy] = ManagedBy
	if r.cfg.Instance != "" {
		labels[LabelInstance] = r.cfg.Instance
	}
	return labels
}

// labelValue is the hub.jupyter.org/username or servername label value of
// name. The safe scheme gives KubeSpawner 7's safe label slug. The escape
// scheme gives KubeSpawner < 7's escaped name ("a.b@example.org" ->
// "a-2eb-40example-2eorg"), unless that is no valid label value (it starts
// with an escape, as for "Alex" -> "-41lex", or is longer than 63
// characters): KubeSpawner < 7 could not create such a pod at all, so no
// object of theirs carries it, and the safe label slug is used instead.
func (r *renderer) labelValue(name string) string {
	if r.cfg.scheme == slug.SchemeEscape {
		if v := slug.Escape(name); slug.IsValidLabel(v) {
			return v
		}
	}
	return slug.SafeLabel(name)
}

func (r *renderer) annotations(extra map[string]string) map[string]string {
	a := map[string]string{AnnotationUsername: r.req.User}
	if r.req.Server != "" {
		a[AnnotationServername] = r.req.Server
	}
	maps.Copy(a, extra)
	return a
}

func (r *renderer) pvc(ns, name string) (*corev1.PersistentVolumeClaim, error) {
	o := r.opts
	extraLabels, err := expandJSON(r, o.StorageExtraLabels)
	if err != nil {
		return nil, err
	}
	extraAnn, err := expandJSON(r, o.StorageExtraAnnotations)
	if err != nil {
		return nil, err
	}
	capacity, err := resource.ParseQuantity(o.StorageCapacity)
	if err != nil {
		return nil, fmt.Errorf("storage_capacity %q: %v", o.StorageCapacity, err)
	}
	labels := r.commonLabels(extraLabels)
	labels[LabelComponent] = ComponentStorage
	labels[LabelAppComp] = ComponentStorage
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   ns,
			Labels:      labels,
			Annotations: r.annotations(extraAnn),
		},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: slices.Clone(o.StorageAccessModes),
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: capacity},
			},
			Selector: o.StorageSelector,
		},
	}
	if o.StorageClass != "" {
		sc := o.StorageClass
		pvc.Spec.StorageClassName = &sc
	}
	return pvc, validateLabels(pvc.Labels)
}

func (r *renderer) pod(ns, name, secretName string) (*corev1.Pod, error) {
	o := r.opts
	extraLabels, err := expandJSON(r, o.ExtraLabels)
	if err != nil {
		return nil, err
	}
	extraAnn, err := expandJSON(r, o.ExtraAnnotations)
	if err != nil {
		return nil, err
	}
	labels := r.commonLabels(extraLabels)
	labels[LabelComponent] = r.cfg.ComponentLabel
	labels[LabelAppComp] = r.cfg.ComponentLabel
	labels[LabelServername] = r.labelValue(r.req.Server)
	if err := validateLabels(labels); err != nil {
		return nil, err
	}

	env, err := r.env(secretName)
	if err != nil {
		return nil, err
	}
	volumes, err := expandJSON(r, o.Volumes)
	if err != nil {
		return nil, err
	}
	mounts, err := expandJSON(r, o.VolumeMounts)
	if err != nil {
		return nil, err
	}
	workingDir, err := r.expand(o.WorkingDir)
	if err != nil {
		return nil, err
	}
	initContainers, err := expandJSON(r, o.InitContainers)
	if err != nil {
		return nil, err
	}
	extraContainers, err := expandJSON(r, o.ExtraContainers)
	if err != nil {
		return nil, err
	}

	c := corev1.Container{
		Name:            ContainerName,
		Image:           o.Image,
		ImagePullPolicy: o.ImagePullPolicy,
		WorkingDir:      workingDir,
		Ports:           []corev1.ContainerPort{{Name: "notebook-port", ContainerPort: int32(o.Port)}},
		Env:             env,
		VolumeMounts:    mounts,
		Lifecycle:       o.LifecycleHooks,
		Resources:       r.resources(),
		SecurityContext: r.containerSecurityContext(),
	}
	if len(o.Cmd) > 0 {
		c.Args = append(slices.Clone([]string(o.Cmd)), o.Args...)
	}
	if len(o.ExtraContainerConfig) > 0 {
		if c, err = mergeInto(c, o.ExtraContainerConfig); err != nil {
			return nil, fmt.Errorf("extra_container_config: %v", err)
		}
	}

	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   ns,
			Labels:      labels,
			Annotations: r.annotations(extraAnn),
		},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyOnFailure,
			Containers:         append([]corev1.Container{c}, extraContainers...),
			InitContainers:     initContainers,
			Volumes:            volumes,
			NodeSelector:       o.NodeSelector,
			Tolerations:        o.Tolerations,
			Affinity:           r.affinity(),
			SecurityContext:    r.podSecurityContext(),
			ServiceAccountName: o.ServiceAccount,
			SchedulerName:      o.SchedulerName,
			PriorityClassName:  o.PriorityClassName,
		},
	}
	for _, s := range o.ImagePullSecrets {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	switch {
	case o.AutomountServiceAccountToken != nil:
		pod.Spec.AutomountServiceAccountToken = o.AutomountServiceAccountToken
	case o.ServiceAccount == "":
		f := false
		pod.Spec.AutomountServiceAccountToken = &f
	}
	if len(o.ExtraPodConfig) > 0 {
		spec, err := mergeInto(pod.Spec, o.ExtraPodConfig)
		if err != nil {
			return nil, fmt.Errorf("extra_pod_config: %v", err)
		}
		pod.Spec = spec
	}
	return pod, nil
}

func validateLabels(labels map[string]string) error {
	for k, v := range labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("label %s=%q: %s", k, v, strings.Join(errs, "; "))
		}
	}
	return nil
}

// mergeInto merges a camelCase partial object into v with KubeSpawner's
// override rules (maps merge, nil deletes, everything else replaces).
func mergeInto[T any](v T, patch map[string]any) (T, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return v, err
	}
	var base map[string]any
	if err := json.Unmarshal(raw, &base); err != nil {
		return v, err
	}
	raw, err = json.Marshal(MergeOverride(base, patch))
	if err != nil {
		return v, err
	}
	var out T
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return v, err
	}
	return out, nil
}

func (r *renderer) resources() corev1.ResourceRequirements {
	o := r.opts
	req, lim := corev1.ResourceList{}, corev1.ResourceList{}
	if o.CPUGuarantee > 0 {
		req[corev1.ResourceCPU] = cpuQuantity(float64(o.CPUGuarantee))
	}
	if o.MemGuarantee > 0 {
		req[corev1.ResourceMemory] = *resource.NewQuantity(int64(o.MemGuarantee), resource.BinarySI)
	}
	for k, v := range o.ExtraResourceGuarantees {
		if q, err := resource.ParseQuantity(v); err == nil {
			req[corev1.ResourceName(k)] = q
		}
	}
	if o.CPULimit > 0 {
		lim[corev1.ResourceCPU] = cpuQuantity(float64(o.CPULimit))
	}
	if o.MemLimit > 0 {
		lim[corev1.ResourceMemory] = *resource.NewQuantity(int64(o.MemLimit), resource.BinarySI)
	}
	for k, v := range o.ExtraResourceLimits {
		if q, err := resource.ParseQuantity(v); err == nil {
			lim[corev1.ResourceName(k)] = q
		}
	}
	out := corev1.ResourceRequirements{}
	if len(req) > 0 {
		out.Requests = req
	}
	if len(lim) > 0 {
		out.Limits = lim
	}
	return out
}

func cpuQuantity(cores float64) resource.Quantity {
	return *resource.NewMilliQuantity(int64(cores*1000+0.5), resource.DecimalSI)
}

func (r *renderer) containerSecurityContext() *corev1.SecurityContext {
	o := r.opts
	sc := corev1.SecurityContext{
		RunAsUser:                o.UID,
		RunAsGroup:               o.GID,
		AllowPrivilegeEscalation: o.AllowPrivilegeEscalation,
	}
	if o.Privileged {
		t := true
		sc.Privileged = &t
	}
	if o.ContainerSecurityContext != nil {
		if merged, err := overlay(sc, *o.ContainerSecurityContext); err == nil {
			sc = merged
		}
	}
	if sc == (corev1.SecurityContext{}) {
		return nil
	}
	return &sc
}

func (r *renderer) podSecurityContext() *corev1.PodSecurityContext {
	o := r.opts
	sc := corev1.PodSecurityContext{FSGroup: o.FSGID, SupplementalGroups: o.SupplementalGIDs}
	if o.PodSecurityContext != nil {
		if merged, err := overlay(sc, *o.PodSecurityContext); err == nil {
			sc = merged
		}
	}
	raw, _ := json.Marshal(sc)
	if string(raw) == "{}" {
		return nil
	}
	return &sc
}

// overlay sets every field that is set in top over base (JSON merge).
func overlay[T any](base, top T) (T, error) {
	raw, err := json.Marshal(top)
	if err != nil {
		return base, err
	}
	var patch map[string]any
	if err := json.Unmarshal(raw, &patch); err != nil {
		return base, err
	}
	return mergeInto(base, patch)
}

func (r *renderer) affinity() *corev1.Affinity {
	o := r.opts
	var a corev1.Affinity
	if len(o.NodeAffinityRequired) > 0 || len(o.NodeAffinityPreferred) > 0 {
		a.NodeAffinity = &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: o.NodeAffinityPreferred}
		if len(o.NodeAffinityRequired) > 0 {
			a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: o.NodeAffinityRequired}
		}
	}
	if len(o.PodAffinityRequired) > 0 || len(o.PodAffinityPreferred) > 0 {
		a.PodAffinity = &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution:  o.PodAffinityRequired,
			PreferredDuringSchedulingIgnoredDuringExecution: o.PodAffinityPreferred,
		}
	}
	if len(o.PodAntiAffinityRequired) > 0 || len(o.PodAntiAffinityPreferred) > 0 {
		a.PodAntiAffinity = &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution:  o.PodAntiAffinityRequired,
			PreferredDuringSchedulingIgnoredDuringExecution: o.PodAntiAffinityPreferred,
		}
	}
	if a.NodeAffinity == nil && a.PodAffinity == nil && a.PodAntiAffinity == nil {
		return nil
	}
	return &a
}

// tokenEnv are the variables that carry the API token; they always come
// from the server's Secret.
var tokenEnv = []string{"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"}

var envRef = regexp.MustCompile(`\$\(([^)]+)\)`)

// env builds the container environment: the hub's variables, then the
// configured ones (which may override them), then the token references and
// the service URL, which nothing overrides. Variables are sorted by name,
// except that a variable referring to another with $(NAME) comes after it,
// as KubeSpawner orders them.
func (r *renderer) env(secretName string) ([]corev1.EnvVar, error) {
	o := r.opts
	vars := map[string]corev1.EnvVar{}
	for k, v := range r.req.Env {
		vars[k] = corev1.EnvVar{Name: k, Value: v}
	}
	// KubeSpawner tells the server its image; configured variables may
	// override these.
	vars["JUPYTER_IMAGE"] = corev1.EnvVar{Name: "JUPYTER_IMAGE", Value: o.Image}
	vars["JUPYTER_IMAGE_SPEC"] = corev1.EnvVar{Name: "JUPYTER_IMAGE_SPEC", Value: o.Image}
	for k, v := range o.Environment {
		val, err := r.expand(v.Value)
		if err != nil {
			return nil, fmt.Errorf("environment %s: %v", k, err)
		}
		vars[k] = corev1.EnvVar{Name: k, Value: val, ValueFrom: v.ValueFrom}
	}
	prefix := r.req.Env["JUPYTERHUB_SERVICE_PREFIX"]
	if prefix == "" {
		prefix = spawner.DefaultPrefix(r.req.Ref)
		vars["JUPYTERHUB_SERVICE_PREFIX"] = corev1.EnvVar{Name: "JUPYTERHUB_SERVICE_PREFIX", Value: prefix}
	}
	if _, ok := r.req.Env["JUPYTERHUB_SERVICE_URL"]; !ok {
		vars["JUPYTERHUB_SERVICE_URL"] = corev1.EnvVar{Name: "JUPYTERHUB_SERVICE_URL",
			Value: "http://0.0.0.0:" + strconv.Itoa(o.Port) + prefix}
	}
	if o.DefaultURL != "" {
		vars["JUPYTERHUB_DEFAULT_URL"] = corev1.EnvVar{Name: "JUPYTERHUB_DEFAULT_URL", Value: o.DefaultURL}
	}
	for k := range r.req.SecretEnv {
		vars[k] = corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secretName},
				Key:                  SecretEnvKeyPrefix + k,
			},
		}}
	}
	for _, k := range tokenEnv {
		vars[k] = corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secretName},
				Key:                  TokenKey,
			},
		}}
	}
	for k := range vars {
		if errs := validation.IsEnvVarName(k); len(errs) > 0 {
			return nil, fmt.Errorf("environment variable name %q: %s", k, strings.Join(errs, "; "))
		}
	}
	return orderEnv(vars), nil
}

// orderEnv sorts by name and then moves each variable after the ones it
// references with $(NAME), so Kubernetes can expand them.
func orderEnv(vars map[string]corev1.EnvVar) []corev1.EnvVar {
	pending := sortedKeys(vars)
	done := map[string]bool{}
	out := make([]corev1.EnvVar, 0, len(vars))
	for len(pending) > 0 {
		var next, round []string
		for _, k := range pending {
			ready := true
			for _, m := range envRef.FindAllStringSubmatch(vars[k].Value, -1) {
				dep := m[1]
				if dep != k && !done[dep] {
					if _, exists := vars[dep]; exists {
						ready = false
					}
				}
			}
			if ready {
				round = append(round, k)
			} else {
				next = append(next, k)
			}
		}
		for _, k := range round {
			out = append(out, vars[k])
			done[k] = true
		}
		progressed := len(round) > 0
		if !progressed { // a cycle: keep name order
			for _, k := range next {
				out = append(out, vars[k])
			}
			break
		}
		pending = next
	}
	return out
}
