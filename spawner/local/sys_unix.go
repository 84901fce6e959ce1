//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package local

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// supported reports whether the local spawner works on this system.
const supported = true

// sysProcAttr puts a server in its own process group, so that it and its
// children are signalled together and a Ctrl-C meant for the hub does not
// reach them.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// sendSignal sends sig to the process group pid when group is set, else
// to the process pid. A process or group that no longer exists is not an
// error. It refuses the pids that would hit the hub itself or every
// process (0, 1, negative, the hub's pid and process group).
func sendSignal(pid int, group bool, sig sigNum) error {
	if pid <= 1 || pid == os.Getpid() || pid == syscall.Getpgrp() {
		return fmt.Errorf("refusing to signal pid %d", pid)
	}
	target := pid
	if group {
		target = -pid
	}
	s := syscall.SIGTERM
	if sig == sigKill {
		s = syscall.SIGKILL
	}
	err := syscall.Kill(target, s)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// lockFile takes an exclusive advisory lock on f, blocking. The lock is
// per open file, so it also excludes other goroutines and Spawners of the
// same process that opened the file themselves.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}
