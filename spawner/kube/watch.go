package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/hubkit/hubkit/spawner"
)

const refIndex = "hubkit-ref"

// watcher owns the spawner's two shared informers: one for its pods (by
// label) and one for pod events. Start and Stop wait on notifications from
// it; nothing polls the API server per pod.
type watcher struct {
	s *Spawner

	mu        sync.Mutex
	started   bool
	runCalled chan struct{} // closed when Run is called
	synced    chan struct{} // closed when the current informers have synced
	stopped   bool
	podInf    cache.SharedIndexInformer
	lastErr   error
	subs      map[string]map[chan struct{}]struct{} // ns/name -> waiters
	scaleUps  map[string]bool
}

func newWatcher(s *Spawner) *watcher {
	return &watcher{s: s, synced: make(chan struct{}), runCalled: make(chan struct{}), subs: map[string]map[chan struct{}]struct{}{}, scaleUps: map[string]bool{}}
}

func (w *watcher) namespace() string {
	if w.s.cfg.EnableUserNamespaces {
		return metav1.NamespaceAll
	}
	return w.s.cfg.Namespace
}

func (w *watcher) selector() string {
	set := labels.Set{
		LabelComponent: w.s.cfg.ComponentLabel,
		LabelManagedBy: ManagedBy,
	}
	if w.s.cfg.Instance != "" {
		set[LabelInstance] = w.s.cfg.Instance
	}
	return labels.SelectorFromSet(set).String()
}

func (w *watcher) run(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("kube: Run called twice")
	}
	w.started = true
	close(w.runCalled)
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
	}()

	backoff := time.Second
	for {
		err := w.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		w.s.log.Error("informers stopped; restarting", "err", err, "backoff", backoff)
		w.mu.Lock()
		w.lastErr = err
		w.synced = make(chan struct{})
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (w *watcher) runOnce(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client, ns, resync := w.s.client, w.namespace(), w.s.cfg.ResyncPeriod

	podInf := informers.NewSharedInformerFactoryWithOptions(client, resync,
		informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = w.selector() }),
	).Core().V1().Pods().Informer()
	evInf := informers.NewSharedInformerFactoryWithOptions(client, resync,
		informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("involvedObject.kind", "Pod").String()
		}),
	).Core().V1().Events().Informer()

	if err := podInf.AddIndexers(cache.Indexers{refIndex: func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		if ref, ok := refOf(p); ok {
			return []string{refKey(ref)}, nil
		}
		return nil, nil
	}}); err != nil {
		return err
	}
	watchErr := func(_ *cache.Reflector, err error) {
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
		w.s.log.Warn("watch failed; client-go re-lists and re-watches with backoff", "err", err)
	}
	_ = podInf.SetWatchErrorHandler(watchErr)
	_ = evInf.SetWatchErrorHandler(watchErr)

	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { w.onPod(obj) },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Pod)
			c, ok2 := cur.(*corev1.Pod)
			if ok1 && ok2 && o.ResourceVersion == c.ResourceVersion {
				return // resync no-op
			}
			w.onPod(cur)
		},
		DeleteFunc: func(obj any) { w.onPod(obj) },
	}); err != nil {
		return err
	}
	if _, err := evInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { w.onEvent(obj) },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Event)
			c, ok2 := cur.(*corev1.Event)
			if ok1 && ok2 && o.ResourceVersion == c.ResourceVersion {
				return
			}
			w.onEvent(cur)
		},
	}); err != nil {
		return err
	}

	podDone, evDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(podDone); podInf.RunWithContext(ctx) }()
	go func() { defer close(evDone); evInf.RunWithContext(ctx) }()
	if !cache.WaitForCacheSync(ctx.Done(), podInf.HasSynced, evInf.HasSynced) {
		cancel()
		<-podDone
		<-evDone
		return errors.New("informers did not sync")
	}
	w.mu.Lock()
	w.podInf = podInf
	w.lastErr = nil
	close(w.synced)
	w.mu.Unlock()
	w.s.log.Info("informers synced", "namespace", ns, "selector", w.selector())

	select {
	case <-ctx.Done():
	case <-podDone:
	case <-evDone:
	}
	cancel()
	<-podDone
	<-evDone
	return errors.New("an informer stopped")
}

func (w *watcher) healthy() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started || w.stopped {
		return fmt.Errorf("%w: Run has not been called or has returned", spawner.ErrNotRunning)
	}
	select {
	case <-w.synced:
		return nil
	default:
		if w.lastErr != nil {
			return fmt.Errorf("%w: informers not synced: %v", spawner.ErrNotRunning, w.lastErr)
		}
		return fmt.Errorf("%w: informers not synced yet", spawner.ErrNotRunning)
	}
}

