package hubconfig

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/hubkit/hubkit/profiles"
	"github.com/hubkit/hubkit/spawner"
	"github.com/hubkit/hubkit/spawner/kube"
	"github.com/hubkit/hubkit/spawner/local"
)

// shape is the type a z2jh value must have.
type shape uint8

const (
	shString shape = iota
	shInt
	shBool
	shStrMap
	shList
	shMap
	shQuantity   // a number or a string ("1G", "0.5")
	shCommand    // a string or a list of strings
	shResources  // a mapping of resource names to quantities
	shPullPolicy // "", IfNotPresent, Always or Never
)

// singleuserTraits are the singleuser keys that z2jh's
// jupyterhub_config.py passes to a KubeSpawner trait unchanged (when not
// null). The rest of the block (image, pull secrets, tolerations, node
// affinity, storage, extraEnv) is assembled by readKube as z2jh does.
var singleuserTraits = []struct {
	key, trait string
	shape      shape
}{
	{"singleuser.podNameTemplate", "pod_name_template", shString},
	{"singleuser.startTimeout", "start_timeout", shInt},
	{"singleuser.image.pullPolicy", "image_pull_policy", shPullPolicy},
	{"singleuser.extraLabels", "extra_labels", shStrMap},
	{"singleuser.extraAnnotations", "extra_annotations", shStrMap},
	{"singleuser.allowPrivilegeEscalation", "allow_privilege_escalation", shBool},
	{"singleuser.uid", "uid", shInt},
	{"singleuser.fsGid", "fs_gid", shInt},
	{"singleuser.serviceAccountName", "service_account", shString},
	{"singleuser.storage.extraLabels", "storage_extra_labels", shStrMap},
	{"singleuser.nodeSelector", "node_selector", shStrMap},
	{"singleuser.extraPodAffinity.required", "pod_affinity_required", shList},
	{"singleuser.extraPodAffinity.preferred", "pod_affinity_preferred", shList},
	{"singleuser.extraPodAntiAffinity.required", "pod_anti_affinity_required", shList},
	{"singleuser.extraPodAntiAffinity.preferred", "pod_anti_affinity_preferred", shList},
	{"singleuser.lifecycleHooks", "lifecycle_hooks", shMap},
	{"singleuser.initContainers", "init_containers", shList},
	{"singleuser.extraContainers", "extra_containers", shList},
	{"singleuser.memory.limit", "mem_limit", shQuantity},
	{"singleuser.memory.guarantee", "mem_guarantee", shQuantity},
	{"singleuser.cpu.limit", "cpu_limit", shQuantity},
	{"singleuser.cpu.guarantee", "cpu_guarantee", shQuantity},
	{"singleuser.extraResource.limits", "extra_resource_limits", shResources},
	{"singleuser.extraResource.guarantees", "extra_resource_guarantees", shResources},
	{"singleuser.extraPodConfig", "extra_pod_config", shMap},
	{"singleuser.cmd", "cmd", shCommand},
	{"singleuser.defaultUrl", "default_url", shString},
}

// traits collects KubeSpawner trait values with the keys they came from,
// so that an option kube rejects is reported under the user's key.
type traits struct {
	vals map[string]any
	src  map[string]setting
}

func newTraits() *traits { return &traits{vals: map[string]any{}, src: map[string]setting{}} }

func (t *traits) put(trait string, s setting, v any) {
	t.vals[trait] = v
	t.src[trait] = s
}

// shaped checks n against sh and returns it as plain data; ok is false for
// a null or empty value (which sets nothing, as in z2jh) and after an
// error.
func (l *loader) shaped(path string, n *node, sh shape) (any, bool) {
	if n.empty() {
		return nil, false
	}
	switch sh {
	case shString:
		s, ok := l.str(path, n)
		return s, ok
	case shInt:
		i, ok := l.integer(path, n)
		return i, ok
	case shBool:
		b, ok := l.boolean(path, n)
		return b, ok
	case shStrMap:
		m, ok := l.strMap(path, n)
		return m, ok
	case shList:
		if n.kind != kindList {
			l.wrongKind(path, n, "list")
			return nil, false
		}
	case shMap:
		if !l.mapping(path, n) {
			return nil, false
		}
	case shQuantity:
		if n.kind != kindInt && n.kind != kindFloat && n.kind != kindString {
			l.wrongKind(path, n, "number or string")
			return nil, false
		}
	case shCommand:
		c, ok := l.cmdList(path, n)
		return c, ok
	case shResources:
		if !l.mapping(path, n) {
			return nil, false
		}
		out := map[string]string{}
		for _, k := range n.keys {
			v := n.vals[k]
			switch v.kind {
			case kindString:
				out[k] = v.str
			case kindInt, kindFloat:
				out[k] = scalarText(v)
			default:
				l.wrongKind(child(path, k), v, "number or string")
				return nil, false
			}
		}
		return out, true
	case shPullPolicy:
		s, ok := l.str(path, n)
		if ok && s != "" && s != "IfNotPresent" && s != "Always" && s != "Never" {
			l.errorf(path, n, "want IfNotPresent, Always or Never, got %q", s)
			return nil, false
		}
		return s, ok
	}
	return n.value(), true
}

