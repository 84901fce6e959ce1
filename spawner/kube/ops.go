package kube

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hubkit/hubkit/spawner"
)

type assessment struct {
	phase   spawner.Phase
	reason  string
	message string
}

// imagePullReasons are container waiting reasons that mean the image will
// not be pulled without someone changing something.
var imagePullReasons = map[string]bool{
	"ErrImagePull":      true,
	"ImagePullBackOff":  true,
	"InvalidImageName":  true,
	"ErrImageNeverPull": true,
}

// configReasons mean the container cannot be created as specified.
var configReasons = map[string]bool{
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// volumeGrace is how long an unschedulable pod whose claim is missing or
// unbound is waited for before the start fails.
const volumeGrace = 30 * time.Second

// volumeRace reports whether a scheduling failure is about the pod's
// claim ("persistentvolumeclaim \"claim-x\" not found", "pod has
// unbound immediate PersistentVolumeClaims").
func volumeRace(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "persistentvolumeclaim") && (strings.Contains(m, "not found") || strings.Contains(m, "unbound"))
}

func terminated(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
}

// assess classifies a pod. Ready means Running, with a pod IP, every
// container ready, and not terminating. It fails fast on image-pull
// errors, crash loops and unschedulable pods (unless the cluster
// autoscaler announced a scale-up, or WaitForScaleUp is set).
func (s *Spawner) assess(p *corev1.Pod, scaleUp bool) assessment {
	if p.DeletionTimestamp != nil {
		return assessment{phase: spawner.PhaseStopping, message: "pod is terminating"}
	}
	if terminated(p) {
		msg := fmt.Sprintf("pod %s", strings.ToLower(string(p.Status.Phase)))
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil {
				msg += fmt.Sprintf("; container %s exited with code %d (%s) %s", cs.Name, t.ExitCode, t.Reason, t.Message)
			}
		}
		if p.Status.Message != "" {
			msg += ": " + p.Status.Message
		}
		return assessment{phase: spawner.PhaseFailed, reason: "Exited", message: strings.TrimSpace(msg)}
	}
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			wt := cs.State.Waiting
			if wt == nil {
				continue
			}
			switch {
			case imagePullReasons[wt.Reason]:
				return assessment{phase: spawner.PhaseFailed, reason: wt.Reason,
					message: fmt.Sprintf("container %s cannot pull image %s: %s", cs.Name, cs.Image, wt.Message)}
			case wt.Reason == "CrashLoopBackOff":
				msg := fmt.Sprintf("container %s keeps crashing (restarted %d times)", cs.Name, cs.RestartCount)
				if t := cs.LastTerminationState.Terminated; t != nil {
					msg += fmt.Sprintf("; last exit code %d (%s) %s", t.ExitCode, t.Reason, strings.TrimSpace(t.Message))
				}
				return assessment{phase: spawner.PhaseFailed, reason: wt.Reason, message: msg}
			case configReasons[wt.Reason]:
				return assessment{phase: spawner.PhaseFailed, reason: wt.Reason,
					message: fmt.Sprintf("container %s: %s", cs.Name, wt.Message)}
			}
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			if scaleUp || s.cfg.Options.WaitForScaleUp {
				return assessment{phase: spawner.PhasePending, reason: "Unschedulable", message: "waiting for a node: " + c.Message}
			}
			// The scheduler may try the pod before it sees the claim the
			// spawner created a moment earlier, or before the claim is
			// bound; it tries again. Only a claim problem that lasts is
			// final.
			if volumeRace(c.Message) && s.cfg.Now().Sub(c.LastTransitionTime.Time) < volumeGrace {
				return assessment{phase: spawner.PhasePending, reason: "Unschedulable", message: "waiting for the volume: " + c.Message}
			}
			return assessment{phase: spawner.PhaseFailed, reason: "Unschedulable", message: c.Message}
		}
	}
	if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && containersReady(p) {
		return assessment{phase: spawner.PhaseRunning}
	}
	return assessment{phase: spawner.PhasePending, message: "pod is " + strings.ToLower(string(cmpPhase(p.Status.Phase)))}
}

func cmpPhase(ph corev1.PodPhase) corev1.PodPhase {
	if ph == "" {
		return corev1.PodPending
	}
	return ph
}

func containersReady(p *corev1.Pod) bool {
	if len(p.Status.ContainerStatuses) < len(p.Spec.Containers) {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if !cs.Ready {
			return false
		}
	}
	return true
}

// retry runs fn until it succeeds, fails with an error that retrying will
// not fix, or ctx ends. Conflicts, throttling, server timeouts, 5xx and
// connection errors are retried with jittered exponential backoff.
func retry(ctx context.Context, fn func() error) error {
	delay := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || !retriable(err) {
			return err
		}
		d := delay/2 + rand.N(delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		case <-time.After(d):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

func retriable(err error) bool {
	if apierrors.IsConflict(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsUnexpectedServerError(err) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code >= 500
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "connection refused")
}

// translate turns a Kubernetes API error into one of package spawner's.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("kube: %s: %w", what, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: kube: %s: %v", spawner.ErrNotFound, what, err)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return fmt.Errorf("kube: %s: rejected by the API server: %w", what, err)
	default:
		return fmt.Errorf("%w: kube: %s: %v", spawner.ErrUnavailable, what, err)
	}
}

