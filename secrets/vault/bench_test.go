package vault_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubkit/hubkit/secrets/vault"
)

// Put/get round trips per second against the dev server, on a user's
// token: one op is a Put and a Get of a 3-field secret.
func BenchmarkPutGet(b *testing.B) {
	f := newFixture(b, nil, vault.ProvisionerOptions{})
	s, _ := f.userStore(b, user("bench"))
	fields := map[string]string{"openai": "sk-0123456789abcdef", "github": "ghp_0123456789abcdef", "url": "postgresql://u:p@h:5432/db"}
	ctx := b.Context()
	start := time.Now()
	for b.Loop() {
		if err := s.Put(ctx, "api-keys", fields); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get(ctx, "api-keys"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
}

// The same with 16 concurrent clients (8 per CPU on 2 CPUs), each on a
// secret of its own.
func BenchmarkPutGetParallel(b *testing.B) {
	f := newFixture(b, nil, vault.ProvisionerOptions{})
	s, _ := f.userStore(b, user("benchp"))
	fields := map[string]string{"openai": "sk-0123456789abcdef", "github": "ghp_0123456789abcdef", "url": "postgresql://u:p@h:5432/db"}
	ctx := b.Context()
	var n atomic.Int64
	b.SetParallelism(8)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		name := fmt.Sprintf("k%d", n.Add(1))
		for pb.Next() {
			if err := s.Put(ctx, name, fields); err != nil {
				b.Error(err)
				return
			}
			if _, err := s.Get(ctx, name); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
}

// countingProvisioner returns a Provisioner on the fixture's hub token
// whose requests are counted.
func countingProvisioner(b *testing.B, f *fixture) (*vault.Provisioner, *countingTransport) {
	ct := &countingTransport{next: &http.Transport{MaxIdleConnsPerHost: 16}}
	c, err := vault.NewClient(vault.ClientOptions{Address: f.v.Addr, Token: f.hub.Token(), MaxRetries: -1, HTTPClient: &http.Client{Transport: ct}})
	if err != nil {
		b.Fatal(err)
	}
	p, err := vault.NewProvisioner(c, vault.ProvisionerOptions{TokenRole: f.tokenRole})
	if err != nil {
		b.Fatal(err)
	}
	return p, ct
}

// Provisioning time per user at a first spawn: the user's policy, the
// token record, the token, with the hub's own token.
func BenchmarkProvision(b *testing.B) {
	f := newFixture(b, nil, vault.ProvisionerOptions{})
	p, ct := countingProvisioner(b, f)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		if _, err := p.Provision(ctx, fmt.Sprintf("bench-user-%d-%s", i, user("")), ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ct.n.Load())/float64(b.N), "requests/user")
}

// Provisioning time at a respawn: as above plus revoking the server's
// earlier token (RevokeOnSpawn).
func BenchmarkProvisionRespawn(b *testing.B) {
	f := newFixture(b, nil, vault.ProvisionerOptions{})
	p, ct := countingProvisioner(b, f)
	ctx := b.Context()
	u := user("respawn")
	for b.Loop() {
		if _, err := p.Provision(ctx, u, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ct.n.Load())/float64(b.N), "requests/spawn")
}
