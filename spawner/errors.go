package spawner

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Implementations wrap them with %w and a message that
// names the server and the cause.
var (
	// ErrInvalid: the request cannot be served as given (bad names, an
	// unknown or ill-typed option). Nothing was created.
	ErrInvalid = errors.New("spawner: invalid request")

	// ErrNotFound: an object the operation needs does not exist (for
	// example a backend object that vanished mid-operation). Stop and
	// Remove of a server that does not exist are not errors.
	ErrNotFound = errors.New("spawner: server not found")

	// ErrNotRunning: the spawner itself is not running; for spawners with
	// a Run method, Run has not been called or has returned.
	ErrNotRunning = errors.New("spawner: not running")

	// ErrTimeout: the server did not become ready within the start
	// timeout. A *StartError with Reason "Timeout" wraps it.
	ErrTimeout = errors.New("spawner: start timed out")

	// ErrUnavailable: the backend (Kubernetes API, process table, ...)
	// could not be reached or refused the call in a way that may pass.
	ErrUnavailable = errors.New("spawner: backend unavailable")
)

// StartError is the error of a start that failed for a reason the backend
// can name. The partly started server has been cleaned up (never its
// storage) by the time Start returns it.
type StartError struct {
	Ref Ref
	// Reason is a short machine-readable cause, such as "ImagePullBackOff",
	// "CrashLoopBackOff", "Unschedulable", "Timeout", "Exited",
	// "HookFailed" or "Deleted".
	Reason string
	// Message is the backend's explanation, for people.
	Message string
	// Events are the progress events seen before the failure.
	Events []Event
	// Err is the underlying error, if any (ErrTimeout for "Timeout").
	Err error
}

// Error implements error.
func (e *StartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "spawner: start of %s failed: %s", e.Ref, e.Reason)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *StartError) Unwrap() error { return e.Err }
