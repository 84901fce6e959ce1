package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hubkit/hubkit/spawner"
)

// sigNum is a signal the spawner sends.
type sigNum int

const (
	sigTerm sigNum = iota
	sigKill
)

// procInfo is what the process table says about a live process.
type procInfo struct {
	// start is the process's start time (clock ticks since boot on
	// Linux), 0 where unknown.
	start uint64
	// pgid is the process group.
	pgid int
}

// Bounds of the output a spawner keeps of each server for its StartError.
const (
	outputLines   = 40
	outputLineLen = 1024
)

// outputDrainTimeout bounds how long the reaper waits, after a server
// exited and its process group was killed, for the last of its output
// (a descendant outside the group may keep the pipe open).
const outputDrainTimeout = 2 * time.Second

// killWait bounds how long the spawner waits for a process to exit after
// SIGKILL.
const killWait = 10 * time.Second

// proc is a server process that this Spawner started (its child).
type proc struct {
	ref   spawner.Ref
	pid   int
	start uint64
	port  int
	out   *ring
	// done is closed when the process has exited and been reaped, its
	// group killed, its output read and its state file removed.
	done chan struct{}
	// exit describes how the process ended; set before done is closed.
	exit string
}

// ring keeps the last lines of a server's output.
type ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

func (r *ring) add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lines == nil {
		r.lines = make([]string, outputLines)
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
}

// String returns the kept lines, oldest first, one per line.
func (r *ring) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	if r.full {
		out = append(out, r.lines[r.next:]...)
	}
	out = append(out, r.lines[:r.next]...)
	return strings.Join(out, "\n")
}

// copyOutput reads a server's output line by line into p.out and the
// log until r ends. Lines longer than outputLineLen are cut.
func (s *Spawner) copyOutput(p *proc, r io.Reader) {
	br := bufio.NewReaderSize(r, 4096)
	var line []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if len(line) < outputLineLen {
			line = append(line, chunk[:min(len(chunk), outputLineLen-len(line))]...)
		}
		if err != nil {
			if len(line) > 0 {
				s.logLine(p, line)
			}
			return
		}
		if !isPrefix {
			s.logLine(p, line)
			line = line[:0]
		}
	}
}

func (s *Spawner) logLine(p *proc, line []byte) {
	text := strings.ToValidUTF8(string(line), "\uFFFD")
	p.out.add(text)
	s.opts.Logger.Info("server output", "server", p.ref.String(), "pid", p.pid, "line", text)
}

// lookPath finds an executable like exec.LookPath, but in the PATH the
// server gets rather than the hub's.
func lookPath(file, path string) (string, error) {
	if strings.Contains(file, "/") {
		if err := isExecutable(file); err != nil {
			return "", err
		}
		return file, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			// Relative PATH entries would resolve against the server's
			// directory, which the user controls.
			continue
		}
		p := filepath.Join(dir, file)
		if isExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w (PATH=%s)", file, exec.ErrNotFound, path)
}

// isExecutable reports why p is not an executable file, if it is not.
func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return &fs.PathError{Op: "exec", Path: p, Err: fs.ErrPermission}
	}
	return nil
}

// launch starts the server process. Its output goes to one pipe that
// copyOutput reads; a reaper goroutine waits for it. The caller writes the
// state file.
func (s *Spawner) launch(ref spawner.Ref, argv []string, env []string, pathEnv, dir string, port int) (*proc, error) {
	path, err := lookPath(argv[0], pathEnv)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         env,
		Dir:         dir,
		Stdout:      pw,
		Stderr:      pw,
		SysProcAttr: sysProcAttr(),
	}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, err
	}
	p := &proc{
		ref:  ref,
		pid:  cmd.Process.Pid,
		port: port,
		out:  &ring{},
		done: make(chan struct{}),
	}
	// The process cannot have been reaped yet (only the reaper below
	// waits for it), so its /proc entry exists, as a zombie at worst.
	if info, ok := lookupProc(p.pid); ok {
		p.start = info.start
	}
	s.mu.Lock()
	s.procs[p.pid] = p
	s.mu.Unlock()

	outDone := make(chan struct{})
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		defer close(outDone)
		s.copyOutput(p, pr)
	}()
	go func() {
		defer s.wg.Done()
		s.reap(p, cmd, pr, outDone)
	}()
	return p, nil
}

