package hubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubkit/hubkit/culler"
)

// paginationAccept asks JupyterHub 2+ for the paginated list form.
const paginationAccept = "application/jupyterhub-pagination+json"

// Users implements culler.Source. It reads the hub's version from GET
// /hub/api/; a hub of 1.3 or later filters on its side: with q.Inactive
// it lists GET /users?state=inactive, then with q.Ready GET
// /users?state=ready. An older hub is listed once, without filter (and
// the culler judges every user). A zero Query lists every user.
//
// Each list follows the hub's pagination (the Accept header
// application/jupyterhub-pagination+json and _pagination.next) and reads
// a plain JSON list from hubs before 2.0. Like jupyterhub-idle-culler, it
// reads all pages of a list before it yields the first user of it, so that
// the servers and users the culler stops and deletes meanwhile do not
// shift the hub's offsets under it. The next page is always asked of
// the configured URL (only the query of the hub's next URL is used), so
// the token never goes to another host and a proxy in front of the hub
// cannot send the culler elsewhere.
//
// A user whose model lacks a field the culler needs (see the package
// documentation) or holds a value of the wrong type is yielded with an
// ErrMalformed error and left alone; a page that cannot be read ends that
// list with an error, and the next list, if any, is still read.
func (c *Client) Users(ctx context.Context, q culler.Query) iter.Seq2[culler.User, error] {
	return func(yield func(culler.User, error) bool) {
		v, err := c.Version(ctx)
		if err != nil {
			yield(culler.User{}, err)
			return
		}
		filter, err := stateFilterSupported(v)
		if err != nil {
			yield(culler.User{}, err)
			return
		}
		var states []string // "" lists without filter
		switch {
		case !filter || (!q.Ready && !q.Inactive):
			states = []string{""}
		default:
			if q.Inactive {
				states = append(states, "inactive")
			}
			if q.Ready {
				states = append(states, "ready")
			}
		}
		for _, state := range states {
			if !c.list(ctx, state, yield) {
				return
			}
		}
	}
}

// stateFilterSupported reports whether a hub of version v filters users by
// state (JupyterHub 1.3.0 and later).
func stateFilterSupported(v string) (bool, error) {
	major, minor, ok := parseVersion(v)
	if !ok {
		return false, fmt.Errorf("%w: unrecognised hub version %q", ErrMalformed, v)
	}
	return major > 1 || (major == 1 && minor >= 3), nil
}

// parseVersion reads the major and minor numbers of versions such as
// "3.0.0", "5.2.1", "4.1.0b1" and "2.0.0.dev0".
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(strings.TrimSpace(v), "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil || major < 0 {
		return 0, 0, false
	}
	digits := parts[1]
	for i, r := range digits {
		if r < '0' || r > '9' {
			digits = digits[:i]
			break
		}
	}
	minor, err = strconv.Atoi(digits)
	if err != nil {
		return 0, 0, false
	}
	return major, minor, true
}

// maxPages bounds a list, against a hub whose next page never ends.
const maxPages = 100_000

// decoded is one user of a list, or the error of reading it.
type decoded struct {
	user culler.User
	err  error
}

// list yields the users of GET /users?state=state. It reads every page
// before it yields the first user: the hub pages by offset, so users that
// the culler stops or deletes while it reads would shift the later pages
// and make it skip users. It returns false when the consumer stopped.
func (c *Client) list(ctx context.Context, state string, yield func(culler.User, error) bool) bool {
	params := url.Values{}
	if state != "" {
		params.Set("state", state)
	}
	if c.opts.PageSize > 0 {
		params.Set("limit", strconv.Itoa(c.opts.PageSize))
	}
	u := c.endpoint("users")
	u.RawQuery = params.Encode()

	var users []decoded
	var listErr error
	seen := map[string]bool{}
	for n := 1; u != nil; n++ {
		seen[u.RawQuery] = true
		items, next, err := c.fetchPage(ctx, u, params)
		switch {
		case err != nil:
		case next != nil && seen[next.RawQuery]:
			err = fmt.Errorf("%w: GET %s: the next page is one already read (%s)", ErrMalformed, u, next.RawQuery)
		case next != nil && n >= maxPages:
			err = fmt.Errorf("%w: GET %s: more than %d pages", ErrMalformed, u, maxPages)
		}
		c.opts.Logger.Debug("hubapi: fetched page", slog.String("url", u.String()), slog.Int("page", n),
			slog.Int("items", len(items)), slog.Bool("last", next == nil || err != nil))
		if err != nil {
			// The users read so far are good; the rest of the list is
			// for the next pass.
			listErr = err
			break
		}
		for _, raw := range items {
			user, err := decodeUser(raw)
			users = append(users, decoded{user, err})
		}
		u = next
	}
	for _, d := range users {
		if !yield(d.user, d.err) {
			return false
		}
	}
	if listErr != nil {
		return yield(culler.User{}, listErr)
	}
	return true
}

