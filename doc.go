// Package hubkit is a set of JupyterHub building blocks in Go: the pieces
// that JupyterHub, KubeSpawner, OAuthenticator and jupyterhub-idle-culler
// provide in Python, as importable packages.
//
// # The blocks
//
//   - spawner: start, stop and watch single-user servers. spawner/kube runs
//     them as Kubernetes pods with KubeSpawner's names, labels and options;
//     spawner/local runs them as local processes.
//   - profiles: z2jh profileList, spawn form, and override resolution.
//   - authenticator: logins, identities, allow/admin rules, sessions;
//     authenticator/oidc for OpenID Connect and Keycloak.
//   - culler: jupyterhub-idle-culler as a library.
//   - secrets: per-user secrets for notebooks; secrets/vault for Vault.
//   - sparksvc: the Spark driver Service of a user's pod.
//
// Interface packages import no backend library; each implementation lives
// one level down and passes its interface's conformance suite.
//
// # How they fit together
//
// A hub authenticates a person (authenticator), resolves the chosen
// profile to an override (profiles), asks a Spawner to start the server
// with the hub's environment and the server's API token, provisions the
// user's secrets (secrets), proxies the user's traffic to the returned URL
// and lets a culler stop servers that sit idle.
package hubkit
