package proxy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// routingTable is the table the routing cases run against: a default
// route (the hub), users with and without named servers, escaped names.
func routingTable(t *testing.T) *Table {
	t.Helper()
	tb := NewTable()
	for prefix, target := range map[string]string{
		"/":                  "http://127.0.0.1:8081",
		"/user/alice/":       "http://127.0.0.1:9001",
		"/user/alice/lab/":   "http://127.0.0.1:9002",
		"/user/bob/":         "http://127.0.0.1:9003",
		"/user/J%C3%B6rg/":   "http://127.0.0.1:9004",
		"/user/a%20b/":       "http://127.0.0.1:9005",
		"/services/culler/":  "http://127.0.0.1:9006",
		"/user/dots.in.name": "http://127.0.0.1:9007",
	} {
		if err := tb.Set(prefix, target); err != nil {
			t.Fatalf("Set(%q): %v", prefix, err)
		}
	}
	return tb
}

// TestLookup is the routing decision table: which route a request path
// reaches, or why it is refused.
func TestLookup(t *testing.T) {
	tb := routingTable(t)
	for _, tc := range []struct {
		path string
		want string // route prefix; "" when an error is expected
		err  error
	}{
		// Plain routing: longest prefix, whole segments.
		{"/user/alice/", "/user/alice/", nil},
		{"/user/alice", "/user/alice/", nil},
		{"/user/alice/tree/notebook.ipynb", "/user/alice/", nil},
		{"/user/alice/api/kernels?token=x", "/user/alice/", nil},
		{"/user/alice/lab", "/user/alice/lab/", nil},
		{"/user/alice/lab/tree/x", "/user/alice/lab/", nil},
		{"/user/alice/labs/x", "/user/alice/", nil},
		{"/user/alice2/", "/", nil},
		{"/user/Alice/", "/", nil}, // names are case-sensitive
		{"/user/", "/", nil},
		{"/user", "/", nil},
		{"/", "/", nil},
		{"/hub/api/users", "/", nil},
		{"/hub//api", "/", nil}, // not where a route is chosen: the hub's business
		{"/services/culler/api", "/services/culler/", nil},
		{"/user/bob/api/contents/a%2Fb", "/user/bob/", nil}, // after bob's prefix
		{"/user/bob/files/a%5Cb", "/user/bob/", nil},        // a file name with a backslash
		{"/user/bob//tree", "/user/bob/", nil},
		{"/user/bob/...", "/user/bob/", nil}, // three dots are a name
		{"/user/bob/.hidden/..x", "/user/bob/", nil},
		{"/user/dots.in.name/x", "/user/dots.in.name/", nil},

		// Canonical form: the same name, escaped differently.
		{"/user/%62ob/", "/user/bob/", nil},
		{"/%75ser/bob/", "/user/bob/", nil},
		{"/user/J%C3%B6rg/", "/user/J%C3%B6rg/", nil},
		{"/user/J%c3%b6rg/lab", "/user/J%C3%B6rg/", nil},
		{"/user/Jörg/", "/user/J%C3%B6rg/", nil},
		{"/user/a%20b/", "/user/a%20b/", nil},
		{"/user/a+b/", "/", nil}, // '+' is not a space in a path

		// Dot segments, anywhere: refused.
		{"/user/alice/../bob/", "", ErrAmbiguousPath},
		{"/user/alice/..", "", ErrAmbiguousPath},
		{"/user/alice/./", "", ErrAmbiguousPath},
		{"/./user/bob/", "", ErrAmbiguousPath},
		{"/user/bob/tree/../../alice/", "", ErrAmbiguousPath},
		{"/user/alice/%2e%2e/bob/", "", ErrAmbiguousPath},
		{"/user/alice/%2E%2E/bob/", "", ErrAmbiguousPath},
		{"/user/alice/.%2e/bob/", "", ErrAmbiguousPath},
		{"/user/alice/%2e./bob/", "", ErrAmbiguousPath},
		{"/user/alice/%2e/", "", ErrAmbiguousPath},
		{"/hub/%2e%2e/user/bob/", "", ErrAmbiguousPath},

		// Raw backslashes, anywhere: refused.
		{`/user/alice\..\bob/`, "", ErrAmbiguousPath},
		{`/user\bob/`, "", ErrAmbiguousPath},
		{`/user/bob/files/a\b`, "", ErrAmbiguousPath},

		// Encoded slashes and backslashes where the route is chosen.
		{"/user/alice%2F..%2Fbob/", "", ErrAmbiguousPath},
		{"/user/alice%2f..%2fbob/", "", ErrAmbiguousPath},
		{"/user/alice%2Fbob/", "", ErrAmbiguousPath},
		{"/user%2Fbob/", "", ErrAmbiguousPath},
		{"/user/alice%5Cbob/", "", ErrAmbiguousPath},
		{"/user/alice%5c..%5cbob/", "", ErrAmbiguousPath},
		{"/user/alice/lab%2Ftree", "", ErrAmbiguousPath}, // alice has named servers

		// Empty segments where the route is chosen.
		{"/user//alice/", "", ErrAmbiguousPath},
		{"//user/alice/", "", ErrAmbiguousPath},
		{"/user/alice//lab/", "", ErrAmbiguousPath}, // alice has named servers
		{"/user//", "", ErrAmbiguousPath},

		// Malformed.
		{"/user/%zz/", "", ErrBadPath},
		{"/user/alice/%", "", ErrBadPath},
		{"/user/alice/%4", "", ErrBadPath},
		{"user/alice/", "", ErrBadPath},
		{"", "", ErrBadPath},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r, err := tb.Lookup(tc.path)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Lookup(%q) = %+v, %v; want %v", tc.path, r, err, tc.err)
				}
				return
			}
			if err != nil || r.Prefix != tc.want {
				t.Fatalf("Lookup(%q) = %q, %v; want %q", tc.path, r.Prefix, err, tc.want)
			}
		})
	}
}

