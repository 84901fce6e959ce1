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
//
// Config.SlugScheme "escape" names everything as KubeSpawner < 7 did: each
// character outside [a-z0-9] of a name becomes, byte by byte of its UTF-8
// encoding, '-' and the byte in lower-case hex ("@" -> "-40", "ö" ->
// "-c3-b6"), so a.b@example.org's server "lab" runs in pod
// jupyter-a-2eb-40example-2eorg--lab with claim
// claim-a-2eb-40example-2eorg--lab, per-user namespaces are
// {hubnamespace}-a-2eb-40example-2eorg, and the username and servername
// labels are the escaped names. Where an escaped name is no valid label
// value (it starts with an escape, as "Alex" -> "-41lex", so KubeSpawner < 7
// could not create the pod at all) the label is the safe one.
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
// claim is used as is, see "Moving from z2jh" for which one), a Secret
// holding the server's API token, and the pod, whose JUPYTERHUB_API_TOKEN
// comes from that Secret by valueFrom; then it makes the pod own the
// Secret. That is at most four API writes per spawn.
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
// # Moving from z2jh
//
// A hub that takes over from z2jh must mount every user's existing claim,
// although KubeSpawner 7 (z2jh 4) changed how claims are named. As
// KubeSpawner does with remember_pvc_name, Start returns the claim it used
// in Server.State["pvc_name"] (with the namespace in State["namespace"]);
// when the next Request.State carries it, that claim is used whatever the
// templates say, and created if it is missing. A hub that persists State
// therefore decides each server's claim once.
//
// On a start without a remembered claim (the first start under hubkit,
// with storage_pvc_ensure set), Start reads the claim under the configured
// name in the server's namespace, and those a KubeSpawner < 7 deployment
// would have made, in this order (see [Spawner.LegacyClaimNames]):
//
//  1. the configured pvc_name_template with the escape scheme, which is
//     KubeSpawner 7's own legacy lookup: claim-{escaped username} for the
//     default server, claim-{escaped username}--{escaped servername} for a
//     named one (KubeSpawner 6's default);
//  2. z2jh < 4's claim-{username}{servername} with the escape scheme:
//     claim-{escaped username} for the default server,
//     claim-{escaped username}{escaped servername} for a named one.
//
// Names equal to the configured one or to an earlier entry are skipped. A
// candidate whose hub.jupyter.org/username annotation names another user is
// not used; the named-server name of (2) is also the default-server name of
// another user (alice's "lab" and user alicelab both give claim-alicelab),
// so it is used only if its annotations name this very user and server, as
// KubeSpawner < 7 wrote them.
//
// If the claim under the configured name exists, it is used, as in
// KubeSpawner (with a warning naming any legacy claims found too).
// Otherwise the first legacy claim found, in the order above, is mounted
// and no claim is created; if there are several, a warning names them all.
// If there is none, the claim is created under the configured name. Either
// way its name goes into Server.State, so the lookup happens once per
// server.
//
// The lookup reads claims with get, so the hub's Role needs get on
// persistentvolumeclaims; a refused read fails the start rather than
// giving the user an empty claim next to their files. Nothing here ever
// changes or deletes a claim. Remove deletes only the claim under the
// configured name, so a server that uses a legacy claim keeps it.
//
// Claims are only looked for in the server's namespace. With per-user
// namespaces, whose names also follow the slug scheme, keep SlugScheme
// "escape" or set UserNamespaceTemplate to
// "{hubnamespace}-{escaped_username}", so the namespaces stay where the
// claims are. Volumes that should hold the server's claim must name it
// "{pvc_name}" (as z2jh 4 does), not a template of their own.
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
