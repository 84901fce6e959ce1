package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hubkit/hubkit/spawner"
)

var (
	_ spawner.Spawner          = (*Spawner)(nil)
	_ spawner.Lister           = (*Spawner)(nil)
	_ spawner.Remover          = (*Spawner)(nil)
	_ spawner.ProgressReporter = (*Spawner)(nil)
)

// Spawner runs each server as a local process. It is safe for concurrent
// use. Create it with New.
type Spawner struct {
	opts Options

	// wg counts the goroutines of the server processes (reaper and
	// output reader), for tests.
	wg sync.WaitGroup

	mu sync.Mutex
	// calls are the starts in flight, one per Ref.
	calls map[spawner.Ref]*call
	// procs are the processes this Spawner started and has not reaped.
	procs map[int]*proc
	// refLocks serialise the launch step of Start with Stop and Remove
	// per Ref.
	refLocks map[spawner.Ref]*sync.Mutex
	// stopping marks the servers that Stop is shutting down.
	stopping map[spawner.Ref]bool
	// logs are the progress events of each server's latest start.
	logs map[spawner.Ref]*spawner.EventLog
}

// call is one start in flight, shared by every Start of its Ref.
type call struct {
	done   chan struct{}
	cancel context.CancelFunc
	// Under Spawner.mu:
	waiters   int
	abandoned bool // every caller left; the start is being undone
	stopped   bool // Stop cancelled the start
	// Set before done is closed:
	srv spawner.Server
	err error
}

// New returns a Spawner with opts. It creates StateDir and HomeRoot.
func New(opts Options) (*Spawner, error) {
	if !supported {
		return nil, fmt.Errorf("local: %s: %w", runtime.GOOS, errors.ErrUnsupported)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Spawner{
		opts:     o,
		calls:    map[spawner.Ref]*call{},
		procs:    map[int]*proc{},
		refLocks: map[spawner.Ref]*sync.Mutex{},
		stopping: map[spawner.Ref]bool{},
		logs:     map[spawner.Ref]*spawner.EventLog{},
	}
	for _, d := range []string{s.serversDir(), o.HomeRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
	}
	f, err := os.OpenFile(s.lockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	f.Close()
	return s, nil
}

// HomeDir returns the directory that ref's server runs in (its working
// directory and HOME): HomeRoot/{user} for a default server and
// HomeRoot/{user}/.servers/{server} for a named one. It does not create it.
func (s *Spawner) HomeDir(ref spawner.Ref) (string, error) {
	if err := ref.Validate(); err != nil {
		return "", fmt.Errorf("local: %w", err)
	}
	return filepath.Join(s.opts.HomeRoot, homeRel(ref)), nil
}

// homeRel is ref's directory relative to HomeRoot.
func homeRel(ref spawner.Ref) string {
	if ref.Server == "" {
		return encodeName(ref.User)
	}
	return filepath.Join(encodeName(ref.User), serversSubdir, encodeName(ref.Server))
}

// serversSubdir is the directory of a user's named servers inside the
// user's directory.
const serversSubdir = ".servers"

func (s *Spawner) refLock(ref spawner.Ref) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.refLocks[ref]
	if l == nil {
		l = new(sync.Mutex)
		s.refLocks[ref] = l
	}
	return l
}

func (s *Spawner) eventLog(ref spawner.Ref) *spawner.EventLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logs[ref]
	if l == nil {
		l = new(spawner.EventLog)
		s.logs[ref] = l
	}
	return l
}

func (s *Spawner) emit(l *spawner.EventLog, progress int, msg string) {
	l.Emit(spawner.Event{Time: s.opts.Now(), Progress: progress, Message: msg})
}

