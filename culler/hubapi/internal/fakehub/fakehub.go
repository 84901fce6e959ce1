// Package fakehub serves the part of the JupyterHub REST API that an idle
// culler uses, from memory, the way JupyterHub 3 answers it: the version,
// the user list with its state filter and pagination (including the
// absolute next URL built from the request's Host), stopping and removing
// servers, and deleting users. It exists for tests that need a hub
// answering on cue (bad input, faults, 10,000 users for a benchmark);
// tests of the real behaviour run against the real JupyterHub.
package fakehub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Hub is an in-memory JupyterHub API. Set its fields before serving.
type Hub struct {
	// Version is what GET /hub/api/ reports. Default "3.0.0". Versions
	// before 1.3 ignore the state filter; before 2.0, pagination.
	Version string
	// DefaultLimit and MaxLimit are the page sizes (JupyterHub's
	// api_page_default_limit and api_page_max_limit). Default 50 and 200.
	DefaultLimit, MaxLimit int
	// Token, when set, is the only token accepted.
	Token string
	// Fault, when set, sees every request first; when it returns true it
	// has answered and the hub does nothing.
	Fault func(w http.ResponseWriter, r *http.Request) bool

	mu     sync.Mutex
	users  []*entry
	byName map[string]*entry
	stopAs map[string]int
	log    []string
}

// User is a user model. Zero times are written as null.
type User struct {
	Name         string    // name
	Admin        bool      // admin
	Created      time.Time // created
	LastActivity time.Time // last_activity
	Servers      []Server  // servers, keyed by their names
}

// Server is a server model. Zero times are written as null.
type Server struct {
	Name         string    // name; "" for the default server
	Ready        bool      // ready
	Pending      string    // pending; "" is written as null
	Started      time.Time // started
	LastActivity time.Time // last_activity
	// UserOptions is written as user_options.
	UserOptions map[string]any
}

type entry struct {
	name  string
	user  *User           // nil for a raw entry
	raw   json.RawMessage // served verbatim when user is nil
	state string          // for raw entries: "ready", "inactive" or "pending"
	enc   []byte          // cached encoding of user
}

// Add adds users (or replaces users of the same name).
func (h *Hub) Add(users ...User) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range users {
		u := users[i]
		u.Servers = slices.Clone(u.Servers)
		h.put(&entry{name: u.Name, user: &u})
	}
}

// AddRaw adds a user whose model is served verbatim, listed as if in
// state ("ready", "inactive" or "pending").
func (h *Hub) AddRaw(name, state, model string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.put(&entry{name: name, raw: json.RawMessage(model), state: state})
}

func (h *Hub) put(e *entry) {
	e.encode() // encode now, so that serving a list costs little
	if h.byName == nil {
		h.byName = map[string]*entry{}
	}
	if old, ok := h.byName[e.name]; ok {
		*old = *e
		return
	}
	h.byName[e.name] = e
	h.users = append(h.users, e)
}

// StopAs makes DELETE of the server ("user" or "user/server") answer code
// (202: still stopping, the server stays listed as pending stop; any
// other non-2xx: an error) instead of stopping it.
func (h *Hub) StopAs(ref string, code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopAs == nil {
		h.stopAs = map[string]int{}
	}
	h.stopAs[ref] = code
}

// User returns a copy of the named user, and whether it exists.
func (h *Hub) User(name string) (User, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.byName[name]
	if !ok || e.user == nil {
		return User{}, ok
	}
	u := *e.user
	u.Servers = slices.Clone(u.Servers)
	return u, true
}

// Requests returns the requests served, as "METHOD path?query" with the
// body appended for DELETE requests that have one.
func (h *Hub) Requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.log)
}

// Writes returns the DELETE requests served.
func (h *Hub) Writes() []string {
	var w []string
	for _, r := range h.Requests() {
		if strings.HasPrefix(r, "DELETE ") {
			w = append(w, r)
		}
	}
	return w
}

