package proxy

import (
	"cmp"
	"fmt"
	"iter"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Route is one entry of a [Table], as the table reports it.
type Route struct {
	// Prefix is the canonical prefix with a trailing slash: segments
	// escaped as JupyterHub escapes them ("/user/J%C3%B6rg/"), "/" for
	// the default route.
	Prefix string
	// Target is the server the prefix forwards to, "http://host:port".
	Target string
	// LastActivity is when a request through this prefix last completed
	// with a status below 300 or a websocket on it last carried data;
	// zero when neither happened since the prefix was first set. It
	// survives Set calls that change the target.
	LastActivity time.Time
}

// Table maps URL path prefixes to target servers: the proxy's routes.
//
// A request path is matched segment by segment and the longest matching
// prefix wins, as in configurable-http-proxy: "/user/alice/" matches
// "/user/alice", "/user/alice/" and "/user/alice/lab/tree", never
// "/user/alice2/". Prefixes and request paths are compared in canonical
// form (percent-decoded, then escaped as JupyterHub escapes names), so
// "/user/J%c3%b6rg/" finds the route set as "/user/J%C3%B6rg/".
//
// Lookups never block and never wait for writers: the table is a map of
// path prefixes split into 64 shards, each an immutable map replaced as a
// whole (copy on write) under a mutex that only writers take. A lookup
// costs one map probe per path segment it examines, whatever the number
// of routes; a write copies one shard per segment of its prefix, about
// 1/64 of the table. Set, Delete and Replace are safe to call concurrently
// with each other and with lookups; each route changes atomically, and a
// concurrent lookup sees it before or after.
//
// The zero Table is empty and ready to use. A Table must not be copied
// after first use.
type Table struct {
	mu     sync.Mutex // held by writers only
	shards [numShards]atomic.Pointer[map[string]node]
	n      atomic.Int64
	pools  map[string]*connPool // by target address; guarded by mu
}

const numShards = 64

// node is what the table stores for a prefix: the route set for exactly
// that prefix (nil if none), and how many routes lie strictly below it.
// Lookups descend only into prefixes that have routes below them.
type node struct {
	route *entry
	below int32
}

// entry is one route as the proxy uses it. Entries are immutable; Set
// replaces them. last and pool are shared with the entry it replaced when
// the prefix (for last) or target address (for pool) stays the same.
type entry struct {
	prefix string        // canonical, with trailing slash
	key    string        // canonical, without trailing slash ("" for "/")
	target string        // "http://host:port"
	addr   string        // "host:port"
	last   *atomic.Int64 // unix nanoseconds of the last activity, 0 = none
	pool   *connPool
}

// NewTable returns an empty table.
func NewTable() *Table { return new(Table) }

func shardOf(key []byte) int {
	// FNV-1a; only spreads keys over shards, the maps hash again.
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	return int(h % numShards)
}

func (t *Table) load(key []byte) (node, bool) {
	m := t.shards[shardOf(key)].Load()
	if m == nil {
		return node{}, false
	}
	n, ok := (*m)[string(key)]
	return n, ok
}

// write replaces the node for key in a copy of its shard; keep=false
// removes it. The caller holds t.mu.
func (t *Table) write(key string, n node, keep bool) {
	s := &t.shards[shardOf([]byte(key))]
	old := s.Load()
	var m map[string]node
	if old == nil {
		m = make(map[string]node, 1)
	} else {
		m = make(map[string]node, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
	}
	if keep {
		m[key] = n
	} else {
		delete(m, key)
	}
	t.shards[shardOf([]byte(key))].Store(&m)
}

// parseTarget accepts "http://host:port" (a trailing "/" is allowed) and
// returns its normal form and the address to dial.
func parseTarget(target string) (norm, addr string, err error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", "", fmt.Errorf("%w %q: %v", ErrInvalidTarget, target, err)
	}
	if u.Scheme != "http" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", "", fmt.Errorf("%w %q: want http://host:port", ErrInvalidTarget, target)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	addr = net.JoinHostPort(host, port)
	return "http://" + u.Host, addr, nil
}

// ancestors calls f with each proper prefix of key, the root ("") first.
func ancestors(key string, f func(string)) {
	f("")
	for i := 1; i < len(key); i++ {
		if key[i] == '/' {
			f(key[:i])
		}
	}
}

// Set routes prefix to target, replacing the route for exactly that
// prefix if there is one. prefix is an absolute path ("/user/alice/",
// "/user/alice/lab/", "/" for the default route); the trailing slash is
// optional and segments may be escaped in any valid way, but no segment
// may be empty, a dot segment, or contain an encoded "/" or "\". target
// is "http://host:port". Setting the same target again does nothing; a
// new target keeps the prefix's last activity. Set is safe for
// concurrent use and does not block lookups.
func (t *Table) Set(prefix, target string) error {
	key, display, _, err := canonicalPrefix(prefix)
	if err != nil {
		return err
	}
	norm, addr, err := parseTarget(target)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setLocked(key, display, norm, addr)
	return nil
}

func (t *Table) setLocked(key, display, target, addr string) {
	old, _ := t.load([]byte(key))
	if old.route != nil && old.route.target == target {
		return
	}
	e := &entry{prefix: display, key: key, target: target, addr: addr}
	if old.route != nil {
		e.last = old.route.last
	} else {
		e.last = new(atomic.Int64)
	}
	e.pool = t.acquirePool(addr)
	if old.route == nil {
		// Ancestors first, so that a lookup that finds the route can
		// also reach it.
		ancestors(key, func(a string) {
			n, _ := t.load([]byte(a))
			n.below++
			t.write(a, n, true)
		})
		t.n.Add(1)
	}
	t.write(key, node{route: e, below: old.below}, true)
	if old.route != nil {
		t.releasePool(old.route.pool)
	}
}

// Delete removes the route for exactly prefix (routes below it stay) and
// reports whether there was one. It closes the idle connections to the
// route's target once no other route uses that target. Requests already
// forwarded finish. Safe for concurrent use; does not block lookups.
func (t *Table) Delete(prefix string) bool {
	key, _, _, err := canonicalPrefix(prefix)
	if err != nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.deleteLocked(key)
}

func (t *Table) deleteLocked(key string) bool {
	old, _ := t.load([]byte(key))
	if old.route == nil {
		return false
	}
	t.write(key, node{below: old.below}, old.below > 0)
	ancestors(key, func(a string) {
		n, _ := t.load([]byte(a))
		n.below--
		t.write(a, n, n.below > 0 || n.route != nil)
	})
	t.n.Add(-1)
	t.releasePool(old.route.pool)
	return true
}

// Replace makes the table hold exactly routes (prefix → target): routes
// not in it are deleted, the others set as by Set. It is meant for
// resynchronising from shared state (a database, a watch that
// restarted). It validates every route before changing anything and
// returns the first error. Concurrent lookups may see some of the
// changes before others.
func (t *Table) Replace(routes map[string]string) error {
	type spec struct{ key, display, target, addr string }
	specs := make([]spec, 0, len(routes))
	keep := make(map[string]bool, len(routes))
	for p, tg := range routes {
		key, display, _, err := canonicalPrefix(p)
		if err != nil {
			return err
		}
		norm, addr, err := parseTarget(tg)
		if err != nil {
			return err
		}
		if keep[key] {
			return fmt.Errorf("%w %q: given twice in different spellings", ErrInvalidPrefix, p)
		}
		keep[key] = true
		specs = append(specs, spec{key, display, norm, addr})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var gone []string
	for i := range t.shards {
		if m := t.shards[i].Load(); m != nil {
			for k, n := range *m {
				if n.route != nil && !keep[k] {
					gone = append(gone, k)
				}
			}
		}
	}
	for _, k := range gone {
		t.deleteLocked(k)
	}
	for _, s := range specs {
		t.setLocked(s.key, s.display, s.target, s.addr)
	}
	return nil
}

// Lookup returns the route for a request path: the route with the longest
// prefix that matches it segment by segment. path is the path as sent,
// still percent-encoded (http.Request.URL.EscapedPath or the path part of
// RequestURI); a query after "?" is ignored. It returns ErrNoRoute when
// nothing matches, and ErrAmbiguousPath or ErrBadPath for paths the proxy
// refuses (see the package documentation). Never blocks.
func (t *Table) Lookup(path string) (Route, error) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	e, err := t.match(path)
	if err != nil {
		return Route{}, err
	}
	if e == nil {
		return Route{}, ErrNoRoute
	}
	return e.route(), nil
}

// Get returns the route set for exactly prefix.
func (t *Table) Get(prefix string) (Route, bool) {
	key, _, _, err := canonicalPrefix(prefix)
	if err != nil {
		return Route{}, false
	}
	n, _ := t.load([]byte(key))
	if n.route == nil {
		return Route{}, false
	}
	return n.route.route(), true
}

// Len returns the number of routes.
func (t *Table) Len() int { return int(t.n.Load()) }

// All iterates over the routes in no particular order, with their last
// activity as of the moment each is visited. It does not block writers or
// lookups; routes set or deleted during the iteration may or may not be
// visited. It is what an activity batcher reads: cheap, allocation-free
// per route.
func (t *Table) All() iter.Seq[Route] {
	return func(yield func(Route) bool) {
		for i := range t.shards {
			m := t.shards[i].Load()
			if m == nil {
				continue
			}
			for _, n := range *m {
				if n.route != nil && !yield(n.route.route()) {
					return
				}
			}
		}
	}
}

// Snapshot returns all routes sorted by prefix.
func (t *Table) Snapshot() []Route {
	rs := make([]Route, 0, t.Len())
	for r := range t.All() {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b Route) int { return cmp.Compare(a.Prefix, b.Prefix) })
	return rs
}

