package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/secrets/vault"
)

// kubeEnv is the package's envtest API server (see TestMain).
var kubeEnv *testenv.Kube

// writeKubeconfig writes a kubeconfig for rc and returns its path.
func writeKubeconfig(t *testing.T, rc *rest.Config) string {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: rc.CertData, ClientKeyData: rc.KeyData, Token: rc.BearerToken}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	cfg.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// clusterValues is a values.yaml for the cluster mode: spawner/kube in ns
// with two profiles, Vault tokens for servers, and an admin service.
func clusterValues(ns, addr, vaultAddr, tokenFile, tokenRole, storePath string) string {
	return fmt.Sprintf(`
singleuser:
  image:
    name: quay.io/jupyter/minimal-notebook
    tag: "2024-07-29"
  storage:
    capacity: 1Gi
  cloudMetadata:
    blockWithIptables: false
  networkPolicy:
    enabled: false
  profileList:
    - display_name: Small
      slug: small
      default: true
    - display_name: Big
      slug: big
      kubespawner_override:
        cpu_limit: 4
        mem_limit: 8G
hub:
  services:
    tester:
      apiToken: %s
      admin: true
  config:
    DummyAuthenticator:
      password: test-password
cull:
  enabled: false
hubkit:
  spawner: kube
  listen: %s
  hubAPIURL: http://hubkit-api.example:8081/hub/api
  store:
    path: %s
  kube:
    namespace: %s
  vault:
    address: %s
    tokenFile: %s
    tokenRole: %s
    revoke: stop
`, testServiceToken, addr, storePath, ns, vaultAddr, tokenFile, tokenRole)
}

