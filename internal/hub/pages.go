package hub

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/internal/hub/proxy"
	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/ui"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner"
)

// pageHandler is a web page for a logged-in person.
type pageHandler func(w http.ResponseWriter, r *http.Request, p *principal)

// page wraps a web page: a person without a session is sent to log in
// (and back); a POST must carry the session's anti-forgery value; a
// session whose tokens are due is refreshed first.
func (h *Hub) page(fn pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		sess, err := h.sessions.Get(r)
		if err != nil {
			h.toLogin(w, r)
			return
		}
		if sess.RefreshDue(h.now()) {
			if sess, err = h.refresh(r.Context(), w, r, sess); err != nil {
				h.toLogin(w, r)
				return
			}
		}
		u, err := h.st.GetUser(r.Context(), sess.Identity.Username)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				_ = h.sessions.Delete(r.Context(), w, r, sess)
				h.toLogin(w, r)
				return
			}
			h.errorPage(w, r, nil, http.StatusServiceUnavailable, "The hub's store is unavailable; try again shortly.")
			return
		}
		p := &principal{user: &u, scopes: userScopes(u), session: &sess}
		if r.Method == http.MethodPost {
			// A form beyond MaxBodyBytes is 413; without this check the
			// failed parse would read as a missing _xsrf (403).
			var mbe *http.MaxBytesError
			if err := r.ParseForm(); errors.As(err, &mbe) {
				h.errorPage(w, r, p, http.StatusRequestEntityTooLarge, "The form is too large.")
				return
			}
		}
		if r.Method == http.MethodPost && !checkXSRF(r, p) {
			h.errorPage(w, r, p, http.StatusForbidden, "The form has expired or did not come from this hub; go back, reload and try again.")
			return
		}
		_ = h.batcher.Record(store.Activity{Kind: store.ActivityUser, User: u.Name, Time: h.now()})
		fn(w, r, p)
	})
}

// refresh renews the session's tokens with a Refresher authenticator.
func (h *Hub) refresh(ctx context.Context, w http.ResponseWriter, r *http.Request, sess authenticator.Session) (authenticator.Session, error) {
	ref, ok := h.cfg.Authenticator.(authenticator.Refresher)
	if !ok {
		return sess, nil
	}
	id := sess.Identity
	st, err := h.sessions.AuthState(ctx, sess)
	if err != nil {
		return sess, err
	}
	id.AuthState = st
	nid, err := ref.Refresh(ctx, id)
	if err != nil {
		h.log.Info("session refresh refused; logging out", "user", id.Username, "err", err)
		_ = h.sessions.Delete(ctx, w, r, sess)
		return sess, err
	}
	return h.sessions.Update(ctx, w, r, sess, nid)
}

func (h *Hub) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.errorPage(w, r, nil, http.StatusForbidden, "Your session has ended; log in again.")
		return
	}
	http.Redirect(w, r, h.prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
}

func (h *Hub) pageBase(p *principal) ui.Page {
	if p == nil || p.user == nil {
		return ui.Page{}
	}
	return ui.Page{User: &ui.Viewer{Name: p.user.Name, Admin: p.user.Admin}, XSRF: xsrfToken(p.session)}
}

func (h *Hub) errorPage(w http.ResponseWriter, r *http.Request, p *principal, status int, msg string) {
	if err := h.pages.Error(w, ui.ErrorData{Page: h.pageBase(p), Status: status, Message: msg}); err != nil {
		http.Error(w, msg, status)
	}
}

// login starts a login with the authenticator (a redirect to the
// identity provider, or the development form).
func (h *Hub) login(w http.ResponseWriter, r *http.Request) {
	next := authenticator.SafeNext(r.URL.Query().Get("next"), h.prefix+"home")
	if sess, err := h.sessions.Get(r); err == nil {
		if _, err := h.st.GetUser(r.Context(), sess.Identity.Username); err == nil {
			http.Redirect(w, r, next, http.StatusFound)
			return
		}
	}
	if err := h.cfg.Authenticator.StartLogin(r.Context(), w, r, next); err != nil {
		h.log.Error("starting a login", "err", err)
		_ = h.pages.Login(w, ui.LoginData{LoginURL: h.prefix + "login?next=" + url.QueryEscape(next),
			Error: "The login service is not reachable at the moment. Try again in a minute.", Status: http.StatusServiceUnavailable})
	}
}

