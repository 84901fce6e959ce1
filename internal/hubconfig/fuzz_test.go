package hubconfig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: Load never panics; it either fails with an error wrapping
// ErrInvalid or returns a configuration that Validate accepts or rejects
// with such an error. The seeds include the fixtures, which are large:
// run with -fuzzminimizetime=2s, or the fuzzer spends its first minutes
// minimising them.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "{}", "- a", "hub: [", "a: &a [*a]", "hubkit: {spawner: kube, kube: {options: {cpu_limit: null}}}",
		"singleuser: {extraEnv: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}]}",
		"singleuser: {storage: {type: static, static: {pvcName: x}}, profileList: {a: {display_name: A}}}",
		"auth: {type: custom, custom: {className: x.GenericOAuthenticator, config: {client_id: 1}}}",
		"hub: {config: {JupyterHub: {authenticator_class: keycloak}}}",
		"<<: {hub: {baseUrl: x}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, warns, err := Load(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load error does not wrap ErrInvalid: %v", err)
			}
			if cfg != nil || warns != nil {
				t.Fatal("Load returned a configuration with an error")
			}
			return
		}
		if cfg == nil {
			t.Fatal("Load returned neither a configuration nor an error")
		}
		for _, w := range warns {
			if w.Key == "" || w.Message == "" {
				t.Fatalf("empty warning %q", w)
			}
		}
		if err := cfg.Validate(); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Validate error does not wrap ErrInvalid: %v", err)
		}
	})
}
