package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/spawner"
)

// stateToken is the key of the server's API token ID in the state the hub
// keeps for a server, beside the spawner's own keys.
const stateToken = "hubkit.token_id"

// operation is a start or stop in progress on this replica.
type operation struct {
	ref     spawner.Ref
	phase   store.Phase
	events  spawner.EventLog
	done    chan struct{}
	err     error // set before done is closed
	url     string
	cancel  context.CancelFunc
	started time.Time
}

// wait blocks until the operation ends or d passes, and reports whether it
// ended.
func (op *operation) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-op.done:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// apiError is an error with the HTTP status a request gets for it.
type apiError struct {
	status     int
	msg        string
	retryAfter int // seconds; 0: none
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// serverPrefix is the URL path prefix of ref's server: BaseURL +
// "user/NAME/" (+ "SERVER/").
func (h *Hub) serverPrefix(ref spawner.Ref) string {
	return h.cfg.BaseURL + strings.TrimPrefix(spawner.DefaultPrefix(ref), "/")
}

// clientID is the OAuth client of ref's server, as JupyterHub names it.
func clientID(ref spawner.Ref) string {
	id := "jupyterhub-user-" + quote(ref.User)
	if ref.Server != "" {
		id += "-" + quote(ref.Server)
	}
	return id
}

// quote escapes as Python's urllib.parse.quote with safe="".
func quote(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// refName is "alice" or "alice/server", for messages and logs.
func refName(ref spawner.Ref) string {
	if ref.Server == "" {
		return ref.User
	}
	return ref.User + "/" + ref.Server
}

func (h *Hub) op(ref spawner.Ref) *operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ops[ref]
}

func (h *Hub) claimExpiry() time.Time {
	if h.cfg.ClaimTTL <= 0 {
		return time.Time{}
	}
	return h.now().Add(h.cfg.ClaimTTL)
}

// spawnRequest is a start the hub accepted: who, which server, and the
// resolved profile.
type spawnRequest struct {
	user        store.User
	server      string
	userOptions json.RawMessage
	override    map[string]any
}

// startServer claims the server and starts it in the background. It
// returns the operation (new, or the start already in progress) or an
// *apiError.
func (h *Hub) startServer(ctx context.Context, req spawnRequest) (*operation, error) {
	ref := spawner.Ref{User: req.user.Name, Server: req.server}
	if req.server != "" && !h.cfg.Limits.AllowNamedServers {
		return nil, errorf(http.StatusBadRequest, "named servers are not enabled")
	}
	if err := store.ValidateServerName(req.server); err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid server name %q", req.server)
	}
	// A server the store calls ready is running, even while the start
	// that made it ready is still winding down on this replica: checked
	// before joining that start, so that a start requested after the
	// server was reported ready is "already running" (400), as in
	// JupyterHub, and not answered 201 as if it had started it.
	existing, exists := req.user.Server(req.server)
	if exists && existing.Ready() {
		return nil, errorf(http.StatusBadRequest, "%s is already running", refName(ref))
	}
	if op := h.op(ref); op != nil {
		if op.phase == store.PhaseSpawn {
			return op, nil
		}
		return nil, errorf(http.StatusBadRequest, "%s is pending %s", refName(ref), op.phase)
	}
	if req.server != "" && !exists && h.cfg.Limits.NamedServersPerUser > 0 {
		named := 0
		for _, s := range req.user.Servers {
			if s.Name != "" {
				named++
			}
		}
		if named >= h.cfg.Limits.NamedServersPerUser {
			return nil, errorf(http.StatusBadRequest, "user %s already has the maximum of %d named servers; stop and remove one first",
				req.user.Name, h.cfg.Limits.NamedServersPerUser)
		}
	}
	if lim := h.cfg.Limits.ActiveServers; lim > 0 && h.active.Load() >= int64(lim) {
		h.metrics.spawnRefused.WithLabelValues("active_limit").Inc()
		return nil, &apiError{status: http.StatusTooManyRequests, retryAfter: 60,
			msg: fmt.Sprintf("the active server limit (%d) has been reached; try again later", lim)}
	}
	if lim := h.cfg.Limits.ConcurrentSpawns; lim > 0 {
		if h.spawning.Add(1) > int64(lim) {
			h.spawning.Add(-1)
			h.metrics.spawnRefused.WithLabelValues("concurrent_limit").Inc()
			return nil, &apiError{status: http.StatusTooManyRequests, retryAfter: 10 + int(h.now().UnixNano()%20),
				msg: "too many servers are starting at the moment; try again in a few seconds"}
		}
	} else {
		h.spawning.Add(1)
	}
	started := false
	defer func() {
		if !started {
			h.spawning.Add(-1)
		}
	}()

	srv, err := h.st.ClaimServer(ctx, ref.User, ref.Server, store.Claim{
		Phase: store.PhaseSpawn, Owner: h.cfg.ReplicaID, Expires: h.claimExpiry(), UserOptions: req.userOptions,
	})
	if err != nil {
		var ce *store.ClaimError
		switch {
		case errors.As(err, &ce) && ce.Running:
			return nil, errorf(http.StatusBadRequest, "%s is already running", refName(ref))
		case errors.As(err, &ce) && ce.Pending == store.PhaseSpawn:
			// Another replica is starting it: report it as pending.
			op := &operation{ref: ref, phase: store.PhaseSpawn, done: make(chan struct{})}
			op.events.Emit(spawner.Event{Time: h.now(), Message: "Server is starting on another hub replica"})
			return op, nil
		case errors.As(err, &ce):
			return nil, errorf(http.StatusBadRequest, "%s is pending %s", refName(ref), ce.Pending)
		case errors.Is(err, store.ErrNotFound):
			return nil, errorf(http.StatusNotFound, "no such user %s", ref.User)
		}
		return nil, err
	}
	opctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StartTimeout)
	op := &operation{ref: ref, phase: store.PhaseSpawn, done: make(chan struct{}), cancel: cancel, started: h.now()}
	h.mu.Lock()
	if other := h.ops[ref]; other != nil {
		// A concurrent request on this replica won the claim's renewal.
		h.mu.Unlock()
		cancel()
		return other, nil
	}
	h.ops[ref] = op
	delete(h.lastErr, ref)
	h.mu.Unlock()
	started = true
	h.active.Add(1)
	op.events.Emit(spawner.Event{Time: h.now(), Progress: 0, Message: "Server requested"})
	h.log.Info("starting server", "server", refName(ref))
	go h.runSpawn(opctx, op, req, srv)
	return op, nil
}

