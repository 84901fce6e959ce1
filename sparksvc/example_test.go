package sparksvc_test

import (
	"context"
	"fmt"
	"log"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/hubkit/hubkit/sparksvc"
	"github.com/hubkit/hubkit/spawner/kube"
)

// Plugging the driver into the Kubernetes spawner takes one call.
func ExampleDriver_Hooks() {
	var client kubernetes.Interface = fake.NewClientset() // a real clientset in a hub
	driver := sparksvc.New(client, sparksvc.Config{SharedSecrets: []string{"s3-credentials"}})
	if err := driver.Install(context.Background()); err != nil { // once, with cluster rights
		log.Fatal(err)
	}
	cfg := kube.Config{Namespace: "jhub", Options: kube.Options{Image: "quay.io/jupyter/pyspark-notebook:spark-3.5.2"}}
	driver.Hooks(&cfg)
	if _, err := kube.New(client, cfg); err != nil {
		log.Fatal(err)
	}
	fmt.Println("driver service account of alice:", driver.ServiceAccountName("alice"))
	// Output:
	// driver service account of alice: spark-alice
}

func ExampleDriver_Service() {
	d := sparksvc.New(fake.NewClientset(), sparksvc.Config{})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "jupyter-alice", Namespace: "jhub", UID: "1234",
		Labels: map[string]string{kube.LabelUsername: "alice", kube.LabelComponent: kube.ComponentServer}}}
	svc := d.Service(pod)
	fmt.Println(svc.Name, svc.Spec.ClusterIP, d.DriverHost(pod))
	for _, p := range svc.Spec.Ports {
		fmt.Println(p.Name, p.Port)
	}
	// Output:
	// jupyter-alice None jupyter-alice.jhub.svc.cluster.local
	// spark-ui 4040
	// spark-driver 2222
	// spark-block-manager 7777
}
