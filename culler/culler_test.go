package culler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hubkit/hubkit/culler"
)

// now is the fake clock's reading in every table test.
var now = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func clock() time.Time { return now }

func ago(d time.Duration) time.Time { return now.Add(-d) }

const (
	timeout = 10 * time.Minute // the default policy's 600 s
	idle    = timeout + time.Second
	fresh   = time.Minute
	long    = 48 * time.Hour
)

// srv is a ready server last active `inactive` ago and started `age` ago
// (zero durations mean "not known").
func srv(name string, inactive, age time.Duration) culler.Server {
	s := culler.Server{Name: name, Ready: true}
	if inactive != 0 {
		s.LastActivity = ago(inactive)
	}
	if age != 0 {
		s.Started = ago(age)
	}
	return s
}

func user(name string, inactive, age time.Duration, servers ...culler.Server) culler.User {
	u := culler.User{Name: name, Servers: servers}
	if inactive != 0 {
		u.LastActivity = ago(inactive)
	}
	if age != 0 {
		u.Created = ago(age)
	}
	return u
}

func admin(u culler.User) culler.User { u.Admin = true; return u }

func pending(s culler.Server, what string) culler.Server {
	s.Pending, s.Ready = what, false
	return s
}

func notReady(s culler.Server) culler.Server { s.Ready = false; return s }

var errBoom = errors.New("boom")

type policyCase struct {
	name     string
	opts     culler.Options
	users    []culler.User
	noFilter bool
	listErrs []listErr
	results  map[string]error
	want     []string // calls, sorted
	wantErrs []string // substrings of the report's errors, in any order
	check    func(t *testing.T, rep culler.Report)
}

func runPolicy(t *testing.T, tc policyCase) (culler.Report, *memSource) {
	t.Helper()
	src := &memSource{users: tc.users, noFilter: tc.noFilter, listErrs: tc.listErrs, results: tc.results}
	opts := tc.opts
	opts.Now = clock
	c, err := culler.New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Once(t.Context())
	if got := src.Calls(); !slices.Equal(got, sortedCopy(tc.want)) {
		t.Errorf("calls:\n got  %q\n want %q", got, sortedCopy(tc.want))
	}
	if len(rep.Errors) != len(tc.wantErrs) {
		t.Errorf("errors: got %d %v, want %d %q", len(rep.Errors), rep.Errors, len(tc.wantErrs), tc.wantErrs)
	}
	for _, w := range tc.wantErrs {
		if !slices.ContainsFunc(rep.Errors, func(e error) bool { return strings.Contains(e.Error(), w) }) {
			t.Errorf("no error mentions %q: %v", w, rep.Errors)
		}
	}
	if (err != nil) != (len(tc.wantErrs) > 0) {
		t.Errorf("Once error = %v, want error: %v", err, len(tc.wantErrs) > 0)
	}
	for _, e := range rep.Errors {
		var ce *culler.Error
		if !errors.As(e, &ce) {
			t.Errorf("report error %v is not a *culler.Error", e)
		}
	}
	if tc.check != nil {
		tc.check(t, rep)
	}
	return rep, src
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	if c == nil {
		c = []string{}
	}
	return c
}

