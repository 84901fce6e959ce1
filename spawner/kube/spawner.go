package kube

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hubkit/hubkit/internal/slug"
	"github.com/hubkit/hubkit/spawner"
)

var (
	_ spawner.Spawner          = (*Spawner)(nil)
	_ spawner.Lister           = (*Spawner)(nil)
	_ spawner.Remover          = (*Spawner)(nil)
	_ spawner.ProgressReporter = (*Spawner)(nil)
)

// Config configures a Spawner. The zero value works (with the defaults
// written on each field); Options holds the per-user pod settings that
// profiles may override.
type Config struct {
	// Namespace the servers run in. Default: the namespace of the hub's
	// service account when running in a cluster, else "default".
	Namespace string
	// EnableUserNamespaces runs each user's servers in a namespace of their
	// own, named by UserNamespaceTemplate, created on first start. The
	// spawner then watches pods in all namespaces, which needs
	// cluster-wide list/watch rights.
	EnableUserNamespaces bool
	// UserNamespaceTemplate names per-user namespaces. Default
	// "{hubnamespace}-{username}".
	UserNamespaceTemplate string
	// SlugScheme is "safe" (default, KubeSpawner 7) or "escape" (the legacy
	// scheme of KubeSpawner < 7, for installations that must keep old
	// object names): it names pods, claims, per-user namespaces and the
	// username and servername labels with escaped names (see the package
	// documentation). Whatever the scheme, a first start finds a claim
	// that KubeSpawner < 7 created under its legacy name.
	SlugScheme string
	// ComponentLabel is the value of the component label on pods, and what
	// the spawner's informer selects on. Default "singleuser-server".
	ComponentLabel string
	// Instance names this hub when several share a namespace or, with
	// per-user namespaces, a cluster: it is set as the
	// app.kubernetes.io/instance label on every object and added to the
	// informer's selector, so each hub lists only its own servers. Default
	// none: the spawner manages every hubkit server pod it can see.
	Instance string

	// Options are the pod settings for every user (a z2jh singleuser block
	// in KubeSpawner's trait names); a Request's Override merges into them.
	Options Options

	// ModifyPod is called with the rendered pod before it is created and
	// may change it. With per-user namespaces the user's namespace exists
	// by then; otherwise nothing has been created yet. An error fails the
	// start before the volume, the Secret and the pod are created.
	ModifyPod func(ctx context.Context, req spawner.Request, pod *corev1.Pod) error
	// AfterPodCreated is called with the created pod (for example to create
	// a Service owned by it). An error deletes the pod and fails the start.
	AfterPodCreated func(ctx context.Context, req spawner.Request, pod *corev1.Pod) error

	// Logger receives the spawner's logs. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// ResyncPeriod of the informers. Default 0 (no periodic resync: the
	// watch delivers every change).
	ResyncPeriod time.Duration

	scheme slug.Scheme
}

