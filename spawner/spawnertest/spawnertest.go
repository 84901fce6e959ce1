package spawnertest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/spawner"
)

// Harness is what an implementation gives the suite.
type Harness struct {
	// Setup prepares a fresh, empty backend for one subtest (a namespace, a
	// directory) and returns a constructor. Each call of the constructor
	// returns a new Spawner on that same backend, ready to use; the suite
	// calls it twice to check re-adoption. Cleanup is registered on t.
	Setup func(t *testing.T) (newSpawner func() spawner.Spawner)

	// Request returns a valid request for ref. Optional: the default is a
	// request with a fixed API token and no override.
	Request func(ref spawner.Ref) spawner.Request

	// CheckServer, when set, verifies that a server Start returned really
	// serves (for example an HTTP request to its URL).
	CheckServer func(t *testing.T, s spawner.Server)

	// Timeout bounds each start and stop of the suite. Default 60s.
	Timeout time.Duration
}

// Run runs the suite as subtests of t.
func Run(t *testing.T, h Harness) {
	if h.Setup == nil {
		t.Fatal("spawnertest: Harness.Setup is required")
	}
	if h.Request == nil {
		h.Request = func(ref spawner.Ref) spawner.Request {
			return spawner.Request{Ref: ref, APIToken: "conformance-token"}
		}
	}
	if h.Timeout == 0 {
		h.Timeout = 60 * time.Second
	}
	s := suite{h}
	t.Run("StartStatusStop", s.startStatusStop)
	t.Run("UnknownServer", s.unknownServer)
	t.Run("InvalidRef", s.invalidRef)
	t.Run("UnknownOverrideKey", s.unknownOverride)
	t.Run("NamedServers", s.namedServers)
	t.Run("ConcurrentStarts", s.concurrentStarts)
	t.Run("CancelledStart", s.cancelledStart)
	t.Run("RestartAfterStop", s.restartAfterStop)
	t.Run("UnusualNames", s.unusualNames)
	t.Run("ListAndReadopt", s.listAndReadopt)
	t.Run("Progress", s.progress)
	t.Run("Remove", s.remove)
}

type suite struct{ h Harness }

func (s suite) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), s.h.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func (s suite) start(t *testing.T, sp spawner.Spawner, ref spawner.Ref) spawner.Server {
	t.Helper()
	srv, err := sp.Start(s.ctx(t), s.h.Request(ref))
	if err != nil {
		t.Fatalf("Start(%s): %v", ref, err)
	}
	if srv.Ref != ref {
		t.Fatalf("Start(%s) returned server for %s", ref, srv.Ref)
	}
	if srv.URL == "" {
		t.Fatalf("Start(%s) returned an empty URL", ref)
	}
	if s.h.CheckServer != nil {
		s.h.CheckServer(t, srv)
	}
	return srv
}

func (s suite) stop(t *testing.T, sp spawner.Spawner, ref spawner.Ref) {
	t.Helper()
	if err := sp.Stop(s.ctx(t), ref); err != nil {
		t.Fatalf("Stop(%s): %v", ref, err)
	}
}

func status(t *testing.T, sp spawner.Spawner, ref spawner.Ref) spawner.Status {
	t.Helper()
	st, err := sp.Status(t.Context(), ref)
	if err != nil {
		t.Fatalf("Status(%s): %v", ref, err)
	}
	return st
}

// eventually polls cond until it holds or 30 seconds pass. Polling in a
// test is a correctness check, not a speed assertion: the bound only keeps
// a broken implementation from hanging the suite.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s suite) startStatusStop(t *testing.T) {
	sp := s.h.Setup(t)()
	ref := spawner.Ref{User: "alice"}
	srv := s.start(t, sp, ref)

	st := status(t, sp, ref)
	if st.Phase != spawner.PhaseRunning || st.Server == nil {
		t.Fatalf("Status after Start = %+v, want running with a server", st)
	}
	if st.Server.URL != srv.URL {
		t.Errorf("Status URL %q, Start URL %q", st.Server.URL, srv.URL)
	}
	if st.Ref != ref {
		t.Errorf("Status ref = %v, want %v", st.Ref, ref)
	}

	s.stop(t, sp, ref)
	if st := status(t, sp, ref); st.Phase != spawner.PhaseStopped {
		t.Fatalf("Status after Stop = %v, want stopped", st.Phase)
	}
	// Stop is idempotent.
	s.stop(t, sp, ref)
}

