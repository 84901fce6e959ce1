package culler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Culler stops idle servers, and optionally deletes idle users, of the hub
// behind a [Source]. It is safe for concurrent use; passes of Run and Once
// do not share state.
type Culler struct {
	src  Source
	opts Options
	m    *metrics
}

// New returns a culler over src with opts (see [Options] for defaults). It
// registers the metrics on opts.Registerer when that is set.
func New(src Source, opts Options) (*Culler, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil Source", ErrInvalidOptions)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Culler{src: src, opts: o, m: m}, nil
}

// Options returns the culler's options with the defaults applied.
func (c *Culler) Options() Options { return c.opts }

// Run runs a pass at once and then one every Options.Every, until ctx ends.
// Passes never overlap: when a pass takes longer than Every, the next one
// starts when it ends. A failed pass is logged and counted in the metrics;
// Run goes on. It returns nil when ctx ends.
func (c *Culler) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	t := time.NewTicker(c.opts.Every)
	defer t.Stop()
	for {
		rep, err := c.Once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		c.logPass(rep, err)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (c *Culler) logPass(rep Report, err error) {
	attrs := []any{
		slog.Int("users", rep.Users), slog.Int("servers", rep.Servers),
		slog.Int("culled_servers", len(rep.Stopped)), slog.Int("culled_users", len(rep.Deleted)),
		slog.Int("errors", len(rep.Errors)), slog.Duration("duration", rep.Duration),
	}
	switch {
	case err != nil:
		c.opts.Logger.Warn("cull pass finished with errors", attrs...)
	case len(rep.Stopped) > 0 || len(rep.Deleted) > 0:
		c.opts.Logger.Info("cull pass finished", attrs...)
	default:
		c.opts.Logger.Debug("cull pass finished", attrs...)
	}
}

// Reason says why a server or user was culled.
type Reason string

// The reasons.
const (
	// ReasonInactive: inactive for Timeout (for servers: the Arbiter said so).
	ReasonInactive Reason = "inactive"
	// ReasonMaxAge: older than MaxAge.
	ReasonMaxAge Reason = "max_age"
)

// Report is what one pass did.
type Report struct {
	// Now is the clock reading against which the pass measured inactivity
	// and age.
	Now time.Time
	// Duration is how long the pass took (by Options.Now).
	Duration time.Duration
	// Users is the number of distinct users the pass looked at; Servers the
	// number of their servers.
	Users, Servers int
	// Stopped are the servers the pass stopped or removed, including those
	// the hub is still stopping (SlowToStop), in no particular order.
	Stopped []CulledServer
	// Deleted are the users the pass deleted, in no particular order.
	Deleted []CulledUser
	// Errors are the *Error of the users and servers the pass could not
	// read or handle, and of a listing that failed.
	Errors []error
}

// CulledServer is a server a pass stopped.
type CulledServer struct {
	ServerRef
	// Reason says which rule culled it.
	Reason Reason
	// Inactive and Age are the server's inactivity and age; zero when
	// unknown.
	Inactive, Age time.Duration
	// Removed is true when the server was removed, not only stopped.
	Removed bool
	// SlowToStop is true when the hub accepted the stop but had not
	// finished it (ErrStopPending).
	SlowToStop bool
}

// CulledUser is a user a pass deleted.
type CulledUser struct {
	// User is the user's name.
	User string
	// Reason says which rule culled the user.
	Reason Reason
	// Inactive and Age are the user's inactivity and age; zero when
	// unknown.
	Inactive, Age time.Duration
}

// Once runs one pass: it lists the users, stops the servers the policy
// says, and deletes the users the policy says. It returns what it did, and
// the errors of the pass joined (nil when every user was read and every
// call succeeded). An error with one user or server does not stop the
// pass. When ctx ends the pass stops early and the error includes ctx's.
func (c *Culler) Once(ctx context.Context) (Report, error) {
	p := &pass{c: c, now: c.opts.Now()}
	p.rep.Now = p.now
	if n := c.opts.Concurrency; n > 0 {
		p.sem = make(chan struct{}, n)
	}

	users := make(chan User)
	var wg sync.WaitGroup
	if n := c.opts.Concurrency; n > 0 {
		for range n {
			wg.Go(func() {
				for u := range users {
					p.handleUser(ctx, u)
				}
			})
		}
	}
	seen := make(map[string]struct{})
	q := Query{Ready: true, Inactive: c.opts.CullUsers}
	var ctxErr error
list:
	for u, err := range c.src.Users(ctx, q) {
		if err != nil {
			p.fail(&Error{Op: "list", User: u.Name, Err: err})
			continue
		}
		// JupyterHub's state=ready list repeats a user with several running
		// servers when a page boundary falls between them, and the
		// inactive and ready lists can overlap while users start servers.
		// A user is handled once per pass.
		if _, dup := seen[u.Name]; dup {
			c.opts.Logger.Debug("user listed twice in one pass; handled once", slog.String("user", u.Name))
			continue
		}
		seen[u.Name] = struct{}{}
		p.mu.Lock()
		p.rep.Users++
		p.rep.Servers += len(u.Servers)
		p.mu.Unlock()
		if c.opts.Concurrency < 0 {
			wg.Go(func() { p.handleUser(ctx, u) })
			continue
		}
		select {
		case users <- u:
		case <-ctx.Done():
			ctxErr = ctx.Err()
			break list
		}
	}
	close(users)
	wg.Wait()
	if ctxErr == nil {
		ctxErr = ctx.Err()
	}

	end := c.opts.Now()
	p.rep.Duration = end.Sub(p.now)
	c.m.passDuration.Observe(p.rep.Duration.Seconds())
	c.m.lastPass.Set(float64(end.UnixNano()) / 1e9)
	err := errors.Join(p.rep.Errors...)
	if ctxErr != nil {
		err = errors.Join(fmt.Errorf("culler: pass interrupted: %w", ctxErr), err)
	}
	return p.rep, err
}

// pass is the state of one Once.
type pass struct {
	c   *Culler
	now time.Time
	sem chan struct{} // bounds Source calls; nil: unbounded

	mu  sync.Mutex
	rep Report
}

func (p *pass) fail(e *Error) {
	p.c.m.errors.WithLabelValues(e.Op).Inc()
	log := p.c.opts.Logger
	if errors.Is(e.Err, context.Canceled) {
		log.Debug(e.Error())
	} else {
		log.Error(e.Error())
	}
	p.mu.Lock()
	p.rep.Errors = append(p.rep.Errors, e)
	p.mu.Unlock()
}

// call runs f holding a place in the pass's concurrency bound.
func (p *pass) call(ctx context.Context, f func() error) error {
	if p.sem != nil {
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-p.sem }()
	}
	return f()
}

