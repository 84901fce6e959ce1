package authenticator

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// GateOptions configure [NewGate]. Every field has a working default
// except Sessions, which an Authenticator that is not a
// [RequestAuthenticator] needs.
type GateOptions struct {
	// Sessions keep people logged in between requests.
	Sessions *Sessions
	// Home is where a login without a next target lands. Default "/".
	Home string
	// AfterLogout is where logout lands when the provider has no session to
	// end (otherwise the provider sends the browser to its configured
	// post-logout URL). Default "/".
	AfterLogout string
	// Logger receives one line per login, refresh and logout, and the
	// reasons of failures (never tokens). Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// ErrorPage writes the page for a failed login or a refused person.
	// msg is safe to show; details went to Logger. Default: a small HTML
	// page.
	ErrorPage func(w http.ResponseWriter, r *http.Request, status int, msg string)
}

func (o GateOptions) withDefaults() GateOptions {
	if o.Home == "" {
		o.Home = "/"
	}
	if o.AfterLogout == "" {
		o.AfterLogout = "/"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ErrorPage == nil {
		home := o.Home
		o.ErrorPage = func(w http.ResponseWriter, _ *http.Request, status int, msg string) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>%d %s</title></head><body><h1>%s</h1><p>%s</p><p><a href=\"%s\">Try again</a></p></body></html>\n",
				status, http.StatusText(status), http.StatusText(status), html.EscapeString(msg), html.EscapeString(home))
		}
	}
	return o
}

// Gate puts an [Authenticator] in front of HTTP handlers: it starts logins,
// finishes them into sessions, renews expiring tokens ([Refresher]), ends
// sessions at the provider on logout ([Logouter]), and hands each request's
// [Identity] to the protected handler ([IdentityFrom]).
//
// Mount its handlers on your mux — the callback at the path of the
// authenticator's redirect URL:
//
//	mux.Handle("/", gate.Protect(app))
//	mux.Handle("/login", gate.Login())
//	mux.Handle("/oauth_callback", gate.Callback())
//	mux.Handle("/logout", gate.Logout())
//
// Safe for concurrent use.
type Gate struct {
	a    Authenticator
	opts GateOptions

	mu       sync.Mutex
	inflight map[string]*refreshCall
}

type refreshCall struct {
	done chan struct{}
	id   Identity
	err  error
}

// NewGate returns a gate for a.
func NewGate(a Authenticator, opts GateOptions) (*Gate, error) {
	if a == nil {
		return nil, errors.New("authenticator: NewGate: nil Authenticator")
	}
	if _, ok := a.(RequestAuthenticator); !ok && opts.Sessions == nil {
		return nil, errors.New("authenticator: GateOptions.Sessions is required for this authenticator")
	}
	o := opts.withDefaults()
	if !localPath(o.Home) || !localPath(o.AfterLogout) {
		return nil, errors.New("authenticator: GateOptions.Home and AfterLogout must be local paths")
	}
	return &Gate{a: a, opts: o, inflight: map[string]*refreshCall{}}, nil
}

type identityKey struct{}

// IdentityFrom returns the identity that [Gate.Protect] put in ctx.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// WithIdentity returns ctx carrying id, as [Gate.Protect] does; for tests
// of protected handlers.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// Protect serves next only to logged-in, allowed people. A browser
// navigating without a session (GET or HEAD, and Sec-Fetch-Mode navigate
// when the browser sends it) is sent to log in and comes back to the same
// URL; other requests (API calls, scripts, images) get 401, so that they do
// not start logins of their own. A session whose tokens are due is refreshed
// first; a refused refresh ends the session and starts a new login.
func (g *Gate) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id, status, err := g.identify(ctx, w, r)
		if err == nil {
			next.ServeHTTP(w, r.WithContext(WithIdentity(ctx, id)))
			return
		}
		if status == http.StatusForbidden {
			g.opts.ErrorPage(w, r, status, "You are not allowed to use this service.")
			return
		}
		if _, ok := g.a.(RequestAuthenticator); ok || !navigation(r) {
			g.opts.ErrorPage(w, r, http.StatusUnauthorized, "Log in first.")
			return
		}
		g.start(w, r, SafeNext(r.URL.RequestURI(), g.opts.Home))
	})
}

// navigation reports whether r is a browser navigation that may start a
// login.
func navigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	mode := r.Header.Get("Sec-Fetch-Mode")
	return mode == "" || mode == "navigate"
}

// identify returns the request's identity, or a status (401 or 403) and
// the reason.
func (g *Gate) identify(ctx context.Context, w http.ResponseWriter, r *http.Request) (Identity, int, error) {
	log := g.opts.Logger
	if ra, ok := g.a.(RequestAuthenticator); ok {
		id, err := ra.AuthenticateRequest(ctx, r)
		if err != nil {
			log.LogAttrs(ctx, slog.LevelInfo, "request not authenticated", slog.String("error", err.Error()))
			return Identity{}, statusOf(err), err
		}
		return id, 0, nil
	}
	sess, err := g.opts.Sessions.Get(r)
	if err != nil {
		if !errors.Is(err, ErrNoSession) {
			log.LogAttrs(ctx, slog.LevelInfo, "session refused", slog.String("error", err.Error()))
			_ = g.opts.Sessions.Delete(ctx, w, r, Session{})
		}
		return Identity{}, http.StatusUnauthorized, err
	}
	rf, ok := g.a.(Refresher)
	if !ok || !sess.RefreshDue(g.opts.Now()) {
		return sess.Identity, 0, nil
	}
	id, err := g.refresh(ctx, rf, sess)
	if err != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "refresh failed; session ended",
			slog.String("user", sess.Identity.Username), slog.String("error", err.Error()))
		_ = g.opts.Sessions.Delete(ctx, w, r, sess)
		return Identity{}, statusOf(err), err
	}
	if _, err := g.opts.Sessions.Update(ctx, w, r, sess, id); err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "storing refreshed session failed",
			slog.String("user", sess.Identity.Username), slog.String("error", err.Error()))
		_ = g.opts.Sessions.Delete(ctx, w, r, sess)
		return Identity{}, http.StatusUnauthorized, err
	}
	log.LogAttrs(ctx, slog.LevelInfo, "session refreshed", slog.String("user", id.Username))
	id.AuthState = nil
	return id, 0, nil
}

