package local_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/local"
)

// A hub starts a user's server with the environment it made for it and
// stops it again. The example has no Output line: it starts a real
// jupyterhub-singleuser, so it is compiled but not run by go test.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	sp, err := local.New(local.Options{
		StateDir:     "/var/lib/myhub/servers",
		StartTimeout: 30 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	ref := spawner.Ref{User: "alice"}
	srv, err := sp.Start(ctx, spawner.Request{
		Ref:      ref,
		APIToken: "token-the-hub-made-for-this-server",
		Env: map[string]string{
			"JUPYTERHUB_API_URL":        "http://127.0.0.1:8081/hub/api",
			"JUPYTERHUB_CLIENT_ID":      "jupyterhub-user-alice",
			"JUPYTERHUB_USER":           "alice",
			"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/",
		},
		// A profile may change the command, its arguments, the
		// environment and the start timeout.
		Override: map[string]any{
			"args":        []any{"--SingleUserNotebookApp.default_url=/lab"},
			"environment": map[string]any{"JUPYTER_ENABLE_LAB": "1"},
		},
	})
	var se *spawner.StartError
	if errors.As(err, &se) {
		log.Fatalf("start failed (%s): %s", se.Reason, se.Message)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("proxy /user/alice/ to", srv.URL)

	if err := sp.Stop(ctx, ref); err != nil {
		log.Fatal(err)
	}
}

// A restarted hub finds the servers that the previous one started, from
// the state files in the same StateDir.
func ExampleSpawner_List() {
	sp, err := local.New(local.Options{StateDir: "/var/lib/myhub/servers"})
	if err != nil {
		log.Fatal(err)
	}
	all, err := sp.List(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range all {
		if st.Phase == spawner.PhaseRunning {
			fmt.Println(st.Ref, "is running at", st.Server.URL)
		}
	}
}
