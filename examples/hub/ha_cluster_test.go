package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hubkit/hubkit/internal/testenv"
)

// TestReplicasCluster runs two hub replicas in cluster mode on one envtest
// API server and one PostgreSQL: 50 users start servers, each start sent
// to both replicas at once, and each gets exactly one pod; then both
// replicas are restarted one after the other under a load of API calls:
// no request fails on the replica that stays up, and every server keeps
// its pod (none lost, none replaced).
func TestReplicasCluster(t *testing.T) {
	k := testenv.NeedKube(t, kubeEnv)
	pg := testenv.StartPostgres(t)
	ns := k.Namespace(t)
	t.Setenv("KUBECONFIG", writeKubeconfig(t, k.Config))
	kubelet := &testenv.Kubelet{Client: k.Client, Namespace: ns}
	kubelet.Start(t)
	dbURL := pg.Database(t)
	dir := t.TempDir()

	reps := []*haReplica{{id: "hub-a", addr: freeAddr(t)}, {id: "hub-b", addr: freeAddr(t)}}
	for _, r := range reps {
		r.log = &syncBuffer{}
		r.values = fmt.Sprintf(`
singleuser:
  storage:
    capacity: 1Gi
  cloudMetadata:
    blockWithIptables: false
  networkPolicy:
    enabled: false
hub:
  db:
    type: postgres
    url: %s
  services:
    tester:
      apiToken: %s
      admin: true
cull:
  enabled: false
hubkit:
  spawner: kube
  listen: %s
  hubAPIURL: http://hubkit-api.example:8081/hub/api
  replica:
    id: %s
    claimTTL: 2
  kube:
    namespace: %s
`, dbURL, testServiceToken, r.addr, r.id, ns)
		startReplica(t, r, dir)
		t.Cleanup(func() { r.kill(syscall.SIGKILL) })
	}
	hubs := []*hubRun{{t: t, url: "http://" + reps[0].addr, log: reps[0].log}, {t: t, url: "http://" + reps[1].addr, log: reps[1].log}}
	logs := func() string { return "--- hub-a:\n" + reps[0].log.String() + "\n--- hub-b:\n" + reps[1].log.String() }

	const users = 50
	name := func(i int) string { return fmt.Sprintf("user%02d", i) }
	var wg sync.WaitGroup
	for i := range users {
		hubs[i%2].api("POST", "/hub/api/users/"+name(i), testServiceToken, nil)
	}
	sem := make(chan struct{}, 10)
	for i := range users {
		for _, h := range hubs {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				req, _ := http.NewRequest("POST", h.url+"/hub/api/users/"+name(i)+"/server", nil)
				req.Header.Set("Authorization", "token "+testServiceToken)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			})
		}
	}
	wg.Wait()
	for i := range users {
		hubs[0].waitFor(name(i)+"'s server", func() bool { return hubs[0].serverReady(name(i)) })
	}
	ctx := context.Background()
	pods, err := k.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != users {
		t.Fatalf("%d pods for %d servers started on both replicas at once (%v)\n%s", len(pods.Items), users, err, logs())
	}
	uids := map[string]string{}
	for _, p := range pods.Items {
		uids[p.Name] = string(p.UID)
	}

	// Rolling restart under load.
	var stop atomic.Bool
	var failures, served atomic.Int64
	var restarting atomic.Int32
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				idx := (i + w) % 2
				if int(restarting.Load()) == idx+1 {
					continue
				}
				req, _ := http.NewRequest("GET", hubs[idx].url+"/hub/api/users/"+name(i%users), nil)
				req.Header.Set("Authorization", "token "+testServiceToken)
				resp, err := http.DefaultClient.Do(req)
				ok := err == nil && resp.StatusCode == 200
				if resp != nil {
					resp.Body.Close()
				}
				switch {
				case ok:
					served.Add(1)
				case int(restarting.Load()) != idx+1:
					failures.Add(1)
				}
			}
		})
	}
	start := time.Now()
	for i, r := range reps {
		restarting.Store(int32(i + 1))
		r.kill(syscall.SIGTERM)
		startReplica(t, r, dir)
		restarting.Store(0)
		time.Sleep(500 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("rolling restart of both replicas with %d running servers: %v, %d requests served, %d failed on a live replica",
		users, time.Since(start).Round(time.Millisecond), served.Load(), failures.Load())
	if failures.Load() != 0 {
		t.Errorf("%d requests failed on the replica that stayed up", failures.Load())
	}
	for i := range users {
		for _, h := range hubs {
			if !h.serverReady(name(i)) {
				t.Errorf("%s's server lost after the rolling restart (replica %s)", name(i), h.url)
			}
		}
	}
	pods, err = k.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != users {
		t.Fatalf("%d pods after the rolling restart (%v)", len(pods.Items), err)
	}
	for _, p := range pods.Items {
		if uids[p.Name] != string(p.UID) {
			t.Errorf("pod %s was replaced during the rolling restart", p.Name)
		}
	}
}