func rejected(ref spawner.Ref, what string, err error) error {
	if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) {
		return &spawner.StartError{Ref: ref, Reason: "Rejected", Message: what + ": " + err.Error(), Err: err}
	}
	return translate(err, what)
}

func (s *Spawner) ensureNamespace(ctx context.Context, ns *corev1.Namespace) error {
	if ns == nil {
		return nil
	}
	s.mu.Lock()
	known := s.knownNS[ns.Name]
	s.mu.Unlock()
	if known {
		return nil
	}
	err := retry(ctx, func() error {
		_, err := s.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
		return err
	})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return translate(err, "creating namespace "+ns.Name)
	}
	s.mu.Lock()
	s.knownNS[ns.Name] = true
	s.mu.Unlock()
	return nil
}

// ensurePVC creates the claim unless it exists. It never changes or deletes
// an existing claim.
func (s *Spawner) ensurePVC(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (string, error) {
	err := retry(ctx, func() error {
		_, err := s.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Create(ctx, pvc, metav1.CreateOptions{})
		return err
	})
	switch {
	case err == nil:
		return "PersistentVolumeClaim " + pvc.Name + " created", nil
	case apierrors.IsAlreadyExists(err):
		return "Using existing PersistentVolumeClaim " + pvc.Name, nil
	}
	return "", translate(err, "creating claim "+pvc.Name)
}

// putSecret creates the token Secret, or replaces the token of a Secret
// left behind by an earlier start.
func (s *Spawner) putSecret(ctx context.Context, sec *corev1.Secret) error {
	c := s.client.CoreV1().Secrets(sec.Namespace)
	err := retry(ctx, func() error {
		_, err := c.Create(ctx, sec, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			_, err = c.Update(ctx, sec, metav1.UpdateOptions{})
		}
		return err
	})
	return translate(err, "writing token secret "+sec.Name)
}

// ownSecret makes the pod the Secret's owner, so that the cluster's
// garbage collector removes the token with the pod even if the hub is gone.
func (s *Spawner) ownSecret(ctx context.Context, sec *corev1.Secret, pod *corev1.Pod) {
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":%q,"uid":%q}]}}`, pod.Name, pod.UID)
	err := retry(ctx, func() error {
		_, err := s.client.CoreV1().Secrets(sec.Namespace).Patch(ctx, sec.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	})
	if err != nil {
		s.log.Warn("could not set the token secret's owner; Stop still deletes it", "secret", sec.Namespace+"/"+sec.Name, "err", err)
	}
}

func (s *Spawner) createPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	var created *corev1.Pod
	retried := false
	err := retry(ctx, func() error {
		var err error
		created, err = s.client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) && retried {
			// An earlier attempt may have been committed with its answer
			// lost: a live pod of the same server is this start's own.
			cur, gerr := s.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			if ref, ok := refOf(pod); gerr == nil && ok && cur.DeletionTimestamp == nil {
				if cref, cok := refOf(cur); cok && cref == ref {
					created, err = cur, nil
				}
			}
		}
		retried = true
		return err
	})
	if err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, err
		}
		ref, _ := refOf(pod)
		return nil, rejected(ref, "creating pod "+pod.Name, err)
	}
	return created, nil
}

func (s *Spawner) deletePod(ctx context.Context, ns, name string, grace int) error {
	opts := metav1.DeleteOptions{}
	if grace >= 0 {
		g := int64(grace)
		opts.GracePeriodSeconds = &g
	}
	err := retry(ctx, func() error { return s.client.CoreV1().Pods(ns).Delete(ctx, name, opts) })
	if err != nil && !apierrors.IsNotFound(err) {
		return translate(err, "deleting pod "+name)
	}
	return nil
}

func (s *Spawner) deleteSecret(ctx context.Context, ns, name string) {
	err := retry(ctx, func() error { return s.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{}) })
	if err != nil && !apierrors.IsNotFound(err) {
		s.log.Warn("could not delete token secret", "secret", ns+"/"+name, "err", err)
	}
}

// deleteServer deletes the pod and its token Secret and, when wait is set,
// blocks until the pod has left the cache. It never touches the claim.
func (s *Spawner) deleteServer(ctx context.Context, ns, name string, grace int, wait bool) error {
	sub := s.w.subscribe(ns, name)
	defer s.w.unsubscribe(ns, name, sub)
	if err := s.deletePod(ctx, ns, name, grace); err != nil {
		return err
	}
	s.deleteSecret(ctx, ns, name+"-token")
	if !wait {
		return nil
	}
	if err := s.w.waitGone(ctx, ns, name, sub); err != nil {
		return fmt.Errorf("kube: waiting for pod %s/%s to terminate: %w", ns, name, err)
	}
	return nil
}