// serverScopes are the scopes of a server's own API token (JupyterHub's
// "server" role).
func serverScopes(ref spawner.Ref) []string {
	return []string{
		"access:servers!server=" + ref.User + "/" + ref.Server,
		"users:activity!user=" + ref.User,
	}
}

// accessScopes are the scopes a browser's token needs to use ref's server
// (JUPYTERHUB_OAUTH_ACCESS_SCOPES).
func accessScopes(ref spawner.Ref) []string {
	return []string{"access:servers!server=" + ref.User + "/" + ref.Server, "access:servers!user=" + ref.User}
}

func (h *Hub) runSpawn(ctx context.Context, op *operation, req spawnRequest, srv store.Server) {
	defer op.cancel()
	defer h.spawning.Add(-1)
	ref := op.ref
	url, state, err := h.spawn(ctx, op, req, srv)
	if err != nil && !errors.Is(err, context.Canceled) {
		// A spawner cleans up after a failed start, unless its backend
		// was unreachable then; what it left would run unknown to the
		// hub, with credentials that are revoked below. (A cancelled
		// start is followed by a stop.)
		sctx, scancel := context.WithTimeout(context.Background(), h.cfg.StopTimeout)
		if serr := h.stopLeftover(sctx, ref); serr != nil {
			h.log.Error("a failed start may have left its server running; the next start or a restart stops it",
				"server", refName(ref), "err", serr)
		}
		scancel()
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer fcancel()
	if err == nil {
		_, ferr := h.st.FinishServer(fctx, ref.User, ref.Server, h.cfg.ReplicaID, store.PhaseSpawn,
			store.Outcome{URL: url, Started: h.now(), State: state})
		if ferr != nil {
			// The claim was lost (another replica took it over after it
			// expired) or the store is down: the other owner decides.
			err = fmt.Errorf("recording the started server: %w", ferr)
			h.log.Error("server started but could not be recorded", "server", refName(ref), "err", ferr)
		} else {
			h.setRoute(ref, url)
		}
	}
	h.metrics.observeSpawn(err, h.now().Sub(op.started))
	if err != nil {
		h.active.Add(-1)
		msg := spawnFailure(err, ctx)
		h.log.Warn("server failed to start", "server", refName(ref), "err", err)
		if tid := state[stateToken]; tid != "" {
			h.revokeServerCredentials(fctx, ref, tid)
		}
		if _, ferr := h.st.FinishServer(fctx, ref.User, ref.Server, h.cfg.ReplicaID, store.PhaseSpawn, store.Outcome{}); ferr != nil {
			h.log.Error("could not record a failed start", "server", refName(ref), "err", ferr)
		}
		h.mu.Lock()
		h.lastErr[ref] = msg
		h.mu.Unlock()
		op.err = errors.New(msg)
		op.events.Emit(spawner.Event{Time: h.now(), Progress: 100, Failed: true, Message: msg})
	} else {
		h.log.Info("server ready", "server", refName(ref), "url", url, "seconds", h.now().Sub(op.started).Seconds())
		op.url = h.serverPrefix(ref)
		op.events.Emit(spawner.Event{Time: h.now(), Progress: 100, Ready: true, Message: "Server ready at " + op.url})
	}
	h.mu.Lock()
	delete(h.ops, ref)
	h.mu.Unlock()
	close(op.done)
}

// spawnFailure is the message users see for a failed start.
func spawnFailure(err error, ctx context.Context) string {
	var se *spawner.StartError
	switch {
	case errors.As(err, &se):
		return "Spawn failed: " + se.Error()
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "Spawn failed: the server did not start in time"
	case errors.Is(err, context.Canceled):
		return "Spawn cancelled"
	}
	return "Spawn failed: " + err.Error()
}

// spawn does the work of a start: credentials, environment, the spawner.
// It returns the server's URL and the state to keep; on error the state
// holds what must be cleaned up.
func (h *Hub) spawn(ctx context.Context, op *operation, req spawnRequest, srv store.Server) (string, map[string]string, error) {
	ref := op.ref
	state := map[string]string{}
	spawnerState := map[string]string{}
	for k, v := range srv.State {
		if strings.HasPrefix(k, "hubkit.") {
			continue
		}
		spawnerState[k] = v
	}
	if old := srv.State[stateToken]; old != "" {
		h.revokeServerCredentials(ctx, ref, old)
	}
	if h.cfg.ClaimTTL > 0 {
		go h.renewClaim(ctx, ref, store.PhaseSpawn)
	}

	secret, err := store.NewSecret(nil)
	if err != nil {
		return "", state, err
	}
	prefix := h.serverPrefix(ref)
	tok, err := h.st.CreateToken(ctx, secret, store.Token{
		Owner:  store.Owner{User: ref.User},
		Scopes: serverScopes(ref),
		Note:   "Server at " + prefix,
	})
	if err != nil {
		return "", state, fmt.Errorf("creating the server's token: %w", err)
	}
	state[stateToken] = strconv.FormatInt(tok.ID, 10)
	if _, err := h.st.PutOAuthClient(ctx, store.OAuthClient{
		ID:          clientID(ref),
		RedirectURI: prefix + "oauth_callback",
		Description: "Server at " + prefix,
		Owner:       store.Owner{User: ref.User},
		Scopes:      accessScopes(ref),
	}, secret); err != nil {
		return "", state, fmt.Errorf("registering the server's OAuth client: %w", err)
	}
	var secretEnv map[string]string
	if h.cfg.SecretEnv != nil {
		op.events.Emit(spawner.Event{Time: h.now(), Progress: 5, Message: "Fetching credentials"})
		secretEnv, err = h.cfg.SecretEnv(ctx, req.user, ref)
		switch {
		case err != nil && h.cfg.SecretEnvOptional:
			h.log.Warn("starting a server without its credentials", "server", refName(ref), "err", err)
			op.events.Emit(spawner.Event{Time: h.now(), Progress: 5,
				Message: "Credentials are unavailable; starting without them (restart the server later to get them)"})
			secretEnv = nil
		case err != nil:
			return "", state, fmt.Errorf("credentials: %w", err)
		}
	}
	sreq := spawner.Request{
		Ref:        ref,
		UserGroups: req.user.Groups,
		Env:        h.serverEnv(ref),
		APIToken:   secret,
		SecretEnv:  secretEnv,
		Override:   req.override,
		State:      spawnerState,
	}
	if pr, ok := h.cfg.Spawner.(spawner.ProgressReporter); ok {
		pctx, pcancel := context.WithCancel(ctx)
		defer pcancel()
		if ch, err := pr.Progress(pctx, ref); err == nil {
			go func() {
				for e := range ch {
					if e.Ready || e.Failed {
						continue
					}
					e.Progress = min(max(e.Progress, 10), 95)
					op.events.Emit(e)
				}
			}()
		}
	}
	// A server left over from an earlier start would be adopted by the
	// spawner with that start's credentials, which are revoked: stop it.
	if err := h.stopLeftover(ctx, ref); err != nil {
		return "", state, fmt.Errorf("stopping what an earlier start left running: %w", err)
	}
	op.events.Emit(spawner.Event{Time: h.now(), Progress: 10, Message: "Starting the server"})
	s, err := h.cfg.Spawner.Start(ctx, sreq)
	if err != nil {
		return "", state, err
	}
	maps.Copy(state, s.State)
	return s.URL, state, nil
}

// stopLeftover stops ref's server if the spawner runs one while the hub
// does not (it holds ref's claim and no start of ref is running): what a
// failed start could not clean up. An error from Status is not an error
// here: the start that follows meets the same backend.
func (h *Hub) stopLeftover(ctx context.Context, ref spawner.Ref) error {
	st, err := h.cfg.Spawner.Status(ctx, ref)
	if err != nil || st.Phase == spawner.PhaseStopped {
		return nil
	}
	h.log.Warn("stopping a server that an earlier start left", "server", refName(ref), "phase", st.Phase)
	return h.cfg.Spawner.Stop(ctx, ref)
}

// renewClaim renews the claim on ref every third of ClaimTTL until ctx
// ends, so that other replicas see its owner alive.
func (h *Hub) renewClaim(ctx context.Context, ref spawner.Ref, phase store.Phase) {
	t := time.NewTicker(h.cfg.ClaimTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := h.st.ClaimServer(ctx, ref.User, ref.Server, store.Claim{Phase: phase, Owner: h.cfg.ReplicaID, Expires: h.claimExpiry()}); err != nil && ctx.Err() == nil {
				h.log.Warn("renewing a claim", "server", refName(ref), "err", err)
			}
		}
	}
}

