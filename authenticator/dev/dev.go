package dev

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/internal/cookie"
)

// Options configure [NewInsecure]. Password, Keys and CallbackPath are
// required.
type Options struct {
	// Users who may log in. Default (empty): any username of 1–64
	// characters from a–z, 0–9, ".", "_", "-".
	Users []string
	// Password is the one password of every user. Required.
	Password string
	// Rules decide who may log in and who is an admin. The zero value
	// allows nobody; a development hub usually sets AllowAll and
	// AdminUsers.
	Rules authenticator.Rules
	// Keys seal the login form's anti-forgery cookie.
	Keys *authenticator.Keyring
	// CallbackPath is where the form posts: the path where the hub mounts
	// Gate.Callback (JupyterHub's is "/hub/oauth_callback").
	CallbackPath string
	// AlwaysSecureCookies sets Secure on the form cookie even over plain
	// HTTP. Default: when the request came over TLS.
	AlwaysSecureCookies bool
	// Logger gets one warning at construction that this login is not for
	// production. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand makes the anti-forgery tokens. Default crypto/rand.Reader.
	Rand io.Reader
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return o
}

// Authenticator is the development login. Create it with [NewInsecure].
// Safe for concurrent use.
type Authenticator struct {
	opts     Options
	password [32]byte
	spec     cookie.Spec
}

var _ authenticator.Authenticator = (*Authenticator)(nil)

var validName = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

// formTTL is how long a login form stays valid.
const formTTL = 30 * time.Minute

const purposeForm = "dev-login"

// NewInsecure returns the development login: a form, fixed users, one
// shared password from configuration. It is not for production — there is
// no rate limit, no per-user password, no second factor — and its name
// says so. It logs a warning to Options.Logger.
func NewInsecure(opts Options) (*Authenticator, error) {
	var errs []error
	if opts.Password == "" {
		errs = append(errs, errors.New("Password is required (there is no development login without one)"))
	}
	if opts.Keys == nil {
		errs = append(errs, errors.New("Keys is required"))
	}
	if len(opts.CallbackPath) == 0 || opts.CallbackPath[0] != '/' {
		errs = append(errs, errors.New("CallbackPath must be a path such as /hub/oauth_callback"))
	}
	for _, u := range opts.Users {
		if !validName.MatchString(u) {
			errs = append(errs, fmt.Errorf("user %q is not a valid username", u))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("dev: invalid options: %w", err)
	}
	o := opts.withDefaults()
	o.Logger.Warn("dev: the development login is in use: one shared password, no rate limit; do not use it in production")
	return &Authenticator{
		opts:     o,
		password: sha256.Sum256([]byte(o.Password)),
		spec:     cookie.Spec{Name: "hubkit-devlogin", Path: o.CallbackPath, AlwaysSecure: o.AlwaysSecureCookies},
	}, nil
}

type form struct {
	CSRF    string `json:"c"`
	Next    string `json:"x"`
	Expires int64  `json:"e"`
}

var page = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Development login</title></head>
<body>
<p><strong>Development login — not for production.</strong> Every user shares one password.</p>
<form id="dev-login" method="post" action="{{.Action}}">
<label>Username <input type="text" name="username" autocomplete="username" autofocus></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="submit" value="Log in">
</form>
</body></html>
`))

// StartLogin writes the login form and its anti-forgery cookie.
// Implements [authenticator.Authenticator].
func (a *Authenticator) StartLogin(_ context.Context, w http.ResponseWriter, r *http.Request, next string) error {
	b := make([]byte, 32)
	if _, err := io.ReadFull(a.opts.Rand, b); err != nil {
		return fmt.Errorf("dev: randomness: %w", err)
	}
	now := a.opts.Now()
	f := form{CSRF: base64.RawURLEncoding.EncodeToString(b), Next: authenticator.SafeNext(next, "/"), Expires: now.Add(formTTL).Unix()}
	v, err := cookie.Seal(a.opts.Keys, purposeForm, f)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	a.spec.Set(w, r, v, now, now.Add(formTTL))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	return page.Execute(w, struct{ Action, CSRF string }{a.opts.CallbackPath, f.CSRF})
}

// FinishLogin checks the posted form: its anti-forgery token against the
// cookie, the username against Users, the password, then the rules. A
// wrong username or password gives an error wrapping
// [authenticator.ErrBadCredentials]. Implements
// [authenticator.Authenticator].
func (a *Authenticator) FinishLogin(_ context.Context, w http.ResponseWriter, r *http.Request) (authenticator.Login, error) {
	if r.Method != http.MethodPost {
		return authenticator.Login{}, fmt.Errorf("%w: the login form must be posted", authenticator.ErrInvalidState)
	}
	ck, err := r.Cookie(a.spec.Name)
	if err != nil {
		return authenticator.Login{}, fmt.Errorf("%w: no login form was shown to this browser", authenticator.ErrInvalidState)
	}
	a.spec.Clear(w, r)
	var f form
	if err := cookie.Open(a.opts.Keys, purposeForm, ck.Value, &f); err != nil {
		return authenticator.Login{}, fmt.Errorf("%w: form cookie: %v", authenticator.ErrInvalidState, err)
	}
	if !a.opts.Now().Before(time.Unix(f.Expires, 0)) {
		return authenticator.Login{}, fmt.Errorf("%w: the login form expired", authenticator.ErrInvalidState)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		return authenticator.Login{}, fmt.Errorf("%w: %v", authenticator.ErrInvalidState, err)
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(f.CSRF)) != 1 {
		return authenticator.Login{}, fmt.Errorf("%w: anti-forgery token mismatch", authenticator.ErrInvalidState)
	}
	name := r.PostForm.Get("username")
	sum := sha256.Sum256([]byte(r.PostForm.Get("password")))
	pwOK := subtle.ConstantTimeCompare(sum[:], a.password[:]) == 1
	known := validName.MatchString(name) && (len(a.opts.Users) == 0 || slices.Contains(a.opts.Users, name))
	if !pwOK || !known {
		return authenticator.Login{}, fmt.Errorf("%w: %q", authenticator.ErrBadCredentials, name)
	}
	id, err := a.opts.Rules.Apply(authenticator.Identity{Username: name})
	if err != nil {
		return authenticator.Login{}, err
	}
	return authenticator.Login{Identity: id, Next: f.Next}, nil
}
