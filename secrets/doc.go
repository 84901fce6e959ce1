// Package secrets defines SecretStore, the per-user secret store that
// notebooks and the services around them use: put a named secret with
// several fields, get it whole or one field, list the names, delete a
// secret or only some of its fields.
//
// This package holds the interface, its errors and its input rules, and
// imports no backend. Implementations live one level down:
//
//   - secrets/vault: HashiCorp Vault's KV v2 engine under a per-user
//     prefix, with per-user policies and tokens provisioned by the hub at
//     spawn, and the hub's own Vault credential kept alive by Run.
//   - secrets/kubesecret: one Kubernetes Secret per secret, for platforms
//     without Vault.
//   - secrets/memory: in process memory, for the embedded default hub and
//     for tests.
//
// Every implementation passes the conformance suite in
// secrets/secretstest.
//
// # Semantics
//
// The operations are those of the buun-stack deployment's Vault-backed
// SecretStore (a Python class used from notebooks), with each choice
// written down on [SecretStore]: Put replaces the whole secret (no merge),
// a secret has at least one field, deleting the last field deletes the
// secret, Delete of a missing secret is [ErrNotFound], and a missing field
// is [ErrFieldNotFound]. [GetField] reads one field.
//
// # Names, fields and values
//
// A secret name is a '/'-separated path of segments made of ASCII letters,
// digits, '.', '_' and '-', with no empty, "." or ".." segment, at most 256
// bytes ([ValidateName]). A name can therefore never leave the store's
// prefix, whatever the backend. Field names are any non-empty UTF-8 string
// up to 256 bytes ([ValidateField]); values are any UTF-8 string, empty
// included ([ValidateValue]). Binary data is the caller's to encode.
// Invalid input is an [ErrInvalid] error returned before any I/O.
//
// # Errors
//
// Backends translate their errors at the boundary, so callers test with
// errors.Is against this package's sentinels only: [ErrNotFound],
// [ErrFieldNotFound], [ErrInvalid], [ErrPermissionDenied] (a user's
// credential outside its own secrets, or an expired credential) and
// [ErrUnavailable] (unreachable, sealed, overloaded). An implementation may
// add finer sentinels that also match these (secrets/vault's ErrSealed
// matches ErrUnavailable).
package secrets