// serverEnv is the JUPYTERHUB_* environment of ref's server, as
// JupyterHub's Spawner.get_env makes it.
func (h *Hub) serverEnv(ref spawner.Ref) map[string]string {
	prefix := h.serverPrefix(ref)
	access, _ := json.Marshal(accessScopes(ref))
	env := map[string]string{
		"JUPYTERHUB_API_URL":                     h.cfg.HubAPIURL,
		"JUPYTERHUB_ACTIVITY_URL":                h.cfg.HubAPIURL + "/users/" + pathEscape(ref.User) + "/activity",
		"JUPYTERHUB_BASE_URL":                    h.cfg.BaseURL,
		"JUPYTERHUB_CLIENT_ID":                   clientID(ref),
		"JUPYTERHUB_HOST":                        "",
		"JUPYTERHUB_OAUTH_CALLBACK_URL":          prefix + "oauth_callback",
		"JUPYTERHUB_OAUTH_SCOPES":                string(access),
		"JUPYTERHUB_OAUTH_ACCESS_SCOPES":         string(access),
		"JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": "[]",
		"JUPYTERHUB_SERVER_NAME":                 ref.Server,
		"JUPYTERHUB_SERVICE_PREFIX":              prefix,
		"JUPYTERHUB_USER":                        ref.User,
	}
	if h.cfg.DefaultURL != "" {
		env["JUPYTERHUB_DEFAULT_URL"] = h.cfg.DefaultURL
	}
	return env
}

