package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxCachedStmts caps a stmtCache. The store runs fewer than 60 query
// texts on each pool (each combination of ListUsers' filters is one; lists
// of IDs are one JSON array argument), so the cap is only a guard: a text
// built from its arguments by mistake could otherwise grow the cache, and
// every connection's SQLite statements, without bound.
const maxCachedStmts = 200

// stmtCache keeps one prepared statement per query text on one pool (the
// readers', or the writer's), so that SQLite parses and plans each of the
// store's statements once per connection rather than at every call:
// modernc.org/sqlite keeps no statement cache of its own, and compiling a
// statement costs more than running most of the store's. It is safe for
// concurrent use.
//
// Inside a transaction a cached statement runs through Tx.StmtContext,
// with which database/sql prepares it once on each connection of the pool
// and reuses it afterwards. Adding a statement to the cache is another
// matter: DB.PrepareContext needs a connection of the pool, and a
// transaction holds one (with every connection in a transaction, each
// would wait for another forever). So a transaction runs a text it does
// not find unprepared and notes it (cachedTx.missed), and its caller adds
// the noted texts once the transaction has ended and given its connection
// back (add). A text runs prepared from its second call on.
//
// The cache holds at most max texts; others always run unprepared.
type stmtCache struct {
	db  *sql.DB
	max int

	mu     sync.RWMutex
	stmts  map[string]*sql.Stmt
	closed bool
}

func newStmtCache(db *sql.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, stmts: map[string]*sql.Stmt{}}
}

// get returns the statement of query, or nil when it is not cached.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stmts[query]
}

// add prepares the queries that are not cached yet, while there is room,
// and caches them. It must not be called inside a transaction on the
// cache's pool (see stmtCache). A query that fails to prepare is left
// out: it runs unprepared, and add tries it again the next time.
func (c *stmtCache) add(ctx context.Context, queries []string) {
	for _, q := range queries {
		if !c.wants(q) {
			continue
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.closed || c.stmts[q] != nil || len(c.stmts) >= c.max {
			// Closed, added by another call meanwhile, or full.
			c.mu.Unlock()
			st.Close()
			continue
		}
		c.stmts[q] = st
		c.mu.Unlock()
	}
}

// wants reports whether add would cache query: it is not cached yet and
// there is room.
func (c *stmtCache) wants(query string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return !c.closed && c.stmts[query] == nil && len(c.stmts) < c.max
}

// len returns the number of cached statements.
func (c *stmtCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.stmts)
}

// close closes the cached statements and empties the cache for good: the
// queries of calls still running, and of later ones, run unprepared.
func (c *stmtCache) close() error {
	c.mu.Lock()
	stmts := c.stmts
	c.stmts, c.closed = map[string]*sql.Stmt{}, true
	c.mu.Unlock()
	var errs []error
	for _, st := range stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// cachedTx is a transaction whose queries run through a stmtCache: the
// queryer that read and write hand their callbacks. As with any
// modernc.org/sqlite statement, the rows of a query must be closed before
// the same query text runs again in the transaction. It is not safe for
// concurrent use, as a transaction is not.
type cachedTx struct {
	tx    *sql.Tx
	cache *stmtCache
	// missed are the texts that ran unprepared, for stmtCache.add.
	missed []string
}

var _ queryer = (*cachedTx)(nil)

// stmt returns the transaction's statement for query, or nil (noted in
// missed if the cache wants it) to run it unprepared.
func (t *cachedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := t.cache.get(query); st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	if t.cache.wants(query) {
		t.missed = append(t.missed, query)
	}
	return nil
}

// prepare returns a statement for query that the transaction may run
// many times: the cached one, or one prepared for the transaction alone
// (the first time). Either is closed with the transaction.
func (t *cachedTx) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st, nil
	}
	return t.tx.PrepareContext(ctx, query)
}

// QueryContext runs a query that returns rows.
func (t *cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row.
func (t *cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement that returns no rows.
func (t *cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}
