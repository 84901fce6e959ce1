package local

import (
	"testing"
	"time"

	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/spawnertest"
)

func TestConformance(t *testing.T) {
	spawnertest.Run(t, spawnertest.Harness{
		Setup: func(t *testing.T) func() spawner.Spawner {
			opts := helperOptions(t, t.TempDir())
			first, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			all := []*Spawner{first}
			t.Cleanup(func() {
				stopAll(t, first)
				for _, sp := range all {
					waitIdle(t, sp)
				}
			})
			n := 0
			return func() spawner.Spawner {
				n++
				if n == 1 {
					return first
				}
				sp, err := New(opts)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, sp)
				return sp
			}
		},
		CheckServer: checkHelper,
		Timeout:     60 * time.Second,
	})
}
