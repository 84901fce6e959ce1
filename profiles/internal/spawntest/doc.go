// Package spawntest holds the tests that spawn profiles on a real API
// server (envtest), apart from package profiles so that its unit and fuzz
// tests do not start one.
package spawntest
