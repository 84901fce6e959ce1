package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/spawner"
)

// Options are the settings of one user's pod, with KubeSpawner's trait
// names as JSON field names so that a z2jh profile's kubespawner_override
// applies unchanged (see [Options.Apply]). The zero value works: every
// default is written on its field and applied when the pod is rendered.
//
// String fields of volumes, volume mounts, environment values, labels,
// annotations, working_dir and init/extra containers are templates:
// {username}, {servername}, {user_server}, {pvc_name}, {pod_name},
// {unescaped_username}, ... expand as in KubeSpawner. Write {{ and }} for
// literal braces.
type Options struct {
	// Image of the notebook container. Default "quay.io/jupyterhub/singleuser:5".
	Image string `json:"image,omitempty"`
	// ImagePullPolicy: Always, IfNotPresent or Never. Default: unset (Kubernetes decides).
	ImagePullPolicy corev1.PullPolicy `json:"image_pull_policy,omitempty"`
	// ImagePullSecrets names Secrets of type dockerconfigjson; each entry
	// may be a name or {"name": ...}.
	ImagePullSecrets NameList `json:"image_pull_secrets,omitempty"`
	// Cmd is the command the container runs as its args (KubeSpawner puts
	// cmd+args into the container's args, keeping the image's entrypoint).
	// A single string is accepted. Default: the image's CMD.
	Cmd StringList `json:"cmd,omitempty"`
	// Args are appended to Cmd.
	Args StringList `json:"args,omitempty"`
	// Port the server listens on, named notebook-port. Default 8888.
	Port int `json:"port,omitempty"`
	// WorkingDir of the notebook container. Default: the image's.
	WorkingDir string `json:"working_dir,omitempty"`
	// DefaultURL is the server's landing page (JUPYTERHUB_DEFAULT_URL),
	// such as "/lab".
	DefaultURL string `json:"default_url,omitempty"`

	// CPULimit and CPUGuarantee in cores (0.5 = 500m). 0 = unset.
	CPULimit     Float `json:"cpu_limit,omitempty"`
	CPUGuarantee Float `json:"cpu_guarantee,omitempty"`
	// MemLimit and MemGuarantee in bytes; "1G" (1024-based K, M, G, T as in
	// JupyterHub) and Kubernetes quantities ("512Mi") are accepted. 0 = unset.
	MemLimit     ByteSize `json:"mem_limit,omitempty"`
	MemGuarantee ByteSize `json:"mem_guarantee,omitempty"`
	// ExtraResourceLimits and ExtraResourceGuarantees add resources such as
	// {"nvidia.com/gpu": "1"}.
	ExtraResourceLimits     map[string]string `json:"extra_resource_limits,omitempty"`
	ExtraResourceGuarantees map[string]string `json:"extra_resource_guarantees,omitempty"`

	// Environment of the notebook container. A value is a string or an
	// EnvVar body such as {"valueFrom": {"secretKeyRef": {...}}}.
	Environment map[string]EnvValue `json:"environment,omitempty"`

	// Volumes and VolumeMounts are added to the pod and the notebook container.
	Volumes      []corev1.Volume      `json:"volumes,omitempty"`
	VolumeMounts []corev1.VolumeMount `json:"volume_mounts,omitempty"`

	// StoragePVCEnsure creates the user's PersistentVolumeClaim before the
	// pod (z2jh singleuser.storage.type: dynamic). Stop never deletes it.
	StoragePVCEnsure bool `json:"storage_pvc_ensure,omitempty"`
	// StorageClass of the claim. Default: the cluster's default class.
	StorageClass string `json:"storage_class,omitempty"`
	// StorageCapacity of the claim. Default "10Gi".
	StorageCapacity string `json:"storage_capacity,omitempty"`
	// StorageAccessModes of the claim. Default [ReadWriteOnce].
	StorageAccessModes []corev1.PersistentVolumeAccessMode `json:"storage_access_modes,omitempty"`
	// StorageSelector selects a pre-provisioned volume for the claim.
	StorageSelector *metav1.LabelSelector `json:"storage_selector,omitempty"`
	// StorageExtraLabels and StorageExtraAnnotations are put on the claim.
	StorageExtraLabels      map[string]string `json:"storage_extra_labels,omitempty"`
	StorageExtraAnnotations map[string]string `json:"storage_extra_annotations,omitempty"`

	// PodNameTemplate names the pod. Default "jupyter-{user_server}".
	PodNameTemplate string `json:"pod_name_template,omitempty"`
	// PVCNameTemplate names the claim. Default "claim-{user_server}".
	PVCNameTemplate string `json:"pvc_name_template,omitempty"`

	// NodeSelector, Tolerations and the affinity terms place the pod.
	NodeSelector                 map[string]string                `json:"node_selector,omitempty"`
	Tolerations                  []corev1.Toleration              `json:"tolerations,omitempty"`
	NodeAffinityRequired         []corev1.NodeSelectorTerm        `json:"node_affinity_required,omitempty"`
	NodeAffinityPreferred        []corev1.PreferredSchedulingTerm `json:"node_affinity_preferred,omitempty"`
	PodAffinityRequired          []corev1.PodAffinityTerm         `json:"pod_affinity_required,omitempty"`
	PodAffinityPreferred         []corev1.WeightedPodAffinityTerm `json:"pod_affinity_preferred,omitempty"`
	PodAntiAffinityRequired      []corev1.PodAffinityTerm         `json:"pod_anti_affinity_required,omitempty"`
	PodAntiAffinityPreferred     []corev1.WeightedPodAffinityTerm `json:"pod_anti_affinity_preferred,omitempty"`
	SchedulerName                string                           `json:"scheduler_name,omitempty"`
	PriorityClassName            string                           `json:"priority_class_name,omitempty"`
	ServiceAccount               string                           `json:"service_account,omitempty"`
	AutomountServiceAccountToken *bool                            `json:"automount_service_account_token,omitempty"`

	// UID and GID run the notebook container (runAsUser, runAsGroup);
	// FSGID and SupplementalGIDs go to the pod security context.
	UID              *int64  `json:"uid,omitempty"`
	GID              *int64  `json:"gid,omitempty"`
	FSGID            *int64  `json:"fs_gid,omitempty"`
	SupplementalGIDs []int64 `json:"supplemental_gids,omitempty"`
	// Privileged runs the notebook container privileged. Dangerous: it
	// gives the user root on the node. Default false.
	Privileged bool `json:"privileged,omitempty"`
	// AllowPrivilegeEscalation of the notebook container. Default false.
	AllowPrivilegeEscalation *bool `json:"allow_privilege_escalation,omitempty"`
	// ContainerSecurityContext and PodSecurityContext are merged over the
	// fields above (camelCase Kubernetes keys).
	ContainerSecurityContext *corev1.SecurityContext    `json:"container_security_context,omitempty"`
	PodSecurityContext       *corev1.PodSecurityContext `json:"pod_security_context,omitempty"`

	// InitContainers and ExtraContainers are added to the pod.
	InitContainers  []corev1.Container `json:"init_containers,omitempty"`
	ExtraContainers []corev1.Container `json:"extra_containers,omitempty"`
	// ExtraContainerConfig is merged into the notebook container and
	// ExtraPodConfig into the pod spec (camelCase Kubernetes keys).
	ExtraContainerConfig map[string]any `json:"extra_container_config,omitempty"`
	ExtraPodConfig       map[string]any `json:"extra_pod_config,omitempty"`
	// LifecycleHooks of the notebook container (postStart, preStop).
	LifecycleHooks *corev1.Lifecycle `json:"lifecycle_hooks,omitempty"`

	// ExtraLabels and ExtraAnnotations are put on the pod; CommonLabels on
	// every object. Default CommonLabels {"app": "jupyterhub", "heritage": "jupyterhub"}.
	ExtraLabels      map[string]string `json:"extra_labels,omitempty"`
	ExtraAnnotations map[string]string `json:"extra_annotations,omitempty"`
	CommonLabels     map[string]string `json:"common_labels,omitempty"`

	// StartTimeout in seconds. Default 300 (z2jh's singleuser.startTimeout).
	StartTimeout int `json:"start_timeout,omitempty"`
	// DeleteGracePeriod in seconds given to the pod on stop. Default 1, as
	// KubeSpawner; -1 uses the pod's own terminationGracePeriodSeconds.
	DeleteGracePeriod int `json:"delete_grace_period,omitempty"`
	// WaitForScaleUp keeps waiting (until the start timeout) for a pod that
	// cannot be scheduled even when no cluster-autoscaler event says a node
	// is coming. Default false: an unschedulable pod fails the start at
	// once unless the autoscaler reported TriggeredScaleUp.
	WaitForScaleUp bool `json:"wait_for_scale_up,omitempty"`
}