// revokeServerCredentials deletes the server's API token (by its ID in the
// server's state) and its OAuth client with the tokens it issued.
func (h *Hub) revokeServerCredentials(ctx context.Context, ref spawner.Ref, tokenID string) {
	if id, err := strconv.ParseInt(tokenID, 10, 64); err == nil {
		if err := h.st.DeleteToken(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			h.log.Warn("revoking a server token", "server", refName(ref), "err", err)
		}
	}
	if err := h.st.DeleteOAuthClient(ctx, clientID(ref)); err != nil && !errors.Is(err, store.ErrNotFound) {
		h.log.Warn("removing a server's OAuth client", "server", refName(ref), "err", err)
	}
}

func (h *Hub) setRoute(ref spawner.Ref, target string) {
	prefix := h.serverPrefix(ref)
	if err := h.proxy.Routes().Set(prefix, target); err != nil {
		h.log.Error("adding a route", "prefix", prefix, "target", target, "err", err)
		return
	}
	h.mu.Lock()
	h.routes[prefix] = ref
	h.routeSet[prefix] = h.now()
	h.mu.Unlock()
	h.metrics.running.Set(float64(h.proxy.Routes().Len()))
}

func (h *Hub) deleteRoute(ref spawner.Ref) {
	prefix := h.serverPrefix(ref)
	h.proxy.Routes().Delete(prefix)
	h.mu.Lock()
	delete(h.routes, prefix)
	delete(h.routeSet, prefix)
	h.mu.Unlock()
	h.metrics.running.Set(float64(h.proxy.Routes().Len()))
}

