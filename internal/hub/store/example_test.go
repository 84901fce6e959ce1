package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// The batcher keeps only the latest time per user, server and token, and
// writes them in one call.
func ExampleActivityBatcher() {
	w := store.ActivityWriterFunc(func(ctx context.Context, acts []store.Activity) error {
		slices.SortFunc(acts, func(a, b store.Activity) int { return a.Time.Compare(b.Time) })
		for _, a := range acts {
			fmt.Printf("kind %d %s/%s at %s\n", a.Kind, a.User, a.Server, a.Time.Format(time.TimeOnly))
		}
		return nil
	})
	b := store.NewActivityBatcher(w, store.BatcherOptions{Interval: 5 * time.Second})
	t := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	// A proxy reports each request; only the latest per server is kept.
	for i := range 1000 {
		b.Record(store.Activity{Kind: store.ActivityServer, User: "alice", Server: "gpu", Time: t.Add(time.Duration(i) * time.Millisecond)})
	}
	b.Record(store.Activity{Kind: store.ActivityUser, User: "bob", Time: t})
	fmt.Println("pending:", b.Pending())
	// Run(ctx) flushes every Interval and when it stops; Flush does it now.
	if err := b.Flush(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// pending: 2
	// kind 1 bob/ at 10:00:00
	// kind 2 alice/gpu at 10:00:00
}

// Two hub replicas receive the same start request: the store lets one of
// them claim the server. CheckClaim is the rule every backend applies.
func ExampleCheckClaim() {
	now := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	srv := store.Server{User: "alice", Pending: store.PhaseSpawn, PendingOwner: "hub-a", PendingExpires: now.Add(time.Minute)}

	err := store.CheckClaim(srv, store.Claim{Phase: store.PhaseSpawn, Owner: "hub-b"}, now)
	var ce *store.ClaimError
	fmt.Println(errors.Is(err, store.ErrConflict), errors.As(err, &ce) && ce.Owner == "hub-a")
	fmt.Println(err)

	// hub-a renews its claim while it waits for the server.
	fmt.Println(store.CheckClaim(srv, store.Claim{Phase: store.PhaseSpawn, Owner: "hub-a"}, now))

	// hub-a died: after the expiry hub-b may take over.
	fmt.Println(store.CheckClaim(srv, store.Claim{Phase: store.PhaseSpawn, Owner: "hub-b"}, now.Add(time.Minute)))
	// Output:
	// true true
	// store: server alice: pending spawn, claimed by "hub-a"
	// <nil>
	// <nil>
}

// API tokens are stored as a SHA-256 hash and a four-character public
// prefix; the secret itself goes to the client once.
func ExampleNewSecret() {
	secret, _ := store.NewSecret(bytes.NewReader(bytes.Repeat([]byte{0x5e}, 32))) // nil: crypto/rand
	fmt.Println(len(secret), store.SecretPrefix(secret))
	fmt.Printf("%x\n", store.HashSecret(secret)[:8])
	fmt.Println(store.CheckHash(store.HashSecret(secret), secret))
	// Output:
	// 64 5e5e
	// 8414cd6b08e92be7
	// true
}
