package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubkit/hubkit/internal/hub/scopes"
	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner"
)

// Page sizes of GET /hub/api/users, JupyterHub's api_page_default_limit and
// api_page_max_limit.
const (
	defaultPageLimit = 50
	maxPageLimit     = 200
)

// paginationType is the Accept type that asks for a paginated listing.
const paginationType = "application/jupyterhub-pagination+json"

// isoTime formats t as JupyterHub does (UTC, microseconds, "Z"); the zero
// time is null.
func isoTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// parseISOTime reads the timestamps clients send: RFC 3339 with or without
// a zone (JupyterHub treats naive times as UTC).
func parseISOTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid timestamp %q", s)
}

// apiHandler is an API endpoint: it runs for an authenticated principal.
type apiHandler func(w http.ResponseWriter, r *http.Request, p *principal)

// api wraps an endpoint: JSON errors, the version header, authentication,
// a bounded body, and the anti-forgery check for browser sessions.
func (h *Hub) api(fn apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-JupyterHub-Version", APIVersion)
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		}
		p, err := h.authenticate(r)
		if err != nil {
			if errors.Is(err, errNoCredentials) || errors.Is(err, errBadToken) {
				writeError(w, errorf(http.StatusForbidden, "Missing or invalid credentials"))
				return
			}
			h.log.Error("authenticating an API request", "err", err)
			writeError(w, errorf(http.StatusServiceUnavailable, "the hub's store is unavailable"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !checkXSRF(r, p) {
			writeError(w, errorf(http.StatusForbidden, "'_xsrf' argument missing from POST"))
			return
		}
		fn(w, r, p)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"status":500,"message":"encoding the response failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes JupyterHub's error body for err: an *apiError's
// status, the store's errors mapped to statuses, 500 otherwise.
func writeError(w http.ResponseWriter, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		status, msg = ae.status, ae.msg
		if ae.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
		}
	case errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, "request body too large"
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, store.ErrConflict):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, store.ErrInvalid):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, store.ErrUnavailable):
		status, msg = http.StatusServiceUnavailable, "the hub's store is unavailable"
	}
	writeJSON(w, status, map[string]any{"status": status, "message": msg})
}

// decodeBody reads a JSON object body into v; an empty body leaves v
// alone. Unknown fields are refused, so that a typo is not ignored.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(http.StatusBadRequest, "reading the request body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "malformed JSON body: %v", err)
	}
	// Anything after the object, even a stray "]" or "}" (which
	// dec.More does not report), makes the body malformed.
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, "malformed JSON body: trailing data")
	}
	return nil
}

// target is the scope target for user u (and one of u's servers).
func target(u store.User, server *string) scopes.Target {
	t := scopes.Target{User: u.Name, Groups: u.Groups}
	if server != nil {
		t.Server, t.HasServer = *server, true
	}
	return t
}

// loadUser reads the user a path names, checking that p may at least see
// them: 404 for users p may not see (as for users that do not exist, so
// that names do not leak), 403 when p sees them but lacks need.
func (h *Hub) loadUser(ctx context.Context, p *principal, name, need string, server *string) (store.User, error) {
	u, err := h.st.GetUser(ctx, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
			return u, errorf(http.StatusNotFound, "no such user %s", name)
		}
		return u, err
	}
	t := target(u, server)
	if !p.can(need, t) {
		if !p.can("read:users:name", t) && !p.can("read:servers", t) {
			return u, errorf(http.StatusNotFound, "no such user %s", name)
		}
		return u, errorf(http.StatusForbidden, "Action is not authorized with current scopes; requires any of [%s]", need)
	}
	return u, nil
}

func (h *Hub) progressURL(ref spawner.Ref) string {
	u := h.prefix + "api/users/" + pathEscape(ref.User)
	if ref.Server == "" {
		return u + "/server/progress"
	}
	return u + "/servers/" + pathEscape(ref.Server) + "/progress"
}

