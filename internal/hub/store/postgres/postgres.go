package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

var _ store.Store = (*Store)(nil)

// Options configures a Store. The zero value works; connection settings
// (host, user, password, database, TLS, pool size, search_path) come from
// the URL given to Open.
type Options struct {
	// Now is the store's clock: Created times, claim, token, code, lease
	// and value expiry. Replicas compare claim and lease expiry with
	// their own clocks, so keep the hosts' clocks in sync (NTP). Default:
	// time.Now.
	Now func() time.Time

	// MaxConns caps the connection pool, overriding the URL's
	// pool_max_conns. Default: the URL's pool_max_conns, else the
	// greater of 4 and the number of CPUs.
	MaxConns int32

	// ConnectTimeout bounds each connection attempt when the URL sets no
	// connect_timeout, so that a database that is down or unreachable
	// gives store.ErrUnavailable quickly. Default: 5 s.
	ConnectTimeout time.Duration

	// Retries is how many times a method runs its transaction again when
	// PostgreSQL aborted it with a serialization failure or a deadlock,
	// or when the connection was lost before the commit was sent (the
	// transaction then did not happen). Default: 3; negative: never.
	Retries int

	// Logger receives migrations applied at Open. Default: none.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	switch {
	case o.Retries == 0:
		o.Retries = 3
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is a store.Store in a PostgreSQL database. It is safe for
// concurrent use, also by several processes (hub replicas) on one
// database. Close it when done.
type Store struct {
	pool   *pgxpool.Pool
	opts   Options
	closed atomic.Bool
}

// Open connects to the database at url and migrates its schema to the
// latest version. url is a PostgreSQL URL or keyword/value string as libpq
// takes it ("postgres://hub@db.example:5432/hub?sslmode=verify-full");
// what it leaves out comes from the PG* environment variables (PGHOST,
// PGPASSWORD, …) and ~/.pgpass, as with libpq. Open fails with an error
// matching store.ErrInvalid for a malformed url, store.ErrUnavailable when
// the database cannot be reached, and store.ErrSchema when its schema is
// newer than this program.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	return open(ctx, url, opts, migrations.Latest())
}

func open(ctx context.Context, url string, opts Options, version int) (*Store, error) {
	opts = opts.withDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's message masks a password in the URL.
		return nil, fmt.Errorf("postgres: %w: %v", store.ErrInvalid, err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "hubkit"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w: %v", store.ErrInvalid, err)
	}
	s := &Store{pool: pool, opts: opts}
	if err := s.migrate(ctx, version); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool, waiting for calls in progress to
// return their connections. Calls after Close fail with
// store.ErrUnavailable. Close is idempotent and always returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
	return nil
}

// Ping checks that the database answers (on a connection of the pool,
// made afresh when the one it took had broken).
func (s *Store) Ping(ctx context.Context) error {
	return s.single(ctx, "ping", func(querier) error { return s.pool.Ping(ctx) })
}

var errClosed = fmt.Errorf("postgres: %w: store is closed", store.ErrUnavailable)

func (s *Store) now() time.Time { return store.UTC(s.opts.Now()) }

// querier is what pgx.Tx and *pgxpool.Pool have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// How a method talks to the database.
var (
	// writeTx: READ COMMITTED; the methods lock the rows they decide on
	// (SELECT … FOR UPDATE) and every statement sees what committed
	// before it began.
	writeTx = &pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
	// oneStatement: a single statement outside an explicit transaction
	// (PostgreSQL runs it in its own): one round trip instead of three.
	oneStatement *pgx.TxOptions
)

// write runs fn in one READ COMMITTED transaction.
func (s *Store) write(ctx context.Context, op string, fn func(q querier) error) error {
	return s.run(ctx, op, writeTx, fn)
}

// single runs fn, which sends one read statement (or one batch), on the
// pool.
func (s *Store) single(ctx context.Context, op string, fn func(q querier) error) error {
	return s.run(ctx, op, oneStatement, fn)
}

// singleWrite runs fn, which sends one writing statement, on the pool,
// where PostgreSQL commits it on its own. When the connection is lost
// after the statement was sent, it may have been committed: that is not
// retried, like a COMMIT whose answer was lost.
func (s *Store) singleWrite(ctx context.Context, op string, fn func(q querier) error) error {
	return s.run(ctx, op, oneStatement, func(q querier) error {
		err := fn(q)
		if err != nil && connectionLost(err) && !sentNothing(err) {
			return &ambiguousError{err}
		}
		return err
	})
}

// readSteps runs a read-only REPEATABLE READ transaction (one snapshot) as
// a sequence of batches on one connection, with BEGIN sent in the first
// batch and COMMIT in the last: a read of n dependent steps costs n round
// trips. Each step queues its queries with callbacks (QueuedQuery.Query,
// QueryRow) that read the results; a step may use what the steps before
// it read, and must reset what it fills (it runs again on a retry).
func (s *Store) readSteps(ctx context.Context, op string, steps ...func(b *pgx.Batch)) error {
	return s.run(ctx, op, oneStatement, func(querier) error {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		for i, step := range steps {
			b := &pgx.Batch{}
			if i == 0 {
				b.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
			}
			step(b)
			if i == len(steps)-1 {
				b.Queue(`COMMIT`)
			}
			if err := conn.SendBatch(ctx, b).Close(); err != nil {
				// Leave the connection idle for the pool (a broken
				// one is dropped on Release anyway).
				if pc := conn.Conn().PgConn(); !pc.IsClosed() && pc.TxStatus() != 'I' {
					_, _ = conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
				}
				return err
			}
		}
		return nil
	})
}

