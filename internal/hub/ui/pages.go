package ui

import (
	"fmt"
	"net/http"
)

// Every render method executes the page into a buffer first. If that
// fails it returns the error and has written nothing to w, so the caller
// can still answer otherwise. Then it sets Content-Type (text/html;
// charset=utf-8), X-Content-Type-Options: nosniff, Cache-Control:
// no-store, Referrer-Policy: same-origin and the Content-Security-Policy
// described in the package documentation, and writes the status and the
// page. A failure to write to w (a client that went away) is logged at
// debug level, not returned.

// Home writes the home page: the viewer's servers, with Open, Start,
// Stop and Remove, and the new named server form. Status 200.
func (u *UI) Home(w http.ResponseWriter, d HomeData) error {
	return u.render(w, http.StatusOK, pageHome, d.Page, d)
}

// Spawn writes the spawn page: d.Form in a form that POSTs to
// spawn/{for}[/{server}]. Status 200.
func (u *UI) Spawn(w http.ResponseWriter, d SpawnData) error {
	status := d.Status
	if status == 0 {
		status = http.StatusOK
	}
	csp := contentSecurityPolicy
	if d.Nonce != "" {
		if !validNonce(d.Nonce) {
			return fmt.Errorf("ui: invalid nonce %q", d.Nonce)
		}
		csp = nonceCSP(d.Nonce)
	}
	return u.renderCSP(w, status, pageSpawn, d.Page, d, csp)
}

// Pending writes the page shown while a server starts: a progress bar
// that progress.js updates from the events at d.ProgressURL, moving on
// to the server when it is ready. Status 200.
func (u *UI) Pending(w http.ResponseWriter, d PendingData) error {
	return u.render(w, http.StatusOK, pagePending, d.Page, d)
}

// Admin writes the admin page: a filterable, paginated table of users
// with their servers, and the add users form. Status 200.
func (u *UI) Admin(w http.ResponseWriter, d AdminData) error {
	return u.render(w, http.StatusOK, pageAdmin, d.Page, d)
}

// Tokens writes the token page: the form that requests a new API token,
// the token just created if any, and the viewer's tokens with Revoke.
// Status 200.
func (u *UI) Tokens(w http.ResponseWriter, d TokenData) error {
	return u.render(w, http.StatusOK, pageTokens, d.Page, d)
}

// NotRunning writes the page for the URL of a server that is not
// running, with a link to start it, with the given status; 0 means 424
// (Failed Dependency), which JupyterHub sends since version 2.
func (u *UI) NotRunning(w http.ResponseWriter, status int, d NotRunningData) error {
	if !validStatus(status) {
		status = http.StatusFailedDependency
	}
	return u.render(w, status, pageNotRunning, d.Page, d)
}

// Error writes an error page with status d.Status (500 when d.Status is
// not a valid status code) and d.Message.
func (u *UI) Error(w http.ResponseWriter, d ErrorData) error {
	if !validStatus(d.Status) {
		d.Status = http.StatusInternalServerError
	}
	return u.render(w, d.Status, pageError, d.Page, d)
}

// Login writes the login page: one "Sign in" link to d.LoginURL, and
// d.Error if set. Status 200.
func (u *UI) Login(w http.ResponseWriter, d LoginData) error {
	status := d.Status
	if !validStatus(status) {
		status = http.StatusOK
	}
	return u.render(w, status, pageLogin, d.Page, d)
}

// validStatus reports whether code can be passed to WriteHeader.
func validStatus(code int) bool { return code >= 100 && code <= 999 }

// validNonce reports whether n is safe inside a CSP header: base64 or
// hex characters only.
func validNonce(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return n != ""
}
