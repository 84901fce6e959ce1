//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package local

import (
	"errors"
	"os"
	"syscall"
)

// supported reports whether the local spawner works on this system: New
// fails here, as there are no process groups to signal.
const supported = false

var errUnsupported = errors.New("not supported on this operating system")

func sysProcAttr() *syscall.SysProcAttr { return nil }

func sendSignal(int, bool, sigNum) error { return errUnsupported }

func lockFile(*os.File) error { return errUnsupported }

func lookupProc(int) (procInfo, bool) { return procInfo{}, false }
