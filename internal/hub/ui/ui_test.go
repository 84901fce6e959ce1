package ui_test

import (
	"bytes"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/hubkit/hubkit/internal/hub/ui"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const xsrf = `x"s<r>f&1`

func newUI(t *testing.T) *ui.UI {
	t.Helper()
	u, err := ui.New(ui.Options{BaseURL: "/hub/", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// page is one rendering of one page.
type page struct {
	name   string
	status int // expected
	xsrf   string
	render func(u *ui.UI, w http.ResponseWriter) error
}

func fullPage(user string, admin bool) ui.Page {
	return ui.Page{User: &ui.Viewer{Name: user, Admin: admin}, XSRF: xsrf, Flash: "Flash <b>news</b>"}
}

func fullServers(user string) []ui.ServerRow {
	prefix := "/user/" + url.PathEscape(user) + "/"
	return []ui.ServerRow{
		{Name: "", URL: prefix, Ready: true, Started: now.Add(-time.Hour), LastActivity: now.Add(-3 * time.Minute), Profile: "Small <CPU>"},
		{Name: "gpu", URL: prefix + "gpu/", Pending: "spawn", Started: now.Add(-time.Minute)},
		{Name: "old", URL: prefix + "old/"},
		{Name: "bye", URL: prefix + "bye/", Pending: "stop"},
	}
}

// pages returns every page, with zero data and with full data.
func pages() []page {
	return []page{
		{"home/zero", 200, "", func(u *ui.UI, w http.ResponseWriter) error { return u.Home(w, ui.HomeData{}) }},
		{"spawn/zero", 200, "", func(u *ui.UI, w http.ResponseWriter) error { return u.Spawn(w, ui.SpawnData{}) }},
		{"pending/zero", 200, "", func(u *ui.UI, w http.ResponseWriter) error { return u.Pending(w, ui.PendingData{}) }},
		{"admin/zero", 200, "", func(u *ui.UI, w http.ResponseWriter) error { return u.Admin(w, ui.AdminData{}) }},
		{"tokens/zero", 200, "", func(u *ui.UI, w http.ResponseWriter) error { return u.Tokens(w, ui.TokenData{}) }},
		{"error/zero", 500, "", func(u *ui.UI, w http.ResponseWriter) error { return u.Error(w, ui.ErrorData{}) }},
		{"not_running/zero", 424, "", func(u *ui.UI, w http.ResponseWriter) error {
			return u.NotRunning(w, 0, ui.NotRunningData{})
		}},
		{"login/zero", 200, "", func(u *ui.UI, w http.ResponseWriter) error { return u.Login(w, ui.LoginData{}) }},

		{"home/full", 200, xsrf, func(u *ui.UI, w http.ResponseWriter) error {
			return u.Home(w, ui.HomeData{Page: fullPage("alice", false), Servers: fullServers("alice"), AllowNamedServers: true, NamedServerLimit: 5})
		}},
		{"spawn/full", 200, xsrf, func(u *ui.UI, w http.ResponseWriter) error {
			return u.Spawn(w, ui.SpawnData{
				Page: fullPage("admin", true), For: "bob", Server: "gpu", Error: "Invalid <choice>",
				Form: template.HTML(`<fieldset><legend>Profile</legend><input type="radio" id="p1" name="profile" value="small"><label for="p1">Small</label></fieldset>`),
			})
		}},
		{"pending/full", 200, xsrf, func(u *ui.UI, w http.ResponseWriter) error {
			return u.Pending(w, ui.PendingData{Page: fullPage("alice", false), For: "alice", Server: "gpu",
				ProgressURL: "/hub/api/users/alice/servers/gpu/progress", NextURL: "/user/alice/gpu/"})
		}},
		{"admin/full", 200, xsrf, func(u *ui.UI, w http.ResponseWriter) error {
			return u.Admin(w, ui.AdminData{
				Page: fullPage("root", true), NameFilter: "a", Offset: 10, Limit: 10, Total: 35,
				Users: []ui.AdminUser{
					{Name: "alice", Admin: true, Groups: []string{"staff", "gpu"}, LastActivity: now.Add(-2 * 24 * time.Hour), Servers: fullServers("alice")},
					{Name: "bob", Groups: nil},
				},
			})
		}},
		{"tokens/full", 200, xsrf, func(u *ui.UI, w http.ResponseWriter) error {
			return u.Tokens(w, ui.TokenData{
				Page: fullPage("alice", false), NewToken: "0123456789abcdef",
				Tokens: []ui.TokenRow{
					{ID: "a1", Prefix: "0123", Note: "CI", Scopes: []string{"access:servers!user=alice", "read:users"}, Created: now.Add(-time.Hour), Expires: now.Add(7 * 24 * time.Hour)},
					{ID: "a2", Prefix: "4567"},
				},
			})
		}},
		{"error/full", 403, xsrf, func(u *ui.UI, w http.ResponseWriter) error {
			return u.Error(w, ui.ErrorData{Page: fullPage("alice", false), Status: 403, Message: "Not yours."})
		}},
		{"not_running/full", 503, xsrf, func(u *ui.UI, w http.ResponseWriter) error {
			return u.NotRunning(w, 503, ui.NotRunningData{Page: fullPage("admin", true), For: "bob", Server: "gpu", SpawnURL: "/hub/spawn/bob/gpu"})
		}},
		{"login/full", 200, xsrf, func(u *ui.UI, w http.ResponseWriter) error {
			return u.Login(w, ui.LoginData{Page: ui.Page{XSRF: xsrf}, LoginURL: "https://idp.example.org/auth?client_id=hub&state=x", Error: "Login failed."})
		}},
	}
}

func TestPages(t *testing.T) {
	u := newUI(t)
	for _, p := range pages() {
		t.Run(p.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := p.render(u, rec); err != nil {
				t.Fatal(err)
			}
			if rec.Code != p.status {
				t.Errorf("status %d, want %d", rec.Code, p.status)
			}
			doc := checkPage(t, rec, p.xsrf)
			if got := count(doc, isElement("main")); got != 1 {
				t.Errorf("%d <main>, want 1", got)
			}
			if got := count(doc, isElement("header")); got != 1 {
				t.Errorf("%d <header>, want 1", got)
			}
			if got := count(doc, isElement("h1")); got != 1 {
				t.Errorf("%d <h1>, want 1", got)
			}
			if strings.Contains(rec.Body.String(), "ZgotmplZ") {
				t.Errorf("a value was filtered as unsafe:\n%s", rec.Body)
			}
		})
	}
}

// checkPage checks the headers and the HTML rules that hold for every
// page, and returns the parsed document.
func checkPage(t *testing.T, rec *httptest.ResponseRecorder, xsrf string) *html.Node {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy %q allows inline code", csp)
	}
	body := rec.Body.String()
	if !strings.HasPrefix(body, "<!DOCTYPE html>") {
		t.Errorf("page does not start with a doctype: %.40q", body)
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "label" && attr(n, "for") != "" {
			labels[attr(n, "for")] = true
		}
	})
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("<%s> has event handler attribute %s=%q", n.Data, a.Key, a.Val)
			}
			if a.Key == "style" {
				t.Errorf("<%s> has inline style %q", n.Data, a.Val)
			}
		}
		switch n.Data {
		case "style":
			t.Errorf("inline <style> element")
		case "script":
			if src := attr(n, "src"); !strings.HasPrefix(src, "/hub/static/") {
				t.Errorf("<script> with src %q, want one of the hub's static files", src)
			}
			if strings.TrimSpace(text(n)) != "" {
				t.Errorf("inline script body %q", text(n))
			}
		case "form":
			checkForm(t, n, xsrf)
		case "input", "select", "textarea":
			if attr(n, "type") == "hidden" {
				break
			}
			if id := attr(n, "id"); id == "" || !labels[id] {
				t.Errorf("<%s name=%q id=%q> has no <label for>", n.Data, attr(n, "name"), id)
			}
		}
	})
	return doc
}

func checkForm(t *testing.T, form *html.Node, xsrf string) {
	t.Helper()
	action := attr(form, "action")
	if !strings.HasPrefix(action, "/hub/") {
		t.Errorf("form action %q is not under the base URL", action)
	}
	var fields []*html.Node
	walk(form, func(n *html.Node) {
		if isElement("input")(n) && attr(n, "name") == "_xsrf" {
			fields = append(fields, n)
		}
	})
	switch method := strings.ToLower(attr(form, "method")); method {
	case "post":
		if len(fields) != 1 {
			t.Errorf("POST form %q has %d _xsrf fields, want 1", action, len(fields))
			return
		}
		if typ, val := attr(fields[0], "type"), attr(fields[0], "value"); typ != "hidden" || val != xsrf {
			t.Errorf("POST form %q: _xsrf type %q value %q, want hidden %q", action, typ, val, xsrf)
		}
	case "get":
		if len(fields) != 0 {
			t.Errorf("GET form %q carries _xsrf", action)
		}
	default:
		t.Errorf("form %q has method %q", action, method)
	}
}

func TestAdminLink(t *testing.T) {
	u := newUI(t)
	for _, tc := range []struct {
		name   string
		viewer *ui.Viewer
		want   bool
	}{
		{"anonymous", nil, false},
		{"user", &ui.Viewer{Name: "alice"}, false},
		{"admin", &ui.Viewer{Name: "root", Admin: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := u.Home(rec, ui.HomeData{Page: ui.Page{User: tc.viewer, XSRF: "t"}}); err != nil {
				t.Fatal(err)
			}
			doc := checkPage(t, rec, "t")
			hrefs := links(doc)
			if got := hrefs["/hub/admin"]; got != tc.want {
				t.Errorf("admin link present: %v, want %v", got, tc.want)
			}
			if got := hrefs["/hub/home"] && hrefs["/hub/token"]; got != (tc.viewer != nil) {
				t.Errorf("home and token links present: %v, want %v", got, tc.viewer != nil)
			}
			logout := forms(doc)["/hub/logout"]
			if (logout != nil) != (tc.viewer != nil) {
				t.Errorf("logout form present: %v, want %v", logout != nil, tc.viewer != nil)
			}
		})
	}
}

func TestNavCurrentPage(t *testing.T) {
	u := newUI(t)
	rec := httptest.NewRecorder()
	if err := u.Admin(rec, ui.AdminData{Page: fullPage("root", true)}); err != nil {
		t.Fatal(err)
	}
	doc := checkPage(t, rec, xsrf)
	var current []string
	walk(doc, func(n *html.Node) {
		if isElement("a")(n) && attr(n, "aria-current") == "page" {
			current = append(current, attr(n, "href"))
		}
	})
	if len(current) != 1 || current[0] != "/hub/admin" {
		t.Errorf("aria-current on %q, want only /hub/admin", current)
	}
}

// Names that need escaping: in text they must show as they are, in URLs
// as url.PathEscape makes them.
var awkwardNames = []string{
	`<script>alert("x")</script>`,
	`a/b`,
	`q?x=1#frag`,
	`jörg`,
	`a.b@example.org`,
	`it's "quoted"`,
	`..`,
	`%2F`,
	`a&b c`,
}

