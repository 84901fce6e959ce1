package vault

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// CredentialOptions configure a Credential. The zero value works; every
// default is written on its field.
type CredentialOptions struct {
	// Logger receives a record for each login, failed renewal and retry.
	// Default: discard.
	Logger *slog.Logger

	// RenewFraction is the part of a lease after which the token is
	// renewed. Default 2/3.
	RenewFraction float64

	// Jitter moves each renewal and each retry by up to ± this part of
	// its delay, at random, so that many hubs or servers do not renew in
	// step. Default 0.1; negative means none.
	Jitter float64

	// MinBackoff is the wait after the first failed login; each further
	// failure doubles it. It is also the shortest wait between two
	// renewals of a lease longer than 3 × MinBackoff. Default 1 s.
	MinBackoff time.Duration

	// MaxBackoff caps the wait between failed logins, so a Vault that
	// comes back is noticed within MaxBackoff. Default 5 min.
	MaxBackoff time.Duration

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Rand returns a number in [0, 1) for the jitter. Default
	// math/rand/v2's Float64.
	Rand func() float64

	// After waits for a duration, as time.After does (the default).
	// Tests replace it to run the loop without waiting.
	After func(time.Duration) <-chan time.Time
}

func (o CredentialOptions) withDefaults() CredentialOptions {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RenewFraction <= 0 || o.RenewFraction >= 1 {
		o.RenewFraction = 2.0 / 3
	}
	switch {
	case o.Jitter == 0 || o.Jitter >= 1:
		o.Jitter = 0.1
	case o.Jitter < 0:
		o.Jitter = 0
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.After == nil {
		o.After = time.After
	}
	return o
}

// Credential keeps a Vault client's token alive: it logs in with an auth
// method (KubernetesAuth, TokenAuth, or any api.AuthMethod), sets the
// token on the client, renews it at about 2/3 of each lease, and logs in
// again when a renewal fails or the token reaches its max TTL. The hub
// uses it for its own credential; a user's server uses it (with
// TokenAuth) to renew the token the hub gave it.
//
// Its methods are safe for concurrent use.
type Credential struct {
	c    *api.Client
	auth api.AuthMethod
	o    CredentialOptions

	mu sync.Mutex
	st credState
}

type credState struct {
	loggedIn  bool
	accessor  string
	obtained  time.Time     // start of the current lease
	lease     time.Duration // 0: the token does not expire
	increment time.Duration // lease at login, asked for at each renewal
	renewable bool
	capped    bool // the last renewal got less than asked: log in next
	logins    int
	renewals  int
	failures  int
	lastErr   error
}

// NewCredential returns a Credential that sets c's token. It does no I/O:
// call Login, or Run, which logs in first.
func NewCredential(c *api.Client, auth api.AuthMethod, opts CredentialOptions) (*Credential, error) {
	if c == nil || auth == nil {
		return nil, errors.New("vault: NewCredential needs a client and an auth method")
	}
	return &Credential{c: c, auth: auth, o: opts.withDefaults()}, nil
}

// CredentialStatus is a snapshot of a Credential.
type CredentialStatus struct {
	// LoggedIn reports that the client has a token from this Credential.
	LoggedIn bool
	// Accessor is the token's accessor.
	Accessor string
	// Expires is when the current lease ends; zero if the token does not
	// expire or there is none.
	Expires time.Time
	// Renewable reports whether the token can be renewed.
	Renewable bool
	// Logins and Renewals count successes since NewCredential.
	Logins, Renewals int
	// Failures counts consecutive failed logins (0 after a success).
	Failures int
	// LastError is the most recent failure, nil if none.
	LastError error
}

// Status returns a snapshot. It does no I/O.
func (c *Credential) Status() CredentialStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st
	out := CredentialStatus{LoggedIn: s.loggedIn, Accessor: s.accessor, Renewable: s.renewable,
		Logins: s.logins, Renewals: s.renewals, Failures: s.failures, LastError: s.lastErr}
	if s.loggedIn && s.lease > 0 {
		out.Expires = s.obtained.Add(s.lease)
	}
	return out
}

// Login logs in once and sets the client's token. It blocks until Vault
// answers or ctx ends. A hub calls it before serving, to fail fast on a
// wrong configuration, and then runs Run.
func (c *Credential) Login(ctx context.Context) error {
	sec, err := c.auth.Login(ctx, c.c)
	if err == nil && (sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "") {
		err = &Error{Op: "login", Kind: ErrRejected, Err: errors.New("the auth method returned no token")}
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = translate(ctx, "login", "", err)
		}
		c.mu.Lock()
		c.st.failures++
		c.st.lastErr = err
		c.mu.Unlock()
		return err
	}
	c.c.SetToken(sec.Auth.ClientToken)
	lease := time.Duration(sec.Auth.LeaseDuration) * time.Second
	c.mu.Lock()
	c.st = credState{
		loggedIn:  true,
		accessor:  sec.Auth.Accessor,
		obtained:  c.o.Now(),
		lease:     lease,
		increment: lease,
		renewable: sec.Auth.Renewable,
		logins:    c.st.logins + 1,
		renewals:  c.st.renewals,
	}
	c.mu.Unlock()
	c.o.Logger.InfoContext(ctx, "vault: logged in", "accessor", sec.Auth.Accessor, "ttl", lease, "renewable", sec.Auth.Renewable)
	return nil
}