// An empty-segment rule only applies where a segment selects a route: a
// table without routes has none.
func TestLookupEmptyTable(t *testing.T) {
	var tb Table
	for _, p := range []string{"/", "//x", "/user/alice/"} {
		if _, err := tb.Lookup(p); !errors.Is(err, ErrNoRoute) {
			t.Errorf("Lookup(%q) = %v, want ErrNoRoute", p, err)
		}
	}
	if _, err := tb.Lookup("/a/../b"); !errors.Is(err, ErrAmbiguousPath) {
		t.Errorf("dot segments are refused even without routes: %v", err)
	}
}

func TestLookupWithoutDefaultRoute(t *testing.T) {
	tb := NewTable()
	if err := tb.Set("/user/alice/", "http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Lookup("/hub/"); !errors.Is(err, ErrNoRoute) {
		t.Errorf("Lookup(/hub/) = %v, want ErrNoRoute", err)
	}
	if _, err := tb.Lookup("/user/bob/"); !errors.Is(err, ErrNoRoute) {
		t.Errorf("Lookup(/user/bob/) = %v, want ErrNoRoute", err)
	}
}

func TestSetValidation(t *testing.T) {
	for _, tc := range []struct {
		prefix, target string
		err            error
	}{
		{"/user/alice/", "http://127.0.0.1:8888", nil},
		{"/user/alice", "http://127.0.0.1:8888/", nil},
		{"/", "http://hub:8081", nil},
		{"/user/J%c3%b6rg/", "http://[::1]:8888", nil},
		{"user/alice/", "http://127.0.0.1:8888", ErrInvalidPrefix},
		{"", "http://127.0.0.1:8888", ErrInvalidPrefix},
		{"/user//alice/", "http://127.0.0.1:8888", ErrInvalidPrefix},
		{"/user/../alice/", "http://127.0.0.1:8888", ErrInvalidPrefix},
		{"/user/%2e%2e/", "http://127.0.0.1:8888", ErrInvalidPrefix},
		{"/user/./", "http://127.0.0.1:8888", ErrInvalidPrefix},
		{"/user/a%2Fb/", "http://127.0.0.1:8888", ErrInvalidPrefix},
		{"/user/a%5Cb/", "http://127.0.0.1:8888", ErrInvalidPrefix},
		{`/user/a\b/`, "http://127.0.0.1:8888", ErrInvalidPrefix},
		{"/user/a%zz/", "http://127.0.0.1:8888", ErrInvalidPrefix},
		{"/user/alice/", "https://127.0.0.1:8888", ErrInvalidTarget},
		{"/user/alice/", "127.0.0.1:8888", ErrInvalidTarget},
		{"/user/alice/", "http://127.0.0.1:8888/user/alice/", ErrInvalidTarget},
		{"/user/alice/", "http://u:p@127.0.0.1:8888", ErrInvalidTarget},
		{"/user/alice/", "http://127.0.0.1:8888?x=1", ErrInvalidTarget},
		{"/user/alice/", "http://", ErrInvalidTarget},
	} {
		t.Run(tc.prefix+" "+tc.target, func(t *testing.T) {
			err := NewTable().Set(tc.prefix, tc.target)
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("Set(%q, %q) = %v, want %v", tc.prefix, tc.target, err, tc.err)
			}
		})
	}
}

