package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

var _ store.Store = (*Store)(nil)

// Options configures a Store. The zero value works.
type Options struct {
	// Now is the store's clock: Created times, claim, token, code, lease
	// and value expiry. Default: time.Now.
	Now func() time.Time

	// ReadConns is the number of read connections. Reads never wait for
	// writes (WAL), so they scale with connections up to the number of
	// cores. Default: 4.
	ReadConns int

	// BusyTimeout is how long a statement waits for a lock held by
	// another process on the same file (the store's own writes are
	// serialised on one connection and never wait for each other).
	// Default: 5 s.
	BusyTimeout time.Duration

	// MmapSize is the most of the database file, in bytes, that each
	// connection reads through a shared memory map instead of read calls
	// into its private page cache (PRAGMA mmap_size). It is address
	// space, not memory: the pages are the kernel's page cache, shared by
	// all connections. Default: 256 MiB; negative disables it.
	MmapSize int64

	// UnsafeSyncNormal sets PRAGMA synchronous=NORMAL instead of FULL:
	// commits stop waiting for fsync of the WAL, which makes each write a
	// few times faster, and a power loss or kernel crash may then lose
	// the last transactions (never corrupt the file; a crash of the hub
	// process alone loses nothing). Leave it off unless writes are the
	// bottleneck and the hub can re-adopt servers it forgot.
	UnsafeSyncNormal bool

	// Logger receives warnings (a failing PRAGMA optimize on Close).
	// Default: none.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.MmapSize == 0 {
		o.MmapSize = 256 << 20
	}
	if o.MmapSize < 0 {
		o.MmapSize = 0
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is a store.Store in one SQLite file. It is safe for concurrent use,
// also by several processes on one file on a local disk (not a network
// file system). Close it when done.
type Store struct {
	w      *sql.DB // one connection, BEGIN IMMEDIATE: every write
	r      *sql.DB // ReadConns connections, query_only: every read
	rstmts *stmtCache
	wstmts *stmtCache
	opts   Options
	path   string
	closed atomic.Bool
}

// Open opens (creating it if needed) the database at path and migrates its
// schema to the latest version. path is a file name; ":memory:" and URIs
// are not supported (use a file in a temporary directory for tests).
// Open fails with an error matching store.ErrSchema when the file's schema
// is newer than this program.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	return open(ctx, path, opts, migrations.Latest())
}

