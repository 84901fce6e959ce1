package hubconfig

import (
	"errors"
	"strings"
	"testing"
)

// TestLoadErrors: every value Load cannot use is an error naming its key
// path (and its line).
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		key  string // the first *KeyError's Key; "*": any
		msg  string // a substring of the error
	}{
		{"string wanted, list given", "singleuser:\n  storage:\n    capacity: [10Gi]\n",
			"singleuser.storage.capacity", "singleuser.storage.capacity: want string, got list (line 3)"},
		{"unquoted version tag", "singleuser:\n  image:\n    tag: 1.10\n",
			"singleuser.image.tag", "singleuser.image.tag: want string, got number (quote the value"},
		{"integer wanted", "hub:\n  concurrentSpawnLimit: many\n",
			"hub.concurrentSpawnLimit", "hub.concurrentSpawnLimit: want integer, got string"},
		{"fractional integer", "singleuser:\n  uid: 1000.5\n", "singleuser.uid", "want an integer"},
		{"boolean wanted", "cull:\n  enabled: \"yes\"\n", "cull.enabled", "cull.enabled: want boolean, got string"},
		{"negative timeout", "cull:\n  timeout: -5\n", "cull.timeout", "cull.timeout: must not be negative"},
		{"env list of names", "singleuser:\n  extraEnv: [FOO]\n", "singleuser.extraEnv[0]", "want mapping"},
		{"env with unknown field", "singleuser:\n  extraEnv:\n    A:\n      valueFron: {}\n", "singleuser.extraEnv.A", "valueFron"},
		{"env list entry without name", "hub:\n  extraEnv:\n    - value: x\n", "hub.extraEnv[0]", "needs a name"},
		{"hub env of the wrong kind", "hub:\n  extraEnv: 5\n", "hub.extraEnv", "hub.extraEnv: want mapping or list, got integer"},
		{"label value", "singleuser:\n  extraLabels:\n    team: 1\n", "singleuser.extraLabels.team", "want string, got integer"},
		{"dotted label key", "singleuser:\n  extraAnnotations:\n    example.com/team: [a]\n",
			`singleuser.extraAnnotations["example.com/team"]`, "want string, got list"},
		{"cpu", "singleuser:\n  cpu:\n    limit: [2]\n", "singleuser.cpu.limit", "want number or string, got list"},
		{"memory", "singleuser:\n  memory:\n    limit: lots\n", "singleuser.memory.limit", "byte size"},
		{"cmd", "singleuser:\n  cmd: {a: b}\n", "singleuser.cmd", "want string or list of strings, got mapping"},
		{"tolerations", "singleuser:\n  extraTolerations: {key: x}\n", "singleuser.extraTolerations", "want list, got mapping"},
		{"toleration field", "singleuser:\n  extraTolerations:\n    - keyy: x\n", "singleuser.extraTolerations[0]", "keyy"},
		{"pull policy", "singleuser:\n  image:\n    pullPolicy: Sometimes\n", "singleuser.image.pullPolicy", "want IfNotPresent, Always or Never"},
		{"storage type", "singleuser:\n  storage:\n    type: nfs\n", "singleuser.storage.type", `want dynamic, static or none, got "nfs"`},
		{"static storage without claim", "singleuser:\n  storage:\n    type: static\n", "singleuser.storage.static.pvcName", "must name the claim"},
		{"extra volume without name", "singleuser:\n  storage:\n    extraVolumes:\n      - emptyDir: {}\n", "singleuser.storage.extraVolumes[0]", "needs a name"},
		{"node purpose", "scheduling:\n  userPods:\n    nodeAffinity:\n      matchNodePurpose: always\n",
			"scheduling.userPods.nodeAffinity.matchNodePurpose", "want prefer, require or ignore"},
		{"admin users as a string", "hub:\n  config:\n    Authenticator:\n      admin_users: alice\n",
			"hub.config.Authenticator.admin_users", "want list of strings, got string"},
		{"client id", "hub:\n  config:\n    JupyterHub:\n      authenticator_class: generic-oauth\n    GenericOAuthenticator:\n      client_id: 5\n",
			"hub.config.GenericOAuthenticator.client_id", "want string, got integer"},
		{"lower-case section", "hub:\n  config:\n    loadRoles: {}\n", "hub.config.loadRoles", "Configurable class names"},
		{"section not a mapping", "hub:\n  config:\n    Authenticator: [a]\n", "hub.config.Authenticator", "want mapping, got list"},
		{"unknown authenticator", "hub:\n  config:\n    JupyterHub:\n      authenticator_class: github\n",
			"hub.config.JupyterHub.authenticator_class", `"github" is not an authenticator hubkit has`},
		{"no authenticator", "hub:\n  config: null\n", "hub.config.JupyterHub.authenticator_class", "is not set, and JupyterHub's default (PAM"},
		{"legacy authenticator", "auth:\n  type: github\n", "auth.type", `"github" is not an authenticator hubkit has`},
		{"keycloak without a realm", "hub:\n  config:\n    JupyterHub:\n      authenticator_class: keycloak\n",
			"hub.config.JupyterHub.authenticator_class", "keycloak needs a Keycloak realm"},
		{"groups key outside the claims", "hub:\n  config:\n    JupyterHub:\n      authenticator_class: generic-oauth\n    GenericOAuthenticator:\n      auth_state_groups_key: groups\n",
			"hub.config.GenericOAuthenticator.auth_state_groups_key", "oauth_user.<claim>"},
		{"header and another login", "hub:\n  config:\n    JupyterHub:\n      authenticator_class: generic-oauth\nhubkit:\n  auth:\n    header:\n      audience: x\n",
			"hubkit.auth.header", "keep one"},
		{"base URL", "hub:\n  baseUrl: [a]\n", "hub.baseUrl", "want string, got list"},
		{"mysql", "hub:\n  db:\n    type: mysql\n", "hub.db.type", "MySQL is not supported"},
		{"unknown db type", "hub:\n  db:\n    type: oracle\n", "hub.db.type", `got "oracle"`},
		{"other db URL", "hub:\n  db:\n    type: other\n    url: mysql://db/hub\n", "hub.db.url", "sqlite:///"},
		{"unknown scope", "hub:\n  services:\n    s:\n      apiToken: x\n  loadRoles:\n    r:\n      scopes: [read:everything]\n      services: [s]\n",
			"hub.loadRoles.r.scopes", "unknown scope"},
		{"role for an unknown service", "hub:\n  loadRoles:\n    r:\n      scopes: [read:users]\n      services: [nobody]\n",
			"hub.loadRoles.r.services", `no service "nobody"`},
		{"profile list key", "singleuser:\n  profileList:\n    - display_nam: A\n", "singleuser.profileList", "invalid profile list"},
		{"profile override", "singleuser:\n  profileList:\n    - display_name: A\n      kubespawner_override:\n        cpu_limt: 1\n",
			"singleuser.profileList", `unknown option "cpu_limt"`},
		{"profile override type", "singleuser:\n  profileList:\n    - display_name: A\n      kubespawner_override:\n        mem_limit: [1]\n",
			"singleuser.profileList", `option "mem_limit"`},
		{"hubkit spawner", "hubkit:\n  spawner: docker\n", "hubkit.spawner", `want "local" or "kube", got "docker"`},
		{"hubkit listen", "hubkit:\n  listen: 8000\n", "hubkit.listen", "want string, got integer"},
		{"hubkit typo", "hubkit:\n  spawnr: kube\n", "hubkit.spawnr", "unknown key: did you mean spawner?"},
		{"hubkit nested typo", "hubkit:\n  kube:\n    namespce: x\n", "hubkit.kube.namespce", "did you mean namespace?"},
		{"hubkit section kind", "hubkit: [kube]\n", "hubkit", "want mapping, got list"},
		{"kube options", "hubkit:\n  kube:\n    options:\n      cpu_limt: 2\n", "hubkit.kube.options", `unknown option "cpu_limt"`},
		{"kube option type", "hubkit:\n  kube:\n    options:\n      uid: root\n", "hubkit.kube.options", `option "uid"`},
		{"duration", "hubkit:\n  vault:\n    ttl: soon\n", "hubkit.vault.ttl", "want seconds or a duration"},
		{"vault revoke", "hubkit:\n  vault:\n    revoke: sometimes\n", "hubkit.vault.revoke", `got "sometimes"`},
		{"spark port", "hubkit:\n  spark:\n    uiPort: 70000\n", "hubkit.spark.uiPort", "want a port number"},
		{"header groups", "hubkit:\n  auth:\n    header:\n      groupsClaims: groups\n", "hubkit.auth.header.groupsClaims", "want list of strings"},

		{"malformed YAML", "hub: [\n", "", "malformed YAML"},
		{"top level list", "- a\n", "", "want a mapping at the top level, got list"},
		{"top level string", "hello\n", "", "want a mapping at the top level, got string"},
		{"duplicate key", "hub: {}\nhub: {}\n", "hub", "duplicate key"},
		{"two documents", "hub: {}\n---\nproxy: {}\n", "", "a second YAML document"},
		{"not finite", "singleuser:\n  cpu:\n    limit: .inf\n", "singleuser.cpu.limit", "not a finite number"},
		{"huge integer", "hub:\n  activeServerLimit: 99999999999999999999999\n", "hub.activeServerLimit", "want an integer between"},
		{"merge of a list", "a: &a [1]\nhub:\n  <<: *a\n", "hub", "a merge key (<<) must name a mapping"},
		{"alias bomb", aliasBomb(), "*", "more than"},
		{"nesting", strings.Repeat("[", 200) + strings.Repeat("]", 200), "*", "nested deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, warns, err := Load(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("Load succeeded (warnings %v)", warns)
			}
			if cfg != nil || warns != nil {
				t.Errorf("Load returned a configuration with its error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			var ke *KeyError
			switch {
			case errors.As(err, &ke):
				if ke.Key != tt.key && tt.key != "*" {
					t.Errorf("KeyError.Key = %q, want %q (%v)", ke.Key, tt.key, err)
				}
			case tt.key != "":
				t.Errorf("not a *KeyError: %v", err)
			}
		})
	}
}

// aliasBomb is the billion-laughs document: ten levels of ten aliases.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		prev := "*a" + string(rune('0'+i-1))
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(prev)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestLoadReportsAllErrors(t *testing.T) {
	doc := "hub:\n  baseUrl: [a]\ncull:\n  every: -1\nsingleuser:\n  uid: root\n"
	_, _, err := Load(strings.NewReader(doc))
	if err == nil {
		t.Fatal("Load succeeded")
	}
	var keys []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		keys = append(keys, e.(*KeyError).Key)
	}
	want := []string{"hub.baseUrl", "cull.every", "singleuser.uid"} // by line
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("error keys = %q, want %q", keys, want)
	}
}

func TestLoadFileNamesTheFile(t *testing.T) {
	_, _, err := LoadFile("testdata/no-such-file.yaml")
	if err == nil || !strings.Contains(err.Error(), "no-such-file.yaml") {
		t.Errorf("LoadFile of a missing file: %v", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("an I/O error wraps ErrInvalid: %v", err)
	}
}