func (s suite) unknownServer(t *testing.T) {
	sp := s.h.Setup(t)()
	ref := spawner.Ref{User: "nobody", Server: "nothing"}
	if st := status(t, sp, ref); st.Phase != spawner.PhaseStopped {
		t.Errorf("Status of unknown server = %v, want stopped", st.Phase)
	}
	s.stop(t, sp, ref)
}

func (s suite) invalidRef(t *testing.T) {
	sp := s.h.Setup(t)()
	bad := []spawner.Ref{
		{User: ""},
		{User: "a/b"},
		{User: "ok", Server: "x/y"},
		{User: "tab\there"},
		{User: " padded"},
		{User: strings.Repeat("u", spawner.MaxNameLength+1)},
		{User: "bad\xffutf8"},
	}
	for _, ref := range bad {
		req := s.h.Request(spawner.Ref{User: "valid"})
		req.Ref = ref
		_, err := sp.Start(s.ctx(t), req)
		if !errors.Is(err, spawner.ErrInvalid) {
			t.Errorf("Start(%q) error = %v, want ErrInvalid", ref.String(), err)
		}
	}
	assertNoneListed(t, sp)
}

func (s suite) unknownOverride(t *testing.T) {
	sp := s.h.Setup(t)()
	req := s.h.Request(spawner.Ref{User: "bob"})
	req.Override = map[string]any{"no_such_option_xyz": 1}
	_, err := sp.Start(s.ctx(t), req)
	if !errors.Is(err, spawner.ErrInvalid) {
		t.Fatalf("Start with unknown override key: error = %v, want ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), "no_such_option_xyz") {
		t.Errorf("error %q does not name the unknown key", err)
	}
	if st := status(t, sp, req.Ref); st.Phase != spawner.PhaseStopped {
		t.Errorf("Status after rejected start = %v, want stopped", st.Phase)
	}
	assertNoneListed(t, sp)
}

func assertNoneListed(t *testing.T, sp spawner.Spawner) {
	t.Helper()
	l, ok := sp.(spawner.Lister)
	if !ok {
		return
	}
	all, err := l.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(all) != 0 {
		t.Errorf("List after rejected starts = %v, want none", all)
	}
}

func (s suite) namedServers(t *testing.T) {
	sp := s.h.Setup(t)()
	def := spawner.Ref{User: "carol"}
	named := spawner.Ref{User: "carol", Server: "Dev Box"}
	a := s.start(t, sp, def)
	b := s.start(t, sp, named)
	if a.URL == b.URL {
		t.Fatalf("default and named server share URL %q", a.URL)
	}
	s.stop(t, sp, named)
	if st := status(t, sp, def); st.Phase != spawner.PhaseRunning {
		t.Errorf("default server after stopping the named one: %v, want running", st.Phase)
	}
	if st := status(t, sp, named); st.Phase != spawner.PhaseStopped {
		t.Errorf("named server after Stop: %v, want stopped", st.Phase)
	}
	s.stop(t, sp, def)
}

func (s suite) concurrentStarts(t *testing.T) {
	sp := s.h.Setup(t)()
	ref := spawner.Ref{User: "dave"}
	const n = 5
	var wg sync.WaitGroup
	urls := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			srv, err := sp.Start(s.ctx(t), s.h.Request(ref))
			urls[i], errs[i] = srv.URL, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent Start %d: %v", i, errs[i])
		}
		if urls[i] != urls[0] {
			t.Fatalf("concurrent starts returned different servers: %q and %q", urls[0], urls[i])
		}
	}
	if l, ok := sp.(spawner.Lister); ok {
		all, err := l.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, st := range all {
			if st.Ref == ref {
				count++
			}
		}
		if count != 1 {
			t.Errorf("List shows %d servers for %s, want 1", count, ref)
		}
	}
	s.stop(t, sp, ref)
}

func (s suite) cancelledStart(t *testing.T) {
	sp := s.h.Setup(t)()
	ref := spawner.Ref{User: "erin"}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := sp.Start(ctx, s.h.Request(ref))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with cancelled ctx: error = %v, want context.Canceled", err)
	}
	eventually(t, "the cancelled server is stopped", func() bool {
		return status(t, sp, ref).Phase == spawner.PhaseStopped
	})
	// The same server starts normally afterwards.
	s.start(t, sp, ref)
	s.stop(t, sp, ref)
}

