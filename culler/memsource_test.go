package culler_test

import (
	"context"
	"iter"
	"runtime"
	"slices"
	"sync"

	"github.com/hubkit/hubkit/culler"
)

// memSource is an in-memory hub: a list of users, and a log of the calls
// the culler made. It filters like JupyterHub (state=ready, state=inactive)
// unless noFilter is set, which makes it answer like a hub older than 1.3.
type memSource struct {
	mu       sync.Mutex
	users    []culler.User
	noFilter bool
	// listErrs are yielded (with the user, if any) after the users; a
	// listing failure is an entry with an empty User.
	listErrs []listErr
	// results are returned by StopServer/RemoveServer ("user/server" or
	// "user" for the default server) and DeleteUser ("user").
	results map[string]error
	// hook, when set, runs inside every stop, remove and delete call.
	hook func(ctx context.Context, call string) error

	calls   []string
	queries []culler.Query
}

type listErr struct {
	user culler.User
	err  error
}

var _ culler.Source = (*memSource)(nil)

func (m *memSource) Users(ctx context.Context, q culler.Query) iter.Seq2[culler.User, error] {
	return func(yield func(culler.User, error) bool) {
		m.mu.Lock()
		m.queries = append(m.queries, q)
		users := slices.Clone(m.users)
		errs := slices.Clone(m.listErrs)
		m.mu.Unlock()
		for _, u := range users {
			if ctx.Err() != nil {
				yield(culler.User{}, ctx.Err())
				return
			}
			ready, active := false, false
			for _, s := range u.Servers {
				ready = ready || s.Ready
				active = active || s.Ready || s.Pending != ""
			}
			if !m.noFilter && !(q.Ready && ready) && !(q.Inactive && !active) {
				continue
			}
			if !yield(u, nil) {
				return
			}
		}
		for _, e := range errs {
			if !yield(e.user, e.err) {
				return
			}
		}
	}
}

func (m *memSource) do(ctx context.Context, call, key string) error {
	if m.hook != nil {
		if err := m.hook(ctx, call); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, call)
	return m.results[key]
}

func ref(user, server string) string {
	return culler.ServerRef{User: user, Server: server}.String()
}

func (m *memSource) StopServer(ctx context.Context, user, server string) error {
	return m.do(ctx, "stop "+ref(user, server), ref(user, server))
}

func (m *memSource) RemoveServer(ctx context.Context, user, server string) error {
	return m.do(ctx, "remove "+ref(user, server), ref(user, server))
}

func (m *memSource) DeleteUser(ctx context.Context, user string) error {
	return m.do(ctx, "delete "+user, user)
}

// Calls returns the calls made, sorted.
func (m *memSource) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := slices.Clone(m.calls)
	slices.Sort(c)
	return c
}

type iterSeq = iter.Seq2[culler.User, error]

func runtimeGosched() { runtime.Gosched() }