func pathEscape(s string) string { return url.PathEscape(s) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (h *Hub) apiRoot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-JupyterHub-Version", APIVersion)
	writeJSON(w, http.StatusOK, map[string]string{"version": APIVersion})
}

func (h *Hub) apiInfo(w http.ResponseWriter, r *http.Request, p *principal) {
	if !p.scopes.Has("read:hub") {
		writeError(w, errorf(http.StatusForbidden, "Action is not authorized with current scopes; requires any of [read:hub]"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version":       APIVersion,
		"python":        "",
		"hubkit":        true,
		"spawner":       map[string]string{"class": fmt.Sprintf("%T", h.cfg.Spawner)},
		"authenticator": map[string]string{"class": fmt.Sprintf("%T", h.cfg.Authenticator)},
	})
}

// apiSelf is GET /hub/api/user: the model of whoever the token or
// session belongs to, with the scopes the token holds (which the
// single-user server checks against JUPYTERHUB_OAUTH_ACCESS_SCOPES).
func (h *Hub) apiSelf(w http.ResponseWriter, r *http.Request, p *principal) {
	b := make([]byte, 0, 1024)
	b = append(b, '{')
	if p.user != nil {
		// Everyone may read their own name, whatever their token's
		// scopes; appendUserFields always writes it.
		b = h.appendUserFields(b, p, *p.user)
	} else {
		b = append(b, `"kind":"service","name":`...)
		b = appendJSONString(b, p.service)
	}
	b = append(b, `,"scopes":`...)
	b = appendJSONStrings(b, p.scopes.Strings())
	b = append(b, `,"session_id":`...)
	if p.session != nil {
		b = appendJSONString(b, p.session.ID)
	} else {
		b = append(b, "null"...)
	}
	if p.token != nil {
		b = append(b, `,"token_id":`...)
		b = appendJSONString(b, tokenID(p.token.ID))
	}
	b = append(b, '}')
	writeRawJSON(w, http.StatusOK, b)
}

func tokenID(id int64) string { return "a" + strconv.FormatInt(id, 10) }

func (h *Hub) apiListUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	if !p.scopes.Has("list:users") {
		writeError(w, errorf(http.StatusForbidden, "Action is not authorized with current scopes; requires any of [list:users]"))
		return
	}
	qv := r.URL.Query()
	q := store.UserQuery{NameContains: qv.Get("name_filter")}
	switch st := qv.Get("state"); st {
	case "":
	case "active", "ready", "inactive":
		q.State = store.UserState(st)
	default:
		writeError(w, errorf(http.StatusBadRequest, "unrecognized state filter: %q; must be one of active, ready, inactive", st))
		return
	}
	paginated := strings.Contains(r.Header.Get("Accept"), paginationType)
	offset, limit := 0, 0
	var err error
	if v := qv.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			writeError(w, errorf(http.StatusBadRequest, "offset must be a non-negative integer"))
			return
		}
	}
	if v := qv.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			writeError(w, errorf(http.StatusBadRequest, "limit must be a non-negative integer"))
			return
		}
	}
	if limit == 0 && paginated {
		limit = defaultPageLimit
	}
	if limit > maxPageLimit {
		limit = maxPageLimit
	}
	all, users, _, groups := p.scopes.Filter("list:users")
	var list []store.User
	total := 0
	if all {
		q.Offset, q.Limit = offset, limit
		if paginated {
			list, total, err = h.st.ListUsersPage(r.Context(), q)
		} else {
			list, err = h.st.ListUsers(r.Context(), q)
		}
	} else {
		// A filtered principal (a user listing themself, a group
		// manager): list what q selects and keep what p may see.
		var every []store.User
		every, err = h.st.ListUsers(r.Context(), q)
		for _, u := range every {
			if slices.Contains(users, u.Name) || slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(u.Groups, g) }) ||
				p.can("list:users", target(u, nil)) {
				list = append(list, u)
			}
		}
		total = len(list)
		list = list[min(offset, len(list)):]
		if limit > 0 {
			list = list[:min(limit, len(list))]
		}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	b := make([]byte, 0, 64+700*len(list))
	if paginated {
		b = append(b, `{"items":`...)
	}
	b = append(b, '[')
	for i, u := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = h.appendUserModel(b, p, u)
	}
	b = append(b, ']')
	if !paginated {
		writeRawJSON(w, http.StatusOK, b)
		return
	}
	b = append(b, `,"_pagination":{"offset":`...)
	b = strconv.AppendInt(b, int64(offset), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"next":`...)
	if offset+len(list) < total {
		nq := r.URL.Query()
		nq.Set("offset", strconv.Itoa(offset+len(list)))
		nq.Set("limit", strconv.Itoa(limit))
		b = append(b, `{"offset":`...)
		b = strconv.AppendInt(b, int64(offset+len(list)), 10)
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, int64(limit), 10)
		b = append(b, `,"url":`...)
		b = appendJSONString(b, requestBase(r)+r.URL.Path+"?"+nq.Encode())
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, "}}"...)
	writeRawJSON(w, http.StatusOK, b)
}

// requestBase is the scheme and host the client used.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type userPatch struct {
	Name   *string   `json:"name"`
	Admin  *bool     `json:"admin"`
	Groups *[]string `json:"groups"`
}

func (h *Hub) apiGetUser(w http.ResponseWriter, r *http.Request, p *principal) {
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "read:users:name", nil)
	if err != nil {
		writeError(w, err)
		return
	}
	writeRawJSON(w, http.StatusOK, h.appendUserModel(nil, p, u))
}

func (h *Hub) apiCreateUser(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	if !p.scopes.HasAll("admin:users") {
		writeError(w, errorf(http.StatusForbidden, "Action is not authorized with current scopes; requires any of [admin:users]"))
		return
	}
	var body userPatch
	if err := decodeBody(r, &body); err != nil {
		writeError(w, err)
		return
	}
	u := store.User{Name: name}
	if body.Admin != nil {
		u.Admin = *body.Admin
	}
	if body.Groups != nil {
		u.Groups = *body.Groups
	}
	if err := store.ValidateName("user", name); err != nil {
		writeError(w, errorf(http.StatusBadRequest, "invalid user name %q", name))
		return
	}
	created, err := h.st.CreateUser(r.Context(), u)
	if errors.Is(err, store.ErrConflict) {
		writeError(w, errorf(http.StatusConflict, "User %s already exists", name))
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("user created", "user", name, "by", p.name())
	writeRawJSON(w, http.StatusCreated, h.appendUserModel(nil, p, created))
}

// apiCreateUsers is POST /hub/api/users: {"usernames": [...], "admin": b}.
func (h *Hub) apiCreateUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	if !p.scopes.HasAll("admin:users") {
		writeError(w, errorf(http.StatusForbidden, "Action is not authorized with current scopes; requires any of [admin:users]"))
		return
	}
	var body struct {
		Usernames []string `json:"usernames"`
		Admin     bool     `json:"admin"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeError(w, err)
		return
	}
	if len(body.Usernames) == 0 {
		writeError(w, errorf(http.StatusBadRequest, "must specify at least one user to create"))
		return
	}
	for _, n := range body.Usernames {
		if err := store.ValidateName("user", n); err != nil {
			writeError(w, errorf(http.StatusBadRequest, "invalid user name %q", n))
			return
		}
	}
	out := []byte{'['}
	created := 0
	for _, n := range body.Usernames {
		u, err := h.st.CreateUser(r.Context(), store.User{Name: n, Admin: body.Admin})
		if errors.Is(err, store.ErrConflict) {
			continue // JupyterHub skips users that exist
		}
		if err != nil {
			writeError(w, err)
			return
		}
		if created > 0 {
			out = append(out, ',')
		}
		created++
		out = h.appendUserModel(out, p, u)
	}
	if created == 0 {
		writeError(w, errorf(http.StatusConflict, "all %d users already exist", len(body.Usernames)))
		return
	}
	writeRawJSON(w, http.StatusCreated, append(out, ']'))
}