// handleUser culls the user's servers and then, with CullUsers, the user.
func (p *pass) handleUser(ctx context.Context, u User) {
	stopped := make([]bool, len(u.Servers))
	if len(u.Servers) == 1 {
		stopped[0] = p.handleServer(ctx, u.Name, u.Servers[0])
	} else {
		var wg sync.WaitGroup
		for i, s := range u.Servers {
			wg.Go(func() { stopped[i] = p.handleServer(ctx, u.Name, s) })
		}
		wg.Wait()
	}
	if !p.c.opts.CullUsers {
		return
	}
	alive := 0
	for _, ok := range stopped {
		if !ok {
			alive++
		}
	}
	log := p.c.opts.Logger
	if alive > 0 {
		log.Debug("not culling user with servers still alive", slog.String("user", u.Name), slog.Int("alive", alive))
		return
	}
	d := p.c.judgeUser(p.now, u)
	if !d.cull {
		log.Debug("not culling user", slog.String("user", u.Name), slog.String("why", d.why))
		return
	}
	log.Info("culling user", slog.String("user", u.Name), slog.String("reason", string(d.reason)),
		slog.Duration("inactive", d.inactive), slog.Duration("age", d.age))
	if err := p.call(ctx, func() error { return p.c.src.DeleteUser(ctx, u.Name) }); err != nil {
		p.fail(&Error{Op: "delete", User: u.Name, Err: err})
		return
	}
	p.c.m.usersCulled.WithLabelValues(string(d.reason)).Inc()
	p.mu.Lock()
	p.rep.Deleted = append(p.rep.Deleted, CulledUser{User: u.Name, Reason: d.reason, Inactive: d.inactive, Age: d.age})
	p.mu.Unlock()
}