func (s suite) restartAfterStop(t *testing.T) {
	sp := s.h.Setup(t)()
	ref := spawner.Ref{User: "frank", Server: "again"}
	for range 2 {
		s.start(t, sp, ref)
		s.stop(t, sp, ref)
	}
	if st := status(t, sp, ref); st.Phase != spawner.PhaseStopped {
		t.Errorf("Status = %v, want stopped", st.Phase)
	}
}

func (s suite) unusualNames(t *testing.T) {
	sp := s.h.Setup(t)()
	refs := []spawner.Ref{
		{User: "Jörg.Müller@uni.example"},
		{User: "UPPER--case", Server: "My Server"},
		{User: strings.Repeat("long", 60)},
		{User: "9starts-with-digit", Server: "ü"},
	}
	urls := map[string]spawner.Ref{}
	for _, ref := range refs {
		srv := s.start(t, sp, ref)
		if other, dup := urls[srv.URL]; dup {
			t.Fatalf("%s and %s share URL %q", ref, other, srv.URL)
		}
		urls[srv.URL] = ref
	}
	for _, ref := range refs {
		if st := status(t, sp, ref); st.Phase != spawner.PhaseRunning || st.Ref != ref {
			t.Errorf("Status(%s) = %v %v, want running under the raw names", ref, st.Phase, st.Ref)
		}
		s.stop(t, sp, ref)
	}
}

func (s suite) listAndReadopt(t *testing.T) {
	newSpawner := s.h.Setup(t)
	a := newSpawner()
	if _, ok := a.(spawner.Lister); !ok {
		t.Skip("implementation has no List")
	}
	ref := spawner.Ref{User: "grace", Server: "lab"}
	srv := s.start(t, a, ref)

	b := newSpawner()
	var found *spawner.Status
	eventually(t, "a second spawner lists the running server", func() bool {
		all, err := b.(spawner.Lister).List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range all {
			if st.Ref == ref && st.Phase == spawner.PhaseRunning {
				found = &st
				return true
			}
		}
		return false
	})
	if found.Server == nil || found.Server.URL != srv.URL {
		t.Fatalf("re-adopted server = %+v, want URL %q", found.Server, srv.URL)
	}
	if st := status(t, b, ref); st.Phase != spawner.PhaseRunning {
		t.Fatalf("second spawner Status = %v, want running", st.Phase)
	}
	s.stop(t, b, ref)
	eventually(t, "the first spawner sees the server stopped", func() bool {
		return status(t, a, ref).Phase == spawner.PhaseStopped
	})
}

func (s suite) progress(t *testing.T) {
	sp := s.h.Setup(t)()
	pr, ok := sp.(spawner.ProgressReporter)
	if !ok {
		t.Skip("implementation reports no progress")
	}
	ref := spawner.Ref{User: "heidi"}
	s.start(t, sp, ref)
	ch, err := pr.Progress(s.ctx(t), ref)
	if err != nil {
		t.Fatal(err)
	}
	var events []spawner.Event
	for e := range ch {
		events = append(events, e)
	}
	if len(events) == 0 {
		t.Fatal("no progress events")
	}
	last := events[len(events)-1]
	if !last.Ready || last.Progress != 100 {
		t.Errorf("last event = %+v, want ready at 100%%", last)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Progress < events[i-1].Progress {
			t.Errorf("progress went backwards: %d then %d", events[i-1].Progress, events[i].Progress)
		}
	}
	s.stop(t, sp, ref)
}

func (s suite) remove(t *testing.T) {
	sp := s.h.Setup(t)()
	rm, ok := sp.(spawner.Remover)
	if !ok {
		t.Skip("implementation has no Remove")
	}
	ref := spawner.Ref{User: "ivan", Server: "scratch"}
	s.start(t, sp, ref)
	if err := rm.Remove(s.ctx(t), ref); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if st := status(t, sp, ref); st.Phase != spawner.PhaseStopped {
		t.Errorf("Status after Remove = %v, want stopped", st.Phase)
	}
	if err := rm.Remove(s.ctx(t), ref); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}
