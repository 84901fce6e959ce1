package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

var activityTests = []test{
	{"RecordKeepsLatest", testRecordActivity},
	{"RecordSkipsMissing", testRecordActivityMissing},
	{"Batcher", testBatcherOverStore},
	{"BatcherRunFlushesOnStop", testBatcherRun},
}

func testRecordActivity(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	mustCreateUser(t, e.s, "bob")
	startServer(t, e.s, "alice", "", "http://a")
	startServer(t, e.s, "alice", "gpu", "http://g")
	tok, err := e.s.CreateToken(ctx, newSecret(t), store.Token{Owner: store.Owner{User: "bob"}})
	wantNoErr(t, "CreateToken", err)

	t1, t2, t3 := epoch.Add(time.Minute), epoch.Add(2*time.Minute), epoch.Add(3*time.Minute)
	wantNoErr(t, "RecordActivity", e.s.RecordActivity(ctx, []store.Activity{
		{Kind: store.ActivityServer, User: "alice", Server: "gpu", Time: t2},
		{Kind: store.ActivityServer, User: "alice", Server: "", Time: t1},
		{Kind: store.ActivityUser, User: "bob", Time: t1},
		{Kind: store.ActivityToken, TokenID: tok.ID, Time: t3},
	}))
	// Older observations never move a time backwards, newer ones do.
	wantNoErr(t, "RecordActivity older", e.s.RecordActivity(ctx, []store.Activity{
		{Kind: store.ActivityServer, User: "alice", Server: "gpu", Time: t1},
		{Kind: store.ActivityUser, User: "alice", Time: epoch},
		{Kind: store.ActivityUser, User: "bob", Time: t3},
		{Kind: store.ActivityUser, User: "bob", Time: t2}, // in one batch, in any order
		{Kind: store.ActivityToken, TokenID: tok.ID, Time: t1},
	}))
	alice, err := e.s.GetUser(ctx, "alice")
	wantNoErr(t, "GetUser", err)
	wantEqual(t, "alice (raised by her servers)", alice.LastActivity, at(t2))
	def, _ := alice.Server("")
	gpu, _ := alice.Server("gpu")
	wantEqual(t, "default server", def.LastActivity, at(t1))
	wantEqual(t, "gpu server", gpu.LastActivity, at(t2))
	bob, _ := e.s.GetUser(ctx, "bob")
	wantEqual(t, "bob", bob.LastActivity, at(t3))
	toks, _ := e.s.ListTokens(ctx, store.TokenQuery{Owner: store.Owner{User: "bob"}})
	wantEqual(t, "token", toks[0].LastActivity, at(t3))
	wantNoErr(t, "empty batch", e.s.RecordActivity(ctx, nil))
}

func testRecordActivityMissing(t *testing.T, e *env) {
	ctx := t.Context()
	mustCreateUser(t, e.s, "alice")
	wantNoErr(t, "RecordActivity for missing things", e.s.RecordActivity(ctx, []store.Activity{
		{Kind: store.ActivityUser, User: "deleted", Time: epoch},
		{Kind: store.ActivityServer, User: "alice", Server: "never-spawned", Time: epoch.Add(time.Minute)},
		{Kind: store.ActivityServer, User: "deleted", Server: "", Time: epoch},
		{Kind: store.ActivityToken, TokenID: 424242, Time: epoch},
		{Kind: store.ActivityUser, User: "alice", Time: epoch},
	}))
	u, _ := e.s.GetUser(ctx, "alice")
	wantEqual(t, "alice", u.LastActivity, at(epoch.Add(time.Minute)))
	wantEqual(t, "no server made", len(u.Servers), 0)
}

// testBatcherOverStore: many goroutines record activity for a few users
// through one batcher; one flush writes the latest time of each.
func testBatcherOverStore(t *testing.T, e *env) {
	ctx := t.Context()
	const users, workers, per = 5, 8, 200
	for i := range users {
		mustCreateUser(t, e.s, fmt.Sprintf("u%d", i))
		startServer(t, e.s, fmt.Sprintf("u%d", i), "", "http://x")
	}
	var writes int
	var mu sync.Mutex
	w := store.ActivityWriterFunc(func(ctx context.Context, acts []store.Activity) error {
		mu.Lock()
		writes++
		mu.Unlock()
		return e.s.RecordActivity(ctx, acts)
	})
	b := store.NewActivityBatcher(w, store.BatcherOptions{MaxEntries: 1 << 20})
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range per {
				u := fmt.Sprintf("u%d", (g+i)%users)
				at := epoch.Add(time.Duration(g*per+i) * time.Millisecond)
				if err := b.Record(store.Activity{Kind: store.ActivityServer, User: u, Time: at}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantEqual(t, "pending entries (one per server)", b.Pending(), users)
	wantNoErr(t, "Flush", b.Flush(ctx))
	wantEqual(t, "writes", writes, 1)
	wantEqual(t, "pending after flush", b.Pending(), 0)
	latest := epoch.Add(time.Duration(workers*per-1) * time.Millisecond)
	list, err := e.s.ListUsers(ctx, store.UserQuery{})
	wantNoErr(t, "ListUsers", err)
	var newest time.Time
	for _, u := range list {
		if u.LastActivity.IsZero() || u.Servers[0].LastActivity != u.LastActivity {
			t.Errorf("%s: user activity %v, server activity %v", u.Name, u.LastActivity, u.Servers[0].LastActivity)
		}
		if u.LastActivity.After(newest) {
			newest = u.LastActivity
		}
	}
	wantEqual(t, "newest activity", newest, at(latest))
	wantNoErr(t, "empty Flush", b.Flush(ctx))
	wantEqual(t, "writes after empty flush", writes, 1)
}

func testBatcherRun(t *testing.T, e *env) {
	mustCreateUser(t, e.s, "alice")
	b := store.NewActivityBatcher(e.s, store.BatcherOptions{Interval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	wantNoErr(t, "Record", b.Record(store.Activity{Kind: store.ActivityUser, User: "alice", Time: epoch.Add(time.Hour)}))
	cancel()
	wantNoErr(t, "Run", <-done)
	u, _ := e.s.GetUser(t.Context(), "alice")
	wantEqual(t, "flushed on stop", u.LastActivity, at(epoch.Add(time.Hour)))
}