// reap waits for p to exit, kills what is left of its process group,
// collects the rest of its output, removes its state file if it is still
// p's, and closes p.done.
func (s *Spawner) reap(p *proc, cmd *exec.Cmd, pr *os.File, outDone chan struct{}) {
	err := cmd.Wait()
	if cmd.ProcessState != nil {
		p.exit = cmd.ProcessState.String()
	} else {
		p.exit = err.Error()
	}
	// Descendants left in the group (kernels, subprocesses) go with it.
	// The group's id cannot be reused while any member is alive.
	if err := sendSignal(p.pid, true, sigKill); err != nil {
		s.opts.Logger.Warn("local: killing process group", "server", p.ref.String(), "pid", p.pid, "error", err)
	}
	t := time.NewTimer(outputDrainTimeout)
	select {
	case <-outDone:
	case <-t.C:
		pr.Close() // unblocks copyOutput
		<-outDone
	}
	t.Stop()
	pr.Close()
	if err := s.removeStateIf(&stateFile{Ref: p.ref, PID: p.pid, ProcStart: p.start}); err != nil {
		s.opts.Logger.Warn("local: removing state file", "server", p.ref.String(), "error", err)
	}
	s.opts.Logger.Info("local: server process ended", "server", p.ref.String(), "pid", p.pid, "status", p.exit)
	s.mu.Lock()
	delete(s.procs, p.pid)
	s.mu.Unlock()
	close(p.done)
}

// child returns the process of st if this Spawner started it and has not
// reaped it yet.
func (s *Spawner) child(st *stateFile) *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.procs[st.PID]; p != nil && p.start == st.ProcStart {
		return p
	}
	return nil
}

// signalServer sends sig to the server of st if it still runs: to its
// process group when it leads one (it does unless something moved it).
func (s *Spawner) signalServer(st *stateFile, sig sigNum) error {
	info, ok := lookupProc(st.PID)
	if !ok || st.ProcStart != 0 && info.start != st.ProcStart {
		return nil
	}
	return sendSignal(st.PID, info.pgid == st.PID, sig)
}

// waitGone waits up to d for the server of st to exit. It reports whether
// it did, or ctx's error.
func (s *Spawner) waitGone(ctx context.Context, st *stateFile, d time.Duration) (bool, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	if p := s.child(st); p != nil {
		select {
		case <-p.done:
			return true, nil
		case <-t.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	// Not our child: poll the process table.
	delay := 10 * time.Millisecond
	for st.alive() {
		poll := time.NewTimer(delay)
		select {
		case <-poll.C:
		case <-t.C:
			poll.Stop()
			return !st.alive(), nil
		case <-ctx.Done():
			poll.Stop()
			return false, ctx.Err()
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
	return true, nil
}

// terminate stops the server of st: SIGTERM to its group, SIGKILL after
// grace, and waits until it is gone. With a zero grace it sends SIGKILL at
// once. When ctx ends first it sends SIGKILL and returns ctx's error.
func (s *Spawner) terminate(ctx context.Context, st *stateFile, grace time.Duration) error {
	// The reaper cleans up after this Spawner's own children; for a
	// server started by another one, sweep does.
	own := s.child(st) != nil
	if grace > 0 {
		if err := s.signalServer(st, sigTerm); err != nil {
			return err
		}
		gone, err := s.waitGone(ctx, st, grace)
		if err != nil {
			s.signalServer(st, sigKill)
			return err
		}
		if gone {
			if !own {
				s.sweep(st)
			}
			return nil
		}
		s.opts.Logger.Info("local: server ignored SIGTERM; sending SIGKILL", "server", st.Ref.String(), "pid", st.PID, "grace", grace)
	}
	if err := s.signalServer(st, sigKill); err != nil {
		return err
	}
	gone, err := s.waitGone(ctx, st, killWait)
	if err != nil {
		return err
	}
	if !gone {
		return fmt.Errorf("%w: process %d did not exit after SIGKILL", spawner.ErrUnavailable, st.PID)
	}
	if !own {
		s.sweep(st)
	}
	return nil
}

// sweep kills what is left of the process group of an exited server that
// this Spawner did not start (for its own children the reaper does it).
// While any member is alive, the group's id cannot be reused.
func (s *Spawner) sweep(st *stateFile) {
	if err := sendSignal(st.PID, true, sigKill); err != nil && !errors.Is(err, fs.ErrPermission) {
		s.opts.Logger.Warn("local: killing process group", "server", st.Ref.String(), "pid", st.PID, "error", err)
	}
}