// refresh renews one session's tokens once, however many requests of that
// session arrive together (a rotated refresh token can be spent once).
func (g *Gate) refresh(ctx context.Context, rf Refresher, sess Session) (Identity, error) {
	g.mu.Lock()
	if c, ok := g.inflight[sess.ID]; ok {
		g.mu.Unlock()
		select {
		case <-c.done:
			return c.id, c.err
		case <-ctx.Done():
			return Identity{}, ctx.Err()
		}
	}
	c := &refreshCall{done: make(chan struct{})}
	g.inflight[sess.ID] = c
	g.mu.Unlock()

	c.id, c.err = func() (Identity, error) {
		st, err := g.opts.Sessions.AuthState(ctx, sess)
		if err != nil {
			return Identity{}, fmt.Errorf("%w: %w", ErrLoginRequired, err)
		}
		id := sess.Identity
		id.AuthState = st
		return rf.Refresh(ctx, id)
	}()
	g.mu.Lock()
	delete(g.inflight, sess.ID)
	g.mu.Unlock()
	close(c.done)
	return c.id, c.err
}

func statusOf(err error) int {
	if errors.Is(err, ErrNotAllowed) || errors.Is(err, ErrBlocked) {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

func (g *Gate) start(w http.ResponseWriter, r *http.Request, next string) {
	if err := g.a.StartLogin(r.Context(), w, r, next); err != nil {
		g.opts.Logger.LogAttrs(r.Context(), slog.LevelError, "cannot start login", slog.String("error", err.Error()))
		g.opts.ErrorPage(w, r, http.StatusBadGateway, "The login service is unavailable; try again later.")
	}
}

// Login starts a login, coming back to the local path in ?next= (default
// Home).
func (g *Gate) Login() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.start(w, r, SafeNext(r.URL.Query().Get("next"), g.opts.Home))
	})
}

// Callback finishes a login: it creates the session and redirects to the
// login's next target. Mount it at the path of the authenticator's
// redirect URL (OpenID Connect) or form action (development login).
func (g *Gate) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		log := g.opts.Logger
		login, err := g.a.FinishLogin(ctx, w, r)
		if err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "login failed", slog.String("error", err.Error()))
			switch {
			case errors.Is(err, ErrNotAllowed), errors.Is(err, ErrBlocked):
				g.opts.ErrorPage(w, r, http.StatusForbidden, "You are not allowed to use this service.")
			case errors.Is(err, ErrInvalidState):
				g.opts.ErrorPage(w, r, http.StatusBadRequest, "This login link is stale or was not started in this browser.")
			case errors.Is(err, ErrBadCredentials):
				g.opts.ErrorPage(w, r, http.StatusUnauthorized, "Wrong username or password.")
			default:
				g.opts.ErrorPage(w, r, http.StatusUnauthorized, "Login failed.")
			}
			return
		}
		if g.opts.Sessions != nil {
			// A login replaces whatever session the browser had; its
			// tokens go.
			if old, err := g.opts.Sessions.Get(r); err == nil {
				_ = g.opts.Sessions.Delete(ctx, w, r, old)
			}
			if _, err := g.opts.Sessions.Create(ctx, w, r, login.Identity); err != nil {
				log.LogAttrs(ctx, slog.LevelError, "cannot create session",
					slog.String("user", login.Identity.Username), slog.String("error", err.Error()))
				g.opts.ErrorPage(w, r, http.StatusInternalServerError, "Cannot create a session.")
				return
			}
		}
		log.LogAttrs(ctx, slog.LevelInfo, "login", slog.String("user", login.Identity.Username), slog.Bool("admin", login.Identity.Admin))
		http.Redirect(w, r, SafeNext(login.Next, g.opts.Home), http.StatusSeeOther)
	})
}

// Logout ends the session and, when the authenticator is a [Logouter]
// with a provider session to end, sends the browser to the provider's
// end-session endpoint (which returns it to the post-logout URL);
// otherwise to AfterLogout.
func (g *Gate) Logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		target := g.opts.AfterLogout
		if g.opts.Sessions != nil {
			sess, err := g.opts.Sessions.Get(r)
			if err == nil {
				if lo, ok := g.a.(Logouter); ok && sess.HasAuthState {
					if st, err := g.opts.Sessions.AuthState(ctx, sess); err == nil {
						id := sess.Identity
						id.AuthState = st
						if u, err := lo.LogoutURL(ctx, id); err != nil {
							g.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "cannot end provider session",
								slog.String("user", id.Username), slog.String("error", err.Error()))
						} else if u != "" {
							target = u
						}
					}
				}
				g.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "logout", slog.String("user", sess.Identity.Username))
			}
			_ = g.opts.Sessions.Delete(ctx, w, r, sess)
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}