// callback finishes a login: the user is created (or updated) in the
// store and a session begins.
func (h *Hub) callback(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	login, err := h.cfg.Authenticator.FinishLogin(r.Context(), w, r)
	if err != nil {
		var status int
		var msg string
		var ce *authenticator.ClaimError
		switch {
		case errors.Is(err, authenticator.ErrNotAllowed), errors.Is(err, authenticator.ErrBlocked):
			status, msg = http.StatusForbidden, "You are not allowed to use this hub. Ask its administrators for access."
		case errors.Is(err, authenticator.ErrBadCredentials):
			status, msg = http.StatusForbidden, "Wrong user name or password."
		case errors.Is(err, authenticator.ErrInvalidState), errors.Is(err, authenticator.ErrNoCredentials), errors.As(err, &ce):
			status, msg = http.StatusBadRequest, "The login could not be completed (it expired, was used already, or came back incomplete). Try again."
		default:
			// The provider did not answer or answered nonsense.
			status, msg = http.StatusServiceUnavailable, "The login service could not complete the login. Try again in a minute."
		}
		h.log.Info("login failed", "err", err)
		_ = h.pages.Login(w, ui.LoginData{LoginURL: h.prefix + "login", Error: msg, Status: status})
		return
	}
	id := login.Identity
	u, err := h.upsertUser(r.Context(), id)
	if err != nil {
		h.log.Error("recording a login", "user", id.Username, "err", err)
		h.errorPage(w, r, nil, http.StatusServiceUnavailable, "The hub could not record your login; try again shortly.")
		return
	}
	if id.AuthState != nil {
		if sealed, err := h.cfg.Keys.SealAuthState(id.AuthState); err == nil {
			_ = h.st.SetAuthState(r.Context(), u.Name, sealed)
		}
	}
	if _, err := h.sessions.Create(r.Context(), w, r, id); err != nil {
		h.log.Error("creating a session", "user", id.Username, "err", err)
		h.errorPage(w, r, nil, http.StatusServiceUnavailable, "The hub could not start your session; try again.")
		return
	}
	h.log.Info("login", "user", u.Name, "admin", u.Admin)
	http.Redirect(w, r, authenticator.SafeNext(login.Next, h.prefix+"home"), http.StatusFound)
}

// upsertUser creates the user of a first login; an identity that says
// admin makes the user an admin (never the reverse: admins made through
// the API stay), and with ManageGroups the identity's groups replace the
// user's.
func (h *Hub) upsertUser(ctx context.Context, id authenticator.Identity) (store.User, error) {
	u, err := h.st.GetUser(ctx, id.Username)
	if errors.Is(err, store.ErrNotFound) {
		nu := store.User{Name: id.Username, Admin: id.Admin}
		if h.cfg.ManageGroups {
			nu.Groups = id.Groups
		}
		u, err = h.st.CreateUser(ctx, nu)
		if errors.Is(err, store.ErrConflict) {
			u, err = h.st.GetUser(ctx, id.Username)
		}
		return u, err
	}
	if err != nil {
		return u, err
	}
	var upd store.UserUpdate
	if id.Admin && !u.Admin {
		upd.Admin = &id.Admin
	}
	if h.cfg.ManageGroups && !slices.Equal(u.Groups, sortedCopy(id.Groups)) {
		g := nonNil(id.Groups)
		upd.Groups = &g
	}
	if upd.Admin == nil && upd.Groups == nil {
		return u, nil
	}
	return h.st.UpdateUser(ctx, u.Name, upd)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}

