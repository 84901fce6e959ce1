package local

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// lookupProc reports whether process pid exists and has not exited, and
// when it started and in which process group. A zombie (exited, not yet
// reaped by its parent) counts as exited.
//
// On Linux the start time is field 22 of /proc/<pid>/stat, in clock ticks
// since boot: together with the pid it names one process for the lifetime
// of the system, so a reused pid is never mistaken for a server.
func lookupProc(pid int) (procInfo, bool) {
	if pid <= 0 {
		return procInfo{}, false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	// The command name (field 2) is in parentheses and may itself contain
	// spaces and parentheses; the fields after the last ')' are plain.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state), f[2] field 5 (pgrp), f[19] field 22
	// (starttime).
	if len(f) < 20 {
		return procInfo{}, false
	}
	if f[0] == "Z" || f[0] == "X" || f[0] == "x" {
		return procInfo{}, false
	}
	pgid, err1 := strconv.Atoi(f[2])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return procInfo{}, false
	}
	return procInfo{start: start, pgid: pgid}, true
}