// Start starts ref's server, or returns it if it is already running, and
// blocks until it answers HTTP under its prefix or has failed.
//
// The request is checked before anything happens: an invalid Ref, an
// unknown override key or an ill-typed override value is an error
// wrapping spawner.ErrInvalid. Concurrent Starts of one Ref share one
// process: later callers wait for the first start and get the same
// server; the start is undone only when every caller's ctx has ended. A
// server started by another Spawner on the same StateDir is adopted.
//
// A server that exits before it answers fails with a *spawner.StartError
// with Reason "Exited" and the last lines of its output; one that does not
// answer within the start timeout with Reason "Timeout", wrapping
// spawner.ErrTimeout. Then, and when ctx ends first, Start kills the
// process group and removes the state file before it returns; the server's
// directory stays.
func (s *Spawner) Start(ctx context.Context, req spawner.Request) (spawner.Server, error) {
	if err := req.Ref.Validate(); err != nil {
		return spawner.Server{}, fmt.Errorf("local: %w", err)
	}
	cfg, err := s.opts.resolve(req.Override)
	if err != nil {
		return spawner.Server{}, err
	}
	if err := checkEnv(req.Env); err != nil {
		return spawner.Server{}, fmt.Errorf("local: %w: Request.Env: %v", spawner.ErrInvalid, err)
	}
	if strings.ContainsRune(req.APIToken, 0) {
		return spawner.Server{}, fmt.Errorf("local: %w: API token contains NUL", spawner.ErrInvalid)
	}
	if err := checkEnv(req.SecretEnv); err != nil {
		return spawner.Server{}, fmt.Errorf("local: %w: Request.SecretEnv: %v", spawner.ErrInvalid, err)
	}
	if err := ctx.Err(); err != nil {
		return spawner.Server{}, err
	}
	for {
		s.mu.Lock()
		c := s.calls[req.Ref]
		if c != nil && c.abandoned {
			// The previous start is being undone: wait for it, then
			// start afresh.
			s.mu.Unlock()
			select {
			case <-c.done:
				continue
			case <-ctx.Done():
				return spawner.Server{}, ctx.Err()
			}
		}
		if c == nil {
			cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			c = &call{done: make(chan struct{}), cancel: cancel}
			s.calls[req.Ref] = c
			go s.run(cctx, c, req, cfg)
		}
		c.waiters++
		s.mu.Unlock()

		select {
		case <-c.done:
			return c.srv, c.err
		case <-ctx.Done():
			s.mu.Lock()
			c.waiters--
			last := c.waiters == 0
			if last {
				c.abandoned = true
				c.cancel()
			}
			s.mu.Unlock()
			if last {
				<-c.done // the start undoes what it did
			}
			return spawner.Server{}, ctx.Err()
		}
	}
}

// run performs one start for every caller of c.
func (s *Spawner) run(ctx context.Context, c *call, req spawner.Request, cfg config) {
	defer func() {
		c.cancel()
		s.mu.Lock()
		delete(s.calls, req.Ref)
		s.mu.Unlock()
		close(c.done)
	}()
	c.srv, c.err = s.start(ctx, req, cfg)
	if c.err != nil && ctx.Err() != nil {
		s.mu.Lock()
		stopped := c.stopped
		s.mu.Unlock()
		if stopped {
			c.err = &spawner.StartError{Ref: req.Ref, Reason: "Stopped", Message: "stopped while starting",
				Events: s.eventLog(req.Ref).Events()}
		}
	}
}

