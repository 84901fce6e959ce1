// Package local is a spawner.Spawner that runs each single-user server as
// a process on the hub's machine: the embedded default of the example hub,
// for laptops and for hub tests. It plays the part of JupyterHub's
// LocalProcessSpawner, without switching users: every server runs as the
// hub's own operating-system user, so servers are not isolated from each
// other or from the hub. Use spawner/kube where users must not trust each
// other.
//
// # Starting a server
//
// Start checks the request first (the Ref, the profile override and the
// environment; see [Options] for the override keys), then picks a free
// port on [Options.Host], creates the server's directory and runs the
// command (default jupyterhub-singleuser) in it, in a process group of
// its own. The environment is built, later entries winning, from the
// variables named by [Options.InheritEnv], HOME (the server's directory),
// [Options.Env], the override's "environment", the hub's Request.Env,
// and finally the spawner's own: JUPYTERHUB_SERVICE_PREFIX (kept from
// Request.Env, else [spawner.DefaultPrefix]), JUPYTERHUB_SERVICE_URL
// (http://host:port followed by the prefix; jupyterhub-singleuser binds to
// it) and the server's API token as JUPYTERHUB_API_TOKEN and JPY_API_TOKEN.
// The token is passed only in the environment, never on the command line,
// where every local user could read it.
//
// The server is ready when an HTTP GET of its URL and prefix answers with
// any status below 500 (a redirect to the hub's login is an answer). Start
// polls with backoff and fails fast when the process exits, with a
// *spawner.StartError whose Reason is "Exited" and whose Message holds the
// last lines of the server's output; after [Options.StartTimeout] it fails
// with Reason "Timeout". Then, and when ctx ends, it kills the process
// group and removes the state file before it returns. The server's output
// goes, line by line, to [Options.Logger].
//
// Concurrent Starts of one server share one process, and a Start of a
// running server returns it.
//
// # Stopping
//
// Stop sends SIGTERM to the server's process group, waits
// [Options.StopGracePeriod], then sends SIGKILL. It is idempotent and
// never deletes the server's directory; Remove does.
//
// # Files
//
// Everything the spawner knows lives in two directories, so that a
// restarted hub finds its servers again:
//
//	StateDir/lock                          serialises Spawners sharing StateDir
//	StateDir/servers/{user}.json           state of a user's default server
//	StateDir/servers/{user}+{server}.json  state of a named server
//	HomeRoot/{user}/                       default server: working directory and HOME
//	HomeRoot/{user}/.servers/{server}/     named server: working directory and HOME
//
// HomeRoot defaults to StateDir/home. A state file records the Ref, the
// process id and the process's start time as the kernel reports it (on
// Linux, from /proc/PID/stat), the port, URL and prefix. A server counts
// as running only while a process with that id and that start time exists
// and has not exited, so a pid reused by another process is never taken
// for a server, and never signalled. List reports the servers whose state
// files name live processes; files of exited servers are ignored, and
// removed by Stop. A Spawner removes the state files of its own children
// when they exit.
//
// # Names on disk
//
// User and server names become file names by an escaping that is safe and
// collision-free: bytes in [a-z0-9_.-] stay, except a leading '.', and any
// other byte becomes '%' and two lower-case hex digits ("Alice" is
// "%41lice", ".." is "%2e."). The result never contains a path separator,
// is never "." or "..", never starts with '.', and differs for different
// names even on case-insensitive file systems. A name whose escaped form
// is longer than 100 bytes is stored as 32 bytes of it, '~' and the
// SHA-256 of the name. All directory operations go through an os.Root
// at HomeRoot, so even a symbolic link planted in a user's directory
// cannot make the spawner create or delete anything outside HomeRoot.
//
// Remove of a named server deletes HomeRoot/{user}/.servers/{server}.
// Remove of a default server deletes HomeRoot/{user} except the .servers
// directory, whose subdirectories belong to the named servers.
//
// # Caveats
//
// The servers outlive the hub, which is what lets a restarted hub adopt
// them; their output pipe to the hub closes when the hub exits, so later
// output is lost (Python servers carry on; a server that dies on SIGPIPE
// does not). The spawner needs process groups: it works on Linux and the
// BSDs (macOS included; there, without /proc, a state file is matched by
// process id alone), and New fails on other systems.
package local
