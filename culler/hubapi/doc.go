// Package hubapi is a culler.Source over the JupyterHub REST API, so the
// same culler serves a hubkit hub and an existing Python JupyterHub.
//
// # Status
//
// This package is being built; its API is not settled yet.
package hubapi