// readSpawners fills Kube, Local and Profiles.
func (l *loader) readSpawners() {
	l.readKube()
	l.readLocal()
	l.readProfiles()
	l.spawnerNotices()
}

// readKube maps the singleuser block to KubeSpawner traits the way z2jh's
// jupyterhub_config.py does, then applies hub.config.Spawner,
// hub.config.KubeSpawner and hubkit.kube.options over them.
func (l *loader) readKube() {
	t := newTraits()
	for _, m := range singleuserTraits {
		n := l.at(m.key)
		if v, ok := l.shaped(m.key, n, m.shape); ok {
			t.put(m.trait, setting{m.key, n}, v)
		}
	}

	// image: name, with ":tag" when there is a tag.
	if name, ok := l.str("singleuser.image.name", l.at("singleuser.image.name")); ok && name != "" {
		if tag, ok := l.str("singleuser.image.tag", l.at("singleuser.image.tag")); ok && tag != "" {
			name += ":" + tag
		}
		t.put("image", setting{"singleuser.image.name", l.at("singleuser.image.name")}, name)
	}

	// Lists z2jh concatenates from two places.
	l.concat(t, "image_pull_secrets", "imagePullSecrets", "singleuser.image.pullSecrets")
	l.concat(t, "tolerations", "scheduling.userPods.tolerations", "singleuser.extraTolerations")
	l.concat(t, "node_affinity_required", "singleuser.extraNodeAffinity.required")
	l.concat(t, "node_affinity_preferred", "singleuser.extraNodeAffinity.preferred")
	const purposeKey = "scheduling.userPods.nodeAffinity.matchNodePurpose"
	if purpose, ok := l.str(purposeKey, l.at(purposeKey)); ok {
		term := map[string]any{"matchExpressions": []any{map[string]any{
			"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": []any{"user"},
		}}}
		src := setting{purposeKey, l.at(purposeKey)}
		switch purpose {
		case "prefer":
			l.appendTrait(t, "node_affinity_preferred", src, map[string]any{"weight": 100, "preference": term})
		case "require":
			l.appendTrait(t, "node_affinity_required", src, term)
		case "ignore":
		default:
			l.errorf(purposeKey, l.at(purposeKey), "want prefer, require or ignore, got %q", purpose)
		}
	}

	if env := l.env("singleuser.extraEnv", l.at("singleuser.extraEnv")); len(env) > 0 {
		m := make(map[string]any, len(env))
		for _, e := range env {
			m[e.name] = e.v
		}
		t.put("environment", setting{"singleuser.extraEnv", l.at("singleuser.extraEnv")}, m)
	}
	l.storage(t)

	opts := l.applyTraits(kube.Options{}, t, "singleuser")
	for _, sec := range []string{secSpawner, secKubeSpawner} {
		st := newTraits()
		for _, k := range l.section(sec) {
			s := l.trait(sec, k)
			if !kubeOptionKeys[k] {
				if sec == secSpawner && localSpawnerTraits[k] {
					continue // read by readLocal
				}
				if k == "profile_list" {
					l.warn(s.path, s.n, "is not read by hubkit: put the profiles in singleuser.profileList")
					continue
				}
				l.warn(s.path, s.n, "is not a KubeSpawner option hubkit has; ignored")
				continue
			}
			st.put(k, s, s.n.value())
		}
		opts = l.applyTraits(opts, st, child("hub.config", sec))
	}
	if o := l.hk.kubeOptions; o != nil {
		next, err := opts.Apply(o.value().(map[string]any))
		if err != nil {
			l.errorf("hubkit.kube.options", o, "%s", trimKubeErr(err))
		} else {
			opts = next
		}
	}
	l.cfg.Kube.Options = opts
}

