package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/hubkit/hubkit/internal/testenv"
)

//go:embed kwok-stages.yaml
var kwokStages []byte

// Names on the simulated cluster.
const (
	// kwokAnnotation marks the nodes kwok manages
	// (--manage-nodes-with-annotation-selector).
	kwokAnnotation = "kwok.x-k8s.io/node"
	// storageClass is the cluster's default class: WaitForFirstConsumer,
	// provisioned by the simulated provisioner (provisioner.go).
	storageClass    = "hubkit-bench"
	provisionerName = "bench.hubkit.local/simulated"
)

// clusterOptions are the simulated cluster's sizes and the paths of its
// binaries.
type clusterOptions struct {
	Scheduler      string // kube-scheduler binary
	Kwok           string // kwok binary
	Nodes          int
	PodsPerNode    int
	SchedulerQPS   float64
	SchedulerBurst int
	Dir            string // kubeconfigs, configuration files and logs
}

// cluster is envtest's kube-apiserver and etcd, kube-scheduler, kwok with
// its fake nodes, and the simulated volume provisioner (this program in
// another process).
type cluster struct {
	kube  *testenv.Kube
	admin kubernetes.Interface // the benchmark's own client, not counted
	procs []*child
}

// child is a process the benchmark started and must stop.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startChild(dir, name string, args ...string) (*child, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Killed with the benchmark if it dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	return c, nil
}

// stop sends SIGTERM, then SIGKILL after 10 s, and waits for the process.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func (c *child) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited: %v (see %s.log)", c.name, c.err, c.name)
	default:
		return nil
	}
}

// startCluster starts everything; on error it stops what it started.
func startCluster(ctx context.Context, o clusterOptions) (c *cluster, err error) {
	c = &cluster{}
	defer func() {
		if err != nil {
			c.stop()
			c = nil
		}
	}()
	c.kube, err = testenv.StartKube()
	if err != nil {
		return c, err
	}
	c.admin = c.kube.Client
	plane := &c.kube.Environment().ControlPlane

	// kube-scheduler runs as itself (the bootstrap RBAC binds
	// system:kube-scheduler to the scheduler's roles); kwok plays every
	// kubelet and needs more than one node's rights.
	schedKC, err := writeKubeconfig(plane, o.Dir, "kube-scheduler", envtest.User{Name: "system:kube-scheduler"})
	if err != nil {
		return c, err
	}
	kwokKC, err := writeKubeconfig(plane, o.Dir, "kwok", envtest.User{Name: "kwok", Groups: []string{"system:masters"}})
	if err != nil {
		return c, err
	}
	provKC, err := writeKubeconfig(plane, o.Dir, "provisioner", envtest.User{Name: "provisioner", Groups: []string{"system:masters"}})
	if err != nil {
		return c, err
	}

	if err := c.createNodesAndClass(ctx, o); err != nil {
		return c, err
	}

	schedCfg := filepath.Join(o.Dir, "kube-scheduler.yaml")
	if err := os.WriteFile(schedCfg, fmt.Appendf(nil, `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %s
  qps: %g
  burst: %d
leaderElection:
  leaderElect: false
`, strconv.Quote(schedKC), o.SchedulerQPS, o.SchedulerBurst), 0o600); err != nil {
		return c, err
	}
	p, err := startChild(o.Dir, "kube-scheduler", o.Scheduler, "--config="+schedCfg, "--secure-port=0", "-v=1")
	if err != nil {
		return c, err
	}
	c.procs = append(c.procs, p)

	stages := filepath.Join(o.Dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, kwokStages, 0o600); err != nil {
		return c, err
	}
	p, err = startChild(o.Dir, "kwok", o.Kwok, "--kubeconfig="+kwokKC, "--config="+stages,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector="+kwokAnnotation+"=fake")
	if err != nil {
		return c, err
	}
	c.procs = append(c.procs, p)

	self, err := os.Executable()
	if err != nil {
		return c, err
	}
	p, err = startChild(o.Dir, "provisioner", self, "-provisioner", "-provisioner-kubeconfig="+provKC)
	if err != nil {
		return c, err
	}
	c.procs = append(c.procs, p)

	return c, c.waitNodesReady(ctx, o.Nodes)
}

// writeKubeconfig adds a user with a client certificate and writes its
// kubeconfig.
func writeKubeconfig(plane *envtest.ControlPlane, dir, name string, u envtest.User) (string, error) {
	au, err := plane.AddUser(u, &rest.Config{})
	if err != nil {
		return "", fmt.Errorf("adding user %s: %w", u.Name, err)
	}
	b, err := au.KubeConfig()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name+".kubeconfig")
	return p, os.WriteFile(p, b, 0o600)
}

