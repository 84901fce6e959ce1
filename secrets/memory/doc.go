// Package memory implements secrets.SecretStore in process memory.
//
// # Use
//
// It serves the embedded default hub (go run ./examples/hub: no Vault, no
// cluster) and tests of code that takes a secrets.SecretStore. Its
// contents are lost when the process ends; nothing is written to disk.
// One Store is one user's secrets: a hub keeps one per user.
//
// # Semantics
//
// Exactly those written on secrets.SecretStore, checked by the
// conformance suite in secrets/secretstest. Values are copied in and out,
// so a caller can never change a stored secret through a map it holds.
package memory