// pageModel is JupyterHub 2's paginated list.
type pageModel struct {
	Items      *[]json.RawMessage `json:"items"`
	Pagination *struct {
		Next *struct {
			Offset *int   `json:"offset"`
			Limit  *int   `json:"limit"`
			URL    string `json:"url"`
		} `json:"next"`
	} `json:"_pagination"`
}

// fetchPage reads one page. next is nil on the last page.
func (c *Client) fetchPage(ctx context.Context, u *url.URL, params url.Values) (items []json.RawMessage, next *url.URL, err error) {
	r, _, err := c.do(ctx, http.MethodGet, u, nil, paginationAccept)
	if err != nil {
		return nil, nil, err
	}
	if r.code != http.StatusOK {
		return nil, nil, c.statusError(http.MethodGet, u, r)
	}
	body := bytes.TrimSpace(r.body)
	malformed := func(format string, a ...any) error {
		return fmt.Errorf("%w: GET %s: %s", ErrMalformed, u, fmt.Sprintf(format, a...))
	}
	switch {
	case len(body) == 0:
		return nil, nil, malformed("empty answer")
	case body[0] == '[':
		// JupyterHub before 2.0: the whole list, no pagination.
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, nil, malformed("%v", err)
		}
		return items, nil, nil
	case body[0] != '{':
		return nil, nil, malformed("neither a JSON list nor a JSON object")
	}
	var m pageModel
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, nil, malformed("%v", err)
	}
	if m.Items == nil {
		return nil, nil, malformed(`no "items" list`)
	}
	if m.Pagination == nil {
		return nil, nil, malformed(`no "_pagination" object`)
	}
	n := m.Pagination.Next
	if n == nil {
		return *m.Items, nil, nil
	}
	// The next page: the query of the hub's next URL, with the offset and
	// limit it gives, and the filter and page size asked for; always of
	// the configured URL.
	q := url.Values{}
	if n.URL != "" {
		nu, err := url.Parse(n.URL)
		if err != nil {
			return nil, nil, malformed("next URL %q: %v", n.URL, err)
		}
		q = nu.Query()
	}
	if n.Offset != nil {
		q.Set("offset", strconv.Itoa(*n.Offset))
	}
	if n.Limit != nil && *n.Limit > 0 {
		q.Set("limit", strconv.Itoa(*n.Limit))
	}
	if q.Get("offset") == "" {
		return nil, nil, malformed("_pagination.next has neither an offset nor a URL with one")
	}
	for k, v := range params {
		if _, ok := q[k]; !ok {
			q[k] = v
		}
	}
	next = c.endpoint("users")
	next.RawQuery = q.Encode()
	return *m.Items, next, nil
}

// opt is a JSON field that remembers whether it was present and null.
type opt[T any] struct {
	Set, Null bool
	V         T
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.V)
}

// userModel is the part of JupyterHub's user model the culler reads.
type userModel struct {
	Name         opt[string]                     `json:"name"`
	Admin        opt[bool]                       `json:"admin"`
	Created      opt[string]                     `json:"created"`
	LastActivity opt[string]                     `json:"last_activity"`
	Servers      opt[map[string]json.RawMessage] `json:"servers"`
	// Before JupyterHub 0.9 without named servers: the default server's
	// URL (null when not running) and pending action.
	Server  opt[string] `json:"server"`
	Pending opt[string] `json:"pending"`
}