func (c Config) withDefaults() (Config, error) {
	if c.Namespace == "" {
		c.Namespace = inClusterNamespace()
	}
	if c.UserNamespaceTemplate == "" {
		c.UserNamespaceTemplate = "{hubnamespace}-{username}"
	}
	scheme, err := slug.ParseScheme(cmp.Or(c.SlugScheme, "safe"))
	if err != nil {
		return c, fmt.Errorf("kube: %w", err)
	}
	c.scheme = scheme
	if c.ComponentLabel == "" {
		c.ComponentLabel = ComponentServer
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

func inClusterNamespace() string {
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if ns := strings.TrimSpace(string(b)); err == nil && ns != "" {
		return ns
	}
	return "default"
}

// Spawner runs single-user servers as Kubernetes pods. Create it with New
// and call Run; it is safe for concurrent use.
type Spawner struct {
	client kubernetes.Interface
	cfg    Config
	log    *slog.Logger

	w *watcher

	mu      sync.Mutex
	flights map[string]*flight
	logs    map[spawner.Ref]*spawner.EventLog
	knownNS map[string]bool
}

type flight struct {
	done    chan struct{}
	cancel  context.CancelFunc
	waiters int
	srv     spawner.Server
	err     error
}

// New returns a Spawner that uses client. It validates cfg (including the
// templates, by rendering a sample pod) and does no I/O; call Run to start
// its informers.
func New(client kubernetes.Interface, cfg Config) (*Spawner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Spawner{
		client:  client,
		cfg:     cfg,
		log:     cfg.Logger,
		flights: map[string]*flight{},
		logs:    map[spawner.Ref]*spawner.EventLog{},
		knownNS: map[string]bool{},
	}
	s.w = newWatcher(s)
	if _, err := s.Render(spawner.Request{Ref: spawner.Ref{User: "sample", Server: "sample"}}); err != nil {
		return nil, fmt.Errorf("kube: configuration: %w", err)
	}
	return s, nil
}

// Run runs the shared pod and event informers until ctx ends, restarting
// them if they ever stop while ctx is alive. Start, Stop, Status and List
// need it running. It returns nil when ctx ends, and an error if it is
// called twice.
func (s *Spawner) Run(ctx context.Context) error { return s.w.run(ctx) }

// Healthy reports whether the informers are running and synced, for a
// readiness probe. It returns ErrNotRunning (wrapped) otherwise.
func (s *Spawner) Healthy() error { return s.w.healthy() }

// Start implements spawner.Spawner.
func (s *Spawner) Start(ctx context.Context, req spawner.Request) (spawner.Server, error) {
	if err := ctx.Err(); err != nil {
		return spawner.Server{}, err
	}
	objs, err := s.Render(req)
	if err != nil {
		return spawner.Server{}, err
	}
	if err := s.w.waitSynced(ctx); err != nil {
		return spawner.Server{}, err
	}
	key := objs.Pod.Namespace + "/" + objs.Pod.Name
	s.mu.Lock()
	f := s.flights[key]
	if f == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		s.flights[key] = f
		go func() {
			defer cancel()
			srv, err := s.start(fctx, req, objs)
			s.mu.Lock()
			f.srv, f.err = srv, err
			delete(s.flights, key)
			s.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	s.mu.Unlock()

	select {
	case <-f.done:
		return f.srv, f.err
	case <-ctx.Done():
		s.mu.Lock()
		f.waiters--
		last := f.waiters == 0
		s.mu.Unlock()
		if last {
			f.cancel()
			<-f.done
			if f.err == nil {
				// The start won the race with the cancellation: undo it.
				cctx, cancel := cleanupContext()
				defer cancel()
				_ = s.Stop(cctx, req.Ref)
			}
		}
		return spawner.Server{}, ctx.Err()
	}
}

var errStartTimeout = errors.New("start timeout")

func cleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

func (s *Spawner) start(ctx context.Context, req spawner.Request, objs *Objects) (spawner.Server, error) {
	pod := objs.Pod
	ns, name := pod.Namespace, pod.Name
	elog := s.eventLog(req.Ref)
	elog.Reset()
	emit := func(p int, msg string) { elog.Emit(spawner.Event{Time: s.cfg.Now(), Progress: p, Message: msg}) }
	emit(0, "Server requested")

	ctx, cancel := context.WithTimeoutCause(ctx, time.Duration(objs.Options.StartTimeout)*time.Second, errStartTimeout)
	defer cancel()
	sub := s.w.subscribe(ns, name)
	defer s.w.unsubscribe(ns, name, sub)

	fail := func(se *spawner.StartError) (spawner.Server, error) {
		se.Ref = req.Ref
		cctx, ccancel := cleanupContext()
		defer ccancel()
		s.deleteServer(cctx, ns, name, 0, true)
		elog.Emit(spawner.Event{Time: s.cfg.Now(), Progress: 100, Message: se.Error(), Failed: true})
		se.Events = elog.Events()
		s.log.Warn("start failed", "server", req.Ref.String(), "pod", ns+"/"+name, "reason", se.Reason, "message", se.Message)
		return spawner.Server{}, se
	}
	ctxErr := func() (spawner.Server, error) {
		if errors.Is(context.Cause(ctx), errStartTimeout) {
			return fail(&spawner.StartError{Reason: "Timeout", Err: spawner.ErrTimeout,
				Message: fmt.Sprintf("pod %s/%s was not ready within %ds", ns, name, objs.Options.StartTimeout)})
		}
		cctx, ccancel := cleanupContext()
		defer ccancel()
		s.deleteServer(cctx, ns, name, 0, true)
		elog.Emit(spawner.Event{Time: s.cfg.Now(), Progress: 100, Message: "Start cancelled", Failed: true})
		return spawner.Server{}, ctx.Err()
	}

	// A pod of the same name may exist: a server already running or
	// starting (adopt it), or one that is on its way out (wait for it).
	adopted := false
	if cur := s.w.pod(ns, name); cur != nil {
		if ref, ok := refOf(cur); !ok || ref != req.Ref {
			return spawner.Server{}, &spawner.StartError{Ref: req.Ref, Reason: "NameConflict",
				Message: fmt.Sprintf("pod %s/%s exists and does not belong to this server", ns, name)}
		}
		if cur.DeletionTimestamp != nil || terminated(cur) {
			emit(5, "Waiting for the previous pod to terminate")
			if cur.DeletionTimestamp == nil {
				if err := s.deletePod(ctx, ns, name, 0); err != nil {
					return spawner.Server{}, err
				}
			}
			if err := s.w.waitGone(ctx, ns, name, sub); err != nil {
				return ctxErr()
			}
		} else {
			adopted = true
			emit(10, "Found an existing pod "+name+"; waiting for it")
		}
	}

	var created *corev1.Pod
	if !adopted {
		// The user's namespace exists before the hook runs: hooks (sparksvc)
		// create objects in it.
		if err := s.ensureNamespace(ctx, objs.Namespace); err != nil {
			return spawner.Server{}, err
		}
		// Without a remembered claim, find the one this server already has,
		// possibly under a legacy name, before the hook sees the pod.
		claimMsg := ""
		if objs.PVC != nil && rememberedPVC(req.State, ns) == "" {
			claim, exists, err := s.resolveClaim(ctx, req, objs)
			if err != nil {
				if ctx.Err() != nil {
					return ctxErr()
				}
				return spawner.Server{}, err
			}
			if exists {
				claimMsg = "Using existing PersistentVolumeClaim " + claim
			}
			if claim != objs.PVC.Name {
				claimMsg += " (legacy name; " + objs.PVC.Name + " does not exist)"
				req = withClaim(req, ns, claim)
				if objs, err = s.Render(req); err != nil {
					return spawner.Server{}, err
				}
				pod = objs.Pod
			}
		}
		if s.cfg.ModifyPod != nil {
			if err := s.cfg.ModifyPod(ctx, req, pod); err != nil {
				return spawner.Server{}, &spawner.StartError{Ref: req.Ref, Reason: "HookFailed",
					Message: "ModifyPod: " + err.Error(), Err: err}
			}
		}
		switch {
		case objs.PVC == nil:
		case claimMsg != "":
			emit(10, claimMsg)
		default:
			msg, err := s.ensurePVC(ctx, objs.PVC)
			if err != nil {
				return spawner.Server{}, err
			}
			emit(10, msg)
		}
		if err := s.putSecret(ctx, objs.Secret); err != nil {
			return spawner.Server{}, err
		}
		var err error
		created, err = s.createPod(ctx, pod)
		switch {
		case apierrors.IsAlreadyExists(err):
			emit(20, "Pod "+name+" was created concurrently; waiting for it")
		case err != nil:
			cctx, ccancel := cleanupContext()
			defer ccancel()
			s.deleteSecret(cctx, ns, objs.Secret.Name)
			if ctx.Err() != nil {
				return ctxErr()
			}
			return spawner.Server{}, err
		default:
			emit(20, "Pod "+name+" created")
			s.ownSecret(ctx, objs.Secret, created)
			if s.cfg.AfterPodCreated != nil {
				if err := s.cfg.AfterPodCreated(ctx, req, created.DeepCopy()); err != nil {
					return fail(&spawner.StartError{Reason: "HookFailed", Message: "AfterPodCreated: " + err.Error(), Err: err})
				}
			}
		}
	}

	seen := false
	for {
		cur := s.w.pod(ns, name)
		switch {
		case cur != nil:
			seen = true
		case !seen && created != nil:
			cur = created // the informer has not delivered our pod yet
		case !seen:
			// adopted or concurrently created: wait for the informer
		default:
			return fail(&spawner.StartError{Reason: "Deleted", Message: "pod " + ns + "/" + name + " was deleted during start"})
		}
		if cur != nil {
			st := s.assess(cur, s.w.scaleUpSeen(ns, name))
			switch st.phase {
			case spawner.PhaseRunning:
				srv := s.serverOf(cur, req.Ref)
				if objs.PVC != nil && !adopted {
					// The claim this start ensured, which the hub remembers
					// (the pod may mount other claims before it).
					srv.State[StatePVC] = objs.PVC.Name
				}
				elog.Emit(spawner.Event{Time: s.cfg.Now(), Progress: 100, Message: "Server ready at " + srv.URL, Ready: true})
				s.log.Info("server ready", "server", req.Ref.String(), "pod", ns+"/"+name, "url", srv.URL)
				return srv, nil
			case spawner.PhaseFailed:
				return fail(&spawner.StartError{Reason: st.reason, Message: st.message})
			case spawner.PhaseStopping:
				return fail(&spawner.StartError{Reason: "Deleted", Message: "pod " + ns + "/" + name + " is being deleted"})
			}
		}
		select {
		case <-sub:
		case <-ctx.Done():
			return ctxErr()
		}
	}
}

// Stop implements spawner.Spawner. It cancels a start in progress, deletes
// the pod with the configured grace period and the token Secret, and waits
// until the pod is gone. The user's PersistentVolumeClaim is never touched.
func (s *Spawner) Stop(ctx context.Context, ref spawner.Ref) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	if err := s.w.waitSynced(ctx); err != nil {
		return err
	}
	targets := s.podsOf(ref)
	if len(targets) == 0 {
		// Not in the cache (yet): fall back to the name the configuration gives.
		objs, err := s.Render(spawner.Request{Ref: ref})
		if err != nil {
			return err
		}
		targets = []*corev1.Pod{objs.Pod}
	}
	for _, p := range targets {
		key := p.Namespace + "/" + p.Name
		s.mu.Lock()
		f := s.flights[key]
		s.mu.Unlock()
		if f != nil {
			f.cancel()
			select {
			case <-f.done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		grace := s.cfg.Options.withDefaults().DeleteGracePeriod
		if err := s.deleteServer(ctx, p.Namespace, p.Name, grace, true); err != nil {
			return err
		}
	}
	s.mu.Lock()
	delete(s.logs, ref)
	s.mu.Unlock()
	return nil
}

// Remove implements spawner.Remover: Stop, then delete the server's
// PersistentVolumeClaim. This deletes the user's files.
func (s *Spawner) Remove(ctx context.Context, ref spawner.Ref) error {
	if err := s.Stop(ctx, ref); err != nil {
		return err
	}
	objs, err := s.Render(spawner.Request{Ref: ref})
	if err != nil {
		return err
	}
	name := pvcNameOf(s, ref)
	err = s.client.CoreV1().PersistentVolumeClaims(objs.Pod.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return translate(err, "deleting claim "+name)
	}
	s.log.Info("server removed with its storage", "server", ref.String(), "pvc", name)
	return nil
}

func pvcNameOf(s *Spawner, ref spawner.Ref) string {
	o := s.cfg.Options
	o.StoragePVCEnsure = true
	r := renderer{cfg: &s.cfg, req: spawner.Request{Ref: ref}, opts: o.withDefaults(), names: slug.For(ref.User, ref.Server, s.cfg.scheme)}
	objs, err := r.render()
	if err != nil || objs.PVC == nil {
		return ""
	}
	return objs.PVC.Name
}

// Status implements spawner.Spawner from the informer cache.
func (s *Spawner) Status(ctx context.Context, ref spawner.Ref) (spawner.Status, error) {
	if err := ref.Validate(); err != nil {
		return spawner.Status{}, err
	}
	if err := s.w.waitSynced(ctx); err != nil {
		return spawner.Status{}, err
	}
	pods := s.podsOf(ref)
	if len(pods) == 0 {
		return spawner.Status{Ref: ref, Phase: spawner.PhaseStopped}, nil
	}
	return s.statusOf(pods[0], ref), nil
}

// List implements spawner.Lister from the informer cache.
func (s *Spawner) List(ctx context.Context) ([]spawner.Status, error) {
	if err := s.w.waitSynced(ctx); err != nil {
		return nil, err
	}
	var out []spawner.Status
	for _, p := range s.w.pods() {
		ref, ok := refOf(p)
		if !ok {
			continue
		}
		out = append(out, s.statusOf(p, ref))
	}
	return out, nil
}

// Progress implements spawner.ProgressReporter. Events come from this
// spawner's own steps and from the Kubernetes events of the pod, so a hub
// replica that did not start the server still sees its progress.
func (s *Spawner) Progress(ctx context.Context, ref spawner.Ref) (<-chan spawner.Event, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	l := s.eventLog(ref)
	if len(l.Events()) == 0 {
		if st, err := s.Status(ctx, ref); err == nil && st.Phase == spawner.PhaseRunning {
			l.Emit(spawner.Event{Time: s.cfg.Now(), Progress: 100, Message: "Server ready at " + st.Server.URL, Ready: true})
		}
	}
	return l.Subscribe(ctx), nil
}

func (s *Spawner) eventLog(ref spawner.Ref) *spawner.EventLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logs[ref]
	if l == nil {
		l = &spawner.EventLog{}
		s.logs[ref] = l
	}
	return l
}

func (s *Spawner) existingLog(ref spawner.Ref) *spawner.EventLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs[ref]
}

func (s *Spawner) podsOf(ref spawner.Ref) []*corev1.Pod { return s.w.podsByRef(ref) }

// refOf reads the raw names from a pod's annotations.
func refOf(p *corev1.Pod) (spawner.Ref, bool) {
	u, ok := p.Annotations[AnnotationUsername]
	if !ok || u == "" {
		return spawner.Ref{}, false
	}
	return spawner.Ref{User: u, Server: p.Annotations[AnnotationServername]}, true
}

func refKey(ref spawner.Ref) string { return ref.User + "\x00" + ref.Server }

func (s *Spawner) serverOf(p *corev1.Pod, ref spawner.Ref) spawner.Server {
	port := DefaultPort
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == "notebook-port" {
				port = int(cp.ContainerPort)
			}
		}
	}
	started := p.CreationTimestamp.Time
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && !c.LastTransitionTime.IsZero() {
			started = c.LastTransitionTime.Time
		}
	}
	state := map[string]string{StateNamespace: p.Namespace, StatePod: p.Name}
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			state[StatePVC] = v.PersistentVolumeClaim.ClaimName
			break
		}
	}
	return spawner.Server{
		Ref:     ref,
		URL:     "http://" + net.JoinHostPort(p.Status.PodIP, strconv.Itoa(port)),
		Started: started,
		State:   state,
	}
}

func (s *Spawner) statusOf(p *corev1.Pod, ref spawner.Ref) spawner.Status {
	st := s.assess(p, s.w.scaleUpSeen(p.Namespace, p.Name))
	out := spawner.Status{Ref: ref, Phase: st.phase, Message: st.message}
	if st.phase == spawner.PhaseRunning {
		srv := s.serverOf(p, ref)
		out.Server = &srv
	}
	return out
}