// stopServer claims the server for a stop and stops it in the background.
// A start in progress on this replica is cancelled first.
func (h *Hub) stopServer(ctx context.Context, user store.User, server string) (*operation, error) {
	ref := spawner.Ref{User: user.Name, Server: server}
	if op := h.op(ref); op != nil {
		if op.phase == store.PhaseStop {
			return op, nil
		}
		op.cancel()
		if !op.wait(ctx, 30*time.Second) {
			return nil, errorf(http.StatusServiceUnavailable, "%s is still starting; try again", refName(ref))
		}
		var err error
		if user, err = h.st.GetUser(ctx, user.Name); err != nil {
			return nil, err
		}
	}
	srv, ok := user.Server(server)
	if !ok {
		return nil, errorf(http.StatusNotFound, "%s has no server named %q", user.Name, server)
	}
	if !srv.Active() {
		return nil, errorf(http.StatusBadRequest, "%s is not running", refName(ref))
	}
	srv, err := h.st.ClaimServer(ctx, ref.User, ref.Server, store.Claim{Phase: store.PhaseStop, Owner: h.cfg.ReplicaID, Expires: h.claimExpiry()})
	if err != nil {
		var ce *store.ClaimError
		if errors.As(err, &ce) {
			if ce.Pending == store.PhaseStop {
				op := &operation{ref: ref, phase: store.PhaseStop, done: make(chan struct{})}
				return op, nil
			}
			return nil, errorf(http.StatusBadRequest, "%s is pending %s", refName(ref), ce.Pending)
		}
		return nil, err
	}
	opctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StopTimeout)
	op := &operation{ref: ref, phase: store.PhaseStop, done: make(chan struct{}), cancel: cancel, started: h.now()}
	h.mu.Lock()
	if other := h.ops[ref]; other != nil {
		h.mu.Unlock()
		cancel()
		return other, nil
	}
	h.ops[ref] = op
	h.mu.Unlock()
	h.log.Info("stopping server", "server", refName(ref))
	go h.runStop(opctx, op, srv)
	return op, nil
}

