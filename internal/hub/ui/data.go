package ui

import (
	"html/template"
	"time"
)

// Page holds what every page shows: who is signed in, the XSRF value
// for its forms and an optional notice.
type Page struct {
	// User is the signed-in person, or nil when nobody is signed in (the
	// header then shows no navigation).
	User *Viewer
	// XSRF is the value of the hidden "_xsrf" field that every POST form
	// on the page carries, for the hub to check against its XSRF cookie.
	XSRF string
	// Flash is an optional one-line notice shown above the page content,
	// e.g. "Server gpu removed." Empty shows nothing.
	Flash string
}

// Viewer is the signed-in person.
type Viewer struct {
	// Name is the user name.
	Name string
	// Admin shows the Admin link in the navigation.
	Admin bool
}

// ServerRow is one server of a user, as listed on the home and admin
// pages.
type ServerRow struct {
	// Name is the server name; "" is the default server.
	Name string
	// URL is the server's proxy URL, e.g. "/user/alice/" or
	// "/user/alice/gpu/", already escaped as the proxy routes it.
	URL string
	// Ready is true when the server is running and routed.
	Ready bool
	// Pending is the action in progress: "" (none), "spawn", "stop" or
	// "check".
	Pending string
	// Started is when the server was started; zero means never.
	Started time.Time
	// LastActivity is the server's last activity; zero means never.
	LastActivity time.Time
	// Profile is the display name of the profile the server was started
	// with; may be "".
	Profile string
}

// HomeData is the data of the home page: the viewer's servers.
type HomeData struct {
	Page
	// Servers are the viewer's servers, the default server first; the
	// hub lists the default server even when it never ran, so that it
	// can be started.
	Servers []ServerRow
	// AllowNamedServers shows the form that creates a named server, and
	// the Remove button of stopped named servers.
	AllowNamedServers bool
	// NamedServerLimit is the most named servers a user may have; when
	// reached, the form is replaced by a notice. 0 means unlimited.
	NamedServerLimit int
}

// SpawnData is the data of the spawn page: the options form for one
// server.
type SpawnData struct {
	Page
	// For is the user the server is for; an admin may spawn for others.
	For string
	// Server is the server name; "" is the default server.
	Server string
	// Form is the options form's fields, already rendered by the
	// profiles package. It is trusted: it is inserted as it is.
	Form template.HTML
	// Error is shown above the form, e.g. an invalid choice; "" shows
	// nothing.
	Error string
	// Nonce, when set, is allowed by the page's Content-Security-Policy
	// for inline script and style carrying it: the profiles package's
	// form has a few lines of each, marked with this nonce. A fresh
	// random value per response; "" allows none.
	Nonce string
	// Status is the HTTP status; 0 means 200 (400 suits a form shown
	// again with an Error).
	Status int
}

// PendingData is the data of the page shown while a server starts.
type PendingData struct {
	Page
	// For is the user the server is for.
	For string
	// Server is the server name; "" is the default server.
	Server string
	// ProgressURL is the server-sent-events URL of the spawn progress,
	// e.g. "/hub/api/users/alice/server/progress".
	ProgressURL string
	// NextURL is where to go when the server is ready, e.g. "/user/alice/".
	NextURL string
}

// AdminUser is one user on the admin page.
type AdminUser struct {
	// Name is the user name.
	Name string
	// Admin is true for an admin user.
	Admin bool
	// Groups are the names of the user's groups.
	Groups []string
	// LastActivity is the user's last activity; zero means never.
	LastActivity time.Time
	// Servers are the user's servers, the default server first.
	Servers []ServerRow
}

// AdminData is the data of the admin page: one page of users.
type AdminData struct {
	Page
	// Users are the users on this page.
	Users []AdminUser
	// NameFilter is the current name filter ("" for none), kept in the
	// filter form and the pagination links.
	NameFilter string
	// Offset is the index of Users[0] among all matching users.
	Offset int
	// Limit is the page size; 0 means all users are on one page (no
	// pagination links).
	Limit int
	// Total is the number of users matching NameFilter.
	Total int
}

// TokenRow is one API token on the token page.
type TokenRow struct {
	// ID identifies the token in the revoke route.
	ID string
	// Prefix is the first characters of the token, to recognise it.
	Prefix string
	// Note is what the token is for, as given when it was requested.
	Note string
	// Scopes are the token's scopes.
	Scopes []string
	// Created is when the token was created.
	Created time.Time
	// Expires is when the token expires; zero means never.
	Expires time.Time
	// LastActivity is when the token was last used; zero means never.
	LastActivity time.Time
}

// TokenData is the data of the token page: the viewer's API tokens.
type TokenData struct {
	Page
	// Tokens are the viewer's tokens.
	Tokens []TokenRow
	// NewToken is a token just created, shown once, right after the
	// request that created it; "" shows nothing.
	NewToken string
}

// ErrorData is the data of an error page.
type ErrorData struct {
	Page
	// Status is the HTTP status code, written as the response status and
	// shown with its text. 0 (or any value outside 100–999) means 500.
	Status int
	// Message explains the error; "" shows only the status.
	Message string
}

// NotRunningData is the data of the page shown for the URL of a server
// that is not running.
type NotRunningData struct {
	Page
	// For is the user whose server it is.
	For string
	// Server is the server name; "" is the default server.
	Server string
	// SpawnURL is where the "Launch server" link goes. Default: the spawn
	// page of For and Server (spawn/{for}[/{server}]).
	SpawnURL string
}

// LoginData is the data of the login page.
type LoginData struct {
	Page
	// LoginURL is where the "Sign in" link goes: the authenticator's
	// login handler, or the identity provider. "" shows a notice instead.
	LoginURL string
	// Error is shown above the link, e.g. a failed login; "" shows
	// nothing.
	Error string
	// Status is the HTTP status; 0 means 200 (a failed login is 403, an
	// identity provider that cannot be reached 503).
	Status int
}
