// Package kubesecret implements secrets.SecretStore on Kubernetes
// Secrets, for platforms without Vault.
//
// # Storage
//
// Each secret of a user is one Secret object in Options.Namespace, named
// ObjectPrefix + a hash of the user and the secret's name (usernames and
// secret names are not valid object names in general), of type
// "hubkit.io/user-secret", labelled app.kubernetes.io/managed-by=hubkit
// and hubkit.io/secret-owner=<hash of the user>, and annotated with the
// user and the secret name as given. The fields are one JSON object under
// the data key "fields.json", because field names may be any UTF-8 and
// Secret data keys may not. A Secret holds at most 1 MiB; a larger Put is
// an ErrInvalid error.
//
// # Isolation
//
// A Store only ever addresses its own user's objects, and a Get checks the
// annotations before returning anything. But the boundary is the client's
// credential: anyone who can read Secrets in the namespace reads every
// user's secrets. Use it from the hub (or a trusted service) on behalf of
// users, or give each user a namespace of their own with RBAC; where users
// must hold their own credential, prefer secrets/vault, whose per-user
// tokens Vault itself confines.
//
// # Concurrency
//
// Put and DeleteFields are read-modify-write with Kubernetes' optimistic
// concurrency (resourceVersion): a write that loses a race is retried, so
// concurrent DeleteFields calls do not lose each other's changes.
//
// # Errors
//
// API errors are translated at the boundary into *Error values matching
// the sentinels of package secrets: NotFound is ErrNotFound, Forbidden
// and Unauthorized are ErrPermissionDenied, Invalid and too large are
// ErrInvalid, and timeouts, throttling, 5xx and no answer are
// ErrUnavailable.
package kubesecret