func (h *Hub) runStop(ctx context.Context, op *operation, srv store.Server) {
	defer op.cancel()
	ref := op.ref
	if h.cfg.ClaimTTL > 0 {
		go h.renewClaim(ctx, ref, store.PhaseStop)
	}
	h.deleteRoute(ref)
	err := h.cfg.Spawner.Stop(ctx, ref)
	fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer fcancel()
	if err == nil {
		h.revokeServerCredentials(fctx, ref, srv.State[stateToken])
		state := maps.Clone(srv.State)
		delete(state, stateToken)
		if state == nil {
			state = map[string]string{}
		}
		if _, ferr := h.st.FinishServer(fctx, ref.User, ref.Server, h.cfg.ReplicaID, store.PhaseStop, store.Outcome{State: state}); ferr != nil {
			err = ferr
		} else {
			h.active.Add(-1)
			if h.cfg.AfterStop != nil {
				h.cfg.AfterStop(fctx, ref)
			}
		}
	}
	h.metrics.observeStop(err, h.now().Sub(op.started))
	if err != nil {
		// The server may still run: put its route back and give up the
		// claim, so that a later stop can try again.
		h.log.Error("stopping a server failed", "server", refName(ref), "err", err)
		if srv.URL != "" {
			h.setRoute(ref, srv.URL)
		}
		if _, ferr := h.st.FinishServer(fctx, ref.User, ref.Server, h.cfg.ReplicaID, store.PhaseStop, store.Outcome{URL: srv.URL, Started: srv.Started}); ferr != nil {
			h.log.Error("could not record a failed stop", "server", refName(ref), "err", ferr)
		}
		op.err = err
	} else {
		h.log.Info("server stopped", "server", refName(ref))
	}
	h.mu.Lock()
	delete(h.ops, ref)
	h.mu.Unlock()
	close(op.done)
}

// waitOps waits up to d for the operations in progress to end.
func (h *Hub) waitOps(d time.Duration) {
	h.mu.Lock()
	ops := make([]*operation, 0, len(h.ops))
	for _, op := range h.ops {
		ops = append(ops, op)
	}
	h.mu.Unlock()
	deadline := time.Now().Add(d)
	for _, op := range ops {
		op.wait(context.Background(), time.Until(deadline))
	}
}

// startup re-adopts what the store says is active and stops what the
// spawner runs that the store does not know.
func (h *Hub) startup(ctx context.Context) error {
	servers, err := h.st.ListServers(ctx, store.ServerQuery{Active: true})
	if err != nil {
		return fmt.Errorf("hub: reading active servers: %w", err)
	}
	known := map[spawner.Ref]bool{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, s := range servers {
		ref := spawner.Ref{User: s.User, Server: s.Name}
		known[ref] = true
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			h.check(ctx, s)
		})
	}
	wg.Wait()
	if l, ok := h.cfg.Spawner.(spawner.Lister); ok {
		list, err := l.List(ctx)
		if err != nil {
			h.log.Warn("listing the spawner's servers", "err", err)
		}
		for _, st := range list {
			if known[st.Ref] || st.Phase == spawner.PhaseStopped {
				continue
			}
			h.log.Warn("stopping a server the hub does not know", "server", refName(st.Ref))
			if err := h.cfg.Spawner.Stop(ctx, st.Ref); err != nil {
				h.log.Error("stopping an unknown server", "server", refName(st.Ref), "err", err)
			}
		}
	}
	h.metrics.running.Set(float64(h.proxy.Routes().Len()))
	return nil
}

