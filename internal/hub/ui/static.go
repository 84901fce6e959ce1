package ui

import (
	"bytes"
	"net/http"
	"strings"
	"time"
)

// Static returns the handler of the embedded static files, hub.css and
// progress.js, at BaseURL+"static/{name}". Mount it on that prefix
// without stripping it:
//
//	mux.Handle(opts.BaseURL+"static/", u.Static())
//
// It answers GET and HEAD (with conditional requests by ETag) and 405
// for other methods, 404 for any path that is not exactly one of the
// files — there is no directory listing and no file system behind it.
// The pages link the files with a "?v=" query that changes with their
// contents; such requests are cacheable for a year, others must be
// revalidated.
func (u *UI) Static() http.Handler {
	prefix := u.opts.BaseURL + "static/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		f, found := u.static[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+f.version+`"`)
		if r.URL.Query().Get("v") == f.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
	})
}
