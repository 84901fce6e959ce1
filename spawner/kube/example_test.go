package kube_test

import (
	"context"
	"fmt"
	"log"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
)

// Render shows the objects a start would create, without a cluster.
func ExampleSpawner_Render() {
	s, err := kube.New(fake.NewClientset(), kube.Config{
		Namespace: "jhub",
		Options: kube.Options{
			Image:            "quay.io/jupyter/scipy-notebook:2025-01-06",
			CPULimit:         2,
			MemLimit:         4 << 30,
			StoragePVCEnsure: true,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	objs, err := s.Render(spawner.Request{
		Ref:      spawner.Ref{User: "user@email.com", Server: "Some Name"},
		Override: map[string]any{"cpu_limit": 4}, // from a profile
	})
	if err != nil {
		log.Fatal(err)
	}
	c := objs.Pod.Spec.Containers[0]
	fmt.Println("pod:  ", objs.Pod.Name)
	fmt.Println("claim:", objs.PVC.Name)
	fmt.Println("cpu:  ", c.Resources.Limits.Cpu(), "memory:", c.Resources.Limits.Memory())
	fmt.Println("label:", objs.Pod.Labels[kube.LabelUsername])
	// Output:
	// pod:   jupyter-user-email-com---0925f997--some-name---3a8b1764
	// claim: claim-user-email-com---0925f997--some-name---3a8b1764
	// cpu:   4 memory: 4Gi
	// label: user-email-com---0925f997
}

// LegacyClaimNames lists, in lookup order, the claims of an older z2jh
// deployment that a first start mounts when the claim under the configured
// name does not exist.
func ExampleSpawner_LegacyClaimNames() {
	s, err := kube.New(fake.NewClientset(), kube.Config{
		Namespace: "jhub",
		Options:   kube.Options{StoragePVCEnsure: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, ref := range []spawner.Ref{{User: "a.b@example.org"}, {User: "a.b@example.org", Server: "lab"}} {
		req := spawner.Request{Ref: ref}
		objs, err := s.Render(req)
		if err != nil {
			log.Fatal(err)
		}
		legacy, err := s.LegacyClaimNames(req)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(objs.PVC.Name, "else", legacy)
	}
	// Output:
	// claim-a-b-example-org---69b1e95a else [claim-a-2eb-40example-2eorg]
	// claim-a-b-example-org---69b1e95a--lab else [claim-a-2eb-40example-2eorg--lab claim-a-2eb-40example-2eorglab]
}

// A spawner on a real cluster: build it, run its informers, start a server.
func ExampleNew() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		log.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	s, err := kube.New(client, kube.Config{
		Namespace: "jhub",
		Options:   kube.Options{Image: "quay.io/jupyterhub/singleuser:5", StoragePVCEnsure: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = s.Run(ctx) }()

	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	srv, err := s.Start(sctx, spawner.Request{
		Ref:      spawner.Ref{User: "alice"},
		APIToken: "token-the-hub-issued",
		Env:      map[string]string{"JUPYTERHUB_API_URL": "http://hub:8081/hub/api"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("proxy /user/alice/ to", srv.URL)
}