// check brings one active server of the store in line with the spawner:
// running → routed; gone → recorded as stopped and its credentials
// revoked; still starting → waited for in the background.
func (h *Hub) check(ctx context.Context, s store.Server) {
	ref := spawner.Ref{User: s.User, Server: s.Name}
	phase := store.PhaseCheck
	switch {
	case s.Pending != store.PhaseNone && s.PendingOwner == h.cfg.ReplicaID:
		// This replica's own claim from before a restart: take it up again.
		phase = s.Pending
	case s.Pending != store.PhaseNone && (s.PendingExpires.IsZero() || s.PendingExpires.After(h.now())):
		return // another replica is working on it
	case s.Pending == store.PhaseSpawn || s.Pending == store.PhaseStop:
		// A replica that died during this operation: take it over (its
		// claim expired) and finish it.
		phase = s.Pending
	}
	if _, err := h.st.ClaimServer(ctx, ref.User, ref.Server, store.Claim{Phase: phase, Owner: h.cfg.ReplicaID, Expires: h.claimExpiry()}); err != nil {
		h.log.Warn("claiming a server to check it", "server", refName(ref), "err", err)
		return
	}
	st, err := h.cfg.Spawner.Status(ctx, ref)
	if err != nil {
		h.log.Warn("checking a server", "server", refName(ref), "err", err)
		_, _ = h.st.FinishServer(ctx, ref.User, ref.Server, h.cfg.ReplicaID, phase, store.Outcome{URL: s.URL, Started: s.Started})
		if s.URL != "" {
			h.active.Add(1)
			h.setRoute(ref, s.URL)
		}
		return
	}
	switch {
	case st.Phase == spawner.PhaseRunning && st.Server != nil && phase != store.PhaseStop:
		state := maps.Clone(s.State)
		if state == nil {
			state = map[string]string{}
		}
		maps.Copy(state, st.Server.State)
		started := s.Started
		if started.IsZero() {
			started = st.Server.Started
		}
		if _, err := h.st.FinishServer(ctx, ref.User, ref.Server, h.cfg.ReplicaID, phase, store.Outcome{URL: st.Server.URL, Started: started, State: state}); err != nil {
			h.log.Warn("recording a re-adopted server", "server", refName(ref), "err", err)
			return
		}
		h.active.Add(1)
		h.setRoute(ref, st.Server.URL)
		h.log.Info("re-adopted server", "server", refName(ref), "url", st.Server.URL)
	case st.Phase == spawner.PhasePending && phase == store.PhaseSpawn:
		h.active.Add(1)
		h.spawning.Add(1)
		op := &operation{ref: ref, phase: store.PhaseSpawn, done: make(chan struct{}), started: h.now()}
		opctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.StartTimeout)
		op.cancel = cancel
		h.mu.Lock()
		h.ops[ref] = op
		h.mu.Unlock()
		op.events.Emit(spawner.Event{Time: h.now(), Progress: 50, Message: "Waiting for the server (the hub restarted during its start)"})
		go h.runAdopt(opctx, op, s)
	default:
		// Gone, failed, or a stop to finish: stop it for good.
		if err := h.cfg.Spawner.Stop(ctx, ref); err != nil {
			h.log.Warn("stopping a server that is not running", "server", refName(ref), "err", err)
			_, _ = h.st.FinishServer(ctx, ref.User, ref.Server, h.cfg.ReplicaID, phase, store.Outcome{URL: s.URL, Started: s.Started})
			return
		}
		h.revokeServerCredentials(ctx, ref, s.State[stateToken])
		state := maps.Clone(s.State)
		delete(state, stateToken)
		if state == nil {
			state = map[string]string{}
		}
		if _, err := h.st.FinishServer(ctx, ref.User, ref.Server, h.cfg.ReplicaID, phase, store.Outcome{State: state}); err != nil {
			h.log.Warn("recording a stopped server", "server", refName(ref), "err", err)
			return
		}
		if h.cfg.AfterStop != nil {
			h.cfg.AfterStop(ctx, ref)
		}
		h.log.Info("server was not running; recorded as stopped", "server", refName(ref), "phase", st.Phase, "message", st.Message)
	}
}

