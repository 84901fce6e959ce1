// Package kube runs single-user servers as Kubernetes pods, the way
// KubeSpawner 7 does, so that a platform moving from z2jh finds its users'
// pods, claims and labels where it expects them.
//
// # Names
//
// Objects are named with KubeSpawner's "safe" slug scheme: the pod of
// user@email.com's server "Some Name" is
// jupyter-user-email-com---0925f997--some-name---3a8b1764 and its claim
// claim-user-email-com---0925f997--some-name---3a8b1764. Labels carry the
// hub.jupyter.org/username and hub.jupyter.org/servername slugs, and
// annotations the raw names, from which the spawner reads a server's Ref.
// The legacy "escape" scheme is available through Config.SlugScheme.
//
// # Options
//
// [Options] is a z2jh singleuser block in KubeSpawner's trait names
// (image, cpu_limit, mem_guarantee, environment, volumes, storage_*,
// node_selector, tolerations, uid, fs_gid, init_containers,
// lifecycle_hooks, extra_labels, start_timeout, ...). A profile's
// kubespawner_override arrives as spawner.Request.Override and merges into
// them with [Options.Apply]: maps merge recursively, nil deletes a key, an
// unknown key is an error naming it.
//
// # Starting and waiting
//
// Start creates, in order, the user's namespace (with per-user namespaces),
// the PersistentVolumeClaim (when storage_pvc_ensure is set; an existing
// claim is used as is), a Secret holding the server's API token, and the
// pod, whose JUPYTERHUB_API_TOKEN comes from that Secret by valueFrom; then
// it makes the pod own the Secret. That is four API writes per spawn.
// Readiness comes from one shared pod informer and one event informer for
// the whole hub — never a poll per pod: a server is ready when its pod is
// Running with an IP, every container ready and no deletion pending. The
// start fails fast, cleaning up the pod, on image-pull errors,
// CrashLoopBackOff, container configuration errors, an exited pod, and an
// unschedulable pod (unless the cluster autoscaler announced a scale-up,
// or Options.WaitForScaleUp is set), and on the start timeout. Transient
// API errors (conflicts, throttling, 5xx, connection errors) are retried
// with backoff within the start timeout.
//
// # Stopping and storage
//
// Stop deletes the pod with the configured grace period and the token
// Secret, and waits until the pod is gone. It never deletes the claim;
// only Remove does.
//
// # Hooks
//
// Config.ModifyPod changes the rendered pod before it is created;
// Config.AfterPodCreated runs after (package sparksvc uses it to create the
// Spark driver Service); a failing AfterPodCreated deletes the pod.
//
// # Running
//
// Call Run (usually in a goroutine) before using the spawner; it runs the
// informers until its context ends. Healthy reports whether they are
// synced, for a readiness probe.
package kube
