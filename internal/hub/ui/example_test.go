package ui_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/hubkit/hubkit/internal/hub/ui"
)

// The hub renders the home page with the viewer's servers; every POST
// form carries the XSRF value, and names are escaped in URLs.
func ExampleUI_Home() {
	u, err := ui.New(ui.Options{
		BaseURL: "/hub/",
		Now:     func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	err = u.Home(rec, ui.HomeData{
		Page: ui.Page{User: &ui.Viewer{Name: "jörg"}, XSRF: "token-from-cookie"},
		Servers: []ui.ServerRow{
			{URL: "/user/j%C3%B6rg/", Ready: true, Started: time.Date(2025, 3, 1, 11, 57, 0, 0, time.UTC)},
			{Name: "gpu/2", URL: "/user/j%C3%B6rg/gpu%2F2/"},
		},
		AllowNamedServers: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	for _, m := range regexp.MustCompile(`<form[^>]* method="(\w+)" action="([^"]*)"`).FindAllStringSubmatch(rec.Body.String(), -1) {
		fmt.Println(m[1], m[2])
	}
	fmt.Println(regexp.MustCompile(`<time [^>]*>[^<]*</time>`).FindString(rec.Body.String()))
	// Output:
	// 200 text/html; charset=utf-8
	// post /hub/logout
	// post /hub/stop/j%C3%B6rg
	// post /hub/spawn/j%C3%B6rg/gpu%2F2
	// post /hub/remove/j%C3%B6rg/gpu%2F2
	// get /hub/spawn/j%C3%B6rg
	// <time datetime="2025-03-01T11:57:00Z" title="2025-03-01 11:57:00 UTC">3 minutes ago</time>
}

// The static files are served under BaseURL+"static/", with the prefix
// left on the request path; anything else is not found.
func ExampleUI_Static() {
	u, err := ui.New(ui.Options{BaseURL: "/hub/"})
	if err != nil {
		log.Fatal(err)
	}
	static := u.Static() // mux.Handle("/hub/static/", static)
	for _, path := range []string{"/hub/static/hub.css", "/hub/static/progress.js", "/hub/static/../ui.go"} {
		rec := httptest.NewRecorder()
		static.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// /hub/static/hub.css 200 text/css; charset=utf-8
	// /hub/static/progress.js 200 text/javascript; charset=utf-8
	// /hub/static/../ui.go 404 text/plain; charset=utf-8
}

// Error pages carry their status; a template error would have written
// nothing, so the hub can still fall back to a plain answer.
func ExampleUI_Error() {
	u, err := ui.New(ui.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := u.Error(rec, ui.ErrorData{Status: http.StatusNotFound, Message: "No such user."}); err != nil {
		http.Error(rec, "internal error", http.StatusInternalServerError)
	}
	fmt.Println(rec.Code)
	fmt.Println(rec.Header().Get("Content-Security-Policy"))
	// Output:
	// 404
	// default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'
}