func (h *Hub) apiPatchUser(w http.ResponseWriter, r *http.Request, p *principal) {
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "admin:users", nil)
	if err != nil {
		writeError(w, err)
		return
	}
	var body userPatch
	if err := decodeBody(r, &body); err != nil {
		writeError(w, err)
		return
	}
	if body.Name != nil && *body.Name != u.Name {
		if err := store.ValidateName("user", *body.Name); err != nil {
			writeError(w, errorf(http.StatusBadRequest, "invalid user name %q", *body.Name))
			return
		}
		for _, s := range u.Servers {
			if s.Active() {
				writeError(w, errorf(http.StatusBadRequest, "stop %s's servers before renaming them", u.Name))
				return
			}
		}
	}
	if body.Admin != nil && !p.scopes.HasAll("admin:users") {
		writeError(w, errorf(http.StatusForbidden, "only admins can change the admin flag"))
		return
	}
	nu, err := h.st.UpdateUser(r.Context(), u.Name, store.UserUpdate{Name: body.Name, Admin: body.Admin, Groups: body.Groups})
	if errors.Is(err, store.ErrConflict) {
		writeError(w, errorf(http.StatusBadRequest, "User %s already exists, username must be unique", *body.Name))
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeRawJSON(w, http.StatusOK, h.appendUserModel(nil, p, nu))
}