// Default values of Options.
const (
	DefaultImage           = "quay.io/jupyterhub/singleuser:5"
	DefaultPort            = 8888
	DefaultStorageCapacity = "10Gi"
	DefaultPodNameTemplate = "jupyter-{user_server}"
	DefaultPVCNameTemplate = "claim-{user_server}"
	DefaultStartTimeout    = 300
	DefaultDeleteGrace     = 1
)

func (o Options) withDefaults() Options {
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.StorageCapacity == "" {
		o.StorageCapacity = DefaultStorageCapacity
	}
	if len(o.StorageAccessModes) == 0 {
		o.StorageAccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	if o.PodNameTemplate == "" {
		o.PodNameTemplate = DefaultPodNameTemplate
	}
	if o.PVCNameTemplate == "" {
		o.PVCNameTemplate = DefaultPVCNameTemplate
	}
	if o.CommonLabels == nil {
		o.CommonLabels = map[string]string{"app": "jupyterhub", "heritage": "jupyterhub"}
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.DeleteGracePeriod == 0 {
		o.DeleteGracePeriod = DefaultDeleteGrace
	}
	if o.AllowPrivilegeEscalation == nil {
		f := false
		o.AllowPrivilegeEscalation = &f
	}
	return o
}

// optionKeys are the JSON names of Options, the keys an override may use.
var optionKeys = func() []string {
	t := reflect.TypeFor[Options]()
	keys := make([]string, 0, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	slices.Sort(keys)
	return keys
}()

// Apply returns o with override merged in, the way KubeSpawner applies a
// profile's kubespawner_override: keys are trait names; a map merges
// recursively into the configured map; any other value replaces it; nil
// deletes the key (back to its default). An unknown key or a value of the
// wrong type is an error wrapping spawner.ErrInvalid that names the key.
func (o Options) Apply(override map[string]any) (Options, error) {
	if len(override) == 0 {
		return o, nil
	}
	var unknown []string
	for k := range override {
		if _, ok := slices.BinarySearch(optionKeys, k); !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return o, fmt.Errorf("%w: kube: unknown option %s (known options are KubeSpawner trait names such as cpu_limit, mem_guarantee, image)",
			spawner.ErrInvalid, strings.Join(quoteAll(unknown), ", "))
	}
	raw, err := json.Marshal(o)
	if err != nil {
		return o, fmt.Errorf("kube: encoding options: %w", err)
	}
	var base map[string]any
	if err := json.Unmarshal(raw, &base); err != nil {
		return o, fmt.Errorf("kube: decoding options: %w", err)
	}
	merged := MergeOverride(base, override)
	// Decode key by key so that a type error names its key.
	var out Options
	for _, k := range sortedKeys(merged) {
		one, err := json.Marshal(map[string]any{k: merged[k]})
		if err != nil {
			return o, fmt.Errorf("%w: kube: option %q: %v", spawner.ErrInvalid, k, err)
		}
		dec := json.NewDecoder(bytes.NewReader(one))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil {
			return o, fmt.Errorf("%w: kube: option %q: %v", spawner.ErrInvalid, k, err)
		}
	}
	return out, nil
}

// MergeOverride merges override into base as KubeSpawner does: maps merge
// recursively, a nil value deletes the key, anything else replaces. base
// is not modified.
func MergeOverride(base, override map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(override))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range override {
		if v == nil {
			delete(out, k)
			continue
		}
		if om, ok := v.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = MergeOverride(bm, om)
				continue
			}
			out[k] = MergeOverride(nil, om)
			continue
		}
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// StringList is a list of strings that also accepts a single string in
// JSON, as KubeSpawner's cmd does.
type StringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = StringList{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*l = list
	return nil
}

// NameList is a list of object names that accepts both "name" and
// {"name": "name"} entries, as KubeSpawner's image_pull_secrets does.
type NameList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *NameList) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		var one string
		if err2 := json.Unmarshal(b, &one); err2 == nil {
			*l = NameList{one}
			return nil
		}
		return fmt.Errorf("want a list of names, got %s", b)
	}
	out := make(NameList, 0, len(raw))
	for _, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			out = append(out, s)
			continue
		}
		var ref struct {
			Name string `json:"name"`
		}
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ref); err != nil || ref.Name == "" {
			return fmt.Errorf("want a name or {\"name\": ...}, got %s", r)
		}
		out = append(out, ref.Name)
	}
	*l = out
	return nil
}