// start runs or adopts the server and waits for it.
func (s *Spawner) start(ctx context.Context, req spawner.Request, cfg config) (spawner.Server, error) {
	ref := req.Ref
	log := s.eventLog(ref)
	rl := s.refLock(ref)
	rl.Lock()
	if err := ctx.Err(); err != nil {
		rl.Unlock()
		return spawner.Server{}, err
	}
	var (
		st       *stateFile
		p        *proc
		existing bool
	)
	err := s.locked(func() error {
		cur, err := s.readState(ref)
		if err != nil {
			s.opts.Logger.Warn("local: replacing state file", "server", ref.String(), "error", err)
		}
		if cur != nil && cur.alive() {
			st, existing = cur, true
			return nil
		}
		log.Reset()
		s.emit(log, 0, "Starting server process")
		st, p, err = s.launchServer(req, cfg)
		return err
	})
	rl.Unlock()
	if err != nil {
		if p != nil {
			<-p.done
		}
		return spawner.Server{}, s.fail(log, ref, "ExecFailed", err.Error(), err)
	}

	if existing && st.Ready {
		// Keep the events of the start that made it, if this Spawner
		// made it; otherwise say that it was running already.
		if ev := log.Events(); len(ev) == 0 || !ev[len(ev)-1].Ready {
			log.Reset()
			log.Emit(spawner.Event{Time: s.opts.Now(), Progress: 100, Ready: true, Message: "Server already running at " + st.URL})
		}
		return st.server(), nil
	}
	if existing {
		log.Reset()
		s.emit(log, 30, "Waiting for the server started by another process to answer")
	} else {
		s.opts.Logger.Info("local: started server process", "server", ref.String(), "pid", st.PID, "url", st.URL+st.Prefix)
		s.emit(log, 30, fmt.Sprintf("Server process %d started; waiting for it to answer at %s%s", st.PID, st.URL, st.Prefix))
	}

	err = s.waitReady(ctx, st, p, cfg.startTimeout)
	if err == nil {
		err = s.markReady(st)
	}
	if err == nil {
		s.opts.Logger.Info("local: server ready", "server", ref.String(), "url", st.URL)
		log.Emit(spawner.Event{Time: s.opts.Now(), Progress: 100, Ready: true, Message: "Server ready at " + st.URL})
		return st.server(), nil
	}

	// Undo what this start created; a server adopted from another process
	// is left to its owner (or to Stop).
	if p != nil {
		if kerr := s.terminate(context.WithoutCancel(ctx), st, 0); kerr != nil {
			s.opts.Logger.Warn("local: killing failed server", "server", ref.String(), "error", kerr)
		}
		if rerr := s.removeStateIf(st); rerr != nil {
			s.opts.Logger.Warn("local: removing state file", "server", ref.String(), "error", rerr)
		}
	}
	var ee *exitedError
	switch {
	case ctx.Err() != nil:
		s.fail(log, ref, "Cancelled", "start cancelled", ctx.Err())
		return spawner.Server{}, ctx.Err()
	case errors.As(err, &ee):
		msg := "server process exited before it answered"
		if ee.status != "" {
			msg = fmt.Sprintf("server process exited (%s) before it answered", ee.status)
		}
		if p != nil {
			<-p.done // all output is in
			if out := p.out.String(); out != "" {
				msg += "; last output:\n" + out
			}
		}
		return spawner.Server{}, s.fail(log, ref, "Exited", msg, nil)
	case errors.Is(err, spawner.ErrTimeout):
		return spawner.Server{}, s.fail(log, ref, "Timeout", err.Error(), spawner.ErrTimeout)
	default:
		return spawner.Server{}, s.fail(log, ref, "Stopped", err.Error(), err)
	}
}

// fail ends a start's progress with a failed event and returns the
// StartError for it.
func (s *Spawner) fail(log *spawner.EventLog, ref spawner.Ref, reason, msg string, err error) *spawner.StartError {
	events := log.Events()
	log.Emit(spawner.Event{Time: s.opts.Now(), Progress: 100, Failed: true, Message: "Spawn failed: " + reason + ": " + msg})
	s.opts.Logger.Warn("local: start failed", "server", ref.String(), "reason", reason, "message", msg)
	return &spawner.StartError{Ref: ref, Reason: reason, Message: msg, Events: events, Err: err}
}

