// Package profiles reads a z2jh singleuser.profileList verbatim, renders
// the spawn form with KubeSpawner's field names, parses a submitted form or
// JSON user_options, and resolves a selection to one override in
// KubeSpawner's order (configuration, then the profile, then each option).
//
// # Status
//
// This package is being built; its API is not settled yet.
package profiles
