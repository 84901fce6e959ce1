// Package secrets defines SecretStore, the per-user secret store that
// notebooks use: put a named secret with fields, get it or one field, list
// names, delete a secret or some of its fields. secrets/vault implements
// it on Vault's KV v2 engine.
//
// # Status
//
// This package is being built; its API is not settled yet.
package secrets
