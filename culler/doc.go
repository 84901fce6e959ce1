// Package culler stops idle single-user servers, and optionally deletes
// idle users, with the rules and options of jupyterhub-idle-culler, as a
// library: [Culler.Run] culls every few minutes until its context ends,
// [Culler.Once] runs one pass and reports what it did. It works over a
// small [Source] interface, so a hub embeds it in process, and package
// culler/hubapi provides a Source over the JupyterHub REST API that serves
// any JupyterHub, the Python one included. examples/cullerd is a drop-in
// replacement for jupyterhub-idle-culler built on the two.
//
// # Culling never deletes storage
//
// Culling stops servers. The culler never deletes a user's storage, and no
// Source method asks for that. Two options make the hub forget things,
// and what the hub then does with their storage is the hub's policy: with
// RemoveNamedServers a culled named server is removed from the user's list
// of servers, and with CullUsers an idle user without running servers is
// deleted from the hub. Against a JupyterHub with KubeSpawner, whose
// delete_pvc is on by default, both delete the persistent volume claims
// of what was removed; set c.KubeSpawner.delete_pvc = False to keep them.
// A hubkit hub keeps storage in both cases.
//
// # The rules
//
// One pass reads the users that have a ready server (and, with CullUsers,
// the users that have no active server at all) and, for each user:
//
//   - A server that is pending (starting or stopping) or not ready is never
//     touched.
//   - A server's inactivity is the time since its last activity, or since
//     its start when no activity was recorded yet. When neither is known
//     the server is kept.
//   - A server is culled when the [Arbiter] says so (by default: inactive
//     for at least Timeout), or when MaxAge is set and it was started at
//     least MaxAge ago, even if it is active.
//   - SkipDefaultServers and SkipNamedServers exempt those servers from
//     both rules.
//   - A named server is removed instead of stopped with
//     RemoveNamedServers.
//   - A stop that the hub accepted but has not finished ([ErrStopPending],
//     JupyterHub's 202) counts as culled but not as stopped.
//   - With CullUsers, a user is deleted once all of the user's servers are
//     stopped (in this pass or before) and the user has been inactive for
//     Timeout (since the last activity, or since creation when none was
//     recorded), or was created at least MaxAge ago. SkipAdminUsers
//     exempts admin users from both.
//   - A user listed twice in a pass is handled once.
//
// Errors are per user: a user the source cannot read, a failed stop or a
// failed deletion is logged, counted and reported, nothing is done for
// that user past the failure, and the pass goes on with the others.
//
// # Differences from jupyterhub-idle-culler
//
// The rules above are jupyterhub-idle-culler's (version 2.0), with three
// deliberate differences where it contradicts its own options:
// SkipAdminUsers (--cull-admin-users=false) also holds against MaxAge,
// which jupyterhub-idle-culler lets delete admin users;
// SkipDefaultServers and SkipNamedServers (--cull-default-servers=false,
// --cull-named-servers=false) also hold against MaxAge; and a user listed
// twice (JupyterHub repeats users across pages of state=ready) is handled
// once, not twice. The arbiter is a Go func instead of a Python callable
// and is called only for servers whose kind is culled.
//
// # Metrics
//
// With Options.Registerer set, the culler registers
// hubkit_culler_servers_culled_total{kind, reason},
// hubkit_culler_servers_slow_to_stop_total,
// hubkit_culler_users_culled_total{reason},
// hubkit_culler_errors_total{op}, hubkit_culler_pass_duration_seconds and
// hubkit_culler_last_pass_timestamp_seconds. It never registers on the
// global registry unless it is given prometheus.DefaultRegisterer.
package culler