// run runs fn once in a transaction with txo (on the pool when txo is
// nil), and again, up to Options.Retries times, after an error that
// retrying may cure and that left nothing written. fn must be safe to run
// again: it sets its results afresh each time.
func (s *Store) run(ctx context.Context, op string, txo *pgx.TxOptions, fn func(q querier) error) error {
	if s.closed.Load() {
		return errClosed
	}
	for attempt := 0; ; attempt++ {
		err := s.attempt(ctx, txo, fn)
		if err == nil {
			return nil
		}
		if attempt >= s.opts.Retries || ctx.Err() != nil || !retryable(err) || s.closed.Load() {
			return s.wrap(ctx, err, op)
		}
		// A short, jittered pause: the transaction that won the
		// serialization conflict is committing.
		pause := time.Duration(attempt+1)*5*time.Millisecond + rand.N(5*time.Millisecond)
		select {
		case <-ctx.Done():
			return s.wrap(ctx, ctx.Err(), op)
		case <-time.After(pause):
		}
	}
}

func (s *Store) attempt(ctx context.Context, txo *pgx.TxOptions, fn func(q querier) error) error {
	if txo == nil {
		return fn(s.pool)
	}
	tx, err := s.pool.BeginTx(ctx, *txo)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		// On a broken connection Rollback fails and pgx closes the
		// connection; the server rolls back either way.
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return &ambiguousError{err}
	}
	return nil
}

// ambiguousError is the error of a COMMIT, or of a statement committing on
// its own: when the connection failed then, the write may or may not have
// happened, so it is not retried.
type ambiguousError struct{ err error }

func (e *ambiguousError) Error() string { return e.err.Error() }
func (e *ambiguousError) Unwrap() error { return e.err }

// sentNothing reports whether err happened before anything was sent to
// the server: connecting, or taking a connection that was already closed.
func sentNothing(err error) bool {
	var connErr *pgconn.ConnectError
	return errors.As(err, &connErr) || pgconn.SafeToRetry(err)
}

// errRaced is returned by a transaction that found a concurrent change it
// cannot decide on (a group deleted while a user joined it): it is run
// again.
var errRaced = fmt.Errorf("postgres: %w: changed by a concurrent call; try again", store.ErrConflict)

// retryable reports whether the transaction that failed with err wrote
// nothing and may succeed when run again.
func retryable(err error) bool {
	if errors.Is(err, errRaced) {
		return true
	}
	if sqlstore.IsStoreError(err) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	var ae *ambiguousError
	return !errors.As(err, &ae) && connectionLost(err)
}

// connectionLost reports whether err says that the database could not be
// reached or the connection broke (the server stopped, restarted, failed
// over, or refused more connections).
func connectionLost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			strings.HasPrefix(pe.Code, "53"),                           // insufficient_resources (too many connections)
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin or crash shutdown, cannot connect now
			pe.Code == "25006": // read_only_sql_transaction: a standby after a failover
			return true
		}
		return false
	}
	var (
		connErr *pgconn.ConnectError
		netErr  net.Error
	)
	return errors.As(err, &connErr) || errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// wrap translates an error at the boundary: store errors pass through;
// context errors keep matching ctx's; lost connections, serialization
// failures that outlasted the retries and server shutdowns become
// store.ErrUnavailable; unique violations store.ErrConflict; foreign-key
// violations (a user or client deleted by a concurrent call)
// store.ErrNotFound; data exceptions (text PostgreSQL cannot store, such as
// a NUL byte) store.ErrInvalid. The rest is wrapped with the operation's
// name.
func (s *Store) wrap(ctx context.Context, err error, op string) error {
	if err == nil {
		return nil
	}
	if sqlstore.IsStoreError(err) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		// pgx may report a cancelled query as a closed connection.
		return fmt.Errorf("postgres: %s: %w (%v)", op, cerr, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("postgres: %s: %w: store is closed: %v", op, store.ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return fmt.Errorf("postgres: %s: %w: %s", op, store.ErrConflict, pe.Message)
		case pe.Code == "23503": // foreign_key_violation
			return fmt.Errorf("postgres: %s: %w: %s", op, store.ErrNotFound, pe.Message)
		case strings.HasPrefix(pe.Code, "22"): // data_exception
			return fmt.Errorf("postgres: %s: %w: %s", op, store.ErrInvalid, pe.Message)
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03", pe.Code == "57014":
			// serialization failure or deadlock after the retries, lock
			// or statement timeout
			return fmt.Errorf("postgres: %s: %w: %v", op, store.ErrUnavailable, err)
		}
	}
	if connectionLost(err) {
		var ae *ambiguousError
		if errors.As(err, &ae) {
			return fmt.Errorf("postgres: %s: %w: connection lost while committing; the write may or may not have been applied: %v",
				op, store.ErrUnavailable, err)
		}
		return fmt.Errorf("postgres: %s: %w: %v", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// Times are timestamptz (microseconds); NULL is the zero time.

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func fromTS(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// codec scans rows: times are timestamptz, scopes text[].
var codec = sqlstore.Codec[pgtype.Timestamptz, []string]{Backend: "postgres", Time: fromTS, Scopes: scopesResult}