// TestServerRules covers jupyterhub-idle-culler's rules for servers.
func TestServerRules(t *testing.T) {
	for _, tc := range []policyCase{
		{
			name:  "idle default server is stopped",
			users: []culler.User{user("a", idle, long, srv("", idle, long))},
			want:  []string{"stop a"},
			check: func(t *testing.T, rep culler.Report) {
				want := []culler.CulledServer{{ServerRef: culler.ServerRef{User: "a"}, Reason: culler.ReasonInactive, Inactive: idle, Age: long}}
				if !slices.Equal(rep.Stopped, want) {
					t.Errorf("Stopped = %+v, want %+v", rep.Stopped, want)
				}
				if rep.Users != 1 || rep.Servers != 1 || !rep.Now.Equal(now) {
					t.Errorf("report counts: %+v", rep)
				}
			},
		},
		{
			name:  "active server is kept",
			users: []culler.User{user("a", fresh, long, srv("", fresh, long))},
		},
		{
			name:  "inactive exactly the timeout is culled (>=)",
			users: []culler.User{user("a", timeout, long, srv("", timeout, long))},
			want:  []string{"stop a"},
		},
		{
			name:  "a second short of the timeout is kept",
			users: []culler.User{user("a", 0, long, srv("", timeout-time.Second, long))},
		},
		{
			name:  "custom timeout",
			opts:  culler.Options{Timeout: time.Hour},
			users: []culler.User{user("a", 0, long, srv("", 59*time.Minute, long)), user("b", 0, long, srv("", time.Hour, long))},
			want:  []string{"stop b"},
		},
		{
			name:     "pending spawn is never culled",
			users:    []culler.User{user("a", idle, long, pending(srv("", long, long), "spawn"))},
			noFilter: true,
		},
		{
			name:     "pending stop is never culled",
			users:    []culler.User{user("a", idle, long, pending(srv("", long, long), "stop"))},
			noFilter: true,
		},
		{
			name:     "not ready and not pending is never culled",
			users:    []culler.User{user("a", idle, long, notReady(srv("", long, long)), srv("nb", long, long))},
			noFilter: true,
			want:     []string{"stop a/nb"},
		},
		{
			name:  "no last activity: inactivity counts from the start",
			users: []culler.User{user("a", 0, long, srv("", 0, idle)), user("b", 0, long, srv("", 0, fresh))},
			want:  []string{"stop a"},
			check: func(t *testing.T, rep culler.Report) {
				if len(rep.Stopped) != 1 || rep.Stopped[0].Inactive != idle {
					t.Errorf("Stopped = %+v, want a inactive for %v", rep.Stopped, idle)
				}
			},
		},
		{
			name:  "neither last activity nor start: kept, even with max age",
			opts:  culler.Options{MaxAge: time.Minute},
			users: []culler.User{user("a", 0, long, srv("", 0, 0))},
		},
		{
			name:  "max age culls an active server",
			opts:  culler.Options{MaxAge: 24 * time.Hour},
			users: []culler.User{user("a", 0, long, srv("", fresh, 25*time.Hour)), user("b", 0, long, srv("", fresh, 23*time.Hour))},
			want:  []string{"stop a"},
			check: func(t *testing.T, rep culler.Report) {
				if len(rep.Stopped) != 1 || rep.Stopped[0].Reason != culler.ReasonMaxAge || rep.Stopped[0].Age != 25*time.Hour {
					t.Errorf("Stopped = %+v, want a by max_age at 25h", rep.Stopped)
				}
			},
		},
		{
			name:  "max age is measured from the start only",
			opts:  culler.Options{MaxAge: time.Hour},
			users: []culler.User{user("a", 0, long, srv("", fresh, 0))},
		},
		{
			name:  "max age off by default",
			users: []culler.User{user("a", 0, long, srv("", fresh, 1000*time.Hour))},
		},
		{
			name:  "inactivity wins over max age as the reason",
			opts:  culler.Options{MaxAge: time.Hour},
			users: []culler.User{user("a", 0, long, srv("", idle, long))},
			want:  []string{"stop a"},
			check: func(t *testing.T, rep culler.Report) {
				if rep.Stopped[0].Reason != culler.ReasonInactive {
					t.Errorf("reason = %s", rep.Stopped[0].Reason)
				}
			},
		},
		{
			name:  "named servers are culled by default, and only stopped",
			users: []culler.User{user("a", 0, long, srv("", fresh, long), srv("nb", idle, long), srv("gpu", fresh, long))},
			want:  []string{"stop a/nb"},
		},
		{
			name:  "remove named servers removes named ones and stops the default one",
			opts:  culler.Options{RemoveNamedServers: true},
			users: []culler.User{user("a", 0, long, srv("", idle, long), srv("nb", idle, long))},
			want:  []string{"stop a", "remove a/nb"},
			check: func(t *testing.T, rep culler.Report) {
				for _, s := range rep.Stopped {
					if s.Removed != (s.Server == "nb") {
						t.Errorf("%s Removed = %v", s.ServerRef, s.Removed)
					}
				}
			},
		},
		{
			name:  "skip default servers",
			opts:  culler.Options{SkipDefaultServers: true},
			users: []culler.User{user("a", 0, long, srv("", idle, long), srv("nb", idle, long))},
			want:  []string{"stop a/nb"},
		},
		{
			name:  "skip named servers",
			opts:  culler.Options{SkipNamedServers: true},
			users: []culler.User{user("a", 0, long, srv("", idle, long), srv("nb", idle, long))},
			want:  []string{"stop a"},
		},
		{
			name:  "skipped kinds are not culled for max age either",
			opts:  culler.Options{SkipDefaultServers: true, MaxAge: time.Hour},
			users: []culler.User{user("a", 0, long, srv("", fresh, long), srv("nb", fresh, long))},
			want:  []string{"stop a/nb"},
		},
		{
			name: "slow to stop is reported, not an error",
			users: []culler.User{
				user("a", 0, long, srv("", idle, long)),
				user("b", 0, long, srv("", idle, long)),
			},
			results: map[string]error{"a": fmt.Errorf("hub said 202: %w", culler.ErrStopPending)},
			want:    []string{"stop a", "stop b"},
			check: func(t *testing.T, rep culler.Report) {
				for _, s := range rep.Stopped {
					if s.SlowToStop != (s.User == "a") {
						t.Errorf("%s SlowToStop = %v", s.ServerRef, s.SlowToStop)
					}
				}
			},
		},
		{
			name: "a failed stop is an error and the pass goes on",
			users: []culler.User{
				user("a", 0, long, srv("", idle, long), srv("nb", idle, long)),
				user("b", 0, long, srv("", idle, long)),
			},
			results:  map[string]error{"a": errBoom},
			want:     []string{"stop a", "stop a/nb", "stop b"},
			wantErrs: []string{"culler: stopping server a: boom"},
			check: func(t *testing.T, rep culler.Report) {
				if len(rep.Stopped) != 2 {
					t.Errorf("Stopped = %+v, want a/nb and b", rep.Stopped)
				}
				var ce *culler.Error
				if !errors.Is(rep.Errors[0], errBoom) || !errors.As(rep.Errors[0], &ce) ||
					ce.Op != "stop" || ce.User != "a" || ce.Server != "" {
					t.Errorf("error %#v does not carry the stop of a and its cause", rep.Errors[0])
				}
			},
		},
		{
			name:     "a failed removal is an error",
			opts:     culler.Options{RemoveNamedServers: true},
			users:    []culler.User{user("a", 0, long, srv("nb", idle, long))},
			results:  map[string]error{"a/nb": errBoom},
			want:     []string{"remove a/nb"},
			wantErrs: []string{"culler: removing server a/nb: boom"},
		},
		{
			name:  "clock skew (activity in the future) is active",
			users: []culler.User{user("a", 0, long, srv("", -time.Hour, long))},
		},
		{
			name: "a user listed twice is handled once",
			users: []culler.User{
				user("a", 0, long, srv("", idle, long), srv("nb", idle, long)),
				user("a", 0, long, srv("", idle, long), srv("nb", idle, long)),
			},
			want: []string{"stop a", "stop a/nb"},
			check: func(t *testing.T, rep culler.Report) {
				if rep.Users != 1 || rep.Servers != 2 {
					t.Errorf("Users, Servers = %d, %d; want 1, 2", rep.Users, rep.Servers)
				}
			},
		},
		{
			name:  "a user the source could not read is an error; the others are culled",
			users: []culler.User{user("a", 0, long, srv("", idle, long))},
			listErrs: []listErr{
				{user: culler.User{Name: "b"}, err: errors.New(`field "last_activity" missing`)},
				{err: errors.New("GET /users: 500 Internal Server Error")},
			},
			want: []string{"stop a"},
			wantErrs: []string{
				`culler: reading user b: field "last_activity" missing`,
				"culler: listing users: GET /users: 500 Internal Server Error",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runPolicy(t, tc) })
	}
}