// ResetLog forgets the requests served so far.
func (h *Hub) ResetLog() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = nil
}

func (h *Hub) version() string {
	if h.Version == "" {
		return "3.0.0"
	}
	return h.Version
}

func (h *Hub) atLeast(major, minor int) bool {
	parts := strings.SplitN(h.version(), ".", 3)
	ma, _ := strconv.Atoi(parts[0])
	mi := 0
	if len(parts) > 1 {
		mi, _ = strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	}
	return ma > major || (ma == major && mi >= minor)
}

// ServeHTTP implements http.Handler, under /hub/api.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	line := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		line += "?" + r.URL.RawQuery
	}
	if len(body) > 0 {
		line += " " + string(body)
	}
	h.mu.Lock()
	h.log = append(h.log, line)
	h.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))

	if h.Fault != nil && h.Fault(w, r) {
		return
	}
	if h.Token != "" && r.Header.Get("Authorization") != "token "+h.Token {
		writeError(w, http.StatusForbidden, "bad token")
		return
	}
	var seg []string
	for _, s := range strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/hub/api"), "/")[1:] {
		u, err := url.PathUnescape(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad path")
			return
		}
		seg = append(seg, u)
	}
	switch {
	case r.Method == http.MethodGet && (len(seg) == 0 || len(seg) == 1 && seg[0] == ""):
		writeJSON(w, http.StatusOK, map[string]string{"version": h.version()})
	case r.Method == http.MethodGet && len(seg) == 1 && seg[0] == "users":
		h.list(w, r)
	case r.Method == http.MethodDelete && len(seg) == 3 && seg[0] == "users" && seg[2] == "server":
		h.stop(w, seg[1], "", false)
	case r.Method == http.MethodDelete && len(seg) == 4 && seg[0] == "users" && seg[2] == "servers":
		var opts struct {
			Remove bool `json:"remove"`
		}
		_ = json.Unmarshal(body, &opts)
		h.stop(w, seg[1], seg[3], opts.Remove)
	case r.Method == http.MethodDelete && len(seg) == 2 && seg[0] == "users":
		h.deleteUser(w, seg[1])
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"status": code, "message": msg})
}

func (e *entry) stateOf() string {
	if e.user == nil {
		return e.state
	}
	state := "inactive"
	for _, s := range e.user.Servers {
		if s.Ready {
			return "ready"
		}
		if s.Pending != "" {
			state = "pending"
		}
	}
	return state
}

func (h *Hub) list(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := r.URL.Query()
	state := q.Get("state")
	if !h.atLeast(1, 3) {
		state = ""
	}
	var sel []*entry
	for _, e := range h.users {
		switch st := e.stateOf(); state {
		case "":
		case "ready":
			if st != "ready" {
				continue
			}
		case "active":
			if st == "inactive" {
				continue
			}
		case "inactive":
			if st != "inactive" {
				continue
			}
		default:
			writeError(w, http.StatusBadRequest, "Unrecognized state filter: "+state)
			return
		}
		sel = append(sel, e)
	}
	paginate := h.atLeast(2, 0) && r.Header.Get("Accept") == "application/jupyterhub-pagination+json"
	offset, limit := 0, len(sel)
	if h.atLeast(2, 0) {
		def, maxl := h.DefaultLimit, h.MaxLimit
		if def == 0 {
			def = 50
		}
		if maxl == 0 {
			maxl = 200
		}
		if !paginate {
			def = maxl
		}
		limit = def
		if s := q.Get("limit"); s != "" {
			limit, _ = strconv.Atoi(s)
		}
		limit = min(max(limit, 1), maxl)
		if s := q.Get("offset"); s != "" {
			offset, _ = strconv.Atoi(s)
		}
	}
	total := len(sel)
	page := sel[min(offset, total):min(offset+limit, total)]

	var b bytes.Buffer
	size := 256
	for _, e := range page {
		size += len(e.encode()) + 2
	}
	b.Grow(size)
	if paginate {
		b.WriteString(`{"items": `)
	}
	b.WriteByte('[')
	for i, e := range page {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(e.encode())
	}
	b.WriteByte(']')
	if paginate {
		next := "null"
		if offset+limit < total {
			nq := url.Values{}
			for k, v := range q {
				nq[k] = v
			}
			nq.Set("offset", strconv.Itoa(offset+limit))
			nq.Set("limit", strconv.Itoa(limit))
			nu := "http://" + r.Host + r.URL.Path + "?" + nq.Encode()
			next = fmt.Sprintf(`{"offset": %d, "limit": %d, "url": %q}`, offset+limit, limit, nu)
		}
		fmt.Fprintf(&b, `, "_pagination": {"offset": %d, "limit": %d, "total": %d, "next": %s}}`, offset, limit, total, next)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len())) // as tornado does
	_, _ = w.Write(b.Bytes())
}