// Float is a number that also accepts a numeric string in JSON ("2", "0.5").
type Float float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	var v float64
	if err := json.Unmarshal(b, &v); err == nil {
		*f = Float(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			*f = Float(v)
			return nil
		}
	}
	return fmt.Errorf("want a number, got %s", b)
}

// ByteSize is a number of bytes. In JSON it accepts an integer, a
// JupyterHub byte specification ("1G", "512M", "1.5G": K, M, G, T are
// powers of 1024) or a Kubernetes quantity ("2Gi", "500Mi").
type ByteSize int64

// ParseByteSize parses the forms ByteSize accepts.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty byte size")
	}
	units := map[byte]float64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}
	if mul, ok := units[s[len(s)-1]]; ok {
		if v, err := strconv.ParseFloat(s[:len(s)-1], 64); err == nil && v >= 0 && !math.IsInf(v, 0) {
			return ByteSize(v * mul), nil
		}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil && v >= 0 {
		return ByteSize(v), nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() < 0 {
		return 0, fmt.Errorf("byte size %q is neither a number, a JupyterHub size like 1G, nor a Kubernetes quantity like 1Gi", s)
	}
	return ByteSize(q.Value()), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *ByteSize) UnmarshalJSON(b []byte) error {
	var v float64
	if err := json.Unmarshal(b, &v); err == nil {
		if v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Errorf("byte size %s is negative or not finite", b)
		}
		*n = ByteSize(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a byte size, got %s", b)
	}
	v2, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*n = v2
	return nil
}

// EnvValue is one environment variable's value: a plain string, or the
// body of a Kubernetes EnvVar (value or valueFrom) without its name.
type EnvValue struct {
	Value     string
	ValueFrom *corev1.EnvVarSource
}

// MarshalJSON implements json.Marshaler: a plain value is a string.
func (e EnvValue) MarshalJSON() ([]byte, error) {
	if e.ValueFrom == nil {
		return json.Marshal(e.Value)
	}
	return json.Marshal(struct {
		Value     string               `json:"value,omitempty"`
		ValueFrom *corev1.EnvVarSource `json:"valueFrom"`
	}{e.Value, e.ValueFrom})
}

// UnmarshalJSON implements json.Unmarshaler. Numbers and booleans are
// taken as their text, as a YAML configuration often has them.
func (e *EnvValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var body struct {
			Name      string               `json:"name,omitempty"`
			Value     string               `json:"value,omitempty"`
			ValueFrom *corev1.EnvVarSource `json:"valueFrom,omitempty"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return fmt.Errorf("environment value: %v", err)
		}
		*e = EnvValue{Value: body.Value, ValueFrom: body.ValueFrom}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*e = EnvValue{Value: s}
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*e = EnvValue{Value: n.String()}
		return nil
	}
	var t bool
	if err := json.Unmarshal(b, &t); err == nil {
		*e = EnvValue{Value: strconv.FormatBool(t)}
		return nil
	}
	return fmt.Errorf("environment value: want a string or an EnvVar body, got %s", b)
}
