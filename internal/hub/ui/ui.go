package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/hub.css static/progress.js
var staticFS embed.FS

// Options configure a [UI]. The zero value works; every default is
// written on its field.
type Options struct {
	// BaseURL is the hub's path prefix, e.g. "/hub/"; every link and
	// form action is built on it, and [UI.Static] serves BaseURL+"static/".
	// It must be an absolute path ("/…", not "//…" and not a full URL); a
	// missing trailing "/" is added. Default: "/hub/".
	BaseURL string

	// Title is the product name shown in every <title> and in the page
	// header. Default: "hubkit".
	Title string

	// Logger receives failures to write a rendered page to the client
	// (a client that went away). Default: discard.
	Logger *slog.Logger

	// Now is the clock for the relative times on the pages ("3 minutes
	// ago"). Default: time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.BaseURL == "" {
		o.BaseURL = "/hub/"
	}
	if !strings.HasSuffix(o.BaseURL, "/") {
		o.BaseURL += "/"
	}
	if o.Title == "" {
		o.Title = "hubkit"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// UI renders the hub's web pages and serves their static files. Create
// it with [New]; it is safe for concurrent use.
type UI struct {
	opts   Options
	pages  map[string]*template.Template // page name → template set with "layout"
	static map[string]staticFile         // file name under static/ → contents
}

// The page names, which are also the names of the page templates
// (templates/{name}.html) and the "current page" marker of the header
// navigation.
const (
	pageHome       = "home"
	pageSpawn      = "spawn"
	pagePending    = "pending"
	pageAdmin      = "admin"
	pageTokens     = "token"
	pageError      = "error"
	pageNotRunning = "not_running"
	pageLogin      = "login"
)

var pageNames = []string{pageHome, pageSpawn, pagePending, pageAdmin, pageTokens, pageError, pageNotRunning, pageLogin}

// contentSecurityPolicy is sent with every page: nothing but the hub's
// own files, no inline script or style, forms only to the hub, and no
// framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// New returns a UI with all page templates parsed. It fails if
// o.BaseURL is not an absolute path or if a template does not parse,
// which is a bug in this package.
func New(o Options) (*UI, error) {
	o = o.withDefaults()
	if !strings.HasPrefix(o.BaseURL, "/") || strings.HasPrefix(o.BaseURL, "//") {
		return nil, fmt.Errorf("ui: BaseURL %q is not an absolute path", o.BaseURL)
	}
	u := &UI{opts: o, pages: make(map[string]*template.Template, len(pageNames))}
	var err error
	if u.static, err = loadStatic(); err != nil {
		return nil, err
	}
	base, err := template.New("layout").Funcs(u.funcs()).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("ui: parse layout: %w", err)
	}
	for _, name := range pageNames {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("ui: parse %s page: %w", name, err)
		}
		u.pages[name] = t
	}
	return u, nil
}

// view is what the layout template executes on: the product name, the
// page's name for the navigation, the common [Page] fields and the
// page's own data, on which the page's "title", "head" and "content"
// templates execute.
type view struct {
	Product string
	Nav     string
	Page    Page
	Data    any
}

// render executes the named page into a buffer and, only if that
// succeeded, writes the headers, status and page to w.
func (u *UI) render(w http.ResponseWriter, status int, name string, p Page, data any) error {
	return u.renderCSP(w, status, name, p, data, contentSecurityPolicy)
}

// nonceCSP is contentSecurityPolicy allowing inline script and style that
// carry nonce.
func nonceCSP(nonce string) string {
	n := " 'nonce-" + nonce + "'"
	return strings.NewReplacer("script-src 'self'", "script-src 'self'"+n, "style-src 'self'", "style-src 'self'"+n).Replace(contentSecurityPolicy)
}

