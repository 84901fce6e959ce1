// Package ui renders the hub's web pages: plain, accessible HTML from
// html/template, with one small style sheet and one small script, all
// embedded in the binary. There is no front-end build step and nothing
// is loaded from elsewhere.
//
// The package only renders. The hub handles the requests, checks the
// XSRF token and permissions, gathers the data and calls one method of
// [UI] per page:
//
//	u, err := ui.New(ui.Options{BaseURL: "/hub/"})
//	…
//	mux.Handle("/hub/static/", u.Static())
//	mux.HandleFunc("GET /hub/home", func(w http.ResponseWriter, r *http.Request) {
//		if err := u.Home(w, ui.HomeData{Page: page, Servers: rows}); err != nil {
//			http.Error(w, "internal error", http.StatusInternalServerError)
//		}
//	})
//
// Each method executes the page into a buffer first: when it returns an
// error, nothing was written and the hub can still answer otherwise.
//
// # Pages
//
//   - [UI.Home]: the viewer's servers with Open, Start, Stop and Remove,
//     and a form for a new named server.
//   - [UI.Spawn]: the options form of one server (rendered by the
//     profiles package) with a Start button.
//   - [UI.Pending]: a <progress> bar and a live message that follow the
//     spawn progress events, then go to the server.
//   - [UI.Admin]: users with their groups, last activity and servers,
//     a name filter, pagination, Add users and Delete.
//   - [UI.Tokens]: the viewer's API tokens, a form to request one and
//     Revoke; a new token is shown once.
//   - [UI.NotRunning]: the URL of a stopped server, with a link to start
//     it.
//   - [UI.Error] and [UI.Login].
//
// Every page shares a header: the product name, and for a signed-in
// viewer the navigation (Home, Token, Admin for admins) and a Logout
// button. Times show as a <time> element with an RFC 3339 datetime and a
// relative label ("3 minutes ago", "never") computed with Options.Now.
//
// # Routes
//
// Links and form actions are BaseURL followed by these paths; {user},
// {server}, {name} and {id} are escaped with url.PathEscape, so "a/b" is
// "a%2Fb" and "jörg" is "j%C3%B6rg". The default server has no {server}
// segment.
//
//	GET  home                            Home (header)
//	GET  token                           Token (header)
//	GET  admin                           Admin (header, admins only)
//	POST logout                          Logout (header)
//	POST spawn/{user}[/{server}]         Start (home, admin); the spawn form
//	POST stop/{user}[/{server}]          Stop (home, admin)
//	POST remove/{user}/{server}          Remove a stopped named server (home)
//	GET  spawn/{user}?server_name={name} New named server (home), see below
//	GET  admin?name_filter=…             filter form; with &limit=… when paged
//	GET  admin?offset=…&limit=…[&name_filter=…]   pagination links
//	POST admin/users                     usernames (one per line), admin=true if checked
//	POST admin/users/{name}/delete       Delete user
//	POST token                           note, expires_in ("" never, 3600, 86400, 604800 seconds)
//	POST token/{id}/revoke               Revoke
//	GET  static/hub.css, static/progress.js   served by [UI.Static]
//
// The Open link of a ready server is its ServerRow.URL; a starting
// server links there too ("Progress"), where the hub shows the pending
// page. The not running page links to NotRunningData.SpawnURL, the login
// page to LoginData.LoginURL.
//
// A plain HTML form cannot put a typed value into a URL path, and the
// home page runs no script, so the new named server form GETs
// spawn/{user}?server_name={name}: the hub answers it with a redirect to
// spawn/{user}/{name}.
//
// # XSRF
//
// Every POST form carries a hidden field
//
//	<input type="hidden" name="_xsrf" value="{{.XSRF}}">
//
// with [Page].XSRF, JupyterHub's field name. The hub sets the value (for
// instance from its XSRF cookie) and rejects a POST whose "_xsrf" does
// not match. GET forms carry none: they change nothing.
//
// # Security headers
//
// Pages are sent with Cache-Control: no-store, X-Content-Type-Options:
// nosniff, Referrer-Policy: same-origin and this Content-Security-Policy:
//
//	default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';
//	connect-src 'self'; object-src 'none'; base-uri 'none';
//	form-action 'self'; frame-ancestors 'none'
//
// No page has inline script, inline style or event handler attributes:
// progress.js reads the progress and next URLs from data- attributes.
// Two consequences for the hub. SpawnData.Form must not rely on inline
// script or style either. And form-action 'self' also covers the
// redirects that follow a form POST in some browsers (Chrome), so a POST
// (logout, say) must not be answered with a redirect to another origin,
// such as an identity provider's logout endpoint: redirect to a page of
// the hub that links or redirects there with GET. The Sign in link is a
// link, not a form, so it may point to another origin.
//
// # Progress events
//
// progress.js opens an EventSource on PendingData.ProgressURL and reads
// JupyterHub's spawn progress events, one JSON object per message:
// "progress" (0–100) moves the bar, "message" is shown and logged,
// {"ready": true, "url": …} goes to url (or NextURL; only URLs on the
// hub's own origin are followed), and {"failed": true, "message": …}
// shows the message and a link back home. When the connection is lost
// the page says so while EventSource reconnects. Without script, the
// page still links to NextURL.
package ui