// launchServer prepares the directory, port and environment, starts the
// process and writes its state file. It runs under the StateDir lock. On
// error, a non-nil proc is a process that was killed and is being reaped.
func (s *Spawner) launchServer(req spawner.Request, cfg config) (*stateFile, *proc, error) {
	ref := req.Ref
	home, err := s.makeHome(ref)
	if err != nil {
		return nil, nil, err
	}
	port, err := s.freePort()
	if err != nil {
		return nil, nil, err
	}
	url := "http://" + net.JoinHostPort(s.opts.Host, strconv.Itoa(port))

	env := map[string]string{}
	for _, k := range s.opts.InheritEnv {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	env["HOME"] = home
	maps.Copy(env, cfg.env)
	maps.Copy(env, req.Env)
	maps.Copy(env, req.SecretEnv)
	prefix := env["JUPYTERHUB_SERVICE_PREFIX"]
	if prefix == "" {
		prefix = spawner.DefaultPrefix(ref)
	}
	if !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	env["JUPYTERHUB_SERVICE_PREFIX"] = prefix
	env["JUPYTERHUB_SERVICE_URL"] = url + prefix
	if req.APIToken != "" {
		env["JUPYTERHUB_API_TOKEN"] = req.APIToken
		env["JPY_API_TOKEN"] = req.APIToken
	}
	envList := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}

	argv := append(slices.Clone(cfg.cmd), cfg.args...)
	p, err := s.launch(ref, argv, envList, env["PATH"], home, port)
	if err != nil {
		return nil, nil, err
	}
	st := &stateFile{
		Version:   stateVersion,
		Ref:       ref,
		PID:       p.pid,
		ProcStart: p.start,
		Port:      port,
		URL:       url,
		Prefix:    prefix,
		Home:      home,
		Started:   s.opts.Now(),
	}
	if err := s.writeState(st); err != nil {
		// The caller waits for p.done once it released the lock that
		// the reaper needs.
		sendSignal(p.pid, true, sigKill)
		return nil, p, fmt.Errorf("writing state file: %w", err)
	}
	return st, p, nil
}

// makeHome creates ref's directory (mode 0700) under HomeRoot, through an
// os.Root so that nothing outside HomeRoot can be touched.
func (s *Spawner) makeHome(ref spawner.Ref) (string, error) {
	root, err := os.OpenRoot(s.opts.HomeRoot)
	if err != nil {
		return "", err
	}
	defer root.Close()
	rel := homeRel(ref)
	if err := root.MkdirAll(rel, 0o700); err != nil {
		return "", err
	}
	return filepath.Join(s.opts.HomeRoot, rel), nil
}

// freePort picks a free TCP port on Host that none of this Spawner's
// servers uses.
func (s *Spawner) freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", net.JoinHostPort(s.opts.Host, "0"))
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		s.mu.Lock()
		used := false
		for _, p := range s.procs {
			used = used || p.port == port
		}
		s.mu.Unlock()
		if !used {
			return port, nil
		}
	}
	return 0, errors.New("no free port")
}

// exitedError reports that the server process exited while Start waited.
type exitedError struct{ status string }

func (e *exitedError) Error() string { return "server process exited: " + e.status }

// waitReady polls the server with backoff until it answers with a status
// below 500, its process exits, the timeout passes or ctx ends. p is nil
// for a server this Spawner did not start.
func (s *Spawner) waitReady(ctx context.Context, st *stateFile, p *proc, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var exited <-chan struct{}
	if p != nil {
		exited = p.done
	}
	target := st.URL + st.Prefix
	delay := 50 * time.Millisecond
	var lastErr error
	for {
		code, err := s.probe(ctx, target)
		if err == nil && code < 500 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("answered %d", code)
		}
		lastErr = err
		if p == nil && !st.alive() {
			return &exitedError{}
		}
		wait := time.NewTimer(delay)
		select {
		case <-wait.C:
		case <-exited:
			wait.Stop()
			return &exitedError{status: p.exit}
		case <-deadline.C:
			wait.Stop()
			return fmt.Errorf("%w: no answer from %s within %v (last: %v)", spawner.ErrTimeout, target, timeout, lastErr)
		case <-ctx.Done():
			wait.Stop()
			return ctx.Err()
		}
		delay = min(delay*3/2, time.Second)
	}
}

