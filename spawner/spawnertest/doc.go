// Package spawnertest is the conformance suite for spawner.Spawner
// implementations. Every implementation in hubkit runs it, and so should
// third-party ones:
//
//	func TestConformance(t *testing.T) {
//		spawnertest.Run(t, spawnertest.Harness{
//			Setup: func(t *testing.T) func() spawner.Spawner { ... },
//		})
//	}
//
// The suite checks the contract written on the spawner interfaces: start,
// status and stop; idempotent stop; validation before anything is created;
// named servers; concurrent starts of one server; cancellation; and, for
// the optional capabilities an implementation has, listing and re-adoption
// by a second spawner on the same backend, progress events and removal.
package spawnertest
