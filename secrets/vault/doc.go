// Package vault implements secrets.SecretStore on HashiCorp Vault's KV
// version 2 engine, provisions per-user Vault policies and tokens at
// spawn, and keeps the hub's own Vault credential alive. It is built on
// github.com/hashicorp/vault/api.
//
// # The two sides
//
// The hub provisions; the user's server uses. At each spawn the hub's
// [Provisioner] writes the user's policy (jupyter-user-{username}: create,
// read, update, delete and list on secret/jupyter/users/{username}/*, and
// nothing else), creates a renewable orphan token with that policy (TTL
// 24 h, max TTL 168 h by default) and returns a [Grant] whose variables
// go into the server's environment: VAULT_ADDR, NOTEBOOK_VAULT_TOKEN (a
// credential: from a Kubernetes Secret by valueFrom in cluster mode),
// NOTEBOOK_VAULT_MOUNT and NOTEBOOK_VAULT_PREFIX. A Go service in the
// server reads them with [FromEnv], renews its token with a [Credential]
// and [TokenAuth], and opens its [Store]. These are the names and paths of
// the buun-stack deployment, so its notebooks' Python SecretStore finds
// the same secrets.
//
// # Stores
//
// A [Store] is confined to one prefix of one KV v2 mount: secret names are
// validated by package secrets (no "..", no empty segments, a small
// character set), so a store cannot address anything outside its prefix,
// and on a user's token Vault's policy refuses it anyway. Put writes a
// new version and keeps the earlier ones ([Store.Metadata],
// [Store.GetVersion]); DeleteFields writes a new version with
// check-and-set, retrying when a concurrent writer got in first; Delete
// removes the secret with all its versions and metadata, as buun-stack's
// SecretStore does.
//
// # Usernames
//
// JupyterHub usernames may be e-mail addresses, upper case, unicode, or
// contain '*' and '+', which are wildcards in Vault policy paths (a user
// named "+" would otherwise get every user's secrets), and Vault lower-cases
// policy names ("Alice" and "alice" would share one). [SafeName] keeps
// plain lower-case names as they are and turns any other name into a
// readable stem plus 128 bits of its SHA-256, so that distinct users always
// get distinct prefixes and policies.
//
// # Revocation
//
// The hub records the accessors of the tokens it issued (in KV, under
// ProvisionerOptions.StatePath, outside every user's prefix), so that it
// can revoke a server's earlier tokens at its next spawn
// ([RevokeOnSpawn], the default), also at stop ([RevokeOnStop], through
// [Provisioner.Release]), or never. [Provisioner.RevokeUser] revokes all of
// a user's tokens.
//
// # The hub's credential
//
// The hub needs the policy that [Provisioner.HubPolicyHCL] returns — write
// policies named jupyter-user-*, create tokens with the token role, revoke
// by accessor, keep its records — and no sudo and no access to users'
// secrets. [Provisioner.Setup], run once with an administrator's token,
// writes that policy and the token role (orphan, renewable, allowed
// policies jupyter-user-*, explicit max TTL). The recommended login is
// [KubernetesAuth]: the hub's service account token exchanged for a Vault
// token through a role of Vault's Kubernetes auth method bound to the
// hub's service account, so no long-lived Vault token sits in a Secret:
//
//	vault auth enable kubernetes
//	vault write auth/kubernetes/config kubernetes_host=https://kubernetes.default.svc
//	vault write auth/kubernetes/role/jupyterhub \
//	    bound_service_account_names=hub bound_service_account_namespaces=jupyter \
//	    token_policies=jupyterhub token_ttl=1h
//
// [TokenAuth] is the fallback: a renewable token given by an operator,
// optionally re-read from a file. Either way, a [Credential]'s Run renews
// the token at about 2/3 of each lease (with jitter), logs in again when a
// renewal fails (a restarted Vault, a revoked token, the max TTL), and
// retries failed logins with exponential backoff, so it never spins while
// Vault is down.
//
// # Errors
//
// Errors from Vault are *[Error] values that match, with errors.Is, the
// sentinels of package secrets — ErrNotFound, ErrPermissionDenied,
// ErrUnavailable — and this package's finer ones: [ErrUnreachable] (no
// answer) and [ErrSealed] (both also ErrUnavailable), [ErrTokenInvalid]
// (the token expired or was revoked; also ErrPermissionDenied: a store
// checks its token when Vault refuses a request, so a user learns to
// restart the server rather than to suspect a policy) and [ErrRejected].
//
// # Clients
//
// [NewClient] makes an api.Client that ignores VAULT_TOKEN, VAULT_NAMESPACE,
// VAULT_HEADERS and the VAULT_* TLS variables, and takes its *http.Client
// from the caller (or builds its own transport, never the default one).
// Stores, provisioners and credentials share one client safely: a
// Credential changes its token while the others use it.
//
// # Tests
//
// The tests run against a real Vault server in dev mode on loopback
// (HashiCorp Vault v1.21.4, built from the Go module proxy by
// hack/vault.sh; BUSL-1.1, a test dependency only), and against envtest's
// kube-apiserver as the token reviewer for Kubernetes auth.
package vault