// runGrace is how long a call waits for Run to be called (it is usually
// started in a goroutine just before the first call).
const runGrace = 5 * time.Second

// waitSynced blocks until the informers have synced. It fails when Run is
// not called within runGrace or has returned, and with ErrUnavailable when
// ctx ends first.
func (w *watcher) waitSynced(ctx context.Context) error {
	select {
	case <-w.runCalled:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(runGrace):
		return fmt.Errorf("%w: call Run before using the spawner", spawner.ErrNotRunning)
	}
	w.mu.Lock()
	stopped, ch := w.stopped, w.synced
	w.mu.Unlock()
	if stopped {
		return fmt.Errorf("%w: Run has returned", spawner.ErrNotRunning)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for the pod informer to sync: %w", spawner.ErrUnavailable, ctx.Err())
	}
}

func (w *watcher) indexer() cache.Indexer {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.podInf == nil {
		return nil
	}
	return w.podInf.GetIndexer()
}

func (w *watcher) pod(ns, name string) *corev1.Pod {
	idx := w.indexer()
	if idx == nil {
		return nil
	}
	obj, ok, err := idx.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	p, _ := obj.(*corev1.Pod)
	return p
}

func (w *watcher) pods() []*corev1.Pod {
	idx := w.indexer()
	if idx == nil {
		return nil
	}
	var out []*corev1.Pod
	for _, obj := range idx.List() {
		if p, ok := obj.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

func (w *watcher) podsByRef(ref spawner.Ref) []*corev1.Pod {
	idx := w.indexer()
	if idx == nil {
		return nil
	}
	objs, err := idx.ByIndex(refIndex, refKey(ref))
	if err != nil {
		return nil
	}
	out := make([]*corev1.Pod, 0, len(objs))
	for _, obj := range objs {
		if p, ok := obj.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

// subscribe returns a channel that receives a signal whenever the pod
// ns/name or its events change.
func (w *watcher) subscribe(ns, name string) chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	key := ns + "/" + name
	if w.subs[key] == nil {
		w.subs[key] = map[chan struct{}]struct{}{}
	}
	w.subs[key][ch] = struct{}{}
	return ch
}

func (w *watcher) unsubscribe(ns, name string, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := ns + "/" + name
	delete(w.subs[key], ch)
	if len(w.subs[key]) == 0 {
		delete(w.subs, key)
	}
}

func (w *watcher) notify(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs[key] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// waitGone blocks until the pod is absent from the cache.
func (w *watcher) waitGone(ctx context.Context, ns, name string, sub chan struct{}) error {
	for w.pod(ns, name) != nil {
		select {
		case <-sub:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (w *watcher) scaleUpSeen(ns, name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.scaleUps[ns+"/"+name]
}

func (w *watcher) onPod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := p.Namespace + "/" + p.Name
	if w.pod(p.Namespace, p.Name) == nil {
		w.mu.Lock()
		delete(w.scaleUps, key)
		w.mu.Unlock()
	}
	// A start running on another replica: finish the progress log here too.
	if ref, ok := refOf(p); ok {
		if l := w.s.existingLog(ref); l != nil && p.DeletionTimestamp == nil {
			if st := w.s.assess(p, false); st.phase == spawner.PhaseRunning {
				srv := w.s.serverOf(p, ref)
				l.Emit(spawner.Event{Time: w.s.cfg.Now(), Progress: 100, Message: "Server ready at " + srv.URL, Ready: true})
			}
		}
	}
	w.notify(key)
}

func (w *watcher) onEvent(obj any) {
	ev, ok := obj.(*corev1.Event)
	if !ok || ev.InvolvedObject.Kind != "Pod" {
		return
	}
	ns, name := ev.InvolvedObject.Namespace, ev.InvolvedObject.Name
	p := w.pod(ns, name)
	if p == nil || (ev.InvolvedObject.UID != "" && ev.InvolvedObject.UID != p.UID) {
		return
	}
	key := ns + "/" + name
	if ev.Reason == "TriggeredScaleUp" {
		w.mu.Lock()
		w.scaleUps[key] = true
		w.mu.Unlock()
	}
	if ref, ok := refOf(p); ok {
		l := w.s.eventLog(ref)
		last := 0
		if evs := l.Events(); len(evs) > 0 {
			last = evs[len(evs)-1].Progress
		}
		l.Emit(spawner.Event{
			Time:     w.s.cfg.Now(),
			Progress: last + (95-last)/4,
			Message:  fmt.Sprintf("[%s] %s: %s", ev.Type, ev.Reason, ev.Message),
		})
	}
	w.notify(key)
}
