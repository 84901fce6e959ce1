// Package culler stops idle single-user servers, with the behaviour and
// options of jupyterhub-idle-culler, as a library: Run(ctx) and Once(ctx)
// over a small Source interface. Culling stops servers; it never deletes a
// user's storage.
//
// # Status
//
// This package is being built; its API is not settled yet.
package culler