func isoformat(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func (e *entry) encode() []byte {
	if e.user == nil {
		return e.raw
	}
	if e.enc != nil {
		return e.enc
	}
	u := e.user
	servers := map[string]any{}
	for _, s := range u.Servers {
		var pending any
		if s.Pending != "" {
			pending = s.Pending
		}
		path := "/user/" + url.PathEscape(u.Name) + "/"
		if s.Name != "" {
			path += url.PathEscape(s.Name) + "/"
		}
		opts := s.UserOptions
		if opts == nil {
			opts = map[string]any{}
		}
		servers[s.Name] = map[string]any{
			"name": s.Name, "last_activity": isoformat(s.LastActivity), "started": isoformat(s.Started),
			"pending": pending, "ready": s.Ready, "stopped": !s.Ready && s.Pending == "",
			"url": path, "user_options": opts, "progress_url": "/hub/api/users/" + url.PathEscape(u.Name) + "/server/progress",
		}
	}
	var server any
	for _, s := range u.Servers {
		if s.Name == "" && s.Ready {
			server = "/user/" + url.PathEscape(u.Name) + "/"
		}
	}
	m := map[string]any{
		"kind": "user", "name": u.Name, "admin": u.Admin, "roles": []string{"user"}, "groups": []string{},
		"server": server, "pending": nil, "created": isoformat(u.Created), "last_activity": isoformat(u.LastActivity),
		"auth_state": nil, "servers": servers,
	}
	e.enc, _ = json.Marshal(m)
	return e.enc
}

func (h *Hub) stop(w http.ResponseWriter, name, server string, remove bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.byName[name]
	if !ok || e.user == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if server == "" && remove {
		writeError(w, http.StatusBadRequest, "Cannot delete the default server")
		return
	}
	i := slices.IndexFunc(e.user.Servers, func(s Server) bool { return s.Name == server })
	if i < 0 {
		if server != "" {
			writeError(w, http.StatusNotFound, fmt.Sprintf("%s has no server named '%s'", name, server))
			return
		}
		w.WriteHeader(http.StatusNoContent) // the default server exists, stopped
		return
	}
	ref := name
	if server != "" {
		ref += "/" + server
	}
	if code, ok := h.stopAs[ref]; ok {
		if code == http.StatusAccepted {
			e.user.Servers[i].Ready, e.user.Servers[i].Pending = false, "stop"
			e.enc = nil
			w.WriteHeader(code)
			return
		}
		writeError(w, code, "injected")
		return
	}
	e.user.Servers = slices.Delete(e.user.Servers, i, i+1)
	e.enc = nil
	w.WriteHeader(http.StatusNoContent)
}

func (h *Hub) deleteUser(w http.ResponseWriter, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.byName[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if e.stateOf() != "inactive" {
		writeError(w, http.StatusBadRequest, name+"'s server is in the process of stopping, please wait.")
		return
	}
	delete(h.byName, name)
	h.users = slices.DeleteFunc(h.users, func(x *entry) bool { return x == e })
	w.WriteHeader(http.StatusNoContent)
}