func TestSetGetDeleteReplace(t *testing.T) {
	tb := NewTable()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tb.Set("/user/J%c3%b6rg", "http://127.0.0.1:1/"))
	r, ok := tb.Get("/user/J%C3%B6rg/")
	if !ok || r.Prefix != "/user/J%C3%B6rg/" || r.Target != "http://127.0.0.1:1" {
		t.Fatalf("Get = %+v, %v", r, ok)
	}
	must(tb.Set("/user/alice/", "http://127.0.0.1:2"))
	must(tb.Set("/user/alice/lab/", "http://127.0.0.1:3"))
	if tb.Len() != 3 {
		t.Fatalf("Len = %d, want 3", tb.Len())
	}

	// Activity survives a new target for the same prefix.
	e, _ := tb.match("/user/alice/")
	e.touch(time.Unix(100, 0).UnixNano())
	must(tb.Set("/user/alice", "http://127.0.0.1:4"))
	if r, _ := tb.Get("/user/alice/"); r.Target != "http://127.0.0.1:4" || !r.LastActivity.Equal(time.Unix(100, 0)) {
		t.Fatalf("after re-Set: %+v", r)
	}

	// Deleting a prefix keeps the routes below it.
	if !tb.Delete("/user/alice/") {
		t.Fatal("Delete(/user/alice/) = false")
	}
	if tb.Delete("/user/alice/") {
		t.Fatal("second Delete = true")
	}
	if r, err := tb.Lookup("/user/alice/lab/x"); err != nil || r.Prefix != "/user/alice/lab/" {
		t.Fatalf("named server after deleting the default: %+v, %v", r, err)
	}
	if _, err := tb.Lookup("/user/alice/tree"); !errors.Is(err, ErrNoRoute) {
		t.Fatalf("deleted route still matches: %v", err)
	}
	if !tb.Delete("/user/alice/lab") || tb.Len() != 1 {
		t.Fatalf("Len = %d after deleting both", tb.Len())
	}
	// Interior nodes are gone with their last route.
	for i := range tb.shards {
		if m := tb.shards[i].Load(); m != nil {
			for k, n := range *m {
				if n.route == nil && n.below == 0 {
					t.Errorf("leftover empty node %q", k)
				}
			}
		}
	}

	// Replace: exactly the given routes; activity kept where the prefix stays.
	e, _ = tb.match("/user/J%C3%B6rg/")
	e.touch(time.Unix(200, 0).UnixNano())
	must(tb.Replace(map[string]string{
		"/user/J%C3%B6rg/": "http://127.0.0.1:5",
		"/user/carol/":     "http://127.0.0.1:6",
		"/":                "http://127.0.0.1:7",
	}))
	snap := tb.Snapshot()
	want := []string{"/", "/user/J%C3%B6rg/", "/user/carol/"}
	if len(snap) != len(want) {
		t.Fatalf("Snapshot = %+v", snap)
	}
	for i, r := range snap {
		if r.Prefix != want[i] {
			t.Fatalf("Snapshot[%d] = %q, want %q", i, r.Prefix, want[i])
		}
	}
	if !snap[1].LastActivity.Equal(time.Unix(200, 0)) || !snap[2].LastActivity.IsZero() {
		t.Fatalf("activity after Replace: %+v", snap)
	}
	if err := tb.Replace(map[string]string{"/user/a/": "http://x:1", "/user/b/": "ftp://x"}); !errors.Is(err, ErrInvalidTarget) {
		t.Fatalf("Replace with a bad target = %v", err)
	}
	if tb.Len() != 3 {
		t.Fatalf("a failed Replace changed the table: Len = %d", tb.Len())
	}
	if err := tb.Replace(map[string]string{"/user/%62ob/": "http://x:1", "/user/bob/": "http://x:2"}); !errors.Is(err, ErrInvalidPrefix) {
		t.Fatalf("Replace with one prefix spelled twice = %v", err)
	}
}

