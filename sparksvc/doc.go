// Package sparksvc supports Spark in client mode from a notebook: a
// headless Service per user pod for the driver, the driver's environment,
// and isolation of the executors a user starts.
//
// # Status
//
// This package is being built; its API is not settled yet.
package sparksvc
