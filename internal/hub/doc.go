// Package hub is the example hub's core: a JupyterHub-compatible hub made
// of hubkit's blocks. It keeps its state in a [store.Store], starts and
// stops servers with a [spawner.Spawner], logs people in with an
// [authenticator.Authenticator], and serves, from one http.Handler:
//
//   - the in-process proxy (package proxy): /user/{name}/[{server}/]… to
//     the servers, HTTP and websockets, with per-route activity;
//   - the JupyterHub REST API subset that real clients use, same paths,
//     JSON shapes and status codes: /hub/api/, info, user, users
//     (pagination, state filter), users/{name} (GET, POST, PATCH,
//     DELETE), server and servers/{server} (POST with user_options,
//     DELETE → 202/204, remove), …/progress (server-sent events),
//     activity, tokens;
//   - the OAuth 2 provider that jupyterhub-singleuser logs browsers in
//     with: /hub/api/oauth2/authorize and /hub/api/oauth2/token
//     (authorization code, PKCE S256 or plain);
//   - the web pages (package ui): login, home, spawn form from profiles,
//     progress, admin, tokens, logout;
//   - /hub/health and Prometheus /hub/metrics under JupyterHub's names.
//
// # Starts and stops
//
// A start claims the server in the store (store.Servers.ClaimServer: of
// two claims at the same moment, on one replica or two, exactly one
// wins), makes the server's API token (scopes access:servers on the
// server and users:activity on its user) and its OAuth client
// (jupyterhub-user-{name}, secret = the token, redirect
// /user/{name}/oauth_callback), asks Config.SecretEnv for secret
// variables, builds the reference's JUPYTERHUB_* environment and calls
// the spawner in the background, feeding the progress stream. When the
// server is ready its route is added and the claim finished. A stop
// removes the route, stops the server, revokes its token, OAuth client
// and every token issued through it, and keeps the spawner's state (the
// volume's name): storage is never deleted by the hub. A start that fails
// leaves nothing running: a server the spawner could not clean up (its
// backend was away) is stopped by the hub, and every start first stops a
// server of the same name that the spawner still runs unknown to the
// hub, rather than let the spawner adopt it with revoked credentials.
//
// Limits answer 429 with Retry-After (concurrent starts, active servers)
// or 400 (named servers per user). The active-server count is per replica.
//
// # Restarts
//
// Run first checks every server the store calls active: running ones are
// routed again, ones still starting are waited for (the progress stream
// resumes), others are recorded as stopped and their credentials revoked.
// Servers the spawner runs (spawner.Lister) that the store does not know
// are stopped. Nothing of a user's is lost across a restart.
//
// # Replicas
//
// Several hubs may share one store (PostgreSQL): give each its own
// Config.ReplicaID and a ClaimTTL. Every replica serves the API, the pages
// and the proxy. Claims in the store make each start and stop happen once;
// the owner renews its claim while it works, and when a replica dies the
// others take its unfinished operations over once the claims expire. Each
// replica's proxy follows the store's running servers (SyncInterval, 1 s),
// sessions' auth state lives in the store (SessionStore), and periodic
// work that must run once (the example hub's culler) takes a store lease.
//
// # Who may do what
//
// Requests act for a principal: a user (by API token or session cookie)
// or a configured service (by its token), holding JupyterHub's scopes
// (package scopes): users hold "self", admins the admin role, tokens at
// most their owner's scopes. A server's token can act only for its own
// user. Users that a principal may not see are 404, actions it may not do
// 403. Browser requests that change state carry an anti-forgery value
// (the _xsrf form field or X-XSRFToken header) bound to the session;
// session cookies are scoped to /hub/, so that servers never see them.
package hub
