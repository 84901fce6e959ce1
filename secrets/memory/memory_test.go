package memory_test

import (
	"testing"

	"github.com/hubkit/hubkit/secrets"
	"github.com/hubkit/hubkit/secrets/memory"
	"github.com/hubkit/hubkit/secrets/secretstest"
)

func TestConformance(t *testing.T) {
	secretstest.Run(t, func(t *testing.T) secrets.SecretStore { return memory.New() })
}

func BenchmarkPutGet(b *testing.B) {
	s := memory.New()
	fields := map[string]string{"openai": "sk-0123456789abcdef", "github": "ghp_0123456789abcdef", "url": "postgresql://u:p@h:5432/db"}
	ctx := b.Context()
	for b.Loop() {
		if err := s.Put(ctx, "api-keys", fields); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get(ctx, "api-keys"); err != nil {
			b.Fatal(err)
		}
	}
}