// renew renews the client's token by the lease of the last login.
func (c *Credential) renew(ctx context.Context) error {
	c.mu.Lock()
	inc := int(c.st.increment / time.Second)
	c.mu.Unlock()
	sec, err := c.c.Auth().Token().RenewSelfWithContext(ctx, inc)
	if err != nil {
		err = translate(ctx, "renew", "auth/token/renew-self", err)
		c.mu.Lock()
		c.st.lastErr = err
		c.mu.Unlock()
		return err
	}
	if sec == nil || sec.Auth == nil {
		return &Error{Op: "renew", Path: "auth/token/renew-self", Kind: ErrRejected, Err: errors.New("no auth in the answer")}
	}
	lease := time.Duration(sec.Auth.LeaseDuration) * time.Second
	c.mu.Lock()
	c.st.obtained = c.o.Now()
	c.st.lease = lease
	c.st.renewable = sec.Auth.Renewable
	c.st.capped = lease < c.st.increment
	c.st.renewals++
	c.mu.Unlock()
	c.o.Logger.DebugContext(ctx, "vault: token renewed", "ttl", lease)
	return nil
}

type action int

const (
	actLogin action = iota
	actRenew
	actIdle // the token does not expire: nothing to do
)

// plan returns what to do next and after how long.
func (c *Credential) plan(needLogin bool) (action, time.Duration) {
	c.mu.Lock()
	s := c.st
	c.mu.Unlock()
	switch {
	case s.failures > 0:
		return actLogin, backoff(s.failures, c.o.MinBackoff, c.o.MaxBackoff, c.o.Jitter, c.o.Rand())
	case needLogin || !s.loggedIn:
		return actLogin, 0
	case s.lease == 0 && !s.renewable && !s.capped:
		return actIdle, 0
	}
	d := renewDelay(s.obtained, s.lease, c.o.Now(), c.o.RenewFraction, c.o.Jitter, c.o.Rand(), c.o.MinBackoff)
	if !s.renewable || s.capped {
		return actLogin, d
	}
	return actRenew, d
}

// renewDelay returns how long to wait from now before renewing a lease
// that started at obtained: RenewFraction of the lease, moved by up to
// ± jitter × lease (r in [0, 1)), and never less than a floor — MinBackoff,
// or for leases shorter than 3 × MinBackoff a third of the lease but at
// least MinBackoff/4 — so a short or ending lease cannot make the loop
// spin.
func renewDelay(obtained time.Time, lease time.Duration, now time.Time, fraction, jitter, r float64, minBackoff time.Duration) time.Duration {
	due := obtained.Add(time.Duration(float64(lease) * (fraction + jitter*(2*r-1))))
	d := due.Sub(now)
	floor := minBackoff
	if lease < 3*minBackoff {
		floor = max(lease/3, minBackoff/4)
	}
	return max(d, floor)
}

// backoff returns the wait before retry number failures (1, 2, ...):
// minBackoff doubled per further failure, capped at maxBackoff, moved by
// up to ± jitter of itself (r in [0, 1)) and still capped.
func backoff(failures int, minBackoff, maxBackoff time.Duration, jitter, r float64) time.Duration {
	d := minBackoff
	for i := 1; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	d = time.Duration(float64(d) * (1 + jitter*(2*r-1)))
	return min(d, maxBackoff)
}

// Run keeps the client's token alive until ctx ends, then returns nil. It
// logs in first if Login has not succeeded; then it renews each lease at
// about RenewFraction of it (with jitter). When a renewal fails — Vault
// restarted and lost the token, the token was revoked, or it reached its
// max TTL — it logs in again at once; failed logins are retried after
// MinBackoff, doubling up to MaxBackoff. So Run never spins while Vault is
// down, and picks the new Vault up within MaxBackoff of its return.
//
// A token that does not expire (TTL 0 and not renewable, such as a root
// token) needs nothing: Run then only waits for ctx.
func (c *Credential) Run(ctx context.Context) error {
	needLogin := !c.Status().LoggedIn
	for {
		act, d := c.plan(needLogin)
		if act == actIdle {
			<-ctx.Done()
			return nil
		}
		if d > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-c.o.After(d):
			}
		} else if ctx.Err() != nil {
			return nil
		}
		var err error
		if act == actRenew {
			err = c.renew(ctx)
		} else {
			err = c.Login(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		needLogin = false
		if err == nil {
			continue
		}
		if act == actRenew {
			c.o.Logger.WarnContext(ctx, "vault: token renewal failed; logging in again", "err", err)
			needLogin = true
			continue
		}
		st := c.Status()
		c.o.Logger.ErrorContext(ctx, "vault: login failed; will retry", "err", err, "failures", st.Failures)
	}
}