// probe makes one readiness request and returns the status code.
func (s *Spawner) probe(ctx context.Context, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// markReady records in the state file that the server answered. It fails
// when the state file no longer describes the process (it was stopped).
func (s *Spawner) markReady(st *stateFile) error {
	return s.locked(func() error {
		cur, err := s.readState(st.Ref)
		if err != nil || !st.same(cur) {
			return errors.New("server was stopped while starting")
		}
		st.Ready = true
		st.ReadyAt = s.opts.Now()
		return s.writeState(st)
	})
}

// Stop stops ref's server: it cancels a start in flight, sends SIGTERM to
// the server's process group, SIGKILL after StopGracePeriod, waits until
// the process is gone and removes the state file. It also stops servers
// that another Spawner on the same StateDir started. It is idempotent and
// never deletes the server's directory.
func (s *Spawner) Stop(ctx context.Context, ref spawner.Ref) error {
	if err := ref.Validate(); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	if err := s.cancelStart(ctx, ref); err != nil {
		return err
	}
	rl := s.refLock(ref)
	rl.Lock()
	defer rl.Unlock()
	return s.stopLocked(ctx, ref)
}

// cancelStart cancels ref's start in flight, if any, and waits until it
// has undone what it did.
func (s *Spawner) cancelStart(ctx context.Context, ref spawner.Ref) error {
	s.mu.Lock()
	c := s.calls[ref]
	if c != nil {
		c.stopped = true
		c.cancel()
	}
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("local: stop %s: %w", ref, ctx.Err())
	}
}

func (s *Spawner) stopLocked(ctx context.Context, ref spawner.Ref) error {
	st, err := s.readState(ref)
	if errors.Is(err, errBadState) {
		s.opts.Logger.Warn("local: removing unusable state file", "server", ref.String(), "error", err)
		if err := s.removeBadState(ref); err != nil {
			return fmt.Errorf("local: stop %s: %w", ref, err)
		}
		return nil
	}
	if st == nil {
		return nil
	}
	if st.alive() {
		s.mu.Lock()
		s.stopping[ref] = true
		s.mu.Unlock()
		s.opts.Logger.Info("local: stopping server", "server", ref.String(), "pid", st.PID)
		err := s.terminate(ctx, st, s.opts.StopGracePeriod)
		s.mu.Lock()
		delete(s.stopping, ref)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("local: stop %s: %w", ref, err)
		}
	}
	if err := s.removeStateIf(st); err != nil {
		return fmt.Errorf("local: stop %s: %w", ref, err)
	}
	return nil
}

// Status reports ref's server from its state file and the process table.
// A server whose process has exited is stopped; an unreadable state file
// is PhaseFailed (Stop removes it). A live server that an earlier Spawner
// started and that nobody is waiting for (its hub died during the start)
// is probed once, and recorded as ready in its state file when it
// answers: the only change Status makes.
func (s *Spawner) Status(ctx context.Context, ref spawner.Ref) (spawner.Status, error) {
	if err := ref.Validate(); err != nil {
		return spawner.Status{}, fmt.Errorf("local: %w", err)
	}
	s.mu.Lock()
	starting := s.calls[ref] != nil
	s.mu.Unlock()
	st, err := s.readState(ref)
	if err != nil {
		return spawner.Status{Ref: ref, Phase: spawner.PhaseFailed, Message: err.Error()}, nil
	}
	if st != nil && st.alive() {
		if !st.Ready && !starting {
			// Started by a Spawner that is gone (a hub that was killed
			// during the start): nobody here waits for it, so look once
			// whether it answers by now.
			if code, err := s.probe(ctx, st.URL+st.Prefix); err == nil && code < 500 && s.markReady(st) == nil {
				s.opts.Logger.Info("local: server started by an earlier spawner is ready", "server", ref.String(), "pid", st.PID)
			}
		}
		return s.status(st), nil
	}
	if starting {
		return spawner.Status{Ref: ref, Phase: spawner.PhasePending, Message: "starting"}, nil
	}
	out := spawner.Status{Ref: ref, Phase: spawner.PhaseStopped}
	if st != nil {
		out.Message = fmt.Sprintf("server process %d has exited", st.PID)
	}
	return out, nil
}

