// Package scopes is JupyterHub 3/4's role-based access control for the
// hub's REST API: which scopes exist and what each implies, the default
// roles, how a holder's scopes are expanded, how a token's scopes are
// cut down to its owner's, and whether a request may act on a user,
// server, group or service.
//
// # Scopes and filters
//
// A scope is a base, such as read:users, optionally restricted by a
// filter after "!":
//
//	read:users                   every user
//	read:users!user=alice        alice (and, for server scopes, her servers)
//	access:servers!server=alice/ alice's default server only
//	access:servers!server=alice/gpu
//	read:users!group=staff       the members of group staff
//	access:services!service=grafana
//
// In a role's scopes the filter may be bare — "!user", "!server",
// "!service" — meaning the holder itself, filled in by Expand from an
// Owner. Two metascopes stand for other scopes: self, a user's own
// scopes, and inherit, everything a token's owner holds. Parse and
// Validate check the syntax and that the base is known; filter names
// must not be empty or contain "!".
//
// # The hierarchy
//
// Holding a scope means holding every scope below it, with the same
// filter. The table is JupyterHub's scope_definitions:
//
//	admin:users
//	    admin:auth_state
//	    users
//	        read:users
//	            read:users:name
//	            read:users:groups
//	            read:users:activity
//	        list:users
//	            read:users:name
//	        users:activity
//	            read:users:activity
//	    read:roles:users
//	    delete:users
//	admin:servers
//	    admin:server_state
//	    servers
//	        read:servers
//	            read:users:name
//	        delete:servers
//	tokens
//	    read:tokens
//	admin:groups
//	    groups
//	        read:groups
//	            read:groups:name
//	        list:groups
//	            read:groups:name
//	    read:roles:groups
//	    delete:groups
//	read:roles
//	    read:roles:users
//	    read:roles:services
//	    read:roles:groups
//	list:services
//	    read:services:name
//	read:services
//	    read:services:name
//	admin-ui, read:hub, access:servers, access:services, proxy,
//	shutdown, read:metrics, (no_scope)
//
// As in JupyterHub, read access through a server filter also gives
// the server's user's name: read:servers!server=alice/gpu brings
// read:users:name!user=alice. Custom scopes (JupyterHub's custom:…) are
// not supported.
//
// # Roles and self
//
// RoleScopes gives JupyterHub's default roles:
//
//	user    self
//	admin   admin-ui admin:users admin:servers tokens admin:groups
//	        list:services read:services read:hub proxy shutdown
//	        access:services access:servers read:roles read:metrics
//	server  users:activity!user access:servers!server
//	token   inherit
//
// (The server role is JupyterHub 4's; JupyterHub 3 gave it
// access:servers!user, any of the user's servers.) For user alice, self
// is read:users, read:users:name, read:users:groups, users:activity,
// read:users:activity, servers, delete:servers, read:servers, tokens,
// read:tokens and access:servers, each with !user=alice: not users
// (writing her own user model), not admin:auth_state nor
// admin:server_state. Self means nothing for a service.
//
// # Tokens
//
// A user's or service's scopes are Expand of the scopes of all its
// roles (for a user, its groups' roles too). A token holds what both it
// and its owner hold: if its scopes include inherit, the owner's set;
// otherwise Intersect of Expand of the token's scopes with the owner's
// set, so that a token asking for admin:users gets nothing of it unless
// its owner is an admin, and a token keeps working only as long as its
// owner keeps the scopes. Intersect cannot see group membership: a
// group filter against a user or server filter gives a filter that
// requires both, which Allows checks against Target.Groups.
//
// # Checking a request
//
// An API handler needing scope base calls Set.Allows with the target of
// the request — the user, the user's server, the service — and answers
// 403 when it is false. Listing endpoints use Set.Has to decide whether
// to answer at all and Set.Filter to learn whom to list.
package scopes