// serverModel is the part of JupyterHub's server model the culler reads.
type serverModel struct {
	Name         opt[string] `json:"name"`
	LastActivity opt[string] `json:"last_activity"`
	Started      opt[string] `json:"started"`
	Pending      opt[string] `json:"pending"`
	Ready        opt[bool]   `json:"ready"`
	URL          opt[string] `json:"url"`
}

// decodeUser reads one user model. A model that lacks a field the culler
// needs is an error, so that the culler leaves the user alone instead of
// guessing: last_activity (scope read:users:activity), admin (list:users),
// and servers (read:servers).
func decodeUser(raw json.RawMessage) (culler.User, error) {
	var m userModel
	jerr := json.Unmarshal(raw, &m)
	u := culler.User{Name: m.Name.V}
	bad := func(format string, a ...any) (culler.User, error) {
		who := "a user"
		if u.Name != "" {
			who = "user " + strconv.Quote(u.Name)
		}
		return u, fmt.Errorf("%w: %s: %s", ErrMalformed, who, fmt.Sprintf(format, a...))
	}
	if jerr != nil {
		return bad("%v", jerr)
	}
	if !m.Name.Set || m.Name.Null || m.Name.V == "" {
		return bad(`no "name"`)
	}
	if !m.Admin.Set || m.Admin.Null {
		return bad(`no "admin" field (does the token have the list:users scope?)`)
	}
	u.Admin = m.Admin.V
	if !m.LastActivity.Set {
		return bad(`no "last_activity" field (does the token have the read:users:activity scope?)`)
	}
	var err error
	if u.LastActivity, err = optTime(m.LastActivity); err != nil {
		return bad("last_activity: %v", err)
	}
	if u.Created, err = optTime(m.Created); err != nil {
		return bad("created: %v", err)
	}
	switch {
	case m.Servers.Set && m.Servers.Null:
		return bad(`"servers" is null`)
	case m.Servers.Set:
		for name, sraw := range m.Servers.V {
			s, err := decodeServer(name, sraw)
			if err != nil {
				return bad("%v", err)
			}
			s.User = u.Name
			u.Servers = append(u.Servers, s)
		}
		slices.SortFunc(u.Servers, func(a, b culler.Server) int { return strings.Compare(a.Name, b.Name) })
	case m.Server.Set:
		// JupyterHub before 0.9: the default server, if running.
		if !m.Server.Null && m.Server.V != "" {
			u.Servers = []culler.Server{{
				User:         u.Name,
				Ready:        true,
				Pending:      m.Pending.V,
				LastActivity: u.LastActivity,
			}}
		}
	default:
		return bad(`no "servers" field (does the token have the read:servers scope?)`)
	}
	return u, nil
}

func decodeServer(key string, raw json.RawMessage) (culler.Server, error) {
	var m serverModel
	s := culler.Server{Name: key, Model: raw}
	bad := func(format string, a ...any) (culler.Server, error) {
		return s, fmt.Errorf("server %q: %s", key, fmt.Sprintf(format, a...))
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return bad("%v", err)
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return bad("null")
	}
	if m.Name.Set && !m.Name.Null && m.Name.V != key {
		return bad("listed under %q but named %q", key, m.Name.V)
	}
	if !m.LastActivity.Set {
		return bad(`no "last_activity" field`)
	}
	var err error
	if s.LastActivity, err = optTime(m.LastActivity); err != nil {
		return bad("last_activity: %v", err)
	}
	if s.Started, err = optTime(m.Started); err != nil {
		return bad("started: %v", err)
	}
	switch {
	case m.Ready.Set && !m.Ready.Null:
		s.Ready = m.Ready.V
	case m.URL.Set:
		// JupyterHub before 0.9: a server with a URL is ready.
		s.Ready = !m.URL.Null && m.URL.V != ""
	default:
		return bad(`neither "ready" nor "url"`)
	}
	if !m.Pending.Null {
		s.Pending = m.Pending.V
	}
	return s, nil
}

func optTime(o opt[string]) (time.Time, error) {
	if !o.Set || o.Null || o.V == "" {
		return time.Time{}, nil
	}
	return ParseTime(o.V)
}