// status is the status of a live server.
func (s *Spawner) status(st *stateFile) spawner.Status {
	s.mu.Lock()
	stopping := s.stopping[st.Ref]
	s.mu.Unlock()
	switch {
	case stopping:
		return spawner.Status{Ref: st.Ref, Phase: spawner.PhaseStopping, Message: "stopping"}
	case st.Ready:
		srv := st.server()
		return spawner.Status{Ref: st.Ref, Phase: spawner.PhaseRunning, Server: &srv}
	default:
		return spawner.Status{Ref: st.Ref, Phase: spawner.PhasePending,
			Message: fmt.Sprintf("process %d is starting", st.PID)}
	}
}

// List returns the status of every server whose state file names a live
// process, including servers that other Spawners on the same StateDir
// started. State files of exited processes are left for Stop to clean.
func (s *Spawner) List(ctx context.Context) ([]spawner.Status, error) {
	states, err := s.listStates()
	if err != nil {
		return nil, fmt.Errorf("local: list: %w", err)
	}
	var out []spawner.Status
	for _, st := range states {
		if st.alive() {
			out = append(out, s.status(st))
		}
	}
	return out, nil
}

// Remove stops ref's server and deletes its directory. For a default
// server that is the user's directory, except the directories of the
// user's named servers (.servers), which belong to those servers; for a
// named server only its own directory. It is idempotent.
func (s *Spawner) Remove(ctx context.Context, ref spawner.Ref) error {
	if err := ref.Validate(); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	if err := s.cancelStart(ctx, ref); err != nil {
		return err
	}
	rl := s.refLock(ref)
	rl.Lock()
	defer rl.Unlock()
	if err := s.stopLocked(ctx, ref); err != nil {
		return err
	}
	if err := s.removeHome(ref); err != nil {
		return fmt.Errorf("local: remove %s: %w", ref, err)
	}
	s.opts.Logger.Info("local: removed server", "server", ref.String())
	return nil
}

// removeHome deletes ref's directory through an os.Root, which keeps the
// deletion inside HomeRoot even if the user replaced part of the path
// with a symbolic link.
func (s *Spawner) removeHome(ref spawner.Ref) error {
	root, err := os.OpenRoot(s.opts.HomeRoot)
	if err != nil {
		return err
	}
	defer root.Close()
	user := encodeName(ref.User)
	if ref.Server != "" {
		if err := root.RemoveAll(homeRel(ref)); err != nil {
			return err
		}
		// Drop the empty .servers directory; a non-empty one stays.
		root.Remove(filepath.Join(user, serversSubdir))
		return nil
	}
	d, err := root.Open(user)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		if name == serversSubdir {
			continue
		}
		if err := root.RemoveAll(filepath.Join(user, name)); err != nil {
			return err
		}
	}
	root.Remove(filepath.Join(user, serversSubdir))
	if err := root.Remove(user); err != nil && !errors.Is(err, fs.ErrNotExist) && !isNotEmpty(err) {
		return err
	}
	return nil
}

// isNotEmpty reports whether err is a directory-not-empty error.
func isNotEmpty(err error) bool {
	return errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}

// Progress returns the events of ref's current or most recent start by
// this Spawner. For a running server this Spawner did not start it
// returns one ready event; for a server it knows no start of, an error
// wrapping spawner.ErrNotFound.
func (s *Spawner) Progress(ctx context.Context, ref spawner.Ref) (<-chan spawner.Event, error) {
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	s.mu.Lock()
	l := s.logs[ref]
	s.mu.Unlock()
	if l != nil {
		return l.Subscribe(ctx), nil
	}
	st, err := s.Status(ctx, ref)
	if err != nil {
		return nil, err
	}
	if st.Phase != spawner.PhaseRunning {
		return nil, fmt.Errorf("local: progress of %s: %w: no start known", ref, spawner.ErrNotFound)
	}
	ch := make(chan spawner.Event, 1)
	ch <- spawner.Event{Time: s.opts.Now(), Progress: 100, Ready: true, Message: "Server ready at " + st.Server.URL}
	close(ch)
	return ch, nil
}
