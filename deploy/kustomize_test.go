package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// The kustomizations under kubernetes/, and the Secret templates that are
// deliberately not part of any of them.
const (
	manifestsDir = "kubernetes"
	baseDir      = "kubernetes/base"
	haDir        = "kubernetes/overlays/ha"
	userNSDir    = "kubernetes/overlays/user-namespaces"
)

var (
	targets   = []string{baseDir, haDir, userNSDir}
	templates = []string{"kubernetes/base/secret.template.yaml", "kubernetes/overlays/ha/postgres-secret.template.yaml"}
)

// hubNamespace is the namespace the user-namespaces overlay assumes (its
// ClusterRoleBindings and the servers' hub API URL name it).
const hubNamespace = "hubkit"

// kustomization is the part of kustomize's Kustomization the manifests
// use. It is decoded strictly: a field this renderer does not implement
// fails the tests instead of being ignored.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Patches    []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// build is a rendered kustomization: its objects in order, and every file
// it read.
type build struct {
	objs  []*unstructured.Unstructured
	files []string
}

// render builds the kustomization in dir as `kustomize build` does for
// resources (files and directories) and strategic-merge patches that
// name their target by kind and name, including `$patch: delete`.
func render(dir string) (*build, error) {
	kpath := filepath.Join(dir, "kustomization.yaml")
	data, err := os.ReadFile(kpath)
	if err != nil {
		return nil, err
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", kpath, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return nil, fmt.Errorf("%s: apiVersion %q kind %q, want kustomize.config.k8s.io/v1beta1 Kustomization", kpath, k.APIVersion, k.Kind)
	}
	b := &build{files: []string{kpath}}
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: resource %s: %w", kpath, r, err)
		}
		if fi.IsDir() {
			sub, err := render(p)
			if err != nil {
				return nil, err
			}
			b.objs = append(b.objs, sub.objs...)
			b.files = append(b.files, sub.files...)
			continue
		}
		objs, err := readObjects(p)
		if err != nil {
			return nil, err
		}
		b.objs = append(b.objs, objs...)
		b.files = append(b.files, p)
	}
	for _, pt := range k.Patches {
		p := filepath.Join(dir, pt.Path)
		patches, err := readObjects(p)
		if err != nil {
			return nil, err
		}
		for _, patch := range patches {
			if err := b.patch(patch); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
		}
		b.files = append(b.files, p)
	}
	seen := map[string]bool{}
	for _, o := range b.objs {
		id := objID(o)
		if seen[id] {
			return nil, fmt.Errorf("%s: %s appears twice", dir, id)
		}
		seen[id] = true
	}
	return b, nil
}

// patch applies one strategic-merge patch to the object of the same
// apiVersion, kind and name.
func (b *build) patch(p *unstructured.Unstructured) error {
	i := slices.IndexFunc(b.objs, func(o *unstructured.Unstructured) bool {
		return o.GetAPIVersion() == p.GetAPIVersion() && o.GetKind() == p.GetKind() && o.GetName() == p.GetName()
	})
	if i < 0 {
		return fmt.Errorf("patch target %s not found", objID(p))
	}
	if d, ok := p.Object["$patch"]; ok {
		if d != "delete" {
			return fmt.Errorf("patch %s: unsupported $patch %v", objID(p), d)
		}
		b.objs = slices.Delete(b.objs, i, i+1)
		return nil
	}
	typed, err := scheme.Scheme.New(p.GroupVersionKind())
	if err != nil {
		return fmt.Errorf("patch %s: %w", objID(p), err)
	}
	orig, err := json.Marshal(b.objs[i].Object)
	if err != nil {
		return err
	}
	pj, err := json.Marshal(p.Object)
	if err != nil {
		return err
	}
	merged, err := strategicpatch.StrategicMergePatch(orig, pj, typed)
	if err != nil {
		return fmt.Errorf("patch %s: %w", objID(p), err)
	}
	var m map[string]any
	if err := json.Unmarshal(merged, &m); err != nil {
		return err
	}
	b.objs[i] = &unstructured.Unstructured{Object: m}
	return nil
}

// readObjects reads every document of a YAML file. Duplicate keys are an
// error.
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if string(bytes.TrimSpace(j)) == "null" {
			continue // a document of comments only
		}
		var m map[string]any
		if err := json.Unmarshal(j, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("%s: a document without apiVersion, kind or metadata.name", path)
		}
		out = append(out, u)
	}
}

func objID(o *unstructured.Unstructured) string {
	return o.GetAPIVersion() + " " + o.GetKind() + " " + o.GetName()
}

// mustRender renders dir or fails the test.
func mustRender(t testing.TB, dir string) *build {
	t.Helper()
	b, err := render(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustTemplates reads the Secret templates.
func mustTemplates(t testing.TB) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, p := range templates {
		objs, err := readObjects(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, objs...)
	}
	return out
}

// typed converts u into its Go type, refusing fields the type does not
// have (a misspelt field would otherwise be dropped silently).
func typed[T runtime.Object](t testing.TB, u *unstructured.Unstructured) T {
	t.Helper()
	obj, err := scheme.Scheme.New(u.GroupVersionKind())
	if err != nil {
		t.Fatalf("%s: %v", objID(u), err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, obj, true); err != nil {
		t.Fatalf("%s: %v", objID(u), err)
	}
	out, ok := obj.(T)
	if !ok {
		var zero T
		t.Fatalf("%s is a %T, not a %T", objID(u), obj, zero)
	}
	return out
}

// find returns the object of kind and name in b, typed, or fails.
func find[T runtime.Object](t testing.TB, b *build, kind, name string) T {
	t.Helper()
	for _, o := range b.objs {
		if o.GetKind() == kind && o.GetName() == name {
			return typed[T](t, o)
		}
	}
	var zero T
	t.Fatalf("no %s %s in the build", kind, name)
	return zero
}

// has reports whether b has an object of kind and name.
func (b *build) has(kind, name string) bool {
	return slices.ContainsFunc(b.objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind && o.GetName() == name })
}

// forNamespace returns copies of objs for applying into ns in a test
// cluster shared by several tests: namespaced objects get ns,
// ServiceAccount subjects of ClusterRoleBindings that name the hub's
// namespace get ns, and ClusterRoles and ClusterRoleBindings get the
// suffix "-"+ns (their roleRefs too), so that tests do not share them.
func forNamespace(objs []*unstructured.Unstructured, ns string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		c := o.DeepCopy()
		switch c.GetKind() {
		case "ClusterRole":
			c.SetName(c.GetName() + "-" + ns)
		case "ClusterRoleBinding":
			c.SetName(c.GetName() + "-" + ns)
			if ref, ok := c.Object["roleRef"].(map[string]any); ok && ref["kind"] == "ClusterRole" {
				ref["name"] = ref["name"].(string) + "-" + ns
			}
			subjects, _ := c.Object["subjects"].([]any)
			for _, s := range subjects {
				if s, ok := s.(map[string]any); ok && s["kind"] == "ServiceAccount" && s["namespace"] == hubNamespace {
					s["namespace"] = ns
				}
			}
		case "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			// Cluster-wide and the same in every test.
		default:
			c.SetNamespace(ns)
		}
		out = append(out, c)
	}
	return out
}

// clusterScoped are the cluster-scoped kinds the manifests hold; every
// other kind in them must be namespaced (checked against the API server's
// discovery by the apply test).
var clusterScoped = []string{"ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}

// relPath returns p, relative to the package directory, with slashes.
func relPath(p string) string { return filepath.ToSlash(filepath.Clean(p)) }