// renderCSP is render with the given Content-Security-Policy.
func (u *UI) renderCSP(w http.ResponseWriter, status int, name string, p Page, data any, csp string) error {
	t, ok := u.pages[name]
	if !ok {
		return fmt.Errorf("ui: no %s page", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", view{Product: u.opts.Title, Nav: name, Page: p, Data: data}); err != nil {
		return fmt.Errorf("ui: render %s page: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", csp)
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		u.opts.Logger.Debug("ui: writing page failed", "page", name, "error", err)
	}
	return nil
}

// funcs are the template functions. They close over u, so they must be
// installed before parsing and never change afterwards.
func (u *UI) funcs() template.FuncMap {
	return template.FuncMap{
		"hub":           u.hubURL,
		"static":        u.staticURL,
		"spawnURL":      u.spawnURL,
		"stopURL":       u.stopURL,
		"removeURL":     u.removeURL,
		"deleteUserURL": u.deleteUserURL,
		"revokeURL":     u.revokeURL,
		"ago":           u.ago,
		"rfc3339":       rfc3339,
		"readableTime":  readableTime,
		"status":        serverStatus,
		"serverName":    serverName,
		"statusText":    http.StatusText,
		"other":         other,
		"namedCount":    namedCount,
		"serverCtx":     newServerCtx,
		"paging":        u.paging,
	}
}

// hubURL is BaseURL+path, for the fixed routes ("home", "admin/users").
func (u *UI) hubURL(path string) string { return u.opts.BaseURL + path }

// spawnURL is spawn/{user} for the default server, spawn/{user}/{server}
// otherwise.
func (u *UI) spawnURL(user, server string) string { return u.serverRoute("spawn", user, server) }

// stopURL is stop/{user} or stop/{user}/{server}.
func (u *UI) stopURL(user, server string) string { return u.serverRoute("stop", user, server) }

// removeURL is remove/{user}/{server}.
func (u *UI) removeURL(user, server string) string { return u.serverRoute("remove", user, server) }

func (u *UI) serverRoute(route, user, server string) string {
	s := u.opts.BaseURL + route + "/" + escapeSegment(user)
	if server != "" {
		s += "/" + escapeSegment(server)
	}
	return s
}

// deleteUserURL is admin/users/{name}/delete.
func (u *UI) deleteUserURL(user string) string {
	return u.opts.BaseURL + "admin/users/" + escapeSegment(user) + "/delete"
}

// revokeURL is token/{id}/revoke.
func (u *UI) revokeURL(id string) string {
	return u.opts.BaseURL + "token/" + escapeSegment(id) + "/revoke"
}

// escapeSegment escapes s as one URL path segment. url.PathEscape leaves
// "." and ".." alone, which a browser would resolve as dot segments; they
// are percent-encoded instead (browsers resolve "%2E" too, so such names
// cannot be addressed in a URL path, but at least the page does not name
// another route on purpose).
func escapeSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

// ServerCtx is what the "serverActions" template renders: one server of
// one user, with the page's XSRF value.
type serverCtx struct {
	User   string
	S      ServerRow
	XSRF   string
	Remove bool // offer "Remove" for a stopped named server
}

func newServerCtx(user string, s ServerRow, xsrf string, remove bool) serverCtx {
	return serverCtx{User: user, S: s, XSRF: xsrf, Remove: remove}
}

// serverStatus is the readable state of a server.
func serverStatus(s ServerRow) string {
	switch s.Pending {
	case "":
		if s.Ready {
			return "Running"
		}
		return "Stopped"
	case "spawn":
		return "Starting"
	case "stop":
		return "Stopping"
	case "check":
		return "Checking"
	}
	return "Pending"
}

// serverName is a server's name for display.
func serverName(name string) string {
	if name == "" {
		return "default"
	}
	return name
}

// other reports whether name is set and is not the viewer's own name: an
// admin acting for someone else.
func other(p Page, name string) bool {
	return name != "" && (p.User == nil || p.User.Name != name)
}

// namedCount is the number of named (non-default) servers in rows.
func namedCount(rows []ServerRow) int {
	n := 0
	for _, r := range rows {
		if r.Name != "" {
			n++
		}
	}
	return n
}

// staticFile is one embedded static file, with its ETag and the
// version its URLs carry.
type staticFile struct {
	data        []byte
	contentType string
	version     string
}

var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
}

func loadStatic() (map[string]staticFile, error) {
	files := make(map[string]staticFile)
	err := fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(path)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path, "static/")
		ct, ok := staticTypes[name[strings.LastIndexByte(name, '.'):]]
		if !ok {
			return errors.New("no content type for " + name)
		}
		sum := sha256.Sum256(data)
		files[name] = staticFile{data: data, contentType: ct, version: hex.EncodeToString(sum[:6])}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: load static files: %w", err)
	}
	return files, nil
}

// staticURL is the URL of an embedded static file, with a version query
// that changes with its contents, so that it can be cached for long.
func (u *UI) staticURL(name string) (string, error) {
	f, ok := u.static[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return u.opts.BaseURL + "static/" + name + "?v=" + f.version, nil
}