// createNodesAndClass creates the fake nodes (kwok's annotation, a pod
// CIDR each so that kwok gives pods addresses from it, the capacity given)
// and the default StorageClass.
func (c *cluster) createNodesAndClass(ctx context.Context, o clusterOptions) error {
	for i := range o.Nodes {
		name := fmt.Sprintf("kwok-node-%02d", i)
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("1000"),
			corev1.ResourceMemory: resource.MustParse("4Ti"),
			corev1.ResourcePods:   *resource.NewQuantity(int64(o.PodsPerNode), resource.DecimalSI),
		}
		n := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{kwokAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
				Labels: map[string]string{
					"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
					"type": "kwok", "hub.jupyter.org/node-purpose": "user",
				},
			},
			Spec:   corev1.NodeSpec{PodCIDR: fmt.Sprintf("10.%d.0.0/16", 64+i), PodCIDRs: []string{fmt.Sprintf("10.%d.0.0/16", 64+i)}},
			Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
		}
		if _, err := c.admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating node %s: %w", name, err)
		}
	}
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	del := corev1.PersistentVolumeReclaimDelete
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: storageClass,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       provisionerName,
		VolumeBindingMode: &wait,
		ReclaimPolicy:     &del,
	}
	if _, err := c.admin.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the storage class: %w", err)
	}
	return nil
}

// waitNodesReady waits until kwok has initialized every fake node.
func (c *cluster) waitNodesReady(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		for _, p := range c.procs {
			if err := p.exited(); err != nil {
				return err
			}
		}
		nodes, err := c.admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		ready := 0
		if err == nil {
			for _, nd := range nodes.Items {
				for _, cond := range nd.Status.Conditions {
					if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
		}
		if ready >= n {
			return c.untaint(ctx, nodes.Items)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kwok made %d of %d nodes ready: %w", ready, n, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// untaint removes the node.kubernetes.io/not-ready taint that the API
// server's TaintNodesByCondition admission puts on new nodes, as
// kube-controller-manager's node lifecycle controller does once a node is
// Ready (there is no controller-manager here).
func (c *cluster) untaint(ctx context.Context, nodes []corev1.Node) error {
	for _, nd := range nodes {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := c.admin.CoreV1().Nodes().Get(ctx, nd.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			taints := slices.DeleteFunc(cur.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady })
			if len(taints) == len(cur.Spec.Taints) {
				return nil
			}
			cur.Spec.Taints = taints
			_, err = c.admin.CoreV1().Nodes().Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("untainting %s: %w", nd.Name, err)
		}
	}
	return nil
}

// healthy reports a component that has exited.
func (c *cluster) healthy() error {
	var errs []error
	for _, p := range c.procs {
		errs = append(errs, p.exited())
	}
	return errors.Join(errs...)
}

// stop stops kwok, the scheduler and the provisioner (so that their
// watches are closed), then kube-apiserver and etcd.
func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	c.procs = nil
	if c.kube != nil {
		if err := c.kube.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "spawnscale: stopping kube-apiserver and etcd:", err)
		}
		c.kube = nil
	}
}

// deletePods removes the pods of a namespace at once (grace period 0, as
// the kubelet's final delete) and waits until they are gone.
func (c *cluster) deletePods(ctx context.Context, ns string) error {
	zero := int64(0)
	if err := c.admin.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for {
		l, err := c.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil && len(l.Items) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pods of %s not gone: %w", ns, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
