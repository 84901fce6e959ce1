// Package hubapi is a [culler.Source] over the JupyterHub REST API, so the
// same culler serves a hubkit hub and an existing Python JupyterHub (it is
// tested against JupyterHub 3.0). It makes the requests
// jupyterhub-idle-culler makes, and no others.
//
// # Requests
//
//   - GET /hub/api/ for the hub's version. Hubs from 1.3 filter users on
//     their side; older ones are listed whole and filtered by the culler.
//   - GET /hub/api/users?state=inactive (only when culling users) and
//     GET /hub/api/users?state=ready, with the Accept header
//     application/jupyterhub-pagination+json and limit=PageSize when
//     set, following _pagination.next; a plain JSON list from hubs before
//     2.0.
//   - DELETE /hub/api/users/{name}/server to stop a default server,
//     DELETE /hub/api/users/{name}/servers/{server} to stop a named one,
//     with the body {"remove": true} to remove it.
//   - DELETE /hub/api/users/{name} to delete a user.
//
// Every request carries "Authorization: token …". A 202 answer to a stop
// is [culler.ErrStopPending]; any other non-2xx answer is a
// [*StatusError] with the hub's message.
//
// # Configuration
//
// The zero [Options] work inside a JupyterHub service: the URL comes from
// JUPYTERHUB_API_URL, the token from JUPYTERHUB_API_TOKEN and the request
// timeout from JUPYTERHUB_REQUEST_TIMEOUT (60 s when unset), the variables
// JupyterHub sets for managed services and jupyterhub-idle-culler reads.
// The token needs the scopes list:users, read:users:activity,
// read:servers and delete:servers, and admin:users to delete users.
//
// # Failures
//
// Each attempt of a request is bounded by the request timeout. Connection
// errors, timed-out attempts, 429 and 5xx answers are retried (three times
// by default) with exponential backoff, or after the hub's Retry-After. At
// most Concurrency requests are in flight at once. A removal or deletion
// whose retry finds the server or user gone counts as done, since the
// attempt that timed out may have reached the hub.
//
// # Untrusted input
//
// The hub's answers are decoded into typed structs. A user whose model
// lacks a field the culler needs (admin, last_activity, servers, or a
// server's last_activity; usually a token without the scopes above) or
// holds a value of the wrong type or an unreadable timestamp is reported
// with [ErrMalformed] and left alone; the culler never guesses. A page
// that cannot be read ends its list with an error and keeps the users
// read before it. Timestamps are read by [ParseTime], which accepts the
// ISO 8601 forms jupyterhub-idle-culler accepts.
//
// # Pagination
//
// JupyterHub pages users by offset. Like jupyterhub-idle-culler, the
// client reads all pages of a list before the culler acts on any user in
// it, so that the culler's own stops and deletions do not shift the later
// pages; other changes on the hub between two page requests can still
// make a pass miss a user, who is then culled a pass later. It asks
// the configured URL for every page, taking only the offset, limit and
// query of the hub's next URL, so a proxy that rewrites hosts cannot send
// the token elsewhere. JupyterHub 3 may list a user with several servers
// on two pages; the culler handles such a user once.
package hubapi
