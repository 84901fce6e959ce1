package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hubkit/hubkit/authenticator"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/spawner"
)

// Several replicas. Hubs that share a store (PostgreSQL) each serve every
// request: the store decides who does what (claims on servers, leases on
// periodic work), and each replica's proxy follows the store's servers.
//
// sync runs every SyncInterval on every replica. It
//   - routes every ready server, whichever replica started it, and drops
//     the routes of servers that stopped (routes this replica set itself in
//     the last few seconds are kept: the store may lag behind them);
//   - counts active servers for the active-server limit, across replicas;
//   - takes over what a dead replica left: a start or stop whose claim
//     expired is checked again as after a restart (waited for, finished or
//     cleaned up).

// localRouteGrace is how long a route this replica set is kept even when
// a store snapshot does not show the server yet.
const localRouteGrace = 5 * time.Second

func (h *Hub) sync(ctx context.Context) {
	servers, err := h.st.ListServers(ctx, store.ServerQuery{Active: true})
	if err != nil {
		h.log.Warn("reading active servers", "err", err)
		return
	}
	now := h.now()
	want := map[string]spawner.Ref{}
	targets := map[string]string{}
	for _, s := range servers {
		ref := spawner.Ref{User: s.User, Server: s.Name}
		switch {
		case s.URL != "" && s.Pending != store.PhaseStop:
			p := h.serverPrefix(ref)
			want[p], targets[p] = ref, s.URL
		case s.Pending != store.PhaseNone && s.PendingOwner != h.cfg.ReplicaID &&
			!s.PendingExpires.IsZero() && !s.PendingExpires.After(now) && h.op(ref) == nil:
			h.mu.Lock()
			busy := h.checking[ref]
			h.checking[ref] = true
			h.mu.Unlock()
			if busy {
				continue
			}
			h.log.Info("taking over an operation of a replica that stopped renewing its claim",
				"server", refName(ref), "pending", s.Pending, "owner", s.PendingOwner)
			go func() {
				defer func() {
					h.mu.Lock()
					delete(h.checking, ref)
					h.mu.Unlock()
				}()
				h.check(context.WithoutCancel(ctx), s)
			}()
		}
	}
	h.active.Store(int64(len(servers)))
	for p, target := range targets {
		if r, ok := h.proxy.Routes().Get(p); ok && r.Target == target {
			continue
		}
		h.setRoute(want[p], target)
	}
	h.mu.Lock()
	var gone []spawner.Ref
	for p, ref := range h.routes {
		if _, ok := want[p]; ok || h.ops[ref] != nil {
			continue
		}
		if t, ok := h.routeSet[p]; ok && now.Sub(t) < localRouteGrace {
			continue
		}
		gone = append(gone, ref)
	}
	h.mu.Unlock()
	for _, ref := range gone {
		h.deleteRoute(ref)
	}
}

// sessionStore keeps sessions' sealed auth state in the store's shared
// values, so that every replica (and a restarted hub) can refresh a
// session's tokens.
type sessionStore struct{ v store.Values }

// SessionStore returns an authenticator.StateStore on v: the default of
// Config.SessionStore.
func SessionStore(v store.Values) authenticator.StateStore { return sessionStore{v} }

func (s sessionStore) Put(ctx context.Context, key string, sealed []byte, expires time.Time) error {
	return s.v.PutValue(ctx, "session:"+key, sealed, expires)
}

func (s sessionStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.v.GetValue(ctx, "session:"+key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: session state", authenticator.ErrNotFound)
	}
	return b, err
}

func (s sessionStore) Delete(ctx context.Context, key string) error {
	return s.v.DeleteValue(ctx, "session:"+key)
}

// onceStore makes single-use values (OAuth states) single use across
// replicas.
type onceStore struct{ v store.Values }

// OnceStore returns an authenticator.OnceStore on v, for
// authenticator/oidc's UsedStates when the hub runs several replicas.
func OnceStore(v store.Values) authenticator.OnceStore { return onceStore{v} }

func (o onceStore) Use(ctx context.Context, key string, expires time.Time) (bool, error) {
	return o.v.UseOnce(ctx, "once:"+key, expires)
}
