// Package secretstest is the conformance suite for secrets.SecretStore.
// Every implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		secretstest.Run(t, func(t *testing.T) secrets.SecretStore {
//			return memory.New()
//		})
//	}
//
// # What it checks
//
// The semantics written on secrets.SecretStore: Put replaces, Get returns a
// copy, GetField, List (sorted, nested names, empty store), Delete and
// DeleteFields with their not-found errors and the last-field rule, name
// and field validation on every method, unicode and binary-looking fields
// and values, concurrent writers, a cancelled context, and two stores not
// seeing each other's secrets.
//
// # The factory
//
// newStore is called once per subtest (twice in the separation test) and
// must return an empty store that no other call's store shares secrets
// with: a fresh instance, a fresh Vault prefix, a fresh namespace or user.
package secretstest
