package vault_test

import (
	"context"
	"errors"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/vault"
)

// startKube starts a kube-apiserver for this test only (the other tests
// of the package do not need one).
func startKube(t *testing.T) *testenv.Kube {
	t.Helper()
	if testenv.AssetsDir() == "" {
		testenv.Missing(t, "kube-apiserver/etcd (envtest)", testenv.KubeInstall)
	}
	k, err := testenv.StartKube()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Stop() })
	return k
}

// The hub logs in with Kubernetes auth: its service account token,
// reviewed by envtest's real API server (TokenReview) on Vault's behalf,
// gives it a Vault token with the hub's policy, which provisions users.
// Another service account of the namespace is refused.
func TestKubernetesAuth(t *testing.T) {
	f := newFixture(t, nil, vault.ProvisionerOptions{})
	k := startKube(t)
	ctx := t.Context()
	ns := k.Namespace(t)
	for _, sa := range []string{"vault-reviewer", "hub", "intruder"} {
		_, err := k.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Vault reviews tokens with the reviewer's token; TokenReview needs
	// system:auth-delegator (a bootstrap role of the API server itself).
	_, err := k.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-reviewer-" + ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "vault-reviewer", Namespace: ns}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	saToken := func(name string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			exp := int64(3600)
			tr, err := k.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
				&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
			if err != nil {
				return "", err
			}
			return tr.Status.Token, nil
		}
	}
	reviewer, err := saToken("vault-reviewer")(ctx)
	if err != nil {
		t.Fatalf("TokenRequest: %v", err)
	}

	mount := user("kubernetes")
	if err := f.admin.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.Logical().WriteWithContext(ctx, "auth/"+mount+"/config", map[string]any{
		"kubernetes_host":      k.Config.Host,
		"kubernetes_ca_cert":   string(k.Config.CAData),
		"token_reviewer_jwt":   reviewer,
		"disable_local_ca_jwt": true,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/jupyterhub", map[string]any{
		"bound_service_account_names":      []string{"hub"},
		"bound_service_account_namespaces": []string{ns},
		"token_policies":                   []string{f.hubPolicy},
		"token_ttl":                        "1h",
	}); err != nil {
		t.Fatal(err)
	}

	hub := newClient(t, f.v, "")
	cred, err := vault.NewCredential(hub, &vault.KubernetesAuth{Role: "jupyterhub", MountPath: mount, ServiceAccountToken: saToken("hub")}, vault.CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cred.Login(ctx); err != nil {
		t.Fatalf("Kubernetes login of the hub: %v", err)
	}
	if st := cred.Status(); !st.LoggedIn || !st.Renewable || st.Expires.IsZero() {
		t.Fatalf("status after login = %+v", st)
	}
	prov, err := vault.NewProvisioner(hub, vault.ProvisionerOptions{TokenRole: f.tokenRole})
	if err != nil {
		t.Fatal(err)
	}
	g, err := prov.Provision(ctx, user("kube"), "")
	if err != nil {
		t.Fatalf("Provision with the Kubernetes-auth token: %v", err)
	}
	if !valid(t, f, g.Token) {
		t.Fatal("provisioned token is not valid")
	}

	intruder := newClient(t, f.v, "")
	_, err = (&vault.KubernetesAuth{Role: "jupyterhub", MountPath: mount, ServiceAccountToken: saToken("intruder")}).Login(ctx, intruder)
	if !errors.Is(err, secrets.ErrPermissionDenied) {
		t.Fatalf("login of another service account: %v, want permission denied", err)
	}
}
