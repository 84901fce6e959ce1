package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/postgres"
)

// Two hub replicas receive the same start request: each claims the server
// under its own ID, and the database lets exactly one of them spawn. The
// password comes from PGPASSWORD (a Kubernetes Secret, say), not the URL.
// Not run by go test: it needs a database.
func ExampleOpen() {
	ctx := context.Background()
	url := os.Getenv("HUB_DATABASE_URL") // postgres://hub@db:5432/hub?sslmode=verify-full
	replica, _ := os.Hostname()          // the pod's name: unique per replica

	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		log.Fatal(err) // errors.Is(err, store.ErrUnavailable): the database is down
	}
	defer s.Close()

	// POST /hub/api/users/alice/server on this replica.
	_, err = s.ClaimServer(ctx, "alice", "", store.Claim{
		Phase: store.PhaseSpawn, Owner: replica,
		Expires: time.Now().Add(5 * time.Minute), // renewed while spawning; another replica adopts it after
	})
	var lost *store.ClaimError
	switch {
	case errors.As(err, &lost):
		fmt.Println("another replica has it:", lost.Owner, lost.Pending)
		return
	case err != nil:
		log.Fatal(err)
	}
	// … the spawner starts the server …
	srv, err := s.FinishServer(ctx, "alice", "", replica, store.PhaseSpawn, store.Outcome{URL: "http://10.0.0.7:8888"})
	if err != nil {
		log.Fatal(err) // a *store.ClaimError: the claim expired and was taken over
	}
	fmt.Println("ready:", srv.URL)
}
