package testenv

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Behaviour is what the simulated kubelet does with a new pod.
type Behaviour int

// Behaviours of the simulated kubelet.
const (
	// Ready binds the pod, gives it an IP and marks every container ready.
	Ready Behaviour = iota
	// Hang leaves the pod pending forever.
	Hang
	// ImagePullFails reports ErrImagePull, then ImagePullBackOff.
	ImagePullFails
	// CrashLoop reports the notebook container in CrashLoopBackOff.
	CrashLoop
	// Unschedulable reports the pod as unschedulable.
	Unschedulable
	// Exits reports the pod Failed with exit code 1.
	Exits
	// SlowReady is Ready, with half a second between the pod's events and
	// its readiness, so that watchers see the events first.
	SlowReady
)

// Kubelet plays the kubelet on an envtest cluster, which has none: it
// writes the status of new pods according to a Behaviour and finishes the
// graceful deletion of pods (a real kubelet confirms it with a delete
// with grace period 0).
type Kubelet struct {
	// Client writes pod status. Required.
	Client kubernetes.Interface
	// Namespace to watch; "" watches all namespaces.
	Namespace string
	// Decide picks the behaviour for a pod. Default: always Ready.
	Decide func(*corev1.Pod) Behaviour
	// Node is the node name pods are bound to. Default "envtest-node".
	Node string

	ip   atomic.Uint32
	mu   sync.Mutex
	done map[string]bool
}

// Run watches pods until ctx ends.
func (k *Kubelet) Run(ctx context.Context) {
	if k.Decide == nil {
		k.Decide = func(*corev1.Pod) Behaviour { return Ready }
	}
	if k.Node == "" {
		k.Node = "envtest-node"
	}
	k.done = map[string]bool{}
	inf := informers.NewSharedInformerFactoryWithOptions(k.Client, 0, informers.WithNamespace(k.Namespace)).Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.handle(ctx, obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { k.handle(ctx, obj.(*corev1.Pod)) },
	})
	inf.RunWithContext(ctx)
}

// Start runs the kubelet in the background until the test ends.
func (k *Kubelet) Start(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func (k *Kubelet) handle(ctx context.Context, p *corev1.Pod) {
	pods := k.Client.CoreV1().Pods(p.Namespace)
	if p.DeletionTimestamp != nil {
		zero := int64(0)
		_ = pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
			Preconditions: &metav1.Preconditions{UID: &p.UID}})
		return
	}
	key := string(p.UID)
	k.mu.Lock()
	seen := k.done[key]
	k.done[key] = true
	k.mu.Unlock()
	if seen {
		return
	}
	go k.act(ctx, p.DeepCopy())
}

func (k *Kubelet) act(ctx context.Context, p *corev1.Pod) {
	b := k.Decide(p)
	pods := k.Client.CoreV1().Pods(p.Namespace)
	now := metav1.NewTime(time.Now())
	if b == Hang {
		return
	}
	if b == Unschedulable {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient memory.", LastTransitionTime: now}}
		_, _ = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return
	}
	k.event(ctx, p, corev1.EventTypeNormal, "Scheduled", "Successfully assigned "+p.Namespace+"/"+p.Name+" to "+k.Node)
	err := pods.Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: k.Node},
	}, metav1.CreateOptions{})
	if err != nil {
		return
	}
	cur, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		return
	}
	n := k.ip.Add(1)
	cur.Status.HostIP = "192.0.2.1"
	cur.Status.PodIP = fmt.Sprintf("10.%d.%d.%d", 64+(n>>16)&63, (n>>8)&255, n&255)
	cur.Status.PodIPs = []corev1.PodIP{{IP: cur.Status.PodIP}}
	cur.Status.StartTime = &now
	scheduled := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now}
	var statuses []corev1.ContainerStatus
	for _, c := range cur.Spec.Containers {
		statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}, Ready: true, Started: ptr(true)})
	}
	image := ""
	if len(cur.Spec.Containers) > 0 {
		image = cur.Spec.Containers[0].Image
	}
	k.event(ctx, cur, corev1.EventTypeNormal, "Pulling", "Pulling image \""+image+"\"")
	switch b {
	case Ready, SlowReady:
		k.event(ctx, cur, corev1.EventTypeNormal, "Pulled", "Successfully pulled image \""+image+"\"")
		k.event(ctx, cur, corev1.EventTypeNormal, "Started", "Started container notebook")
		if b == SlowReady {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
		cur.Status.Phase = corev1.PodRunning
		cur.Status.Conditions = []corev1.PodCondition{scheduled,
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	case ImagePullFails:
		cur.Status.Phase = corev1.PodPending
		cur.Status.Conditions = []corev1.PodCondition{scheduled}
		statuses[0].Ready = false
		statuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull",
			Message: "rpc error: failed to pull image \"" + statuses[0].Image + "\": not found"}}
	case CrashLoop:
		cur.Status.Phase = corev1.PodRunning
		cur.Status.Conditions = []corev1.PodCondition{scheduled}
		statuses[0].Ready = false
		statuses[0].RestartCount = 3
		statuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: "back-off 40s restarting failed container"}}
		statuses[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}
	case Exits:
		cur.Status.Phase = corev1.PodFailed
		statuses[0].Ready = false
		statuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}
	}
	cur.Status.ContainerStatuses = statuses
	_, _ = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
}

// event records a Kubernetes Event for the pod, as the scheduler and the
// kubelet do.
func (k *Kubelet) event(ctx context.Context, p *corev1.Pod, typ, reason, msg string) {
	now := metav1.NewTime(time.Now())
	_, _ = k.Client.CoreV1().Events(p.Namespace).Create(ctx, &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: p.Name + ".", Namespace: p.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID,
			APIVersion: "v1"},
		Reason: reason, Message: msg, Type: typ,
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		Source: corev1.EventSource{Component: "envtest-kubelet", Host: k.Node},
	}, metav1.CreateOptions{})
}

func ptr[T any](v T) *T { return &v }