// Pools are shared per target address and closed with their last route.
func TestTablePools(t *testing.T) {
	tb := NewTable()
	_ = tb.Set("/user/a/", "http://127.0.0.1:1")
	_ = tb.Set("/user/b/", "http://127.0.0.1:1/")
	ea, _ := tb.match("/user/a/")
	eb, _ := tb.match("/user/b/")
	if ea.pool != eb.pool || ea.pool.refs != 2 {
		t.Fatalf("pools not shared: %p %p refs=%d", ea.pool, eb.pool, ea.pool.refs)
	}
	tb.Delete("/user/a/")
	if ea.pool.closed {
		t.Fatal("pool closed while a route uses it")
	}
	_ = tb.Set("/user/b/", "http://127.0.0.1:2")
	if !ea.pool.closed || len(tb.pools) != 1 {
		t.Fatalf("old pool not closed: closed=%v pools=%d", ea.pool.closed, len(tb.pools))
	}
}

func TestRouteActivity(t *testing.T) {
	tb := NewTable()
	_ = tb.Set("/user/a/", "http://127.0.0.1:1")
	e, _ := tb.match("/user/a/x")
	t0 := time.Unix(1000, 0)
	e.touch(t0.UnixNano())
	e.touch(t0.Add(time.Microsecond).UnixNano()) // within a millisecond: skipped
	if r, _ := tb.Get("/user/a/"); !r.LastActivity.Equal(t0) {
		t.Fatalf("LastActivity = %v, want %v", r.LastActivity, t0)
	}
	e.touch(t0.Add(time.Second).UnixNano())
	n := 0
	for r := range tb.All() {
		n++
		if !r.LastActivity.Equal(t0.Add(time.Second)) {
			t.Fatalf("All: %+v", r)
		}
	}
	if n != 1 {
		t.Fatalf("All yielded %d routes", n)
	}
}

// Writers and readers at once, under -race: a lookup sees a user's route
// or the default route, never another user's, and never blocks.
func TestTableConcurrent(t *testing.T) {
	tb := NewTable()
	_ = tb.Set("/", "http://127.0.0.1:1")
	const users = 200
	var stop atomic.Bool
	var writers, readers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; i < 5000; i++ {
				u := rng.IntN(users)
				prefix := fmt.Sprintf("/user/u%d/", u)
				switch rng.IntN(4) {
				case 0:
					tb.Delete(prefix)
				case 1:
					_ = tb.Set(prefix+"named/", fmt.Sprintf("http://127.0.0.1:%d", 20000+u))
				case 2:
					tb.Delete(prefix + "named/")
				default:
					_ = tb.Set(prefix, fmt.Sprintf("http://127.0.0.1:%d", 10000+u))
				}
			}
		})
	}
	errs := make(chan error, 4)
	for rd := range 4 {
		readers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(rd), 2))
			for !stop.Load() {
				u := rng.IntN(users)
				path := fmt.Sprintf("/user/u%d/named/x", u)
				r, err := tb.Lookup(path)
				if err != nil {
					errs <- err
					return
				}
				ok := r.Prefix == "/" ||
					r.Prefix == fmt.Sprintf("/user/u%d/", u) && r.Target == fmt.Sprintf("http://127.0.0.1:%d", 10000+u) ||
					r.Prefix == fmt.Sprintf("/user/u%d/named/", u) && r.Target == fmt.Sprintf("http://127.0.0.1:%d", 20000+u)
				if !ok {
					errs <- fmt.Errorf("Lookup(%q) = %+v", path, r)
					return
				}
			}
		})
	}
	writers.Wait()
	stop.Store(true)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The structure is consistent afterwards: every route is reachable.
	for _, r := range tb.Snapshot() {
		got, err := tb.Lookup(r.Prefix + "x")
		if err != nil || got.Prefix != r.Prefix {
			t.Errorf("Lookup(%q) = %+v, %v", r.Prefix+"x", got, err)
		}
	}
}
