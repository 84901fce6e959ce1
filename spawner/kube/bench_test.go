package kube_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/testenv"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

// BenchmarkSpawn starts N servers at once on the real API server with a
// simulated kubelet and reports the wall time until all are ready, the
// spawner's API requests per spawn (counted by a wrapping RoundTripper; the
// simulated kubelet's own requests are not counted) and the heap the
// spawner holds with N servers running. See bench/README.md.
func BenchmarkSpawn(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			k := testenv.NeedKube(b, cluster)
			for range b.N {
				benchSpawnOnce(b, k, n)
			}
		})
	}
}

func benchSpawnOnce(b *testing.B, k *testenv.Kube, n int) {
	b.StopTimer()
	ns := k.Namespace(b)
	ctx, cancel := context.WithCancel(context.Background())
	var kwg sync.WaitGroup
	kwg.Go(func() { (&testenv.Kubelet{Client: k.Client, Namespace: ns}).Run(ctx) })
	rec := &testenv.APIRecorder{}
	client, err := rec.Client(k.Config)
	if err != nil {
		b.Fatal(err)
	}
	s, err := kube.New(client, kube.Config{Namespace: ns, Options: kube.Options{StoragePVCEnsure: true, StartTimeout: 600}})
	if err != nil {
		b.Fatal(err)
	}
	var rwg sync.WaitGroup
	rwg.Go(func() { _ = s.Run(ctx) })
	defer func() { cancel(); rwg.Wait(); kwg.Wait() }()
	if err := s.Healthy(); err != nil {
		// wait for sync through a Status call
		if _, err := s.Status(ctx, spawner.Ref{User: "sync"}); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rec.Reset()

	b.StartTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			sctx, scancel := context.WithTimeout(ctx, 10*time.Minute)
			defer scancel()
			if _, err := s.Start(sctx, spawner.Request{Ref: spawner.Ref{User: fmt.Sprintf("user%05d", i)}, APIToken: "t"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	counts := rec.Counts()
	reads := 0
	for k, v := range counts {
		if k[:3] == "GET" {
			reads += v
		}
	}
	b.ReportMetric(elapsed.Seconds(), "s/all-ready")
	b.ReportMetric(float64(rec.Writes())/float64(n), "writes/spawn")
	b.ReportMetric(float64(reads)/float64(n), "reads/spawn")
	b.ReportMetric(float64(counts["GET pods"]), "pod-GETs")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n)/1024, "heap-KiB/server")
	b.Logf("N=%d: all ready in %v; requests: %v", n, elapsed, counts)
}
