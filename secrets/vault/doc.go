// Package vault implements secrets.SecretStore on HashiCorp Vault's KV v2
// engine, with per-user policies and tokens provisioned at spawn.
//
// # Status
//
// This package is being built; its API is not settled yet.
package vault
