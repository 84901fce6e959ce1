package spawner_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/hubkit/hubkit/spawner"
)

func ExampleRef() {
	for _, ref := range []spawner.Ref{{User: "alice"}, {User: "alice", Server: "gpu"}, {User: "a/b"}} {
		fmt.Printf("%-10s valid=%v\n", ref, ref.Validate() == nil)
	}
	// Output:
	// alice      valid=true
	// alice/gpu  valid=true
	// a/b        valid=false
}

// Callers tell failures apart with errors.Is and errors.As, never with a
// backend's error types.
func ExampleStartError() {
	var err error = &spawner.StartError{
		Ref:     spawner.Ref{User: "alice"},
		Reason:  "Timeout",
		Message: "pod jhub/jupyter-alice was not ready within 300s",
		Err:     spawner.ErrTimeout,
	}
	var se *spawner.StartError
	if errors.As(err, &se) {
		fmt.Println(se.Reason, errors.Is(err, spawner.ErrTimeout))
	}
	fmt.Println(err)
	// Output:
	// Timeout true
	// spawner: start of alice failed: Timeout: pod jhub/jupyter-alice was not ready within 300s
}

func ExampleEventLog() {
	var log spawner.EventLog
	log.Emit(spawner.Event{Progress: 0, Message: "Server requested"})
	ch := log.Subscribe(context.Background()) // replays, then follows
	log.Emit(spawner.Event{Progress: 50, Message: "Pod created"})
	log.Emit(spawner.Event{Progress: 100, Message: "Server ready", Ready: true})
	for e := range ch {
		fmt.Println(e.Progress, e.Message)
	}
	// Output:
	// 0 Server requested
	// 50 Pod created
	// 100 Server ready
}

// DefaultPrefix escapes names as JupyterHub does.
func ExampleDefaultPrefix() {
	fmt.Println(spawner.DefaultPrefix(spawner.Ref{User: "alice"}))
	fmt.Println(spawner.DefaultPrefix(spawner.Ref{User: "Jörg", Server: "My Lab"}))
	// Output:
	// /user/alice/
	// /user/J%C3%B6rg/My%20Lab/
}