// logout ends the session (and the provider's, with a Logouter).
func (h *Hub) logout(w http.ResponseWriter, r *http.Request) {
	sess, err := h.sessions.Get(r)
	if err != nil {
		http.Redirect(w, r, h.prefix+"login", http.StatusFound)
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if !checkXSRF(r, &principal{session: &sess}) {
			h.errorPage(w, r, nil, http.StatusForbidden, "The form has expired; reload and try again.")
			return
		}
	}
	target := h.prefix + "login"
	if lo, ok := h.cfg.Authenticator.(authenticator.Logouter); ok {
		if u, err := lo.LogoutURL(r.Context(), sess.Identity); err == nil && u != "" {
			target = u
		}
	}
	_ = h.sessions.Delete(r.Context(), w, r, sess)
	h.log.Info("logout", "user", sess.Identity.Username)
	if r.Method == http.MethodPost && !strings.HasPrefix(target, "/") {
		// Browsers apply the page's form-action policy to the redirects
		// that follow a form's POST, so a redirect to the provider would
		// be blocked: hand over with a page that moves on by itself.
		securePageHeaders(w)
		_ = leavePage.Execute(w, target)
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}

var leavePage = template.Must(template.New("leave").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing out</title>
<meta http-equiv="refresh" content="0;url={{.}}"></head>
<body><main><p>Signing you out at the identity provider… <a href="{{.}}">Continue</a></p></main></body></html>
`))

func (h *Hub) serverRows(u store.User) []ui.ServerRow {
	rows := []ui.ServerRow{}
	hasDefault := false
	for _, s := range u.Servers {
		ref := spawner.Ref{User: u.Name, Server: s.Name}
		pending := string(s.Pending)
		if op := h.op(ref); op != nil {
			pending = string(op.phase)
		}
		rows = append(rows, ui.ServerRow{
			Name: s.Name, URL: h.serverPrefix(ref), Ready: s.Ready(), Pending: pending,
			Started: s.Started, LastActivity: s.LastActivity, Profile: profileOf(s),
		})
		if s.Name == "" {
			hasDefault = true
		}
	}
	if !hasDefault {
		rows = append([]ui.ServerRow{{URL: h.serverPrefix(spawner.Ref{User: u.Name})}}, rows...)
	}
	return rows
}

// profileOf is the profile slug a server was last started with.
func profileOf(s store.Server) string {
	sel, err := profiles.ParseUserOptions(s.UserOptions)
	if err != nil || len(s.UserOptions) == 0 {
		return ""
	}
	return sel.Profile
}

func (h *Hub) home(w http.ResponseWriter, r *http.Request, p *principal) {
	_ = h.pages.Home(w, ui.HomeData{
		Page:              h.pageBase(p),
		Servers:           h.serverRows(*p.user),
		AllowNamedServers: h.cfg.Limits.AllowNamedServers,
		NamedServerLimit:  h.cfg.Limits.NamedServersPerUser,
	})
}

// spawnTarget reads /hub/{verb}/{user}[/{server}] and loads the user,
// checking that p may act on that server with scope need.
func (h *Hub) spawnTarget(r *http.Request, p *principal, need string) (store.User, string, error) {
	name := r.PathValue("user")
	if name == "" {
		name = p.user.Name
	}
	server := r.PathValue("server")
	u, err := h.loadUser(r.Context(), p, name, need, &server)
	return u, server, err
}

func (h *Hub) pageError(w http.ResponseWriter, r *http.Request, p *principal, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
		}
		h.errorPage(w, r, p, ae.status, ae.msg)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, p, http.StatusNotFound, "Not found.")
		return
	}
	h.log.Error("page failed", "path", r.URL.Path, "err", err)
	h.errorPage(w, r, p, http.StatusInternalServerError, "Something went wrong; try again.")
}

// spawnForm is GET /hub/spawn[/{user}[/{server}]]: the spawn form.
func (h *Hub) spawnForm(w http.ResponseWriter, r *http.Request, p *principal) {
	if name := r.URL.Query().Get("server_name"); name != "" && r.PathValue("server") == "" {
		// The home page's "new server" form.
		user := r.PathValue("user")
		if user == "" {
			user = p.user.Name
		}
		http.Redirect(w, r, h.spawnURL(spawner.Ref{User: user, Server: name}), http.StatusFound)
		return
	}
	u, server, err := h.spawnTarget(r, p, "servers")
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	ref := spawner.Ref{User: u.Name, Server: server}
	if s, ok := u.Server(server); ok && s.Active() || h.op(ref) != nil {
		http.Redirect(w, r, h.pendingURL(ref), http.StatusFound)
		return
	}
	h.renderSpawn(w, p, u, server, "")
}

func (h *Hub) renderSpawn(w http.ResponseWriter, p *principal, u store.User, server, msg string) {
	var form template.HTML
	nonce := ""
	if h.cfg.Profiles != nil {
		var sel profiles.Selection
		if s, ok := u.Server(server); ok && len(s.UserOptions) > 0 {
			sel, _ = profiles.ParseUserOptions(s.UserOptions)
		}
		nonce = newNonce()
		f, err := h.cfg.Profiles.Form(profiles.User{Name: u.Name, Groups: u.Groups}, profiles.FormOptions{Selected: sel, Nonce: nonce})
		if err != nil {
			msg = "No server profile is available to you. Ask the hub's administrators."
		}
		form = f
	}
	status := http.StatusOK
	if msg != "" {
		status = http.StatusBadRequest
	}
	_ = h.pages.Spawn(w, ui.SpawnData{Page: h.pageBase(p), For: u.Name, Server: server, Form: form, Error: msg, Nonce: nonce, Status: status})
}

// spawnPost is POST /hub/spawn[/{user}[/{server}]]: start with the form's
// choices, then show the progress page.
func (h *Hub) spawnPost(w http.ResponseWriter, r *http.Request, p *principal) {
	u, server, err := h.spawnTarget(r, p, "servers")
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		h.pageError(w, r, p, errorf(http.StatusBadRequest, "malformed form"))
		return
	}
	form := r.PostForm
	req, err := h.resolveSpawn(u, server, nil, form)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusBadRequest {
			h.renderSpawn(w, p, u, server, ae.msg)
			return
		}
		h.pageError(w, r, p, err)
		return
	}
	if _, err := h.startServer(r.Context(), req); err != nil {
		h.pageError(w, r, p, err)
		return
	}
	http.Redirect(w, r, h.pendingURL(spawner.Ref{User: u.Name, Server: server}), http.StatusSeeOther)
}

func (h *Hub) pendingURL(ref spawner.Ref) string {
	u := h.prefix + "spawn-pending/" + pathEscape(ref.User)
	if ref.Server != "" {
		u += "/" + pathEscape(ref.Server)
	}
	return u
}

func (h *Hub) spawnURL(ref spawner.Ref) string {
	u := h.prefix + "spawn/" + pathEscape(ref.User)
	if ref.Server != "" {
		u += "/" + pathEscape(ref.Server)
	}
	return u
}

// spawnPending is GET /hub/spawn-pending/{user}[/{server}].
func (h *Hub) spawnPending(w http.ResponseWriter, r *http.Request, p *principal) {
	u, server, err := h.spawnTarget(r, p, "read:servers")
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	ref := spawner.Ref{User: u.Name, Server: server}
	s, _ := u.Server(server)
	if op := h.op(ref); op == nil || op.phase != store.PhaseSpawn {
		if s.Ready() {
			http.Redirect(w, r, h.serverPrefix(ref), http.StatusFound)
			return
		}
		h.mu.Lock()
		msg := h.lastErr[ref]
		h.mu.Unlock()
		if msg == "" && s.Pending == store.PhaseNone {
			http.Redirect(w, r, h.spawnURL(ref), http.StatusFound)
			return
		}
		if msg != "" {
			h.errorPage(w, r, p, http.StatusInternalServerError, msg)
			return
		}
	}
	_ = h.pages.Pending(w, ui.PendingData{Page: h.pageBase(p), For: u.Name, Server: server,
		ProgressURL: h.progressURL(ref), NextURL: h.serverPrefix(ref)})
}

// stopPost is POST /hub/stop/{user}[/{server}].
func (h *Hub) stopPost(w http.ResponseWriter, r *http.Request, p *principal) {
	u, server, err := h.spawnTarget(r, p, "delete:servers")
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	op, err := h.stopServer(r.Context(), u, server)
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	op.wait(r.Context(), h.cfg.SlowSpawnTimeout)
	h.back(w, r)
}

// removePost is POST /hub/remove/{user}/{server}: forget a stopped named
// server (its storage stays with the spawner).
func (h *Hub) removePost(w http.ResponseWriter, r *http.Request, p *principal) {
	u, server, err := h.spawnTarget(r, p, "delete:servers")
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	if err := h.st.DeleteServer(r.Context(), u.Name, server); err != nil && !errors.Is(err, store.ErrNotFound) {
		if errors.Is(err, store.ErrConflict) {
			err = errorf(http.StatusBadRequest, "stop the server before removing it")
		}
		h.pageError(w, r, p, err)
		return
	}
	h.back(w, r)
}

// back returns to the admin page when the form came from there, else home.
func (h *Hub) back(w http.ResponseWriter, r *http.Request) {
	to := h.prefix + "home"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && strings.HasPrefix(ref.Path, h.prefix+"admin") {
		to = h.prefix + "admin"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// userRedirect is /hub/user/{user}/…: where the proxy sends a browser
// whose server has no route. A running server (just started, or on another
// replica's table) is retried; a starting one shows progress; otherwise
// the "not running" page offers to start it.
func (h *Hub) userRedirect(w http.ResponseWriter, r *http.Request, p *principal) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), h.prefix+"user/")
	seg, tail, _ := strings.Cut(rest, "/")
	name, err := url.PathUnescape(seg)
	if err != nil || name == "" {
		h.errorPage(w, r, p, http.StatusNotFound, "Not found.")
		return
	}
	u, err := h.loadUser(r.Context(), p, name, "access:servers", nil)
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	server := ""
	if first, _, _ := strings.Cut(tail, "/"); first != "" {
		if s, err := url.PathUnescape(first); err == nil {
			if _, ok := u.Server(s); ok && s != "" {
				server = s
			}
		}
	}
	ref := spawner.Ref{User: u.Name, Server: server}
	s, _ := u.Server(server)
	if h.op(ref) != nil || s.Pending == store.PhaseSpawn {
		http.Redirect(w, r, h.pendingURL(ref), http.StatusFound)
		return
	}
	if s.Ready() {
		if _, routed := h.proxy.Routes().Get(h.serverPrefix(ref)); routed {
			target := h.cfg.BaseURL + "user/" + rest
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	_ = h.pages.NotRunning(w, http.StatusServiceUnavailable, ui.NotRunningData{Page: h.pageBase(p), For: u.Name, Server: server, SpawnURL: h.spawnURL(ref)})
}

// proxyError answers what the proxy cannot forward: browsers asking for a
// server that has no route go to the hub's /hub/user/… page.
func (h *Hub) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	userPrefix := h.cfg.BaseURL + "user/"
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Upgrade") == "" &&
		strings.HasPrefix(r.RequestURI, userPrefix) &&
		(errors.Is(err, proxy.ErrNoRoute) || errors.Is(err, proxy.ErrUnavailable)) {
		http.Redirect(w, r, h.prefix+"user/"+strings.TrimPrefix(r.RequestURI, userPrefix), http.StatusFound)
		return
	}
	proxy.DefaultErrorHandler(w, r, err)
}

// adminPage is GET /hub/admin.
func (h *Hub) adminPage(w http.ResponseWriter, r *http.Request, p *principal) {
	if !p.scopes.Has("admin-ui") {
		h.errorPage(w, r, p, http.StatusForbidden, "The admin page is for admins.")
		return
	}
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > maxPageLimit {
		limit = defaultPageLimit
	}
	offset = max(offset, 0)
	uq := store.UserQuery{NameContains: q.Get("name_filter"), Offset: offset, Limit: limit}
	users, err := h.st.ListUsers(r.Context(), uq)
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	total, err := h.st.CountUsers(r.Context(), uq)
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	rows := make([]ui.AdminUser, 0, len(users))
	for _, u := range users {
		rows = append(rows, ui.AdminUser{Name: u.Name, Admin: u.Admin, Groups: u.Groups, LastActivity: u.LastActivity, Servers: h.serverRows(u)})
	}
	_ = h.pages.Admin(w, ui.AdminData{Page: h.pageBase(p), Users: rows, NameFilter: uq.NameContains, Offset: offset, Limit: limit, Total: total})
}

// adminAddUsers is POST /hub/admin/users.
func (h *Hub) adminAddUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	if !p.scopes.HasAll("admin:users") {
		h.errorPage(w, r, p, http.StatusForbidden, "Only admins can add users.")
		return
	}
	admin := r.PostFormValue("admin") != ""
	names := strings.Fields(r.PostFormValue("usernames"))
	for _, n := range names {
		if err := store.ValidateName("user", n); err != nil {
			h.errorPage(w, r, p, http.StatusBadRequest, "Invalid user name: "+n)
			return
		}
	}
	for _, n := range names {
		if _, err := h.st.CreateUser(r.Context(), store.User{Name: n, Admin: admin}); err != nil && !errors.Is(err, store.ErrConflict) {
			h.pageError(w, r, p, err)
			return
		}
	}
	http.Redirect(w, r, h.prefix+"admin", http.StatusSeeOther)
}

// adminDeleteUser is POST /hub/admin/users/{name}/delete.
func (h *Hub) adminDeleteUser(w http.ResponseWriter, r *http.Request, p *principal) {
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "admin:users", nil)
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	if u.Name == p.user.Name {
		h.errorPage(w, r, p, http.StatusBadRequest, "You cannot delete yourself.")
		return
	}
	if err := h.deleteUser(r.Context(), u); err != nil {
		h.pageError(w, r, p, err)
		return
	}
	http.Redirect(w, r, h.prefix+"admin", http.StatusSeeOther)
}

// tokenPage is GET /hub/token.
func (h *Hub) tokenPage(w http.ResponseWriter, r *http.Request, p *principal) {
	h.renderTokens(w, r, p, "")
}

func (h *Hub) renderTokens(w http.ResponseWriter, r *http.Request, p *principal, fresh string) {
	list, err := h.st.ListTokens(r.Context(), store.TokenQuery{Owner: store.Owner{User: p.user.Name}})
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	rows := make([]ui.TokenRow, 0, len(list))
	for _, t := range list {
		if t.ClientID != "" || strings.HasPrefix(t.Note, "Server at ") {
			continue // servers' and OAuth tokens come and go with servers
		}
		rows = append(rows, ui.TokenRow{ID: tokenID(t.ID), Prefix: t.Prefix, Note: t.Note, Scopes: t.Scopes,
			Created: t.Created, Expires: t.Expires, LastActivity: t.LastActivity})
	}
	_ = h.pages.Tokens(w, ui.TokenData{Page: h.pageBase(p), Tokens: rows, NewToken: fresh})
}

// tokenPost is POST /hub/token: a new token with all the user's scopes.
func (h *Hub) tokenPost(w http.ResponseWriter, r *http.Request, p *principal) {
	var expires int64
	if v := r.PostFormValue("expires_in"); v != "" {
		e, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			h.errorPage(w, r, p, http.StatusBadRequest, "expires_in must be a number of seconds")
			return
		}
		expires = e
	}
	note := r.PostFormValue("note")
	if note == "" {
		note = "Requested via token page"
	}
	secret, _, err := h.createToken(r.Context(), p, *p.user, note, expires, nil)
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	h.renderTokens(w, r, p, secret)
}

// tokenRevoke is POST /hub/token/{id}/revoke.
func (h *Hub) tokenRevoke(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := parseTokenID(r.PathValue("id"))
	if !ok {
		h.errorPage(w, r, p, http.StatusNotFound, "No such token.")
		return
	}
	list, err := h.st.ListTokens(r.Context(), store.TokenQuery{Owner: store.Owner{User: p.user.Name}})
	if err != nil {
		h.pageError(w, r, p, err)
		return
	}
	for _, t := range list {
		if t.ID == id {
			if err := h.st.DeleteToken(r.Context(), id); err != nil && !errors.Is(err, store.ErrNotFound) {
				h.pageError(w, r, p, err)
				return
			}
			http.Redirect(w, r, h.prefix+"token", http.StatusSeeOther)
			return
		}
	}
	h.errorPage(w, r, p, http.StatusNotFound, "No such token.")
}

// metricsHandler serves /hub/metrics, to holders of read:metrics unless
// MetricsPublic.
func (h *Hub) metricsHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.cfg.MetricsPublic {
			p, err := h.authenticate(r)
			if err != nil || !p.scopes.Has("read:metrics") {
				writeError(w, errorf(http.StatusForbidden, "Action is not authorized with current scopes; requires any of [read:metrics]"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// newNonce is a fresh value for a page's inline style and script.
func newNonce() string {
	s, err := store.NewSecret(nil)
	if err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return s[:24]
}
