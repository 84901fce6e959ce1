package store

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// BatcherOptions configures an ActivityBatcher. The zero value works.
type BatcherOptions struct {
	// Interval is the time between flushes. Default: 1 s.
	Interval time.Duration
	// MaxEntries starts a flush before the interval is over as soon as
	// this many distinct users, servers and tokens have pending
	// activity. Default: 1000.
	MaxEntries int
	// FlushTimeout bounds the last flush, made after Run's context has
	// ended. Default: 10 s.
	FlushTimeout time.Duration
	// Now is the clock used for activities recorded with a zero Time.
	// Default: time.Now.
	Now func() time.Time
	// Logger receives failed flushes (which are retried). Default: none.
	Logger *slog.Logger
}

func (o BatcherOptions) withDefaults() BatcherOptions {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1000
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ActivityBatcher takes last-activity observations off the request path:
// Record keeps, per user, server and token, only the latest time in memory,
// and Run writes what accumulated to an ActivityWriter in one transaction
// every Interval or MaxEntries, whichever comes first, and once more when
// it stops. A thousand requests by one user between two flushes cost one
// UPDATE.
//
// Activity that was recorded but not yet flushed is lost if the process is
// killed (never when Run's context ends): at most Interval's worth, which
// is well below the resolution idle culling works at.
type ActivityBatcher struct {
	w    ActivityWriter
	opts BatcherOptions
	kick chan struct{}

	mu      sync.Mutex
	pending map[ActivityKey]time.Time
}

// NewActivityBatcher returns a batcher that writes to w. Call Run to
// start flushing.
func NewActivityBatcher(w ActivityWriter, opts BatcherOptions) *ActivityBatcher {
	return &ActivityBatcher{
		w:       w,
		opts:    opts.withDefaults(),
		kick:    make(chan struct{}, 1),
		pending: make(map[ActivityKey]time.Time),
	}
}

// Record notes one activity; a zero a.Time means now. It never blocks on
// I/O (one map update under a mutex), is safe for concurrent use, and may
// be called before Run and after it returned (Flush then writes). An
// invalid activity is ErrInvalid and is dropped.
func (b *ActivityBatcher) Record(a Activity) error {
	if err := ValidateActivity(a); err != nil {
		return err
	}
	t := a.Time
	if t.IsZero() {
		t = b.opts.Now()
	}
	k := a.Key()
	b.mu.Lock()
	if old, ok := b.pending[k]; !ok || t.After(old) {
		b.pending[k] = t
	}
	n := len(b.pending)
	b.mu.Unlock()
	if n >= b.opts.MaxEntries {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Pending returns how many distinct users, servers and tokens have
// activity waiting to be flushed.
func (b *ActivityBatcher) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// Flush writes all pending activity now, in one RecordActivity call, and
// blocks until it is written. On failure the activity is kept (merged with
// what was recorded meanwhile) for the next flush, and the error returned.
// Safe for concurrent use.
func (b *ActivityBatcher) Flush(ctx context.Context) error {
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.mu.Unlock()
		return nil
	}
	batch := b.pending
	b.pending = make(map[ActivityKey]time.Time, len(batch))
	b.mu.Unlock()

	acts := make([]Activity, 0, len(batch))
	for k, t := range batch {
		acts = append(acts, Activity{Kind: k.Kind, User: k.User, Server: k.Server, TokenID: k.TokenID, Time: t})
	}
	if err := b.w.RecordActivity(ctx, acts); err != nil {
		b.mu.Lock()
		for k, t := range batch {
			if old, ok := b.pending[k]; !ok || t.After(old) {
				b.pending[k] = t
			}
		}
		b.mu.Unlock()
		return err
	}
	return nil
}

// Run flushes every Interval, and whenever MaxEntries are pending, until
// ctx ends; then it flushes once more (bounded by FlushTimeout) and
// returns that flush's error, or nil. Failed periodic flushes are logged
// and retried. Call it once.
func (b *ActivityBatcher) Run(ctx context.Context) error {
	ticker := time.NewTicker(b.opts.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.FlushTimeout)
			defer cancel()
			return b.Flush(fctx)
		case <-ticker.C:
		case <-b.kick:
		}
		if err := b.Flush(ctx); err != nil && ctx.Err() == nil {
			b.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "store: activity flush failed; retrying",
				slog.Int("pending", b.Pending()), slog.Any("error", err))
		}
	}
}
