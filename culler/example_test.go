package culler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hubkit/hubkit/culler"
)

// staticHub is the smallest Source: users held in memory, as a hub that
// embeds the culler would hand over its own state.
type staticHub struct {
	mu    sync.Mutex
	users []culler.User
	log   []string
}

func (h *staticHub) Users(ctx context.Context, q culler.Query) iter.Seq2[culler.User, error] {
	return func(yield func(culler.User, error) bool) {
		for _, u := range h.users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

func (h *staticHub) record(s string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, s)
	return nil
}

func (h *staticHub) StopServer(ctx context.Context, user, server string) error {
	return h.record("stop " + culler.ServerRef{User: user, Server: server}.String())
}

func (h *staticHub) RemoveServer(ctx context.Context, user, server string) error {
	return h.record("remove " + user + "/" + server)
}

func (h *staticHub) DeleteUser(ctx context.Context, user string) error {
	return h.record("delete " + user)
}

// One pass with jupyterhub-idle-culler's default policy (idle for ten
// minutes) plus user culling, on a fixed clock.
func ExampleCuller_Once() {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	hub := &staticHub{users: []culler.User{
		{Name: "ada", LastActivity: now.Add(-time.Hour), Servers: []culler.Server{
			{Name: "", Ready: true, Started: now.Add(-2 * time.Hour), LastActivity: now.Add(-time.Hour)},
		}},
		{Name: "grace", LastActivity: now.Add(-time.Minute), Servers: []culler.Server{
			{Name: "", Ready: true, Started: now.Add(-2 * time.Hour), LastActivity: now.Add(-time.Minute)},
			{Name: "gpu", Ready: true, Started: now.Add(-2 * time.Hour), LastActivity: now.Add(-30 * time.Minute)},
		}},
		{Name: "linus", Servers: []culler.Server{{Name: "", Pending: "spawn"}}},
	}}
	c, err := culler.New(hub, culler.Options{
		CullUsers:  true,
		Now:        func() time.Time { return now },
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		panic(err)
	}
	rep, err := c.Once(context.Background())
	if err != nil {
		panic(err)
	}
	slices.Sort(hub.log)
	fmt.Println(strings.Join(hub.log, "\n"))
	fmt.Printf("%d users, %d servers, %d culled, %d deleted\n", rep.Users, rep.Servers, len(rep.Stopped), len(rep.Deleted))
	// Output:
	// delete ada
	// stop ada
	// stop grace/gpu
	// 3 users, 4 servers, 2 culled, 1 deleted
}

// An arbiter that never culls servers started with the "unlimited"
// profile, decoding the part of the server's model it needs.
func ExampleArbiter() {
	var arbiter culler.Arbiter = func(inactive, limit time.Duration, s culler.Server) bool {
		var model struct {
			UserOptions struct {
				Profile string `json:"profile"`
			} `json:"user_options"`
		}
		if len(s.Model) > 0 && json.Unmarshal(s.Model, &model) == nil && model.UserOptions.Profile == "unlimited" {
			return false
		}
		return culler.DefaultArbiter(inactive, limit, s)
	}
	s := culler.Server{User: "ada", Model: []byte(`{"user_options": {"profile": "unlimited"}}`)}
	fmt.Println(arbiter(24*time.Hour, time.Hour, s))
	s.Model = []byte(`{"user_options": {"profile": "small"}}`)
	fmt.Println(arbiter(24*time.Hour, time.Hour, s))
	// Output:
	// false
	// true
}
