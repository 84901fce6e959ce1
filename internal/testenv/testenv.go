package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing
// real server is a failure rather than a skip.
func InCI() bool {
	ok, _ := strconv.ParseBool(os.Getenv("CI"))
	return ok
}

// Missing reports that a real server or tool the test needs is absent:
// it fails the test under CI and skips it otherwise. install is the
// command that provides it.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	msg := what + " is not available; install it with: " + install
	if InCI() {
		t.Fatal(msg + " (CI=true: a missing test server is a failure)")
	}
	t.Skip(msg)
}

// LookPath returns the path of the executable name, or reports it missing
// with the install command.
func LookPath(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, install)
	}
	return p
}

// CacheDir is where hack/ scripts keep what they build: $HUBKIT_CACHE, or
// $XDG_CACHE_HOME/hubkit, or ~/.cache/hubkit.
func CacheDir() string {
	if d := os.Getenv("HUBKIT_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "hubkit")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "hubkit-cache")
	}
	return filepath.Join(home, ".cache", "hubkit")
}