func (h *Hub) apiDeleteUser(w http.ResponseWriter, r *http.Request, p *principal) {
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "admin:users", nil)
	if err != nil {
		writeError(w, err)
		return
	}
	if p.user != nil && p.user.Name == u.Name {
		writeError(w, errorf(http.StatusBadRequest, "cannot delete yourself"))
		return
	}
	if err := h.deleteUser(r.Context(), u); err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("user deleted", "user", u.Name, "by", p.name())
	w.WriteHeader(http.StatusNoContent)
}

// deleteUser stops the user's servers, waits for them, and deletes the
// user. Their storage is the spawner's and stays.
func (h *Hub) deleteUser(ctx context.Context, u store.User) error {
	for _, s := range u.Servers {
		if s.Pending == store.PhaseSpawn {
			return errorf(http.StatusBadRequest, "cannot delete user %s with a pending spawn", u.Name)
		}
	}
	for _, s := range u.Servers {
		if !s.Active() {
			continue
		}
		op, err := h.stopServer(ctx, u, s.Name)
		if err != nil {
			return err
		}
		if !op.wait(ctx, h.cfg.StopTimeout) || op.err != nil {
			return errorf(http.StatusServiceUnavailable, "stopping %s's servers did not finish; try again", u.Name)
		}
	}
	err := h.st.DeleteUser(ctx, u.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// serverName is the server a path names: "" for /server, the {server}
// segment for /servers/{server}.
func serverName(r *http.Request) string { return r.PathValue("server") }

func (h *Hub) apiStartServer(w http.ResponseWriter, r *http.Request, p *principal) {
	server := serverName(r)
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "servers", &server)
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errorf(http.StatusRequestEntityTooLarge, "request body too large"))
		return
	}
	req, err := h.resolveSpawn(u, server, body, nil)
	if err != nil {
		writeError(w, err)
		return
	}
	op, err := h.startServer(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	if op.wait(r.Context(), h.cfg.SlowSpawnTimeout) {
		if op.err != nil {
			writeError(w, errorf(http.StatusInternalServerError, "%s", op.err.Error()))
			return
		}
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// resolveSpawn checks a start's options against the profile list: JSON
// user_options from the API (body) or a submitted spawn form (form).
func (h *Hub) resolveSpawn(u store.User, server string, body []byte, form url.Values) (spawnRequest, error) {
	req := spawnRequest{user: u, server: server}
	trimmed := strings.TrimSpace(string(body))
	if form == nil && trimmed != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(trimmed), &obj); err != nil {
			return req, errorf(http.StatusBadRequest, "user_options must be a JSON object: %v", err)
		}
	}
	if h.cfg.Profiles == nil {
		if trimmed != "" && trimmed != "{}" {
			req.userOptions = json.RawMessage(trimmed)
		}
		return req, nil
	}
	var sel profiles.Selection
	var err error
	switch {
	case form != nil:
		sel, err = profiles.ParseForm(form)
	case trimmed != "":
		sel, err = profiles.ParseUserOptions([]byte(trimmed))
	}
	if err != nil {
		return req, errorf(http.StatusBadRequest, "%v", err)
	}
	res, err := h.cfg.Profiles.Resolve(profiles.User{Name: u.Name, Groups: u.Groups}, sel, h.cfg.ProfileBase)
	if err != nil {
		return req, errorf(http.StatusBadRequest, "%v", err)
	}
	opts, err := json.Marshal(res.Selection)
	if err != nil {
		return req, err
	}
	req.userOptions = opts
	req.override = res.Override
	return req, nil
}

