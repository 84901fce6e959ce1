package hubapi_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
	"github.com/hubkit/hubkit/culler/hubapi/internal/fakehub"
)

// BenchmarkOncePass10k measures one whole culler pass over 10,000 users
// with a running server each, through hubapi, against an in-memory hub on
// loopback that answers like JupyterHub 3 (pages of users, state filter).
// The hub encodes each user once, so the figures are the culler's cost
// plus loopback HTTP, not the hub's. See bench/README.md ("Idle culler").
func BenchmarkOncePass10k(b *testing.B) {
	const n = 10_000
	for _, bc := range []struct {
		name     string
		version  string
		pageSize int
		idleEach int // every idleEach-th server is idle; 0: none
		cullUser bool
	}{
		{name: "pages=200/idle=0%", version: "3.0.0", pageSize: 200},
		{name: "pages=50/idle=0%", version: "3.0.0"}, // JupyterHub's default page size
		{name: "pages=200/idle=10%", version: "3.0.0", pageSize: 200, idleEach: 10},
		{name: "pages=200/idle=10%/cull-users", version: "3.0.0", pageSize: 200, idleEach: 10, cullUser: true},
		{name: "oldhub-one-list/idle=0%", version: "1.2.0"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			users := benchUsers(n, bc.idleEach)
			h := &fakehub.Hub{Version: bc.version, Token: token, MaxLimit: 200}
			srv := httptest.NewServer(h)
			defer srv.Close()
			c, err := hubapi.New(hubapi.Options{URL: srv.URL + "/hub/api", Token: token, PageSize: bc.pageSize,
				Getenv: func(string) string { return "" }})
			if err != nil {
				b.Fatal(err)
			}
			cl, err := culler.New(c, culler.Options{Timeout: time.Hour, CullUsers: bc.cullUser,
				Now:    func() time.Time { return now },
				Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))})
			if err != nil {
				b.Fatal(err)
			}
			// Warm up the hub's encoding cache and the connections.
			h.Add(users...)
			if _, err := cl.Once(b.Context()); err != nil {
				b.Fatal(err)
			}
			wantStopped := 0
			if bc.idleEach > 0 {
				wantStopped = n / bc.idleEach
			}
			var requests int
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				h.Add(users...) // bring back what the last pass culled
				h.ResetLog()
				b.StartTimer()
				rep, err := cl.Once(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				if rep.Users != n || len(rep.Stopped) != wantStopped {
					b.Fatalf("pass saw %d users and stopped %d servers; want %d and %d", rep.Users, len(rep.Stopped), n, wantStopped)
				}
				requests = len(h.Requests())
			}
			b.ReportMetric(float64(requests), "requests/op")
		})
	}
}

// benchUsers returns n users with a running default server each, active a
// minute ago except every idleEach-th (0: none), idle for two hours.
func benchUsers(n, idleEach int) []fakehub.User {
	users := make([]fakehub.User, n)
	for i := range users {
		s := fakehub.Server{Ready: true, Started: ago(3 * time.Hour), LastActivity: ago(time.Minute),
			UserOptions: map[string]any{"profile": "small"}}
		last := ago(time.Minute)
		if idleEach > 0 && i%idleEach == 0 {
			s.LastActivity, last = ago(2*time.Hour), ago(2*time.Hour)
		}
		users[i] = fakehub.User{Name: fmt.Sprintf("user-%05d", i), Created: ago(48 * time.Hour),
			LastActivity: last, Servers: []fakehub.Server{s}}
	}
	return users
}

// TestServeBenchHub serves BenchmarkOncePass10k's hub until interrupted,
// when HUBKIT_BENCH_HUB_ADDR is set (bench/culler.sh times
// jupyterhub-idle-culler against it); otherwise it skips. The hub's clock
// is the real one: activity is relative to the time it starts.
// HUBKIT_BENCH_HUB_IDLE_EACH makes every n-th server idle;
// HUBKIT_BENCH_HUB_STOP_DELAY (a Go duration) makes every DELETE take that
// long.
func TestServeBenchHub(t *testing.T) {
	addr := os.Getenv("HUBKIT_BENCH_HUB_ADDR")
	if addr == "" {
		t.Skip("HUBKIT_BENCH_HUB_ADDR not set: not serving the benchmark hub")
	}
	idleEach, _ := strconv.Atoi(os.Getenv("HUBKIT_BENCH_HUB_IDLE_EACH"))
	now = time.Now().UTC()
	h := &fakehub.Hub{Token: token, MaxLimit: 200}
	h.Add(benchUsers(10_000, idleEach)...)
	if delay, _ := time.ParseDuration(os.Getenv("HUBKIT_BENCH_HUB_STOP_DELAY")); delay > 0 {
		// A stop that takes as long as a spawner's (a process or pod
		// being stopped), not a map delete.
		h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodDelete {
				time.Sleep(delay)
			}
			return false
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(t.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	fmt.Printf("serving 10000 users on http://%s/hub/api (token %s)\n", ln.Addr(), token)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
	t.Logf("served %d requests", len(h.Requests()))
}
