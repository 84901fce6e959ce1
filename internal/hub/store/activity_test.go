package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// recorder is an ActivityWriter that keeps what it was given and can be
// made to fail.
type recorder struct {
	mu      sync.Mutex
	batches [][]store.Activity
	fail    error
	ctxErr  error // ctx.Err() seen by the last call
	written chan struct{}
}

func newRecorder() *recorder { return &recorder{written: make(chan struct{}, 100)} }

func (r *recorder) RecordActivity(ctx context.Context, acts []store.Activity) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ctxErr = ctx.Err()
	if r.fail != nil {
		return r.fail
	}
	b := slices.Clone(acts)
	slices.SortFunc(b, func(x, y store.Activity) int {
		if c := int(x.Kind) - int(y.Kind); c != 0 {
			return c
		}
		if x.User != y.User {
			return compare(x.User, y.User)
		}
		if x.Server != y.Server {
			return compare(x.Server, y.Server)
		}
		return int(x.TokenID - y.TokenID)
	})
	r.batches = append(r.batches, b)
	r.written <- struct{}{}
	return nil
}

func compare(a, b string) int {
	if a < b {
		return -1
	}
	return 1
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBatcherCoalesces(t *testing.T) {
	r := newRecorder()
	b := store.NewActivityBatcher(r, store.BatcherOptions{})
	acts := []store.Activity{
		{Kind: store.ActivityUser, User: "alice", Time: t0.Add(2 * time.Second)},
		{Kind: store.ActivityUser, User: "alice", Time: t0.Add(1 * time.Second)}, // older: ignored
		{Kind: store.ActivityServer, User: "alice", Server: "", Time: t0},
		{Kind: store.ActivityServer, User: "alice", Server: "gpu", Time: t0},
		{Kind: store.ActivityServer, User: "alice", Server: "gpu", Time: t0.Add(5 * time.Second)},
		{Kind: store.ActivityToken, TokenID: 7, Time: t0.Add(3 * time.Second)},
		{Kind: store.ActivityToken, TokenID: 7, Time: t0},
	}
	for _, a := range acts {
		if err := b.Record(a); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.Pending(); n != 4 {
		t.Errorf("Pending = %d, want 4", n)
	}
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []store.Activity{
		{Kind: store.ActivityUser, User: "alice", Time: t0.Add(2 * time.Second)},
		{Kind: store.ActivityServer, User: "alice", Server: "", Time: t0},
		{Kind: store.ActivityServer, User: "alice", Server: "gpu", Time: t0.Add(5 * time.Second)},
		{Kind: store.ActivityToken, TokenID: 7, Time: t0.Add(3 * time.Second)},
	}
	if len(r.batches) != 1 || !slices.Equal(r.batches[0], want) {
		t.Errorf("batches = %+v, want one: %+v", r.batches, want)
	}
}

func TestBatcherRecord(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		name    string
		act     store.Activity
		wantErr bool
		want    time.Time
	}{
		{"zero time is now", store.Activity{Kind: store.ActivityUser, User: "alice"}, false, now},
		{"given time", store.Activity{Kind: store.ActivityUser, User: "alice", Time: t0}, false, t0},
		{"no kind", store.Activity{User: "alice", Time: t0}, true, time.Time{}},
		{"no user", store.Activity{Kind: store.ActivityServer, Time: t0}, true, time.Time{}},
		{"no token", store.Activity{Kind: store.ActivityToken, Time: t0}, true, time.Time{}},
		{"bad server name", store.Activity{Kind: store.ActivityServer, User: "a", Server: "x\x00", Time: t0}, true, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			b := store.NewActivityBatcher(r, store.BatcherOptions{Now: func() time.Time { return now }})
			err := b.Record(tc.act)
			if tc.wantErr {
				if !errors.Is(err, store.ErrInvalid) || b.Pending() != 0 {
					t.Errorf("Record: error = %v, pending %d; want ErrInvalid and nothing kept", err, b.Pending())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := r.batches[0][0].Time; !got.Equal(tc.want) {
				t.Errorf("time = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBatcherKeepsFailedBatch(t *testing.T) {
	r := newRecorder()
	r.fail = errors.New("disk on fire")
	b := store.NewActivityBatcher(r, store.BatcherOptions{})
	b.Record(store.Activity{Kind: store.ActivityUser, User: "alice", Time: t0.Add(time.Minute)})
	b.Record(store.Activity{Kind: store.ActivityUser, User: "bob", Time: t0})
	if err := b.Flush(t.Context()); err == nil {
		t.Fatal("Flush succeeded with a failing writer")
	}
	// Meanwhile: older activity for alice, newer for bob.
	b.Record(store.Activity{Kind: store.ActivityUser, User: "alice", Time: t0})
	b.Record(store.Activity{Kind: store.ActivityUser, User: "bob", Time: t0.Add(time.Hour)})
	r.fail = nil
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []store.Activity{
		{Kind: store.ActivityUser, User: "alice", Time: t0.Add(time.Minute)},
		{Kind: store.ActivityUser, User: "bob", Time: t0.Add(time.Hour)},
	}
	if len(r.batches) != 1 || !slices.Equal(r.batches[0], want) {
		t.Errorf("batches = %+v, want %+v", r.batches, want)
	}
}

// TestBatcherRunFlushesAtMaxEntries: with a long interval, reaching
// MaxEntries starts a flush at once.
func TestBatcherRunFlushesAtMaxEntries(t *testing.T) {
	r := newRecorder()
	b := store.NewActivityBatcher(r, store.BatcherOptions{Interval: time.Hour, MaxEntries: 3})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	for _, u := range []string{"a", "b", "c"} {
		b.Record(store.Activity{Kind: store.ActivityUser, User: u, Time: t0})
	}
	<-r.written // the flush of a, b, c; an hour early
	r.mu.Lock()
	got := len(r.batches[0])
	r.mu.Unlock()
	if got != 3 {
		t.Errorf("first batch has %d entries, want 3", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// TestBatcherRunFlushesEveryInterval uses a tiny interval and waits for
// the flush (no assertion on time).
func TestBatcherRunFlushesEveryInterval(t *testing.T) {
	r := newRecorder()
	b := store.NewActivityBatcher(r, store.BatcherOptions{Interval: time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go b.Run(ctx)
	b.Record(store.Activity{Kind: store.ActivityUser, User: "a", Time: t0})
	<-r.written
}

// TestBatcherRunFinalFlush: the last flush happens with a live context
// after Run's has ended, and its error is Run's.
func TestBatcherRunFinalFlush(t *testing.T) {
	r := newRecorder()
	b := store.NewActivityBatcher(r, store.BatcherOptions{Interval: time.Hour})
	b.Record(store.Activity{Kind: store.ActivityUser, User: "a", Time: t0})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if len(r.batches) != 1 || r.ctxErr != nil {
		t.Errorf("final flush: %d batches, ctx error %v; want 1 batch with a live context", len(r.batches), r.ctxErr)
	}
	r.fail = errors.New("gone")
	b.Record(store.Activity{Kind: store.ActivityUser, User: "a", Time: t0.Add(time.Second)})
	if err := b.Run(ctx); err == nil || b.Pending() != 1 {
		t.Errorf("Run with a failing final flush = %v, pending %d; want the error and the activity kept", err, b.Pending())
	}
}

// TestBatcherConcurrent hammers Record and Flush from many goroutines
// (meaningful under -race) and checks that the latest time of every key
// arrives.
func TestBatcherConcurrent(t *testing.T) {
	var mu sync.Mutex
	latest := map[store.ActivityKey]time.Time{}
	w := store.ActivityWriterFunc(func(ctx context.Context, acts []store.Activity) error {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range acts {
			if a.Time.After(latest[a.Key()]) {
				latest[a.Key()] = a.Time
			}
		}
		return nil
	})
	b := store.NewActivityBatcher(w, store.BatcherOptions{MaxEntries: 5})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				b.Record(store.Activity{Kind: store.ActivityServer, User: string(rune('a' + i%10)), Time: t0.Add(time.Duration(g*1000+i) * time.Millisecond)})
				if i%100 == 0 {
					b.Flush(ctx)
				}
			}
		})
	}
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(latest) != 10 {
		t.Fatalf("%d keys written, want 10", len(latest))
	}
	for k, got := range latest {
		i := int(k.User[0] - 'a')
		want := t0.Add(time.Duration(7*1000+490+i) * time.Millisecond)
		if !got.Equal(want) {
			t.Errorf("%s: latest %v, want %v", k.User, got, want)
		}
	}
}
