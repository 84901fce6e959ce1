package authenticator_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hubkit/hubkit/authenticator"
)

// benchIdentity is a typical Keycloak user: a few groups and roles.
var benchIdentity = authenticator.Identity{
	Username: "alice.analyst", Email: "alice.analyst@example.com",
	Groups: []string{"jupyter-users", "data-platform", "trino-readers", "mlflow-users"},
	Roles:  []string{"akko-analyst", "jupyterhub:user", "trino:reader"},
}

// BenchmarkSessionVerify measures what every request to a protected page
// costs: opening and checking the session cookie (AES-256-GCM + JSON).
func BenchmarkSessionVerify(b *testing.B) {
	s := newSessions(b, authenticator.SessionOptions{Keys: mustKeyring(b, authenticator.NewKey(), authenticator.NewKey())})
	v := create(b, s, benchIdentity, false).Value
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkSessionVerifyParallel is the same on every core.
func BenchmarkSessionVerifyParallel(b *testing.B) {
	s := newSessions(b, authenticator.SessionOptions{Keys: mustKeyring(b, authenticator.NewKey())})
	v := create(b, s, benchIdentity, false).Value
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Verify(v); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkSessionCreate: sealing a new session (cookie + auth state).
func BenchmarkSessionCreate(b *testing.B) {
	s := newSessions(b, authenticator.SessionOptions{Keys: mustKeyring(b, authenticator.NewKey())})
	id := benchIdentity
	id.AuthState = &authenticator.AuthState{AccessToken: string(make([]byte, 1200)), RefreshToken: string(make([]byte, 800)), IDToken: string(make([]byte, 1400))}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Create(b.Context(), httptest.NewRecorder(), req, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGateProtect: a whole protected request through the Gate with a
// valid session (cookie parse, verify, context, handler).
func BenchmarkGateProtect(b *testing.B) {
	s := newSessions(b, authenticator.SessionOptions{Keys: mustKeyring(b, authenticator.NewKey())})
	c := create(b, s, benchIdentity, false)
	g, err := authenticator.NewGate(aliceAuth{}, authenticator.GateOptions{Sessions: s})
	if err != nil {
		b.Fatal(err)
	}
	h := g.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	req := httptest.NewRequest(http.MethodGet, "/reports", nil)
	req.AddCookie(c)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