func (h *Hub) apiStopServer(w http.ResponseWriter, r *http.Request, p *principal) {
	server := serverName(r)
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "delete:servers", &server)
	if err != nil {
		writeError(w, err)
		return
	}
	var body struct {
		Remove bool `json:"remove"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeError(w, err)
		return
	}
	if body.Remove && server == "" {
		writeError(w, errorf(http.StatusBadRequest, "the default server cannot be removed"))
		return
	}
	s, ok := u.Server(server)
	if !ok {
		writeError(w, errorf(http.StatusNotFound, "%s has no server named %q", u.Name, server))
		return
	}
	if !s.Active() && h.op(spawner.Ref{User: u.Name, Server: server}) == nil {
		if body.Remove {
			if err := h.st.DeleteServer(r.Context(), u.Name, server); err != nil && !errors.Is(err, store.ErrNotFound) {
				writeError(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeError(w, errorf(http.StatusBadRequest, "%s is not running", refName(spawner.Ref{User: u.Name, Server: server})))
		return
	}
	op, err := h.stopServer(r.Context(), u, server)
	if err != nil {
		writeError(w, err)
		return
	}
	if !op.wait(r.Context(), h.cfg.SlowSpawnTimeout) {
		if body.Remove {
			go func() {
				if op.wait(context.Background(), h.cfg.StopTimeout) && op.err == nil {
					_ = h.st.DeleteServer(context.Background(), u.Name, server)
				}
			}()
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if op.err != nil {
		writeError(w, errorf(http.StatusInternalServerError, "stopping %s failed: %v", refName(op.ref), op.err))
		return
	}
	if body.Remove {
		if err := h.st.DeleteServer(r.Context(), u.Name, server); err != nil && !errors.Is(err, store.ErrNotFound) {
			writeError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// progressEvent is an event of the progress stream, in JupyterHub's shape.
type progressEvent struct {
	Progress    int    `json:"progress"`
	Message     string `json:"message"`
	HTMLMessage string `json:"html_message,omitempty"`
	Ready       bool   `json:"ready,omitempty"`
	Failed      bool   `json:"failed,omitempty"`
	URL         string `json:"url,omitempty"`
}

// apiProgress streams the server's start as server-sent events.
func (h *Hub) apiProgress(w http.ResponseWriter, r *http.Request, p *principal) {
	server := serverName(r)
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "read:servers", &server)
	if err != nil {
		writeError(w, err)
		return
	}
	ref := spawner.Ref{User: u.Name, Server: server}
	prefix := h.serverPrefix(ref)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	send := func(e progressEvent) {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	ready := func() progressEvent {
		return progressEvent{Progress: 100, Ready: true, Message: "Server ready at " + prefix,
			HTMLMessage: `Server ready at <a href="` + prefix + `">` + prefix + `</a>`, URL: prefix}
	}
	op := h.op(ref)
	if op == nil || op.phase != store.PhaseSpawn {
		s, ok := u.Server(server)
		switch {
		case ok && s.Ready():
			send(ready())
		case ok && s.Pending == store.PhaseSpawn && op == nil:
			// Another replica is starting it: follow the store.
			h.remoteProgress(r.Context(), ref, send, ready)
		default:
			h.mu.Lock()
			msg := h.lastErr[ref]
			h.mu.Unlock()
			if msg == "" {
				writeError(w, errorf(http.StatusBadRequest, "%s is not starting", refName(ref)))
				return
			}
			send(progressEvent{Progress: 100, Failed: true, Message: msg})
		}
		return
	}
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.StartTimeout+time.Minute)
	defer cancel()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	events := op.events.Subscribe(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-keepalive.C:
			fmt.Fprint(w, ":keepalive\n\n")
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		case e, ok := <-events:
			if !ok {
				return
			}
			switch {
			case e.Ready:
				send(ready())
				return
			case e.Failed:
				send(progressEvent{Progress: 100, Failed: true, Message: e.Message})
				return
			default:
				send(progressEvent{Progress: e.Progress, Message: e.Message})
			}
		}
	}
}

// apiActivity is POST /hub/api/users/{name}/activity, as
// jupyterhub-singleuser reports it: {"last_activity": t, "servers":
// {name: {"last_activity": t}}}. Written through the batcher.
func (h *Hub) apiActivity(w http.ResponseWriter, r *http.Request, p *principal) {
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "users:activity", nil)
	if err != nil {
		writeError(w, err)
		return
	}
	var body struct {
		LastActivity *string `json:"last_activity"`
		Servers      map[string]struct {
			LastActivity *string `json:"last_activity"`
		} `json:"servers"`
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&body); err != nil {
		// A body beyond MaxBodyBytes is 413, as on every other endpoint.
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, err)
			return
		}
		writeError(w, errorf(http.StatusBadRequest, "malformed JSON body: %v", err))
		return
	}
	if body.LastActivity == nil && len(body.Servers) == 0 {
		// As JupyterHub: a report of nothing is a client's mistake.
		writeError(w, errorf(http.StatusBadRequest, "body must contain at least one of last_activity or servers"))
		return
	}
	var acts []store.Activity
	now := h.now().Add(time.Minute)
	if body.LastActivity != nil {
		t, err := parseISOTime(*body.LastActivity)
		if err != nil {
			writeError(w, errorf(http.StatusBadRequest, "%v", err))
			return
		}
		acts = append(acts, store.Activity{Kind: store.ActivityUser, User: u.Name, Time: minTime(t, now)})
	}
	for name, s := range body.Servers {
		if _, ok := u.Server(name); !ok {
			writeError(w, errorf(http.StatusBadRequest, "no such server %q for user %s", name, u.Name))
			return
		}
		if !p.can("users:activity", target(u, &name)) {
			writeError(w, errorf(http.StatusForbidden, "not allowed to report activity of server %q", name))
			return
		}
		if s.LastActivity == nil {
			writeError(w, errorf(http.StatusBadRequest, "server %q: last_activity is required", name))
			return
		}
		t, err := parseISOTime(*s.LastActivity)
		if err != nil {
			writeError(w, errorf(http.StatusBadRequest, "%v", err))
			return
		}
		acts = append(acts, store.Activity{Kind: store.ActivityServer, User: u.Name, Server: name, Time: minTime(t, now)})
	}
	for _, a := range acts {
		_ = h.batcher.Record(a)
	}
	w.WriteHeader(http.StatusOK)
}

// minTime keeps reported times from the future (a client's clock ahead of
// the hub's would otherwise keep a server from ever being culled).
func minTime(a, b time.Time) time.Time {
	if a.After(b) {
		return b
	}
	return a
}

func (h *Hub) tokenModel(t store.Token) map[string]any {
	var user, service any
	if t.Owner.Service != "" {
		service = t.Owner.Service
	} else {
		user = t.Owner.User
	}
	var client any
	if t.ClientID != "" {
		client = t.ClientID
	}
	return map[string]any{
		"kind": "api_token", "id": tokenID(t.ID), "user": user, "service": service,
		"roles": []string{}, "scopes": nonNil(t.Scopes), "note": t.Note, "oauth_client": client,
		"created": isoTime(t.Created), "expires_at": isoTime(t.Expires), "last_activity": isoTime(t.LastActivity),
		"session_id": nil, "prefix": t.Prefix,
	}
}

func (h *Hub) apiListTokens(w http.ResponseWriter, r *http.Request, p *principal) {
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "read:tokens", nil)
	if err != nil {
		writeError(w, err)
		return
	}
	list, err := h.st.ListTokens(r.Context(), store.TokenQuery{Owner: store.Owner{User: u.Name}})
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, t := range list {
		out = append(out, h.tokenModel(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_tokens": out})
}

// parseTokenID reads "a12" (or "12") from a path.
func parseTokenID(s string) (int64, bool) {
	s = strings.TrimPrefix(s, "a")
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func (h *Hub) userToken(r *http.Request, p *principal, need string) (store.Token, error) {
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), need, nil)
	if err != nil {
		return store.Token{}, err
	}
	id, ok := parseTokenID(r.PathValue("id"))
	if !ok {
		return store.Token{}, errorf(http.StatusNotFound, "no such token")
	}
	list, err := h.st.ListTokens(r.Context(), store.TokenQuery{Owner: store.Owner{User: u.Name}})
	if err != nil {
		return store.Token{}, err
	}
	for _, t := range list {
		if t.ID == id {
			return t, nil
		}
	}
	return store.Token{}, errorf(http.StatusNotFound, "no such token")
}

func (h *Hub) apiGetToken(w http.ResponseWriter, r *http.Request, p *principal) {
	t, err := h.userToken(r, p, "read:tokens")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.tokenModel(t))
}

func (h *Hub) apiDeleteToken(w http.ResponseWriter, r *http.Request, p *principal) {
	t, err := h.userToken(r, p, "tokens")
	if err != nil {
		writeError(w, err)
		return
	}
	if err := h.st.DeleteToken(r.Context(), t.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// maxTokenLifetime bounds expires_in: about a hundred years.
const maxTokenLifetime = 100 * 365 * 24 * time.Hour

// createToken makes an API token for u with the given scopes (none:
// "inherit"), refusing scopes that p itself does not hold for u.
func (h *Hub) createToken(ctx context.Context, p *principal, u store.User, note string, expiresIn int64, want []string) (string, store.Token, error) {
	if expiresIn < 0 || time.Duration(expiresIn) > maxTokenLifetime/time.Second {
		return "", store.Token{}, errorf(http.StatusBadRequest, "expires_in must be between 0 and %d seconds", int64(maxTokenLifetime/time.Second))
	}
	if len(want) == 0 {
		want = []string{"inherit"}
	}
	if !slices.Contains(want, "inherit") {
		if err := scopes.Validate(want); err != nil {
			return "", store.Token{}, errorf(http.StatusBadRequest, "%v", err)
		}
		set, err := scopes.Expand(want, scopes.Owner{User: u.Name})
		if err != nil {
			return "", store.Token{}, errorf(http.StatusBadRequest, "%v", err)
		}
		// A token never names scopes its owner does not hold, whoever
		// asks for it: JupyterHub refuses them with 400 ("Not assigning
		// requested scopes … not held by User …").
		held := scopes.Intersect(set, userScopes(u)).Strings()
		for _, s := range set.Strings() {
			if !slices.Contains(held, s) {
				return "", store.Token{}, errorf(http.StatusBadRequest, "Not assigning requested scope %s not held by user %s", s, u.Name)
			}
		}
		for _, s := range set.Strings() {
			if !slices.Contains(scopes.Intersect(set, p.scopes).Strings(), s) {
				return "", store.Token{}, errorf(http.StatusForbidden, "requested scope %s is not held by the requester", s)
			}
		}
	} else if p.token != nil && !(p.user != nil && p.user.Name == u.Name && slices.Contains(p.token.Scopes, "inherit")) && p.session == nil {
		// A narrowed token cannot make an unrestricted one.
		if !p.scopes.HasAll("admin:users") {
			return "", store.Token{}, errorf(http.StatusForbidden, "a token with limited scopes cannot create a token with all of its owner's scopes")
		}
	}
	secret, err := store.NewSecret(nil)
	if err != nil {
		return "", store.Token{}, err
	}
	t := store.Token{Owner: store.Owner{User: u.Name}, Scopes: want, Note: note}
	if expiresIn > 0 {
		t.Expires = h.now().Add(time.Duration(expiresIn) * time.Second)
	}
	t, err = h.st.CreateToken(ctx, secret, t)
	return secret, t, err
}

func (h *Hub) apiCreateToken(w http.ResponseWriter, r *http.Request, p *principal) {
	u, err := h.loadUser(r.Context(), p, r.PathValue("name"), "tokens", nil)
	if err != nil {
		writeError(w, err)
		return
	}
	var body struct {
		Note      string   `json:"note"`
		ExpiresIn *int64   `json:"expires_in"`
		Scopes    []string `json:"scopes"`
		Roles     []string `json:"roles"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeError(w, err)
		return
	}
	want := body.Scopes
	for _, role := range body.Roles {
		sc, ok := scopes.RoleScopes(role)
		if !ok {
			writeError(w, errorf(http.StatusBadRequest, "unknown role %q", role))
			return
		}
		want = append(want, sc...)
	}
	var expires int64
	if body.ExpiresIn != nil {
		expires = *body.ExpiresIn
	}
	note := body.Note
	if note == "" {
		note = "Requested via api"
		if p.user == nil || p.user.Name != u.Name {
			note += " by " + p.kind() + " " + strings.TrimPrefix(p.name(), "service:")
		}
	}
	secret, t, err := h.createToken(r.Context(), p, u, note, expires, want)
	if err != nil {
		writeError(w, err)
		return
	}
	m := h.tokenModel(t)
	m["token"] = secret
	writeJSON(w, http.StatusCreated, m)
}