func TestEscapingHome(t *testing.T) {
	u := newUI(t)
	for _, name := range awkwardNames {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := u.Home(rec, ui.HomeData{
				Page: ui.Page{User: &ui.Viewer{Name: name}, XSRF: xsrf, Flash: name},
				Servers: []ui.ServerRow{
					{Name: "", URL: "/user/x/", Ready: true},
					{Name: name, URL: "/user/x/y/"},
				},
				AllowNamedServers: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			body := rec.Body.String()
			if strings.Contains(body, "<script>alert") {
				t.Fatalf("unescaped script in page:\n%s", body)
			}
			doc := checkPage(t, rec, xsrf)
			esc := segment(name)
			fs := forms(doc)
			for _, action := range []string{
				"/hub/stop/" + esc,
				"/hub/spawn/" + esc + "/" + esc,
				"/hub/remove/" + esc + "/" + esc,
			} {
				if fs[action] == nil {
					t.Errorf("no form with action %q; have %q", action, keys(fs))
				}
			}
			if f := fs["/hub/spawn/"+esc]; f == nil || attr(f, "method") != "get" {
				t.Errorf("no GET form for a new server at %q; have %q", "/hub/spawn/"+esc, keys(fs))
			}
			if !strings.Contains(text(doc), "Signed in as "+name) {
				t.Errorf("user name %q not shown as text", name)
			}
			if !containsCell(doc, name) {
				t.Errorf("server name %q not shown as text", name)
			}
		})
	}
}