func open(ctx context.Context, path string, opts Options, version int) (*Store, error) {
	if path == "" || path == ":memory:" || hasScheme(path) {
		return nil, fmt.Errorf("sqlite: %w: path %q is not a file name", store.ErrInvalid, path)
	}
	opts = opts.withDefaults()
	sync := "FULL"
	if opts.UnsafeSyncNormal {
		sync = "NORMAL"
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	params := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout("+strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)+")")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous("+sync+")")
		q.Add("_pragma", "mmap_size("+strconv.FormatInt(opts.MmapSize, 10)+")")
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		return base + "?" + q.Encode()
	}

	w, err := sql.Open("sqlite", params("_pragma", "journal_mode(WAL)", "_txlock", "immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, wstmts: newStmtCache(w, maxCachedStmts), opts: opts, path: path}
	if err := s.connectWriter(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.migrate(ctx, version); err != nil {
		w.Close()
		return nil, err
	}
	// Readers are opened after the writer has made the file a WAL
	// database, so they never see it in rollback mode.
	r, err := sql.Open("sqlite", params("_query_only", "1"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	s.r, s.rstmts = r, newStmtCache(r, maxCachedStmts)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// connectWriter opens the writer's connection. Setting its pragmas
// (journal_mode(WAL) above all) can fail with SQLITE_BUSY at once, without
// waiting for the busy timeout, while another process is creating the same
// file or turning it into a WAL database; so it tries again, for up to
// Options.BusyTimeout.
func (s *Store) connectWriter(ctx context.Context) error {
	deadline := time.Now().Add(s.opts.BusyTimeout)
	for {
		c, err := s.w.Conn(ctx)
		if err == nil {
			return c.Close() // back to the pool, which keeps it
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return s.wrap(err, "connect")
		}
		select {
		case <-ctx.Done():
			return s.wrap(ctx.Err(), "connect")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func isBusy(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

func hasScheme(path string) bool {
	u, err := url.Parse(path)
	return err == nil && u.Scheme != "" && len(u.Scheme) > 1 // "C:" is a drive
}

// Path returns the database file's name.
func (s *Store) Path() string { return s.path }

// Close closes the database. Calls after Close fail with
// store.ErrUnavailable. Close is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	// Let SQLite refresh its statistics for the queries this process
	// ran (cheap; the documented practice for long-lived connections).
	if _, err := s.w.Exec("PRAGMA optimize"); err != nil {
		s.opts.Logger.Warn("sqlite: PRAGMA optimize failed", slog.Any("error", err))
	}
	var errR error
	if s.r != nil {
		errR = errors.Join(s.rstmts.close(), s.r.Close())
	}
	return errors.Join(errR, s.wstmts.close(), s.w.Close())
}

// Ping checks that both the writer and a reader answer.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return s.errClosed()
	}
	var one int
	if err := s.w.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.wrap(err, "ping")
	}
	return s.read(ctx, "ping", func(tx queryer) error {
		return tx.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	})
}

func (s *Store) errClosed() error {
	return fmt.Errorf("sqlite: %w: store is closed", store.ErrUnavailable)
}

func (s *Store) now() time.Time { return store.UTC(s.opts.Now()) }

// read runs fn in one read transaction: a consistent snapshot. fn's
// queries run through the read pool's statement cache; the texts it ran
// for the first time are prepared for the next calls once the transaction
// has ended (see stmtCache).
func (s *Store) read(ctx context.Context, op string, fn func(q queryer) error) error {
	if s.closed.Load() {
		return s.errClosed()
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.wrap(err, op)
	}
	q := &cachedTx{tx: tx, cache: s.rstmts}
	err = fn(q)
	tx.Rollback()
	if len(q.missed) > 0 {
		s.rstmts.add(ctx, q.missed)
	}
	return s.wrap(err, op)
}

// write runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits it when fn returns nil. fn's statements
// run through the writer's statement cache, as read's do through the
// readers'.
func (s *Store) write(ctx context.Context, op string, fn func(tx *cachedTx) error) error {
	if s.closed.Load() {
		return s.errClosed()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, op)
	}
	q := &cachedTx{tx: tx, cache: s.wstmts}
	if err = fn(q); err != nil {
		tx.Rollback()
	} else {
		err = tx.Commit()
	}
	if len(q.missed) > 0 {
		s.wstmts.add(ctx, q.missed)
	}
	return s.wrap(err, op)
}

// wrap translates an error at the boundary: store errors and context
// errors pass through; SQLite's busy and I/O conditions become
// store.ErrUnavailable; the rest is wrapped with the operation's name.
func (s *Store) wrap(err error, op string) error {
	switch {
	case err == nil:
		return nil
	case sqlstore.IsStoreError(err):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("sqlite: %s: %w", op, err)
	case s.closed.Load(), errors.Is(err, sql.ErrConnDone):
		return fmt.Errorf("sqlite: %s: %w: %v", op, store.ErrUnavailable, err)
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_INTERRUPT:
			return fmt.Errorf("sqlite: %s: %w: %v", op, store.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// isConstraint reports whether err is a SQLite constraint violation of the
// given extended code (sqlite3.SQLITE_CONSTRAINT_UNIQUE, …).
func isConstraint(err error, code int) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

func isUnique(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) ||
		isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// Times are INTEGER microseconds since the epoch; NULL is the zero time.

func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().UnixMicro()
}

// fromMicros converts a time column, scanned into an any: the driver's
// int64, or nil for NULL. (Scanning into an any is database/sql's cheapest
// path; the columns are INTEGER in STRICT tables, so nothing else comes.)
func fromMicros(v any) time.Time {
	n, ok := v.(int64)
	if !ok {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

// codec scans rows: times are INTEGER microseconds, scopes JSON text.
var codec = sqlstore.Codec[any, string]{Backend: "sqlite", Time: fromMicros, Scopes: parseScopes}

// queryer is what *sql.Tx, *sql.DB and *cachedTx have in common.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