// kubeOptionKeys are the JSON names of kube.Options: KubeSpawner trait
// names.
var kubeOptionKeys = func() map[string]bool {
	keys := map[string]bool{}
	for f := range reflect.TypeFor[kube.Options]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}()

// applyTraits merges t into opts. Each trait is first decoded alone (over
// empty Options, which is cheap and decodes the same), so that an error
// names the key the trait came from.
func (l *loader) applyTraits(opts kube.Options, t *traits, where string) kube.Options {
	good := make(map[string]any, len(t.vals))
	for _, k := range slices.Sorted(maps.Keys(t.vals)) {
		if _, err := (kube.Options{}).Apply(map[string]any{k: t.vals[k]}); err != nil {
			s := t.src[k]
			l.errorf(s.path, s.n, "%s", trimKubeErr(err))
			continue
		}
		good[k] = t.vals[k]
	}
	next, err := opts.Apply(good)
	if err != nil { // each trait decoded alone; merged they do too
		l.errorf(where, nil, "%s", trimKubeErr(err))
		return opts
	}
	return next
}

// trimKubeErr drops the sentinel's text from an Options.Apply error: the
// key path already says where.
func trimKubeErr(err error) string {
	msg := err.Error()
	if errors.Is(err, spawner.ErrInvalid) {
		msg = strings.TrimPrefix(msg, spawner.ErrInvalid.Error()+": ")
	}
	return msg
}

// concat puts the concatenation of lists at keys into trait.
func (l *loader) concat(t *traits, trait string, keys ...string) {
	for _, key := range keys {
		n := l.at(key)
		if n.empty() {
			continue
		}
		if n.kind != kindList {
			l.wrongKind(key, n, "list")
			continue
		}
		for i, v := range n.list {
			// Check each entry alone, so that an error names it.
			if _, err := (kube.Options{}).Apply(map[string]any{trait: []any{v.value()}}); err != nil {
				l.errorf(index(key, i), v, "%s", trimKubeErr(err))
				continue
			}
			l.appendTrait(t, trait, setting{key, n}, v.value())
		}
	}
}

func (l *loader) appendTrait(t *traits, trait string, src setting, v any) {
	list, _ := t.vals[trait].([]any)
	if _, ok := t.src[trait]; !ok {
		t.src[trait] = src
	}
	t.vals[trait] = append(list, v)
}