func TestEscapingExamples(t *testing.T) {
	u := newUI(t)
	rec := httptest.NewRecorder()
	err := u.Admin(rec, ui.AdminData{
		Page: fullPage("root", true),
		Users: []ui.AdminUser{
			{Name: "a/b", Servers: []ui.ServerRow{{Name: "x?y"}}},
			{Name: "jörg", Servers: []ui.ServerRow{{Name: "", Ready: true, URL: "/user/j%C3%B6rg/"}}},
		},
		NameFilter: `ö&x=<1>`, Offset: 5, Limit: 5, Total: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := checkPage(t, rec, xsrf)
	fs := forms(doc)
	for _, action := range []string{
		"/hub/spawn/a%2Fb/x%3Fy",
		"/hub/admin/users/a%2Fb/delete",
		"/hub/stop/j%C3%B6rg",
		"/hub/admin/users/j%C3%B6rg/delete",
		"/hub/admin/users",
		"/hub/admin",
	} {
		if fs[action] == nil {
			t.Errorf("no form with action %q; have %q", action, keys(fs))
		}
	}
	hrefs := links(doc)
	for _, href := range []string{
		"/hub/admin?offset=0&limit=5&name_filter=%C3%B6%26x%3D%3C1%3E",
		"/hub/admin?offset=10&limit=5&name_filter=%C3%B6%26x%3D%3C1%3E",
		"/user/j%C3%B6rg/",
	} {
		if !hrefs[href] {
			t.Errorf("no link to %q; have %q", href, keys(hrefs))
		}
	}
	var filter *html.Node
	walk(doc, func(n *html.Node) {
		if isElement("input")(n) && attr(n, "name") == "name_filter" {
			filter = n
		}
	})
	if filter == nil || attr(filter, "value") != `ö&x=<1>` {
		t.Errorf("name filter field does not keep the filter")
	}
}

func TestPaginationEnds(t *testing.T) {
	u := newUI(t)
	for _, tc := range []struct {
		name                 string
		offset, limit, total int
		users                int
		wantPrev, wantNext   string
		wantSummary          string
	}{
		{"first", 0, 2, 5, 2, "", "/hub/admin?offset=2&limit=2", "Users 1–2 of 5."},
		{"middle", 2, 2, 5, 2, "/hub/admin?offset=0&limit=2", "/hub/admin?offset=4&limit=2", "Users 3–4 of 5."},
		{"last", 4, 2, 5, 1, "/hub/admin?offset=2&limit=2", "", "Users 5–5 of 5."},
		{"unpaged", 0, 0, 3, 3, "", "", "Users 1–3 of 3."},
		{"empty", 0, 10, 0, 0, "", "", "No users."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ui.AdminData{Page: fullPage("root", true), Offset: tc.offset, Limit: tc.limit, Total: tc.total}
			for i := range tc.users {
				d.Users = append(d.Users, ui.AdminUser{Name: string(rune('a' + i))})
			}
			rec := httptest.NewRecorder()
			if err := u.Admin(rec, d); err != nil {
				t.Fatal(err)
			}
			doc := checkPage(t, rec, xsrf)
			var prev, next string
			walk(doc, func(n *html.Node) {
				switch {
				case isElement("a")(n) && attr(n, "rel") == "prev":
					prev = attr(n, "href")
				case isElement("a")(n) && attr(n, "rel") == "next":
					next = attr(n, "href")
				}
			})
			if prev != tc.wantPrev || next != tc.wantNext {
				t.Errorf("prev %q next %q, want %q %q", prev, next, tc.wantPrev, tc.wantNext)
			}
			if !strings.Contains(text(doc), tc.wantSummary) {
				t.Errorf("summary %q missing", tc.wantSummary)
			}
		})
	}
}

func TestHomeServerStates(t *testing.T) {
	u := newUI(t)
	rec := httptest.NewRecorder()
	err := u.Home(rec, ui.HomeData{
		Page:              fullPage("alice", false),
		Servers:           fullServers("alice"),
		AllowNamedServers: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := checkPage(t, rec, xsrf)
	fs, hrefs := forms(doc), links(doc)
	for action, want := range map[string]bool{
		"/hub/stop/alice":       true,  // ready default
		"/hub/spawn/alice":      true,  // the new named server form
		"/hub/stop/alice/gpu":   true,  // starting: can be stopped
		"/hub/spawn/alice/gpu":  false, // starting
		"/hub/spawn/alice/old":  true,  // stopped
		"/hub/remove/alice/old": true,  // stopped named
		"/hub/spawn/alice/bye":  false, // stopping
		"/hub/stop/alice/bye":   false, // stopping
		"/hub/remove/alice/bye": false, // stopping
	} {
		if got := fs[action] != nil; got != want {
			t.Errorf("form %q present: %v, want %v", action, got, want)
		}
	}
	if f := fs["/hub/spawn/alice"]; f != nil && attr(f, "method") != "get" {
		t.Errorf("new server form method %q, want get", attr(f, "method"))
	}
	if !hrefs["/user/alice/"] {
		t.Errorf("no link to the ready server")
	}
	if hrefs["/user/alice/old/"] {
		t.Errorf("link to a stopped server")
	}
	var times []string
	walk(doc, func(n *html.Node) {
		if isElement("time")(n) {
			times = append(times, attr(n, "datetime")+" "+text(n))
		}
	})
	for _, want := range []string{"2025-03-01T11:00:00Z 1 hour ago", "2025-03-01T11:57:00Z 3 minutes ago"} {
		if !contains(times, want) {
			t.Errorf("no <time> %q in %q", want, times)
		}
	}
	if !strings.Contains(text(doc), "never") {
		t.Errorf("zero times not shown as never")
	}
}

func TestHomeNamedServerLimit(t *testing.T) {
	u := newUI(t)
	for _, tc := range []struct {
		name     string
		allow    bool
		limit    int
		wantForm bool
	}{
		{"not allowed", false, 0, false},
		{"unlimited", true, 0, true},
		{"below limit", true, 4, true},
		{"at limit", true, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := u.Home(rec, ui.HomeData{Page: fullPage("alice", false), Servers: fullServers("alice"),
				AllowNamedServers: tc.allow, NamedServerLimit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			doc := checkPage(t, rec, xsrf)
			if got := forms(doc)["/hub/spawn/alice"] != nil; got != tc.wantForm {
				t.Errorf("new server form present: %v, want %v", got, tc.wantForm)
			}
			if reached := strings.Contains(text(doc), "reached the limit"); reached == tc.wantForm && tc.allow {
				t.Errorf("limit notice present: %v with form %v", reached, tc.wantForm)
			}
		})
	}
}

func TestPendingDataAttributes(t *testing.T) {
	u := newUI(t)
	for _, tc := range []struct {
		name                   string
		progress, next         string
		wantProgress, wantNext string
	}{
		{"plain", "/hub/api/users/alice/server/progress", "/user/alice/",
			"/hub/api/users/alice/server/progress", "/user/alice/"},
		{"escaped", `/hub/api/users/a%2Fb/server/progress?x="><script>`, `/user/a%2Fb/"onload="x`,
			"/hub/api/users/a%2Fb/server/progress?x=%22%3e%3cscript%3e", "/user/a%2Fb/%22onload=%22x"},
		{"unsafe scheme", "javascript:alert(1)", "javascript:alert(1)", "#ZgotmplZ", "#ZgotmplZ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := u.Pending(rec, ui.PendingData{Page: fullPage("alice", false), For: "alice", ProgressURL: tc.progress, NextURL: tc.next})
			if err != nil {
				t.Fatal(err)
			}
			doc := checkPage(t, rec, xsrf)
			root := find(doc, func(n *html.Node) bool { return attr(n, "id") == "progress" })
			if root == nil {
				t.Fatal("no #progress element")
			}
			if got := attr(root, "data-progress-url"); got != tc.wantProgress {
				t.Errorf("data-progress-url %q, want %q", got, tc.wantProgress)
			}
			if got := attr(root, "data-next-url"); got != tc.wantNext {
				t.Errorf("data-next-url %q, want %q", got, tc.wantNext)
			}
			bar := find(doc, isElement("progress"))
			if bar == nil || attr(bar, "max") != "100" {
				t.Errorf("no <progress max=100>")
			}
			msg := find(doc, func(n *html.Node) bool { return attr(n, "aria-live") == "polite" })
			if msg == nil || attr(msg, "id") != "progress-message" {
				t.Errorf("no aria-live message line")
			}
			if !links(doc)[tc.wantNext] {
				t.Errorf("no link to the next URL %q", tc.wantNext)
			}
			script := find(doc, isElement("script"))
			if script == nil || !strings.HasPrefix(attr(script, "src"), "/hub/static/progress.js?v=") {
				t.Errorf("progress.js not loaded")
			}
		})
	}
}

func TestSpawnForm(t *testing.T) {
	u := newUI(t)
	for _, tc := range []struct {
		forUser, server, action string
	}{
		{"alice", "", "/hub/spawn/alice"},
		{"alice", "gpu", "/hub/spawn/alice/gpu"},
		{"a.b@example.org", "my server", "/hub/spawn/a.b@example.org/my%20server"},
	} {
		rec := httptest.NewRecorder()
		form := template.HTML(`<label for="f">Profile</label><select id="f" name="profile"><option>small</option></select>`)
		if err := u.Spawn(rec, ui.SpawnData{Page: fullPage("alice", false), For: tc.forUser, Server: tc.server, Form: form}); err != nil {
			t.Fatal(err)
		}
		doc := checkPage(t, rec, xsrf)
		f := forms(doc)[tc.action]
		if f == nil {
			t.Errorf("no form %q; have %q", tc.action, keys(forms(doc)))
			continue
		}
		if find(f, func(n *html.Node) bool { return isElement("select")(n) && attr(n, "name") == "profile" }) == nil {
			t.Errorf("the profile form is not inside the spawn form")
		}
		if find(f, func(n *html.Node) bool { return isElement("button")(n) && text(n) == "Start" }) == nil {
			t.Errorf("no Start button")
		}
	}
}

func TestTokens(t *testing.T) {
	u := newUI(t)
	rec := httptest.NewRecorder()
	err := u.Tokens(rec, ui.TokenData{Page: fullPage("alice", false), NewToken: `tok"<en>`,
		Tokens: []ui.TokenRow{{ID: "a/1", Prefix: "ab", Note: "<CI>", Expires: now.Add(25 * time.Hour)}}})
	if err != nil {
		t.Fatal(err)
	}
	doc := checkPage(t, rec, xsrf)
	fs := forms(doc)
	if fs["/hub/token"] == nil || fs["/hub/token/a%2F1/revoke"] == nil {
		t.Errorf("token forms missing; have %q", keys(fs))
	}
	var options []string
	walk(fs["/hub/token"], func(n *html.Node) {
		if isElement("option")(n) {
			options = append(options, attr(n, "value")+"="+text(n))
		}
	})
	if got, want := strings.Join(options, ","), "=Never,3600=1 hour,86400=1 day,604800=1 week"; got != want {
		t.Errorf("expires_in options %q, want %q", got, want)
	}
	if n := find(doc, func(n *html.Node) bool { return attr(n, "id") == "new-token" }); n == nil || attr(n, "value") != `tok"<en>` {
		t.Errorf("new token not shown")
	}
	if !strings.Contains(text(doc), "<CI>") || !strings.Contains(text(doc), "in 1 day") {
		t.Errorf("token row not shown: %q", text(doc))
	}
}

func TestNotRunningDefaultSpawnURL(t *testing.T) {
	u := newUI(t)
	rec := httptest.NewRecorder()
	if err := u.NotRunning(rec, 0, ui.NotRunningData{Page: fullPage("a/b", false), For: "a/b", Server: "x y"}); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusFailedDependency {
		t.Errorf("status %d, want 424", rec.Code)
	}
	if doc := checkPage(t, rec, xsrf); !links(doc)["/hub/spawn/a%2Fb/x%20y"] {
		t.Errorf("no link to the spawn page; have %q", keys(links(doc)))
	}
}

func TestTitleAndBaseURL(t *testing.T) {
	u, err := ui.New(ui.Options{BaseURL: "/prefix/hub", Title: "Lab <Hub>"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := u.Login(rec, ui.LoginData{LoginURL: "/prefix/hub/oauth_login"}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(find(doc, isElement("title"))); got != "Sign in · Lab <Hub>" {
		t.Errorf("title %q", got)
	}
	if hrefs := links(doc); !hrefs["/prefix/hub/home"] || !hrefs["/prefix/hub/oauth_login"] {
		t.Errorf("links %q", keys(hrefs))
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, base := range []string{"hub/", "//evil.example/", "https://hub.example.org/hub/"} {
		if _, err := ui.New(ui.Options{BaseURL: base}); err == nil {
			t.Errorf("New with BaseURL %q: no error", base)
		}
	}
}

func TestConcurrentRender(t *testing.T) {
	u := newUI(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, p := range pages() {
				rec := httptest.NewRecorder()
				if err := p.render(u, rec); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// segment escapes a name as the pages do.
func segment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

func walk(n *html.Node, f func(*html.Node)) {
	if n == nil {
		return
	}
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func find(root *html.Node, pred func(*html.Node) bool) *html.Node {
	var found *html.Node
	walk(root, func(n *html.Node) {
		if found == nil && n.Type == html.ElementNode && pred(n) {
			found = n
		}
	})
	return found
}

func count(root *html.Node, pred func(*html.Node) bool) int {
	c := 0
	walk(root, func(n *html.Node) {
		if pred(n) {
			c++
		}
	})
	return c
}

func isElement(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag }
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b bytes.Buffer
	walk(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// forms maps each form's action to the form.
func forms(doc *html.Node) map[string]*html.Node {
	m := map[string]*html.Node{}
	walk(doc, func(n *html.Node) {
		if isElement("form")(n) {
			m[attr(n, "action")] = n
		}
	})
	return m
}

// links is the set of hrefs of <a> elements.
func links(doc *html.Node) map[string]bool {
	m := map[string]bool{}
	walk(doc, func(n *html.Node) {
		if isElement("a")(n) {
			m[attr(n, "href")] = true
		}
	})
	return m
}

// containsCell reports whether a table header cell holds exactly s.
func containsCell(doc *html.Node, s string) bool {
	return find(doc, func(n *html.Node) bool { return n.Data == "th" && text(n) == strings.Join(strings.Fields(s), " ") }) != nil
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