// TestUserRules covers the rules for deleting users (--cull-users).
func TestUserRules(t *testing.T) {
	cullUsers := culler.Options{CullUsers: true}
	for _, tc := range []policyCase{
		{
			name:  "users are not deleted by default",
			users: []culler.User{user("a", long, long, srv("", idle, long)), user("b", long, long)},
			want:  []string{"stop a"},
		},
		{
			name:  "idle user with an idle server: server stopped, then user deleted",
			opts:  cullUsers,
			users: []culler.User{user("a", idle, long, srv("", idle, long))},
			want:  []string{"stop a", "delete a"},
			check: func(t *testing.T, rep culler.Report) {
				want := []culler.CulledUser{{User: "a", Reason: culler.ReasonInactive, Inactive: idle, Age: long}}
				if !slices.Equal(rep.Deleted, want) {
					t.Errorf("Deleted = %+v, want %+v", rep.Deleted, want)
				}
			},
		},
		{
			name:  "user without servers, inactive: deleted",
			opts:  cullUsers,
			users: []culler.User{user("a", idle, long), user("b", fresh, long)},
			want:  []string{"delete a"},
		},
		{
			name:  "user activity is the user's own, not the servers'",
			opts:  cullUsers,
			users: []culler.User{user("a", fresh, long, srv("", idle, long))},
			want:  []string{"stop a"},
		},
		{
			name:  "no last activity: inactivity counts from creation",
			opts:  cullUsers,
			users: []culler.User{user("a", 0, idle), user("b", 0, fresh)},
			want:  []string{"delete a"},
			check: func(t *testing.T, rep culler.Report) {
				if len(rep.Deleted) != 1 || rep.Deleted[0].Inactive != idle {
					t.Errorf("Deleted = %+v", rep.Deleted)
				}
			},
		},
		{
			name:  "neither last activity nor creation: kept",
			opts:  culler.Options{CullUsers: true, MaxAge: time.Minute},
			users: []culler.User{user("a", 0, 0)},
		},
		{
			name:  "a server still running keeps the user",
			opts:  cullUsers,
			users: []culler.User{user("a", idle, long, srv("", idle, long), srv("nb", fresh, long))},
			want:  []string{"stop a"},
		},
		{
			name:     "a pending server keeps the user",
			opts:     cullUsers,
			noFilter: true,
			users:    []culler.User{user("a", idle, long, pending(srv("", idle, long), "spawn"))},
		},
		{
			name:     "a not-ready server keeps the user",
			opts:     cullUsers,
			noFilter: true,
			users:    []culler.User{user("a", idle, long, notReady(srv("", idle, long)))},
		},
		{
			name:  "a kind that is not culled keeps the user",
			opts:  culler.Options{CullUsers: true, SkipNamedServers: true},
			users: []culler.User{user("a", idle, long, srv("", idle, long), srv("nb", idle, long))},
			want:  []string{"stop a"},
		},
		{
			name:    "a server slow to stop keeps the user this pass",
			opts:    cullUsers,
			users:   []culler.User{user("a", idle, long, srv("", idle, long)), user("b", idle, long, srv("", idle, long))},
			results: map[string]error{"a": culler.ErrStopPending},
			want:    []string{"stop a", "stop b", "delete b"},
		},
		{
			name:     "a failed stop keeps the user",
			opts:     cullUsers,
			users:    []culler.User{user("a", idle, long, srv("", idle, long))},
			results:  map[string]error{"a": errBoom},
			want:     []string{"stop a"},
			wantErrs: []string{"stopping server a"},
		},
		{
			name:  "removed named servers count as stopped",
			opts:  culler.Options{CullUsers: true, RemoveNamedServers: true},
			users: []culler.User{user("a", idle, long, srv("nb", idle, long))},
			want:  []string{"remove a/nb", "delete a"},
		},
		{
			name:  "admin users are culled by default",
			opts:  cullUsers,
			users: []culler.User{admin(user("a", idle, long, srv("", idle, long)))},
			want:  []string{"stop a", "delete a"},
		},
		{
			name:  "skip admin users: their servers are culled, they are kept",
			opts:  culler.Options{CullUsers: true, SkipAdminUsers: true},
			users: []culler.User{admin(user("a", idle, long, srv("", idle, long))), user("b", idle, long)},
			want:  []string{"stop a", "delete b"},
		},
		{
			name:  "skip admin users holds against max age too",
			opts:  culler.Options{CullUsers: true, SkipAdminUsers: true, MaxAge: time.Hour},
			users: []culler.User{admin(user("a", fresh, long)), user("b", fresh, long)},
			want:  []string{"delete b"},
		},
		{
			name:  "max age deletes an active user",
			opts:  culler.Options{CullUsers: true, MaxAge: 24 * time.Hour},
			users: []culler.User{user("a", fresh, 25*time.Hour), user("b", fresh, 23*time.Hour)},
			want:  []string{"delete a"},
			check: func(t *testing.T, rep culler.Report) {
				if rep.Deleted[0].Reason != culler.ReasonMaxAge {
					t.Errorf("reason = %s", rep.Deleted[0].Reason)
				}
			},
		},
		{
			name:  "users are judged by the timeout, not the arbiter",
			opts:  culler.Options{CullUsers: true, Arbiter: func(time.Duration, time.Duration, culler.Server) bool { return true }},
			users: []culler.User{user("a", fresh, long, srv("", fresh, long))},
			want:  []string{"stop a"},
		},
		{
			name:     "a failed delete is an error",
			opts:     cullUsers,
			users:    []culler.User{user("a", idle, long), user("b", idle, long)},
			results:  map[string]error{"a": errBoom},
			want:     []string{"delete a", "delete b"},
			wantErrs: []string{"culler: deleting user a: boom"},
			check: func(t *testing.T, rep culler.Report) {
				if len(rep.Deleted) != 1 || rep.Deleted[0].User != "b" {
					t.Errorf("Deleted = %+v", rep.Deleted)
				}
			},
		},
		{
			name:     "an old hub lists everyone: same decisions",
			opts:     cullUsers,
			noFilter: true,
			users: []culler.User{
				user("a", idle, long, srv("", idle, long)),
				user("b", idle, long),
				user("c", fresh, long, srv("", fresh, long)),
				user("d", idle, long, pending(srv("", idle, long), "spawn")),
			},
			want: []string{"stop a", "delete a", "delete b"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runPolicy(t, tc) })
	}
}