// storage maps singleuser.storage as z2jh does: a dynamic claim per
// server (KubeSpawner's storage_* traits and a volume named by
// volumeNameTemplate), or a static claim shared by all ("home"), or
// nothing; then extraVolumes and extraVolumeMounts. Volumes and mounts are
// keyed as z2jh keys them and ordered by key, as KubeSpawner orders a
// mapping.
func (l *loader) storage(t *traits) {
	const p = "singleuser.storage."
	typ, _ := l.str(p+"type", l.at(p+"type"))
	home, _ := l.str(p+"homeMountPath", l.at(p+"homeMountPath"))
	volumes := map[string]any{}
	mounts := map[string]any{}
	src := setting{p + "type", l.at(p + "type")}
	mount := func(name, subPathKey string) map[string]any {
		m := map[string]any{"name": name, "mountPath": home}
		if sp, ok := l.str(subPathKey, l.at(subPathKey)); ok && sp != "" {
			m["subPath"] = sp
		}
		return m
	}
	switch typ {
	case "dynamic":
		vname, _ := l.str(p+"dynamic.volumeNameTemplate", l.at(p+"dynamic.volumeNameTemplate"))
		if vname == "" {
			l.errorf(p+"dynamic.volumeNameTemplate", l.at(p+"dynamic.volumeNameTemplate"), "must be set with storage type dynamic")
			return
		}
		if home == "" {
			l.errorf(p+"homeMountPath", l.at(p+"homeMountPath"), "must be set with storage type dynamic")
			return
		}
		t.put("storage_pvc_ensure", src, true)
		if v, ok := l.shaped(p+"dynamic.pvcNameTemplate", l.at(p+"dynamic.pvcNameTemplate"), shString); ok && v != "" {
			t.put("pvc_name_template", setting{p + "dynamic.pvcNameTemplate", l.at(p + "dynamic.pvcNameTemplate")}, v)
		}
		for _, m := range []struct {
			key, trait string
			sh         shape
		}{
			{p + "dynamic.storageClass", "storage_class", shString},
			{p + "dynamic.storageAccessModes", "storage_access_modes", shList},
			{p + "capacity", "storage_capacity", shString},
		} {
			if v, ok := l.shaped(m.key, l.at(m.key), m.sh); ok {
				t.put(m.trait, setting{m.key, l.at(m.key)}, v)
			}
		}
		volumes[vname] = map[string]any{"name": vname, "persistentVolumeClaim": map[string]any{"claimName": "{pvc_name}"}}
		mounts[vname] = mount(vname, p+"dynamic.subPath")
		l.unusedWith(typ, p+"static.pvcName", p+"static.subPath")
	case "static":
		claim, _ := l.str(p+"static.pvcName", l.at(p+"static.pvcName"))
		if claim == "" {
			l.errorf(p+"static.pvcName", l.at(p+"static.pvcName"), "must name the claim with storage type static")
			return
		}
		if home == "" {
			l.errorf(p+"homeMountPath", l.at(p+"homeMountPath"), "must be set with storage type static")
			return
		}
		volumes["home"] = map[string]any{"name": "home", "persistentVolumeClaim": map[string]any{"claimName": claim}}
		mounts["home"] = mount("home", p+"static.subPath")
		l.unusedWith(typ, p+"capacity", p+"dynamic.storageClass", p+"dynamic.pvcNameTemplate",
			p+"dynamic.volumeNameTemplate", p+"dynamic.storageAccessModes", p+"dynamic.subPath")
	case "none", "": // null: no storage, as in z2jh
		l.unusedWith(cmpOr(typ, "none"), p+"capacity", p+"homeMountPath", p+"static.pvcName", p+"static.subPath",
			p+"dynamic.storageClass", p+"dynamic.pvcNameTemplate", p+"dynamic.volumeNameTemplate",
			p+"dynamic.storageAccessModes", p+"dynamic.subPath")
	default:
		l.errorf(p+"type", l.at(p+"type"), "want dynamic, static or none, got %q", typ)
		return
	}
	l.extraByKey(p+"extraVolumes", "volumes", volumes, func(i int, v *node) string {
		return v.get("name").str
	})
	l.extraByKey(p+"extraVolumeMounts", "volume_mounts", mounts, func(i int, v *node) string {
		return fmt.Sprintf("%d-%s", i, v.get("name").str)
	})
	if len(volumes) > 0 {
		t.put("volumes", setting{p + "extraVolumes", l.at(p + "extraVolumes")}, sortedValues(volumes))
	}
	if len(mounts) > 0 {
		t.put("volume_mounts", setting{p + "extraVolumeMounts", l.at(p + "extraVolumeMounts")}, sortedValues(mounts))
	}
}

// extraByKey adds extraVolumes or extraVolumeMounts, given as a list
// (keyed by key) or a mapping (keyed by its keys), to into. Each entry is
// checked alone as a value of trait, so that an error names it.
func (l *loader) extraByKey(path, trait string, into map[string]any, key func(int, *node) string) {
	n := l.at(path)
	if n.empty() {
		return
	}
	add := func(p, k string, v *node) {
		if _, err := (kube.Options{}).Apply(map[string]any{trait: []any{v.value()}}); err != nil {
			l.errorf(p, v, "%s", trimKubeErr(err))
			return
		}
		into[k] = v.value()
	}
	switch n.kind {
	case kindList:
		for i, v := range n.list {
			p := index(path, i)
			if v.kind != kindMap {
				l.wrongKind(p, v, "mapping")
				continue
			}
			if name := v.get("name"); name == nil || name.kind != kindString || name.str == "" {
				l.errorf(p, v, "needs a name")
				continue
			}
			add(p, key(i, v), v)
		}
	case kindMap:
		for _, k := range n.keys {
			if v := n.vals[k]; l.mapping(child(path, k), v) {
				add(child(path, k), k, v)
			}
		}
	default:
		l.wrongKind(path, n, "list or mapping")
	}
}

