package hub

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/internal/hub/scopes"
	"github.com/hubkit/hubkit/internal/hub/store"
)

// principal is who a request acts for: a user (by token or session) or a
// service, with the scopes it holds.
type principal struct {
	user    *store.User // nil for a service
	service string
	scopes  scopes.Set
	token   *store.Token // nil for a session
	session *authenticator.Session
}

// name is the user's or service's name, for logs.
func (p *principal) name() string {
	if p.user != nil {
		return p.user.Name
	}
	return "service:" + p.service
}

// kind is "user" or "service", as JupyterHub's model "kind".
func (p *principal) kind() string {
	if p.user != nil {
		return "user"
	}
	return "service"
}

// can reports whether p holds scope base for the target user (and server).
func (p *principal) can(base string, t scopes.Target) bool { return p.scopes.Allows(base, t) }

type serviceEntry struct {
	Service
	hash   [32]byte
	scopes scopes.Set
}

func newServices(list []Service) (map[string]*serviceEntry, error) {
	m := map[string]*serviceEntry{}
	for _, s := range list {
		if s.Name == "" || len(s.APIToken) < 8 {
			return nil, fmt.Errorf("hub: service %q needs a name and an API token of at least 8 characters", s.Name)
		}
		if _, dup := m[s.Name]; dup {
			return nil, fmt.Errorf("hub: service %q is configured twice", s.Name)
		}
		sc := slices.Clone(s.Scopes)
		if s.Admin {
			r, _ := scopes.RoleScopes("admin")
			sc = append(sc, r...)
		}
		set, err := scopes.Expand(sc, scopes.Owner{Service: s.Name})
		if err != nil {
			return nil, fmt.Errorf("hub: service %q: %w", s.Name, err)
		}
		m[s.Name] = &serviceEntry{Service: s, hash: sha256.Sum256([]byte(s.APIToken)), scopes: set}
	}
	return m, nil
}

// roleScopeCache keeps the expanded role scopes of recently seen users
// (a Set never changes once made), so that a request does not expand the
// role tables again. It is cleared when it grows past roleScopeCacheMax.
var (
	roleScopeCache    sync.Map // roleKey → scopes.Set
	roleScopeCacheLen atomic.Int64
)

const roleScopeCacheMax = 50000

type roleKey struct {
	name  string
	admin bool
}

// userScopes are the scopes a user holds by their roles.
func userScopes(u store.User) scopes.Set {
	k := roleKey{u.Name, u.Admin}
	if v, ok := roleScopeCache.Load(k); ok {
		return v.(scopes.Set)
	}
	set := expandUserScopes(u)
	if roleScopeCacheLen.Add(1) > roleScopeCacheMax {
		roleScopeCache.Clear()
		roleScopeCacheLen.Store(0)
	}
	roleScopeCache.Store(k, set)
	return set
}

func expandUserScopes(u store.User) scopes.Set {
	sc, _ := scopes.RoleScopes("user")
	if u.Admin {
		a, _ := scopes.RoleScopes("admin")
		sc = append(slices.Clone(sc), a...)
	}
	set, err := scopes.Expand(sc, scopes.Owner{User: u.Name})
	if err != nil {
		panic("hub: role scopes do not expand: " + err.Error())
	}
	return set
}

// tokenFromRequest returns the API token of an Authorization header
// ("token X" or "Bearer X"), or "".
func tokenFromRequest(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if a == "" {
		return ""
	}
	kind, tok, ok := strings.Cut(a, " ")
	if !ok {
		return ""
	}
	if !strings.EqualFold(kind, "token") && !strings.EqualFold(kind, "bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// errNoCredentials: the request carries neither a token nor a session.
var errNoCredentials = errors.New("no credentials")

// authenticate finds who r acts for: an API token (Authorization header)
// first, then the session cookie. A token that is presented but not valid
// is an error even when a session exists.
func (h *Hub) authenticate(r *http.Request) (*principal, error) {
	ctx := r.Context()
	if tok := tokenFromRequest(r); tok != "" {
		return h.tokenPrincipal(ctx, tok)
	}
	sess, err := h.sessions.Get(r)
	if err != nil {
		return nil, errNoCredentials
	}
	u, err := h.st.GetUser(ctx, sess.Identity.Username)
	if err != nil {
		// The user was deleted since the login.
		return nil, errNoCredentials
	}
	return &principal{user: &u, scopes: userScopes(u), session: &sess}, nil
}

func (h *Hub) tokenPrincipal(ctx context.Context, secret string) (*principal, error) {
	sum := sha256.Sum256([]byte(secret))
	for _, s := range h.services {
		if subtle.ConstantTimeCompare(sum[:], s.hash[:]) == 1 {
			return &principal{service: s.Name, scopes: s.scopes}, nil
		}
	}
	// The token and its owner in one read: a user deleted meanwhile
	// takes their tokens along (ErrNotFound).
	t, u, err := h.st.LookupTokenUser(ctx, secret)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired) || errors.Is(err, store.ErrInvalid) {
			return nil, errBadToken
		}
		return nil, err
	}
	if t.Owner.Service != "" {
		s, ok := h.services[t.Owner.Service]
		if !ok {
			return nil, errBadToken
		}
		set, err := tokenScopes(t, s.scopes, scopes.Owner{Service: s.Name})
		if err != nil {
			return nil, err
		}
		return &principal{service: s.Name, scopes: set, token: &t}, nil
	}
	set, err := tokenScopes(t, userScopes(u), scopes.Owner{User: u.Name})
	if err != nil {
		return nil, err
	}
	_ = h.batcher.Record(store.Activity{Kind: store.ActivityToken, TokenID: t.ID, Time: h.now()})
	return &principal{user: &u, scopes: set, token: &t}, nil
}

var errBadToken = errors.New("invalid or expired token")

// tokenScopes is what a token may do: its own scopes, never more than its
// owner holds ("inherit": all the owner holds).
func tokenScopes(t store.Token, owner scopes.Set, o scopes.Owner) (scopes.Set, error) {
	if slices.Contains(t.Scopes, "inherit") || len(t.Scopes) == 0 {
		return owner, nil
	}
	set, err := scopes.Expand(t.Scopes, o)
	if err != nil {
		return scopes.Set{}, fmt.Errorf("hub: token %d has scopes the hub does not know: %w", t.ID, err)
	}
	return scopes.Intersect(set, owner), nil
}

// xsrfToken is the anti-forgery value of a session: a hash of its id,
// which only the holder of the sealed cookie knows, so every replica
// computes the same value without a shared secret beyond the keys.
func xsrfToken(sess *authenticator.Session) string {
	if sess == nil {
		return ""
	}
	sum := sha256.Sum256([]byte("hubkit-xsrf\x00" + sess.ID))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// checkXSRF verifies a state-changing request made with a session cookie:
// the _xsrf form field or the X-XSRFToken header must carry the session's
// value. Token-authenticated requests need none (a browser does not add
// Authorization headers on its own).
func checkXSRF(r *http.Request, p *principal) bool {
	if p.session == nil {
		return true
	}
	want := xsrfToken(p.session)
	got := r.Header.Get("X-XSRFToken")
	if got == "" {
		got = r.PostFormValue("_xsrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