func TestQuery(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts culler.Options
		want culler.Query
	}{
		{"servers only", culler.Options{}, culler.Query{Ready: true}},
		{"with users", culler.Options{CullUsers: true}, culler.Query{Ready: true, Inactive: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &memSource{}
			c, err := culler.New(src, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Once(t.Context()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(src.queries, []culler.Query{tc.want}) {
				t.Errorf("queries = %+v, want %+v", src.queries, tc.want)
			}
		})
	}
}

func TestArbiter(t *testing.T) {
	model := json.RawMessage(`{"user_options":{"profile":"unlimited"}}`)
	var mu sync.Mutex
	var seen []string
	arb := func(inactive, limit time.Duration, s culler.Server) bool {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %v %v", s.Ref(), inactive, limit))
		mu.Unlock()
		var m struct {
			UserOptions struct {
				Profile string `json:"profile"`
			} `json:"user_options"`
		}
		if len(s.Model) > 0 {
			if err := json.Unmarshal(s.Model, &m); err != nil {
				t.Errorf("model: %v", err)
			}
		}
		if m.UserOptions.Profile == "unlimited" {
			return false
		}
		return inactive >= limit/2
	}
	unlimited := srv("", long, long)
	unlimited.Model = model
	runPolicy(t, policyCase{
		opts:     culler.Options{Arbiter: arb, Timeout: time.Hour},
		noFilter: true,
		users: []culler.User{
			user("a", 0, long, unlimited),
			user("b", 0, long, srv("", 31*time.Minute, long)),
			user("c", 0, long, srv("", 29*time.Minute, long)),
			user("d", 0, long, pending(srv("", long, long), "spawn")),
			user("e", 0, long, srv("", 0, 0)),
		},
		want: []string{"stop b"},
	})
	slices.Sort(seen)
	want := []string{"a 48h0m0s 1h0m0s", "b 31m0s 1h0m0s", "c 29m0s 1h0m0s"}
	if !slices.Equal(seen, want) {
		t.Errorf("arbiter saw %q, want %q (never pending or unknown-activity servers)", seen, want)
	}
}

func TestOptionsDefaults(t *testing.T) {
	c, err := culler.New(&memSource{}, culler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if o.Timeout != 600*time.Second || o.Every != 300*time.Second || o.MaxAge != 0 ||
		o.Concurrency != 10 || o.CullUsers || o.SkipAdminUsers || o.SkipDefaultServers ||
		o.SkipNamedServers || o.RemoveNamedServers || o.Arbiter == nil || o.Now == nil || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
	for _, tc := range []struct {
		opts  culler.Options
		every time.Duration
	}{
		{culler.Options{Timeout: time.Hour}, 30 * time.Minute},
		{culler.Options{Timeout: time.Second}, time.Second},
		{culler.Options{Timeout: time.Hour, Every: time.Minute}, time.Minute},
	} {
		c, err := culler.New(&memSource{}, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Options().Every; got != tc.every {
			t.Errorf("Every for %+v = %v, want %v", tc.opts, got, tc.every)
		}
	}
	for _, bad := range []culler.Options{{Timeout: -1}, {Every: -1}, {MaxAge: -1}} {
		if _, err := culler.New(&memSource{}, bad); !errors.Is(err, culler.ErrInvalidOptions) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOptions", bad, err)
		}
	}
	if _, err := culler.New(nil, culler.Options{}); !errors.Is(err, culler.ErrInvalidOptions) {
		t.Errorf("New(nil) = %v", err)
	}
}

// TestConcurrencyBound checks that no more than Concurrency stop and
// delete calls are in flight at once, and that every user is handled.
func TestConcurrencyBound(t *testing.T) {
	for _, n := range []int{1, 3, -1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var users []culler.User
			var want []string
			for i := range 40 {
				name := fmt.Sprintf("u%02d", i)
				users = append(users, user(name, idle, long, srv("", idle, long), srv("nb", idle, long)))
				want = append(want, "stop "+name, "stop "+name+"/nb", "delete "+name)
			}
			var inflight, peak atomic.Int32
			src := &memSource{users: users, hook: func(ctx context.Context, call string) error {
				cur := inflight.Add(1)
				defer inflight.Add(-1)
				for {
					p := peak.Load()
					if cur <= p || peak.CompareAndSwap(p, cur) {
						break
					}
				}
				// Give other goroutines a chance to pile up.
				for range 100 {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					runtimeGosched()
				}
				return nil
			}}
			c, err := culler.New(src, culler.Options{Now: clock, CullUsers: true, Concurrency: n})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Once(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := src.Calls(); !slices.Equal(got, sortedCopy(want)) {
				t.Errorf("calls: %d, want %d", len(got), len(want))
			}
			if n > 0 && peak.Load() > int32(n) {
				t.Errorf("peak in-flight calls = %d, want <= %d", peak.Load(), n)
			}
		})
	}
}

func TestOnceContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	src := &memSource{users: []culler.User{user("a", idle, long, srv("", idle, long))}}
	c, err := culler.New(src, culler.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Once(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Once = %v, want context.Canceled", err)
	}
	if calls := src.Calls(); len(calls) != 0 {
		t.Errorf("calls after cancel: %q", calls)
	}
}

// TestRun runs passes on synctest's fake clock: one at once, then one
// every Every, until the context ends.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var passes atomic.Int32
		src := &memSource{users: []culler.User{user("a", fresh, long, srv("", fresh, long))}}
		src.hook = nil
		counting := &countingSource{memSource: src, passes: &passes}
		c, err := culler.New(counting, culler.Options{Timeout: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		synctest.Wait()
		if got := passes.Load(); got != 1 {
			t.Errorf("passes at start = %d, want 1", got)
		}
		time.Sleep(3*time.Minute + time.Second) // fake time: 3 more passes at 1, 2, 3 min
		synctest.Wait()
		if got := passes.Load(); got != 4 {
			t.Errorf("passes after 3m = %d, want 4", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil when ctx ends", err)
		}
	})
}

type countingSource struct {
	*memSource
	passes *atomic.Int32
}

func (s *countingSource) Users(ctx context.Context, q culler.Query) iterSeq {
	s.passes.Add(1)
	return s.memSource.Users(ctx, q)
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	src := &memSource{
		users: []culler.User{
			user("a", idle, long, srv("", idle, long), srv("nb", fresh, 2*time.Hour)),
			user("b", idle, long, srv("", idle, long)),
			user("c", idle, long),
		},
		results: map[string]error{"b": culler.ErrStopPending},
	}
	opts := culler.Options{Now: clock, CullUsers: true, MaxAge: time.Hour, Registerer: reg}
	c, err := culler.New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	// A second culler on the same registry shares the metrics.
	if _, err := culler.New(src, opts); err != nil {
		t.Fatalf("second culler on the same registry: %v", err)
	}
	src.listErrs = []listErr{{err: errBoom}}
	if _, err := c.Once(t.Context()); err == nil {
		t.Fatal("want the list error")
	}
	got := gather(t, reg)
	for series, want := range map[string]float64{
		`hubkit_culler_servers_culled_total{kind="default",reason="inactive"}`: 2,
		`hubkit_culler_servers_culled_total{kind="named",reason="max_age"}`:    1,
		`hubkit_culler_servers_culled_total{kind="named",reason="inactive"}`:   0,
		`hubkit_culler_servers_slow_to_stop_total`:                             1,
		`hubkit_culler_users_culled_total{reason="inactive"}`:                  2,
		`hubkit_culler_errors_total{op="list"}`:                                1,
		`hubkit_culler_errors_total{op="stop"}`:                                0,
		`hubkit_culler_pass_duration_seconds_count`:                            1,
		`hubkit_culler_last_pass_timestamp_seconds`:                            float64(now.Unix()),
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
}

// gather flattens a registry into "name{labels}" → value.
func gather(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName() + labels(m.GetLabel())
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[mf.GetName()+"_count"+labels(m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func labels(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	var parts []string
	for _, l := range ls {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