func sortedValues(m map[string]any) []any {
	out := make([]any, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// unusedWith warns about storage keys the document sets that the storage
// type does not use.
func (l *loader) unusedWith(typ string, keys ...string) {
	for _, k := range keys {
		l.warnIfSet(k, "is not used with singleuser.storage.type "+typ)
	}
}

// localSpawnerTraits are the Spawner traits the local spawner takes.
var localSpawnerTraits = map[string]bool{"cmd": true, "args": true, "environment": true, "start_timeout": true, "default_url": true}

// readLocal fills Local from the singleuser keys that make sense for a
// local process (cmd, startTimeout, plain extraEnv values, defaultUrl),
// hub.config.Spawner, and hubkit.local, in that order of precedence.
func (l *loader) readLocal() {
	o := &l.cfg.Local
	o.Cmd, _ = l.cmdList("singleuser.cmd", l.at("singleuser.cmd"))
	o.StartTimeout, _ = l.duration("singleuser.startTimeout", l.at("singleuser.startTimeout"))
	env := map[string]string{}
	for _, e := range l.env("singleuser.extraEnv", l.at("singleuser.extraEnv")) {
		if e.v.ValueFrom != nil {
			if l.cfg.Spawner == SpawnerLocal {
				l.warn(e.path, e.n, "takes its value from Kubernetes (valueFrom): the local spawner cannot set it")
			}
			continue
		}
		env[e.name] = e.v.Value
	}
	defaultURL, _ := l.str("singleuser.defaultUrl", l.at("singleuser.defaultUrl"))
	for _, k := range l.section(secSpawner) {
		s := l.trait(secSpawner, k)
		switch k {
		case "cmd":
			if c, ok := l.cmdList(s.path, s.n); ok {
				o.Cmd = c
			}
		case "args":
			if a, ok := l.strList(s.path, s.n); ok {
				o.Args = a
			}
		case "start_timeout":
			if d, ok := l.duration(s.path, s.n); ok {
				o.StartTimeout = d
			}
		case "default_url":
			if u, ok := l.str(s.path, s.n); ok {
				defaultURL = u
			}
		case "environment":
			for _, e := range l.env(s.path, s.n) {
				if e.v.ValueFrom == nil {
					env[e.name] = e.v.Value
				}
			}
		}
	}
	if defaultURL != "" {
		// What JupyterHub's Spawner.get_env does with default_url.
		env["JUPYTERHUB_DEFAULT_URL"] = defaultURL
	}
	if len(env) > 0 {
		o.Env = env
	}
	hl := l.hk.local
	if hl.cmdSet {
		o.Cmd = hl.cmd
	}
	if hl.argsSet {
		o.Args = hl.args
	}
	if hl.startTimeoutSet {
		o.StartTimeout = hl.startTimeout
	}
	o.StateDir, o.HomeRoot, o.Host = hl.stateDir, hl.homeRoot, hl.host
	if l.cfg.Spawner == SpawnerKube {
		if n := l.user.lookup("hubkit", "local"); n != nil {
			l.warn("hubkit.local", n, "configures the local spawner, and hubkit.spawner is kube: it has no effect")
		}
	}
}

// readProfiles parses singleuser.profileList and checks every override
// against the kube spawner's options.
func (l *loader) readProfiles() {
	const key = "singleuser.profileList"
	n := l.at(key)
	if n.empty() {
		return
	}
	list, err := profiles.Parse(n.appendJSON(nil))
	if err != nil {
		l.errorf(key, n, "%v", err)
		return
	}
	// Over empty Options: an override decodes over them exactly when it
	// decodes over opts, and that is much cheaper.
	if err := list.Check(func(o map[string]any) error { _, err := (kube.Options{}).Apply(o); return err }); err != nil {
		l.errorf(key, n, "%v", err)
		return
	}
	if list.Len() > 0 {
		l.cfg.Profiles = list
	}
}

// spawnerNotices warns about the chart defaults that protect user pods in
// z2jh and that hubkit does not reproduce, when servers run as pods.
func (l *loader) spawnerNotices() {
	if l.cfg.Spawner != SpawnerKube {
		return
	}
	const block = "singleuser.cloudMetadata.blockWithIptables"
	if v, ok := l.boolean(block, l.at(block)); ok && v {
		l.warn(block, l.userAt(block), "z2jh blocks user pods from the cloud metadata server (169.254.169.254, "+
			"which hands out the node's cloud credentials) with a privileged iptables init container; hubkit adds "+
			"none. Block it with a NetworkPolicy egress rule (deploy/), then set this to false")
	}
	const netpol = "singleuser.networkPolicy.enabled"
	if v, ok := l.boolean(netpol, l.at(netpol)); ok && v {
		l.warn(netpol, l.userAt(netpol), "z2jh creates a NetworkPolicy that lets only the hub and the proxy reach "+
			"user pods; hubkit creates none. Create it with deploy/ manifests, then set this to false")
	}
}

// localOverrideKeys are the profile override keys the local spawner
// takes (Validate checks the profiles against them).
var localOverrideKeys = []string{local.OverrideCmd, local.OverrideArgs, local.OverrideEnvironment, local.OverrideStartTimeout}
