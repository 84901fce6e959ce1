package ui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/hubkit/hubkit/internal/hub/ui"
)

func TestStatic(t *testing.T) {
	u := newUI(t)
	h := u.Static()
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
		body         string // a substring of the body
	}{
		{"GET", "/hub/static/hub.css", 200, "text/css; charset=utf-8", ".skip-link"},
		{"GET", "/hub/static/progress.js", 200, "text/javascript; charset=utf-8", "new EventSource("},
		{"HEAD", "/hub/static/progress.js", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/hub/static/../ui.go", 404, "", ""},
		{"GET", "/hub/static/%2e%2e/ui.go", 404, "", ""},
		{"GET", "/hub/static/..%2fui.go", 404, "", ""},
		{"GET", "/hub/static/", 404, "", ""},
		{"GET", "/hub/static", 404, "", ""},
		{"GET", "/hub/static/nope.js", 404, "", ""},
		{"GET", "/hub/static/static/hub.css", 404, "", ""},
		{"GET", "/hub/static/hub.css/", 404, "", ""},
		{"GET", "/hub/static/HUB.CSS", 404, "", ""},
		{"GET", "/other/static/hub.css", 404, "", ""},
		{"GET", "/hub/static/templates/home.html", 404, "", ""},
		{"POST", "/hub/static/hub.css", 405, "", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if got := rec.Header().Get("Cache-Control"); got == "" {
				t.Errorf("no Cache-Control")
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body does not contain %q", tc.body)
			}
		})
	}
}

// The pages link static files with a version; those are cached for
// long, and revalidation by ETag works.
func TestStaticCaching(t *testing.T) {
	u := newUI(t)
	rec := httptest.NewRecorder()
	if err := u.Login(rec, ui.LoginData{}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	css := attr(find(doc, isElement("link")), "href")
	if !strings.HasPrefix(css, "/hub/static/hub.css?v=") {
		t.Fatalf("style sheet link %q", css)
	}

	h := u.Static()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", css, nil))
	if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "max-age=31536000") {
		t.Errorf("versioned Cache-Control %q", got)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/hub/static/hub.css?v=old", nil))
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("stale version Cache-Control %q, want no-cache", got)
	}

	req := httptest.NewRequest("GET", "/hub/static/hub.css", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("conditional request: status %d, want 304", rec.Code)
	}
	if b, _ := io.ReadAll(rec.Body); len(b) != 0 {
		t.Errorf("304 with a body")
	}
}