// TestClusterMode runs the example hub on a z2jh values.yaml in cluster
// mode against a real API server (with a simulated kubelet) and a real
// Vault: a start with a profile becomes a pod with the profile's
// resources and a Vault token for the user in its environment (through a
// Secret, never in the pod spec); a restarted hub re-adopts the running
// pod without recreating it; a stop deletes the pod, keeps the volume and
// revokes the Vault token.
func TestClusterMode(t *testing.T) {
	k := testenv.NeedKube(t, kubeEnv)
	ns := k.Namespace(t)
	t.Setenv("KUBECONFIG", writeKubeconfig(t, k.Config))
	kubelet := &testenv.Kubelet{Client: k.Client, Namespace: ns}
	kubelet.Start(t)

	v := testenv.StartVault(t)
	admin, err := vault.NewClient(vault.ClientOptions{Address: v.Addr, Token: v.RootToken})
	if err != nil {
		t.Fatal(err)
	}
	popts := vault.ProvisionerOptions{TokenRole: "jupyter-users"}
	setup, err := vault.NewProvisioner(admin, popts)
	if err != nil {
		t.Fatal(err)
	}
	if err := setup.Setup(t.Context(), admin, "hubkit-hub"); err != nil {
		t.Fatalf("vault setup: %v", err)
	}
	sec, err := admin.Auth().Token().CreateWithContext(t.Context(), &api.TokenCreateRequest{
		Policies: []string{"hubkit-hub"}, TTL: "1h", NoParent: true, DisplayName: "hub",
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "vault-token")
	if err := os.WriteFile(tokenFile, []byte(sec.Auth.ClientToken), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	values := clusterValues(ns, addr, v.Addr, tokenFile, "jupyter-users", filepath.Join(dir, "hub.sqlite"))

	r := startRun(t, values)
	r.waitHealthy(addr)
	r.api("POST", "/hub/api/users/alice", testServiceToken, nil)
	if code, b := r.api("POST", "/hub/api/users/alice/server", testServiceToken, map[string]string{"profile": "big"}); code != 201 && code != 202 {
		t.Fatalf("start: %d %s\n%s", code, b, r.log.String())
	}
	r.waitFor("alice's pod", func() bool { return r.serverReady("alice") })

	ctx := context.Background()
	pod, err := k.Client.CoreV1().Pods(ns).Get(ctx, "jupyter-alice", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nb := pod.Spec.Containers[0]
	if got := nb.Resources.Limits.Cpu().String(); got != "4" {
		t.Errorf("cpu limit %s, want the big profile's 4", got)
	}
	var vaultEnv *corev1.EnvVar
	for i, e := range nb.Env {
		if e.Value != "" && (strings.HasPrefix(e.Value, "hvs.") || strings.HasPrefix(e.Value, "s.")) {
			t.Errorf("a Vault token in plain text in the pod spec: %s", e.Name)
		}
		if e.Name == "NOTEBOOK_VAULT_TOKEN" {
			vaultEnv = &nb.Env[i]
		}
		if e.Name == "JUPYTERHUB_API_URL" && e.Value != "http://hubkit-api.example:8081/hub/api" {
			t.Errorf("JUPYTERHUB_API_URL %q", e.Value)
		}
	}
	if vaultEnv == nil || vaultEnv.ValueFrom == nil || vaultEnv.ValueFrom.SecretKeyRef == nil {
		t.Fatalf("no NOTEBOOK_VAULT_TOKEN from a Secret in %v", nb.Env)
	}
	secret, err := k.Client.CoreV1().Secrets(ns).Get(ctx, vaultEnv.ValueFrom.SecretKeyRef.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	userToken := string(secret.Data[vaultEnv.ValueFrom.SecretKeyRef.Key])
	userClient, _ := vault.NewClient(vault.ClientOptions{Address: v.Addr, Token: userToken})
	self, err := userClient.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		t.Fatalf("the server's Vault token does not work: %v", err)
	}
	if pols, _ := self.TokenPolicies(); !strings.Contains(strings.Join(pols, ","), "alice") {
		t.Errorf("the server's Vault token has policies %v, want alice's", pols)
	}
	var model struct {
		Servers map[string]struct {
			UserOptions map[string]any `json:"user_options"`
		}
	}
	_, b := r.api("GET", "/hub/api/users/alice", testServiceToken, nil)
	_ = json.Unmarshal(b, &model)
	if model.Servers[""].UserOptions["profile"] != "big" {
		t.Errorf("user_options %v", model.Servers[""].UserOptions)
	}

	// A restarted hub finds the pod and routes to it again.
	if code := r.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	r = startRun(t, values)
	r.waitHealthy(addr)
	if !r.serverReady("alice") {
		t.Fatalf("not re-adopted:\n%s", r.log.String())
	}
	again, err := k.Client.CoreV1().Pods(ns).Get(ctx, "jupyter-alice", metav1.GetOptions{})
	if err != nil || again.UID != pod.UID {
		t.Fatalf("the pod was replaced on restart (%v)", err)
	}

	// A stop deletes the pod, keeps the volume, revokes the Vault token.
	if code, b := r.api("DELETE", "/hub/api/users/alice/server", testServiceToken, nil); code != 204 && code != 202 {
		t.Fatalf("stop: %d %s", code, b)
	}
	r.waitFor("the stop", func() bool { return !r.serverReady("alice") })
	r.waitFor("the pod to go", func() bool {
		_, err := k.Client.CoreV1().Pods(ns).Get(ctx, "jupyter-alice", metav1.GetOptions{})
		return err != nil
	})
	pvcs, err := k.Client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pvcs.Items) != 1 {
		t.Fatalf("volumes after stop: %v %v", pvcs, err)
	}
	r.waitFor("the Vault token's revocation", func() bool {
		_, err := userClient.Auth().Token().LookupSelfWithContext(ctx)
		return err != nil
	})
}

// TestClusterVaultDown: with Vault gone, a start fails with a clear
// reason, or, with hubkit.vault.optional, starts without the token and
// says so in its progress.
func TestClusterVaultDown(t *testing.T) {
	k := testenv.NeedKube(t, kubeEnv)
	t.Setenv("KUBECONFIG", writeKubeconfig(t, k.Config))
	for _, optional := range []bool{false, true} {
		t.Run(fmt.Sprintf("optional=%v", optional), func(t *testing.T) {
			ns := k.Namespace(t)
			kubelet := &testenv.Kubelet{Client: k.Client, Namespace: ns}
			kubelet.Start(t)
			v := testenv.StartVault(t)
			admin, err := vault.NewClient(vault.ClientOptions{Address: v.Addr, Token: v.RootToken})
			if err != nil {
				t.Fatal(err)
			}
			setup, _ := vault.NewProvisioner(admin, vault.ProvisionerOptions{TokenRole: "jupyter-users"})
			if err := setup.Setup(t.Context(), admin, "hubkit-hub"); err != nil {
				t.Fatal(err)
			}
			sec, err := admin.Auth().Token().CreateWithContext(t.Context(), &api.TokenCreateRequest{Policies: []string{"hubkit-hub"}, TTL: "1h", NoParent: true})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			tokenFile := filepath.Join(dir, "vault-token")
			_ = os.WriteFile(tokenFile, []byte(sec.Auth.ClientToken), 0o600)
			addr := freeAddr(t)
			values := clusterValues(ns, addr, v.Addr, tokenFile, "jupyter-users", filepath.Join(dir, "hub.sqlite"))
			if optional {
				values += "    optional: true\n"
			}
			r := startRun(t, values)
			r.waitHealthy(addr)
			v.Stop()

			r.api("POST", "/hub/api/users/alice", testServiceToken, nil)
			code, body := r.api("POST", "/hub/api/users/alice/server", testServiceToken, nil)
			if !optional {
				if code != 500 || !strings.Contains(string(body), "credentials") {
					t.Fatalf("start with Vault down: %d %s, want 500 naming the credentials", code, body)
				}
				if _, err := k.Client.CoreV1().Pods(ns).Get(t.Context(), "jupyter-alice", metav1.GetOptions{}); err == nil {
					t.Fatal("a pod was created although the start failed")
				}
				return
			}
			if code != 201 && code != 202 {
				t.Fatalf("optional start with Vault down: %d %s", code, body)
			}
			r.waitFor("alice's server", func() bool { return r.serverReady("alice") })
			pod, err := k.Client.CoreV1().Pods(ns).Get(t.Context(), "jupyter-alice", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range pod.Spec.Containers[0].Env {
				if e.Name == "NOTEBOOK_VAULT_TOKEN" {
					t.Fatalf("a Vault token variable although Vault was down: %+v", e)
				}
			}
			if !strings.Contains(r.log.String(), "starting a server without its credentials") {
				t.Errorf("the hub did not say it started without credentials:\n%s", r.log.String())
			}
		})
	}
}
