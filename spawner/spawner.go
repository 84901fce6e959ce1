package spawner

import (
	"context"
	"time"
)

// Spawner starts and stops single-user servers. Implementations are safe for
// concurrent use by multiple goroutines.
type Spawner interface {
	// Start creates the server described by req and blocks until it is ready
	// or has failed. It is safe to call concurrently for the same Ref: a
	// start of a server that is already starting or running (by this
	// Spawner or another one on the same backend) does not create a second
	// server; it waits for the existing one and returns it.
	//
	// When ctx ends before the server is ready, Start removes what it
	// created (never the user's storage) and returns ctx's error. A start
	// that fails returns a *StartError, or ErrInvalid wrapped with the
	// reason when req is not acceptable; in that case nothing was created.
	Start(ctx context.Context, req Request) (Server, error)

	// Stop stops the server and blocks until it is gone or ctx ends. It is
	// idempotent: stopping a server that does not exist returns nil. It
	// never deletes the user's storage.
	Stop(ctx context.Context, ref Ref) error

	// Status reports the server's current state without changing anything.
	// A server that does not exist has PhaseStopped and a nil error.
	Status(ctx context.Context, ref Ref) (Status, error)
}

// Lister is implemented by spawners that can enumerate the servers they run,
// so that a restarted hub can re-adopt them.
type Lister interface {
	// List returns the status of every server that exists on the backend and
	// belongs to this spawner's configuration, in no particular order. It
	// does not block on servers and is safe for concurrent use.
	List(ctx context.Context) ([]Status, error)
}

// Remover is implemented by spawners that can delete a server together with
// its storage (for example when the hub deletes a named server).
type Remover interface {
	// Remove stops the server and deletes its persistent storage. It is
	// idempotent. It is the only call in this package that deletes a user's
	// data; neither Stop nor a culler calls it.
	Remove(ctx context.Context, ref Ref) error
}

// ProgressReporter is implemented by spawners that report progress of a
// start, for the hub's progress page (JupyterHub's /progress event stream).
type ProgressReporter interface {
	// Progress returns the events of the server's current or most recent
	// start, beginning with those already emitted, and then each new one as
	// it happens. The channel is closed after an event with Ready or Failed
	// set, or when ctx ends. It does not block.
	Progress(ctx context.Context, ref Ref) (<-chan Event, error)
}

// Request describes one start of one server.
type Request struct {
	Ref

	// UserGroups lists the groups of the user, for hooks that decide by
	// group. Optional.
	UserGroups []string

	// Env is the environment the hub made for the server: the JUPYTERHUB_*
	// variables (service prefix, URL, OAuth client, activity URL, ...). The
	// implementation adds its own and merges the user's configured ones.
	Env map[string]string

	// APIToken is the server's API token. Implementations hand it to the
	// server as JUPYTERHUB_API_TOKEN without writing it in plain text into
	// any object that users can list (a Kubernetes pod spec, a process
	// command line).
	APIToken string

	// SecretEnv holds further secret environment variables for the
	// server, such as a per-user Vault token (NOTEBOOK_VAULT_TOKEN). Like
	// APIToken, implementations never write them in plain text into an
	// object that users can list: spawner/kube puts them in the server's
	// Secret and references them by valueFrom. They override Env.
	SecretEnv map[string]string

	// Override is the user's resolved profile override, keyed by the
	// implementation's option names (KubeSpawner's trait names for
	// spawner/kube). Maps merge recursively into the configured options and
	// a nil value deletes a key. An unknown key is an ErrInvalid error.
	Override map[string]any

	// State is the State of the Server that the previous start of this Ref
	// returned, as the hub saved it; nil on a first start. Implementations
	// use it to find what belongs to the server (for example an existing
	// volume under a legacy name).
	State map[string]string
}

// Server is a running server, as Start and Status report it.
type Server struct {
	Ref

	// URL is where the hub's proxy sends the server's traffic, for example
	// "http://10.1.2.3:8888". The server serves under its JupyterHub
	// prefix (/user/{name}/{server}/), not at the root of URL.
	URL string

	// Started is when the server became ready (or, for an adopted server,
	// when the backend says it started).
	Started time.Time

	// State is opaque implementation state that the hub persists and passes
	// back in the next Request for the same Ref (for example the namespace,
	// the pod name and the volume claim name).
	State map[string]string
}

// Phase is a server's coarse lifecycle state.
type Phase string

// The phases of a server.
const (
	// PhaseStopped: no server exists.
	PhaseStopped Phase = "stopped"
	// PhasePending: the server exists and is not ready yet.
	PhasePending Phase = "pending"
	// PhaseRunning: the server is ready; Status.Server is set.
	PhaseRunning Phase = "running"
	// PhaseStopping: the server is being shut down.
	PhaseStopping Phase = "stopping"
	// PhaseFailed: the server exists but has failed and will not become
	// ready; Status.Message says why. Stop cleans it up.
	PhaseFailed Phase = "failed"
)

// Status is a server's state at one moment.
type Status struct {
	Ref
	Phase Phase
	// Server is set when Phase is PhaseRunning.
	Server *Server
	// Message is a human-readable reason, mainly for PhasePending and
	// PhaseFailed.
	Message string
}

// Event is one progress event of a start, in the shape of JupyterHub's
// progress API.
type Event struct {
	Time time.Time `json:"-"`
	// Progress is a percentage from 0 to 100.
	Progress int    `json:"progress"`
	Message  string `json:"message"`
	// Ready is set on the last event of a successful start.
	Ready bool `json:"ready,omitempty"`
	// Failed is set on the last event of a failed start.
	Failed bool `json:"failed,omitempty"`
}