// runAdopt waits for a server whose start a previous run of this replica
// began, polling the spawner until it runs, fails or the start times out.
func (h *Hub) runAdopt(ctx context.Context, op *operation, s store.Server) {
	defer op.cancel()
	defer h.spawning.Add(-1)
	ref := op.ref
	if h.cfg.ClaimTTL > 0 {
		go h.renewClaim(ctx, ref, store.PhaseSpawn)
	}
	var err error
	var url string
	state := maps.Clone(s.State)
	for {
		st, serr := h.cfg.Spawner.Status(ctx, ref)
		if serr == nil && st.Phase == spawner.PhaseRunning && st.Server != nil {
			url = st.Server.URL
			if state == nil {
				state = map[string]string{}
			}
			maps.Copy(state, st.Server.State)
			break
		}
		if serr == nil && (st.Phase == spawner.PhaseStopped || st.Phase == spawner.PhaseFailed) {
			err = fmt.Errorf("the server stopped during its start: %s", st.Message)
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(time.Second):
		}
		if err != nil {
			break
		}
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer fcancel()
	if err == nil {
		if _, err = h.st.FinishServer(fctx, ref.User, ref.Server, h.cfg.ReplicaID, store.PhaseSpawn, store.Outcome{URL: url, Started: h.now(), State: state}); err == nil {
			h.setRoute(ref, url)
		}
	}
	if err != nil {
		h.active.Add(-1)
		_ = h.cfg.Spawner.Stop(fctx, ref)
		h.revokeServerCredentials(fctx, ref, s.State[stateToken])
		_, _ = h.st.FinishServer(fctx, ref.User, ref.Server, h.cfg.ReplicaID, store.PhaseSpawn, store.Outcome{})
		msg := spawnFailure(err, ctx)
		op.err = errors.New(msg)
		h.mu.Lock()
		h.lastErr[ref] = msg
		h.mu.Unlock()
		op.events.Emit(spawner.Event{Time: h.now(), Progress: 100, Failed: true, Message: msg})
	} else {
		op.url = h.serverPrefix(ref)
		op.events.Emit(spawner.Event{Time: h.now(), Progress: 100, Ready: true, Message: "Server ready at " + op.url})
	}
	h.mu.Lock()
	delete(h.ops, ref)
	h.mu.Unlock()
	close(op.done)
}

// poll checks the servers this replica routes to and records those that
// stopped on their own.
func (h *Hub) poll(ctx context.Context) {
	h.mu.Lock()
	refs := make([]spawner.Ref, 0, len(h.routes))
	for _, ref := range h.routes {
		if h.ops[ref] == nil {
			refs = append(refs, ref)
		}
	}
	h.mu.Unlock()
	for _, ref := range refs {
		start := h.now()
		st, err := h.cfg.Spawner.Status(ctx, ref)
		h.metrics.poll.Observe(h.now().Sub(start).Seconds())
		if err != nil || st.Phase == spawner.PhaseRunning || st.Phase == spawner.PhasePending {
			continue
		}
		h.log.Warn("server stopped on its own", "server", refName(ref), "phase", st.Phase, "message", st.Message)
		s, err := h.st.GetServer(ctx, ref.User, ref.Server)
		if err != nil {
			continue
		}
		h.deleteRoute(ref)
		h.active.Add(-1)
		h.check(ctx, s)
	}
}

// collectActivity hands the proxy's per-route activity to the batcher.
func (h *Hub) collectActivity(ctx context.Context) {
	cutoff := h.now().Add(-2 * h.cfg.ActivityInterval)
	for r := range h.proxy.Routes().All() {
		if r.LastActivity.IsZero() || r.LastActivity.Before(cutoff) {
			continue
		}
		h.mu.Lock()
		ref, ok := h.routes[r.Prefix]
		h.mu.Unlock()
		if !ok {
			continue
		}
		_ = h.batcher.Record(store.Activity{Kind: store.ActivityServer, User: ref.User, Server: ref.Server, Time: r.LastActivity})
	}
}
