// Package spawner defines how a hub starts, stops and watches single-user
// Jupyter servers, independent of where they run.
//
// # The contract
//
// A hub runs one server per (user, server name), identified by a [Ref]; the
// empty server name is the user's default server. A [Spawner] has three
// methods:
//
//   - Start creates the server and blocks until it is ready or has failed.
//     It honours its context: when ctx ends before the server is ready, the
//     partly started server is removed and ctx's error is returned.
//   - Stop stops the server. It is idempotent and never deletes the user's
//     storage.
//   - Status is a side-effect-free poll.
//
// Optional capabilities are small separate interfaces, found by type
// assertion: [Lister] lists the servers that exist so a restarted hub can
// re-adopt them, [Remover] deletes a server together with its storage, and
// [ProgressReporter] streams progress events for the spawn page.
//
// # Requests
//
// A [Request] carries the raw user and server names (implementations derive
// safe object names from them), the environment the hub made for the server
// (JUPYTERHUB_* variables), the server's API token, the user's resolved
// profile override, and the state saved from the previous start of the same
// server.
//
// # Errors
//
// Conditions are sentinels ([ErrInvalid], [ErrNotRunning], [ErrTimeout],
// [ErrUnavailable]) and a start that failed for a reason the backend can
// name is a [*StartError]; callers use errors.Is and errors.As and never
// import a backend's error packages.
//
// # Conformance
//
// Package spawner/spawnertest holds a suite that every implementation runs.
package spawner
