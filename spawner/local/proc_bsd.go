//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package local

import (
	"errors"
	"syscall"
)

// lookupProc reports whether process pid exists and in which process
// group. Without /proc the start time is unknown (0): a state file is then
// matched by pid alone, and a zombie counts as running until its parent
// reaps it.
func lookupProc(pid int) (procInfo, bool) {
	if pid <= 0 {
		return procInfo{}, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return procInfo{}, false
	}
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		return procInfo{}, false
	}
	return procInfo{pgid: pgid}, true
}
