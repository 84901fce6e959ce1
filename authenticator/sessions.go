package authenticator

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hubkit/hubkit/authenticator/internal/cookie"
)

// SessionOptions configure [NewSessions]. The zero value works once Keys
// is set.
type SessionOptions struct {
	// Keys seal the session cookie and the auth state. Required.
	Keys *Keyring
	// Store keeps each session's sealed auth state. Default: a
	// [MemoryStore] (one process; sessions survive no restart's auth
	// state).
	Store StateStore
	// CookieName is the session cookie's name. Default "hubkit-session".
	CookieName string
	// Path is the cookie's path. Default "/".
	Path string
	// Domain is the cookie's domain. Default "" (host-only).
	Domain string
	// MaxAge is how long a session lasts from login. Default 24h.
	MaxAge time.Duration
	// AlwaysSecure sets the Secure flag even on plain-HTTP requests: set it
	// when the hub sits behind a TLS-terminating proxy. Default false: the
	// flag is set when the request itself came over TLS.
	AlwaysSecure bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand makes session ids. Default crypto/rand.Reader.
	Rand io.Reader
}

func (o SessionOptions) withDefaults() SessionOptions {
	if o.Store == nil {
		o.Store = NewMemoryStore(o.Now)
	}
	if o.CookieName == "" {
		o.CookieName = "hubkit-session"
	}
	if o.Path == "" {
		o.Path = "/"
	}
	if o.MaxAge == 0 {
		o.MaxAge = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

// Sessions keeps people logged in with a cookie: the identity (username,
// email, groups, roles, admin) sealed by a [Keyring] — encrypted and
// signed, HttpOnly, SameSite=Lax, Secure over TLS — with an expiry inside
// the sealed value, so that verifying a request needs no I/O. The tokens
// (auth state) stay on the server, sealed, in a [StateStore].
//
// Safe for concurrent use.
type Sessions struct {
	opts    SessionOptions
	spec    cookie.Spec
	purpose string
}

// Session is a verified session cookie.
type Session struct {
	// ID names the session's auth state in the [StateStore].
	ID string
	// Identity without AuthState; load that with [Sessions.AuthState].
	Identity Identity
	// Created and Expires bound the session.
	Created, Expires time.Time
	// RefreshAt is the auth state's [AuthState.RefreshAt] (zero: never).
	RefreshAt time.Time
	// HasAuthState says whether the login left auth state in the store.
	HasAuthState bool
}

// RefreshDue reports whether the session's tokens want renewing at now.
func (s Session) RefreshDue(now time.Time) bool {
	return s.HasAuthState && !s.RefreshAt.IsZero() && !now.Before(s.RefreshAt)
}

// sessionCookie is the sealed payload.
type sessionCookie struct {
	V         int      `json:"v"`
	ID        string   `json:"sid"`
	Identity  Identity `json:"id"`
	Created   int64    `json:"iat"`
	Expires   int64    `json:"exp"`
	RefreshAt int64    `json:"rat,omitempty"`
	State     bool     `json:"st,omitempty"`
}

// NewSessions returns a session manager.
func NewSessions(opts SessionOptions) (*Sessions, error) {
	if opts.Keys == nil {
		return nil, errors.New("authenticator: SessionOptions.Keys is required")
	}
	if opts.MaxAge < 0 {
		return nil, errors.New("authenticator: SessionOptions.MaxAge is negative")
	}
	o := opts.withDefaults()
	return &Sessions{
		opts:    o,
		spec:    cookie.Spec{Name: o.CookieName, Path: o.Path, Domain: o.Domain, AlwaysSecure: o.AlwaysSecure},
		purpose: "session:" + o.CookieName,
	}, nil
}

// Create starts a session for id: it stores id.AuthState (sealed) and sets
// the cookie on w.
func (s *Sessions) Create(ctx context.Context, w http.ResponseWriter, r *http.Request, id Identity) (Session, error) {
	var b [18]byte
	if _, err := io.ReadFull(s.opts.Rand, b[:]); err != nil {
		return Session{}, fmt.Errorf("authenticator: session id: %w", err)
	}
	now := s.opts.Now()
	sess := Session{
		ID:      base64.RawURLEncoding.EncodeToString(b[:]),
		Created: now.Truncate(time.Second),
		Expires: now.Add(s.opts.MaxAge).Truncate(time.Second),
	}
	return s.write(ctx, w, r, sess, id)
}

// Update replaces the identity and auth state of sess (after a refresh),
// keeping its id and expiry, and rewrites the cookie.
func (s *Sessions) Update(ctx context.Context, w http.ResponseWriter, r *http.Request, sess Session, id Identity) (Session, error) {
	return s.write(ctx, w, r, sess, id)
}

func (s *Sessions) write(ctx context.Context, w http.ResponseWriter, r *http.Request, sess Session, id Identity) (Session, error) {
	state := id.AuthState
	id.AuthState = nil
	sess.Identity = id
	sess.HasAuthState = state != nil
	sess.RefreshAt = time.Time{}
	if state != nil {
		sealed, err := s.opts.Keys.SealAuthState(state)
		if err != nil {
			return Session{}, err
		}
		if err := s.opts.Store.Put(ctx, sess.ID, sealed, sess.Expires); err != nil {
			return Session{}, fmt.Errorf("authenticator: storing auth state: %w", err)
		}
		sess.RefreshAt = state.RefreshAt.Truncate(time.Second)
	} else if err := s.opts.Store.Delete(ctx, sess.ID); err != nil {
		return Session{}, fmt.Errorf("authenticator: deleting auth state: %w", err)
	}
	c := sessionCookie{V: 1, ID: sess.ID, Identity: id, Created: sess.Created.Unix(), Expires: sess.Expires.Unix(), State: sess.HasAuthState}
	if !sess.RefreshAt.IsZero() {
		c.RefreshAt = sess.RefreshAt.Unix()
	}
	v, err := cookie.Seal(s.opts.Keys, s.purpose, c)
	if err != nil {
		return Session{}, fmt.Errorf("authenticator: session cookie for %q: %w (too many groups or roles?)", id.Username, err)
	}
	s.spec.Set(w, r, v, s.opts.Now(), sess.Expires)
	return sess, nil
}

// Get verifies the session cookie of r. It does no I/O. Errors:
// [ErrNoSession], [ErrInvalidSession] (tampered, foreign, or sealed with a
// retired key), [ErrSessionExpired].
func (s *Sessions) Get(r *http.Request) (Session, error) {
	ck, err := r.Cookie(s.opts.CookieName)
	if err != nil || ck.Value == "" {
		return Session{}, ErrNoSession
	}
	return s.Verify(ck.Value)
}

// Verify checks a session cookie's value, as [Sessions.Get] does.
func (s *Sessions) Verify(value string) (Session, error) {
	var c sessionCookie
	if err := cookie.Open(s.opts.Keys, s.purpose, value, &c); err != nil {
		return Session{}, fmt.Errorf("%w: %v", ErrInvalidSession, err)
	}
	if c.V != 1 || c.ID == "" || c.Identity.Username == "" {
		return Session{}, fmt.Errorf("%w: incomplete", ErrInvalidSession)
	}
	sess := Session{
		ID:           c.ID,
		Identity:     c.Identity,
		Created:      time.Unix(c.Created, 0),
		Expires:      time.Unix(c.Expires, 0),
		HasAuthState: c.State,
	}
	if c.RefreshAt != 0 {
		sess.RefreshAt = time.Unix(c.RefreshAt, 0)
	}
	if !s.opts.Now().Before(sess.Expires) {
		return Session{}, fmt.Errorf("%w: at %s", ErrSessionExpired, sess.Expires.UTC().Format(time.RFC3339))
	}
	return sess, nil
}

// AuthState loads and opens the session's auth state. An error wraps
// [ErrNotFound] when the store has none (never stored, expired, or the
// hub restarted with a [MemoryStore]).
func (s *Sessions) AuthState(ctx context.Context, sess Session) (*AuthState, error) {
	if !sess.HasAuthState {
		return nil, ErrNotFound
	}
	sealed, err := s.opts.Store.Get(ctx, sess.ID)
	if err != nil {
		return nil, fmt.Errorf("authenticator: auth state of session: %w", err)
	}
	return s.opts.Keys.OpenAuthState(sealed)
}

// Delete ends sess: it clears the cookie and deletes the auth state.
// Idempotent.
func (s *Sessions) Delete(ctx context.Context, w http.ResponseWriter, r *http.Request, sess Session) error {
	s.spec.Clear(w, r)
	if sess.ID == "" {
		return nil
	}
	if err := s.opts.Store.Delete(ctx, sess.ID); err != nil {
		return fmt.Errorf("authenticator: deleting auth state: %w", err)
	}
	return nil
}