// health is /hub/health: 200 once the start-up checks are done and the
// store answers.
func (h *Hub) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	status := http.StatusOK
	body := map[string]any{"ready": h.Ready()}
	if err := h.st.Ping(ctx); err != nil {
		status = http.StatusServiceUnavailable
		body["store"] = "unavailable"
	} else {
		body["store"] = "ok"
	}
	if !h.Ready() {
		status = http.StatusServiceUnavailable
	}
	if hc, ok := h.cfg.Spawner.(interface{ Healthy() error }); ok {
		if err := hc.Healthy(); err != nil {
			status = http.StatusServiceUnavailable
			body["spawner"] = err.Error()
		}
	}
	writeJSON(w, status, body)
}

// remoteProgress follows a start that another replica runs, from the
// store: one event now, then ready or failed when the store says so.
func (h *Hub) remoteProgress(ctx context.Context, ref spawner.Ref, send func(progressEvent), ready func() progressEvent) {
	send(progressEvent{Progress: 50, Message: "Server is starting"})
	ctx, cancel := context.WithTimeout(ctx, h.cfg.StartTimeout+time.Minute)
	defer cancel()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, err := h.st.GetServer(ctx, ref.User, ref.Server)
		switch {
		case err != nil && !errors.Is(err, store.ErrNotFound):
			continue // the store will answer again
		case err == nil && s.Ready():
			send(ready())
			return
		case err != nil || s.Pending != store.PhaseSpawn:
			send(progressEvent{Progress: 100, Failed: true, Message: "Spawn failed: the server did not start"})
			return
		}
	}
}