// handleServer culls one server when the policy says so. It reports whether
// the server is stopped now, which is what lets the user be culled.
func (p *pass) handleServer(ctx context.Context, user string, s Server) bool {
	s.User = user
	ref := s.Ref()
	log := p.c.opts.Logger
	d := p.c.judgeServer(p.now, s)
	if !d.cull {
		if d.warn {
			log.Warn("not culling server", slog.String("server", ref.String()), slog.String("why", d.why))
		} else {
			log.Debug("not culling server", slog.String("server", ref.String()), slog.String("why", d.why),
				slog.Duration("inactive", d.inactive), slog.Duration("age", d.age))
		}
		return false
	}
	log.Info("culling server", slog.String("server", ref.String()), slog.String("reason", string(d.reason)),
		slog.Duration("inactive", d.inactive), slog.Duration("age", d.age))
	remove := s.Name != "" && p.c.opts.RemoveNamedServers
	op := "stop"
	if remove {
		op = "remove"
	}
	err := p.call(ctx, func() error {
		if remove {
			return p.c.src.RemoveServer(ctx, user, s.Name)
		}
		return p.c.src.StopServer(ctx, user, s.Name)
	})
	slow := errors.Is(err, ErrStopPending)
	if err != nil && !slow {
		p.fail(&Error{Op: op, User: user, Server: s.Name, Err: err})
		return false
	}
	kind := "default"
	if s.Name != "" {
		kind = "named"
	}
	p.c.m.serversCulled.WithLabelValues(kind, string(d.reason)).Inc()
	if slow {
		p.c.m.slowToStop.Inc()
		log.Warn("server is slow to stop", slog.String("server", ref.String()))
	}
	p.mu.Lock()
	p.rep.Stopped = append(p.rep.Stopped, CulledServer{ServerRef: ref, Reason: d.reason,
		Inactive: d.inactive, Age: d.age, Removed: remove, SlowToStop: slow})
	p.mu.Unlock()
	// A server still stopping keeps its user from being culled this pass.
	return !slow
}

// decision is the verdict on one server or user.
type decision struct {
	cull          bool
	reason        Reason
	inactive, age time.Duration // zero when unknown
	why           string        // why not, for the log
	warn          bool          // log the "why not" as a warning
}

// judgeServer applies jupyterhub-idle-culler's rules to one server.
func (c *Culler) judgeServer(now time.Time, s Server) decision {
	if s.Pending != "" {
		return decision{why: "pending " + s.Pending, warn: true}
	}
	if !s.Ready {
		return decision{why: "not ready", warn: true}
	}
	var d decision
	ageKnown := !s.Started.IsZero()
	if ageKnown {
		d.age = now.Sub(s.Started)
	}
	inactiveKnown := true
	switch {
	case !s.LastActivity.IsZero():
		d.inactive = now.Sub(s.LastActivity)
	case ageKnown:
		// No activity recorded yet: inactive since the start.
		d.inactive = d.age
	default:
		inactiveKnown = false
	}
	if s.Name == "" && c.opts.SkipDefaultServers {
		d.why = "default servers are not culled"
		return d
	}
	if s.Name != "" && c.opts.SkipNamedServers {
		d.why = "named servers are not culled"
		return d
	}
	if inactiveKnown && c.opts.Arbiter(d.inactive, c.opts.Timeout, s) {
		d.cull, d.reason = true, ReasonInactive
		return d
	}
	if c.opts.MaxAge > 0 && ageKnown && d.age >= c.opts.MaxAge {
		d.cull, d.reason = true, ReasonMaxAge
		return d
	}
	switch {
	case !inactiveKnown && !ageKnown:
		d.why = "neither last activity nor start time known"
	default:
		d.why = "active"
	}
	return d
}

// judgeUser applies jupyterhub-idle-culler's rules to a user whose servers
// have all stopped.
func (c *Culler) judgeUser(now time.Time, u User) decision {
	var d decision
	if u.Admin && c.opts.SkipAdminUsers {
		d.why = "admin users are not culled"
		return d
	}
	ageKnown := !u.Created.IsZero()
	if ageKnown {
		d.age = now.Sub(u.Created)
	}
	inactiveKnown := true
	switch {
	case !u.LastActivity.IsZero():
		d.inactive = now.Sub(u.LastActivity)
	case ageKnown:
		d.inactive = d.age
	default:
		inactiveKnown = false
	}
	if inactiveKnown && d.inactive >= c.opts.Timeout {
		d.cull, d.reason = true, ReasonInactive
		return d
	}
	if c.opts.MaxAge > 0 && ageKnown && d.age >= c.opts.MaxAge {
		d.cull, d.reason = true, ReasonMaxAge
		return d
	}
	if !inactiveKnown && !ageKnown {
		d.why = "neither last activity nor creation time known"
	} else {
		d.why = "active"
	}
	return d
}