func (e *entry) route() Route {
	r := Route{Prefix: e.prefix, Target: e.target}
	if ns := e.last.Load(); ns != 0 {
		r.LastActivity = time.Unix(0, ns)
	}
	return r
}

// touch records activity at now (unix nanoseconds). It skips the store
// when the recorded time is less than a millisecond old, so that
// concurrent requests to one route rarely write the same cache line.
func (e *entry) touch(now int64) {
	if now-e.last.Load() >= int64(time.Millisecond) {
		e.last.Store(now)
	}
}

// match is Lookup without the conversion to Route; nil, nil when nothing
// matches.
func (t *Table) match(path string) (*entry, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	var kb [192]byte
	key := kb[:0]
	n, ok := t.load(key)
	best := n.route
	rest := path[1:]
	for ok && n.below > 0 && rest != "" {
		seg := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			seg, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		// This segment selects between routes, so it must mean one
		// thing to every reader.
		if seg == "" {
			return nil, fmt.Errorf("%w: empty segment where the route is chosen", ErrAmbiguousPath)
		}
		key = append(key, '/')
		if isCanonical(seg) {
			key = append(key, seg...)
		} else {
			var f segFlags
			key, f = appendCanonical(key, seg)
			if f&(segSlash|segBackslash) != 0 {
				return nil, fmt.Errorf("%w: encoded slash in %q where the route is chosen", ErrAmbiguousPath, seg)
			}
		}
		n, ok = t.load(key)
		if ok && n.route != nil {
			best = n.route
		}
	}
	return best, nil
}

// acquirePool returns the connection pool for addr, shared by all routes
// with that target address. The caller holds t.mu.
func (t *Table) acquirePool(addr string) *connPool {
	if t.pools == nil {
		t.pools = make(map[string]*connPool)
	}
	p := t.pools[addr]
	if p == nil {
		p = &connPool{addr: addr}
		t.pools[addr] = p
	}
	p.refs++
	return p
}

// releasePool drops one route's reference; the last one closes the pool's
// idle connections. The caller holds t.mu.
func (t *Table) releasePool(p *connPool) {
	p.refs--
	if p.refs > 0 {
		return
	}
	delete(t.pools, p.addr)
	p.close()
}

// closeIdle closes the idle connections of every pool.
func (t *Table) closeIdle() {
	t.mu.Lock()
	pools := make([]*connPool, 0, len(t.pools))
	for _, p := range t.pools {
		pools = append(pools, p)
	}
	t.mu.Unlock()
	for _, p := range pools {
		p.drain()
	}
}
