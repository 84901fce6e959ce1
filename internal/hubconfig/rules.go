package hubconfig

import (
	_ "embed"
	"strings"
	"sync"
)

//go:embed chart-defaults.yaml
var chartDefaultsYAML []byte

// chartDefaults is the parsed chart-defaults.yaml. Callers must not
// modify it (merge never does).
var chartDefaults = sync.OnceValue(func() *node {
	n, err := parse(chartDefaultsYAML)
	if err != nil {
		panic("hubconfig: chart-defaults.yaml: " + err.Error())
	}
	stripLines(n)
	return n
})

// stripLines marks a tree as coming from the chart defaults.
func stripLines(n *node) {
	n.line = 0
	for _, c := range n.list {
		stripLines(c)
	}
	for _, c := range n.vals {
		stripLines(c)
	}
}

// ruleKind says what Load does with a z2jh key.
type ruleKind uint8

const (
	// ruleMapped: read into the Config whatever the spawner.
	ruleMapped ruleKind = iota
	// ruleKube: read into Kube; it does nothing for the local spawner,
	// which a Warning says when the document sets it.
	ruleKube
	// ruleIgnored: no counterpart in hubkit; a Warning with the rule's
	// message when the document sets it to anything but the chart's
	// default. The rule covers the key's whole subtree.
	ruleIgnored
	// ruleOwn: read by dedicated code, which also warns about what it
	// does not use.
	ruleOwn
)

type keyRule struct {
	kind ruleKind
	msg  string
}

// Messages of ignored keys.
const (
	msgChartNames = "names the chart's Kubernetes objects; hubkit's deploy/ manifests name their own"
	msgHubPod     = "configures the hub's own pod and Kubernetes objects, which the chart creates; " +
		"set it in the deploy/ manifests of the hub's Deployment"
	msgProxy = "configures z2jh's configurable-http-proxy (and autohttps) pods; hubkit's hub has its own proxy " +
		"in process, listening on hubkit.listen (terminate TLS at the ingress or load balancer in front of it)"
	msgScheduling = "configures the chart's scheduling components (user scheduler, user placeholders, " +
		"priority classes, core-pod placement): cluster concerns that hubkit's deploy/ manifests handle"
	msgPrePuller = "configures the chart's image pre-puller DaemonSets: a cluster concern that hubkit's " +
		"deploy/ manifests handle"
	msgIngress      = "configures the chart's Ingress or HTTPRoute; hubkit's deploy/ manifests own the hub's"
	msgRBAC         = "configures RBAC objects the chart creates; hubkit's deploy/ manifests own the hub's RBAC"
	msgPullSecret   = "makes the chart create an image pull Secret; create it with deploy/ manifests and name it in imagePullSecrets"
	msgNetworkPol   = "configures the NetworkPolicy the chart creates; hubkit creates none: deploy/ manifests do"
	msgCloudMetaIP  = "is used only by z2jh's cloud-metadata blocker, which hubkit does not add (see singleuser.cloudMetadata.blockWithIptables)"
	msgNotSupported = "is not supported by hubkit's hub"
	msgExtraConfig  = "is Python that JupyterHub runs, and hubkit runs no Python. Pod changes belong in the " +
		"kube spawner's ModifyPod and AfterPodCreated hooks (kube.Config); the Spark driver Service hook is " +
		"package sparksvc (set hubkit.spark); KubeSpawner settings go in singleuser.* or hubkit.kube.options, " +
		"authenticator settings in hub.config"
	msgKubeOnly = "configures the kube spawner, and hubkit.spawner is local: it has no effect " +
		"(set hubkit.spawner: kube to run servers as pods)"
	msgUnknown     = "is not a z2jh key (nor hubkit's); ignored"
	msgAdminAccess = "is not supported by hubkit's hub (JupyterHub 5 replaced it with roles)"
)

// z2jhRules says what happens to each key of a z2jh values file. A key
// without a rule of its own takes its nearest ancestor's ignored rule; a
// key with neither, and without a chart default, is unknown.
var z2jhRules = map[string]keyRule{
	"fullnameOverride": {ruleIgnored, msgChartNames},
	"nameOverride":     {ruleIgnored, msgChartNames},
	"enabled":          {ruleIgnored, "has no effect (z2jh ignores it too: charts that depend on z2jh use it as a condition)"},
	"custom":           {ruleIgnored, "is read only by hub.extraConfig code, which hubkit does not run"},
	"imagePullSecret":  {ruleIgnored, msgPullSecret},
	"imagePullSecrets": {ruleKube, ""},
	"rbac":             {ruleIgnored, msgRBAC},
	"proxy":            {ruleIgnored, msgProxy},
	"scheduling":       {ruleIgnored, msgScheduling},
	"prePuller":        {ruleIgnored, msgPrePuller},
	"ingress":          {ruleIgnored, msgIngress},
	"httpRoute":        {ruleIgnored, msgIngress},
	"global":           {ruleIgnored, "is for charts that depend on z2jh; hubkit does not read it"},
	"debug.enabled":    {ruleMapped, ""},
	"hubkit":           {ruleOwn, ""},
	"auth":             {ruleOwn, ""},

	// KubeSpawner settings z2jh takes from the scheduling section.
	"scheduling.userPods.tolerations":                   {ruleKube, ""},
	"scheduling.userPods.nodeAffinity.matchNodePurpose": {ruleKube, ""},

	"cull.enabled":            {ruleMapped, ""},
	"cull.users":              {ruleMapped, ""},
	"cull.adminUsers":         {ruleMapped, ""},
	"cull.removeNamedServers": {ruleMapped, ""},
	"cull.timeout":            {ruleMapped, ""},
	"cull.every":              {ruleMapped, ""},
	"cull.concurrency":        {ruleMapped, ""},
	"cull.maxAge":             {ruleMapped, ""},

	"hub.config":                  {ruleOwn, ""},
	"hub.services":                {ruleOwn, ""},
	"hub.loadRoles":               {ruleOwn, ""},
	"hub.baseUrl":                 {ruleMapped, ""},
	"hub.concurrentSpawnLimit":    {ruleMapped, ""},
	"hub.activeServerLimit":       {ruleMapped, ""},
	"hub.allowNamedServers":       {ruleMapped, ""},
	"hub.namedServerLimitPerUser": {ruleMapped, ""},
	"hub.db.type":                 {ruleMapped, ""},
	"hub.db.url":                  {ruleMapped, ""},
	"hub.db.password":             {ruleMapped, ""},
	"hub.extraEnv":                {ruleMapped, ""},
	"hub.extraConfig":             {ruleIgnored, msgExtraConfig},
	"hub.db.upgrade":              {ruleIgnored, "has no counterpart: hubkit upgrades its store's schema at every start"},
	"hub.db.pvc":                  {ruleIgnored, msgHubPod},
	"hub.cookieSecret": {ruleIgnored, "has no counterpart: hubkit seals its cookies with the keys in " +
		"JUPYTERHUB_CRYPT_KEY (hubkit.cryptKeyEnv)"},
	"hub.consecutiveFailureLimit":  {ruleIgnored, "has no counterpart: hubkit's hub does not restart itself after failed spawns"},
	"hub.authenticatePrometheus":   {ruleIgnored, msgNotSupported},
	"hub.redirectToServer":         {ruleIgnored, msgNotSupported},
	"hub.shutdownOnLogout":         {ruleIgnored, msgNotSupported},
	"hub.templatePaths":            {ruleIgnored, "points at JupyterHub's Jinja templates; hubkit's web UI has templates of its own"},
	"hub.templateVars":             {ruleIgnored, "feeds JupyterHub's Jinja templates; hubkit's web UI has templates of its own"},
	"hub.revisionHistoryLimit":     {ruleIgnored, msgHubPod},
	"hub.service":                  {ruleIgnored, msgHubPod},
	"hub.initContainers":           {ruleIgnored, msgHubPod},
	"hub.nodeSelector":             {ruleIgnored, msgHubPod},
	"hub.tolerations":              {ruleIgnored, msgHubPod},
	"hub.deploymentStrategy":       {ruleIgnored, msgHubPod},
	"hub.labels":                   {ruleIgnored, msgHubPod},
	"hub.annotations":              {ruleIgnored, msgHubPod},
	"hub.command":                  {ruleIgnored, msgHubPod},
	"hub.args":                     {ruleIgnored, msgHubPod},
	"hub.extraFiles":               {ruleIgnored, msgHubPod},
	"hub.extraContainers":          {ruleIgnored, msgHubPod},
	"hub.extraVolumes":             {ruleIgnored, msgHubPod},
	"hub.extraVolumeMounts":        {ruleIgnored, msgHubPod},
	"hub.image":                    {ruleIgnored, msgHubPod},
	"hub.resources":                {ruleIgnored, msgHubPod},
	"hub.podSecurityContext":       {ruleIgnored, msgHubPod},
	"hub.containerSecurityContext": {ruleIgnored, msgHubPod},
	"hub.lifecycle":                {ruleIgnored, msgHubPod},
	"hub.pdb":                      {ruleIgnored, msgHubPod},
	"hub.networkPolicy":            {ruleIgnored, msgHubPod},
	"hub.livenessProbe":            {ruleIgnored, msgHubPod},
	"hub.readinessProbe":           {ruleIgnored, msgHubPod},
	"hub.existingSecret":           {ruleIgnored, msgHubPod},
	"hub.serviceAccount":           {ruleIgnored, msgHubPod},
	"hub.extraPodSpec":             {ruleIgnored, msgHubPod},

	"singleuser.podNameTemplate":                 {ruleKube, ""},
	"singleuser.extraTolerations":                {ruleKube, ""},
	"singleuser.nodeSelector":                    {ruleKube, ""},
	"singleuser.extraNodeAffinity.required":      {ruleKube, ""},
	"singleuser.extraNodeAffinity.preferred":     {ruleKube, ""},
	"singleuser.extraPodAffinity.required":       {ruleKube, ""},
	"singleuser.extraPodAffinity.preferred":      {ruleKube, ""},
	"singleuser.extraPodAntiAffinity.required":   {ruleKube, ""},
	"singleuser.extraPodAntiAffinity.preferred":  {ruleKube, ""},
	"singleuser.networkTools":                    {ruleIgnored, msgCloudMetaIP},
	"singleuser.cloudMetadata.blockWithIptables": {ruleOwn, ""},
	"singleuser.cloudMetadata.ip":                {ruleIgnored, msgCloudMetaIP},
	"singleuser.networkPolicy":                   {ruleIgnored, msgNetworkPol},
	"singleuser.networkPolicy.enabled":           {ruleOwn, ""},
	"singleuser.events":                          {ruleIgnored, "has no counterpart: the kube spawner always reads the pod's events for the progress page"},
	"singleuser.extraAnnotations":                {ruleKube, ""},
	"singleuser.extraLabels":                     {ruleKube, ""},
	"singleuser.extraFiles": {ruleIgnored, "makes the chart put files into a Secret it creates; create the Secret " +
		"or ConfigMap with deploy/ manifests and mount it with singleuser.storage.extraVolumes and extraVolumeMounts"},
	"singleuser.extraEnv":                           {ruleMapped, ""},
	"singleuser.lifecycleHooks":                     {ruleKube, ""},
	"singleuser.initContainers":                     {ruleKube, ""},
	"singleuser.extraContainers":                    {ruleKube, ""},
	"singleuser.allowPrivilegeEscalation":           {ruleKube, ""},
	"singleuser.uid":                                {ruleKube, ""},
	"singleuser.fsGid":                              {ruleKube, ""},
	"singleuser.serviceAccountName":                 {ruleKube, ""},
	"singleuser.storage.type":                       {ruleKube, ""},
	"singleuser.storage.extraLabels":                {ruleKube, ""},
	"singleuser.storage.extraVolumes":               {ruleKube, ""},
	"singleuser.storage.extraVolumeMounts":          {ruleKube, ""},
	"singleuser.storage.static.pvcName":             {ruleKube, ""},
	"singleuser.storage.static.subPath":             {ruleKube, ""},
	"singleuser.storage.capacity":                   {ruleKube, ""},
	"singleuser.storage.homeMountPath":              {ruleKube, ""},
	"singleuser.storage.dynamic.storageClass":       {ruleKube, ""},
	"singleuser.storage.dynamic.pvcNameTemplate":    {ruleKube, ""},
	"singleuser.storage.dynamic.volumeNameTemplate": {ruleKube, ""},
	"singleuser.storage.dynamic.storageAccessModes": {ruleKube, ""},
	"singleuser.storage.dynamic.subPath":            {ruleKube, ""},
	"singleuser.image.name":                         {ruleKube, ""},
	"singleuser.image.tag":                          {ruleKube, ""},
	"singleuser.image.pullPolicy":                   {ruleKube, ""},
	"singleuser.image.pullSecrets":                  {ruleKube, ""},
	"singleuser.startTimeout":                       {ruleMapped, ""},
	"singleuser.cpu.limit":                          {ruleKube, ""},
	"singleuser.cpu.guarantee":                      {ruleKube, ""},
	"singleuser.memory.limit":                       {ruleKube, ""},
	"singleuser.memory.guarantee":                   {ruleKube, ""},
	"singleuser.extraResource.limits":               {ruleKube, ""},
	"singleuser.extraResource.guarantees":           {ruleKube, ""},
	"singleuser.cmd":                                {ruleMapped, ""},
	"singleuser.defaultUrl":                         {ruleMapped, ""},
	"singleuser.extraPodConfig":                     {ruleKube, ""},
	"singleuser.profileList":                        {ruleMapped, ""},
}

// misplaced are keys that are not z2jh's but look like a setting z2jh
// has under another name (some from charts of other projects, some
// KubeSpawner trait names).
var misplaced = map[string]string{
	"jupyterhub":                              "the values of a chart that depends on z2jh? Pass the jupyterhub: block's content",
	"singleuser.cpu.request":                  "singleuser.cpu.guarantee",
	"singleuser.memory.request":               "singleuser.memory.guarantee",
	"singleuser.environment":                  "singleuser.extraEnv",
	"singleuser.extraVolumes":                 "singleuser.storage.extraVolumes",
	"singleuser.extraVolumeMounts":            "singleuser.storage.extraVolumeMounts",
	"singleuser.automountServiceAccountToken": "hubkit.kube.options.automount_service_account_token",
	"singleuser.args":                         "hubkit.kube.options.args, or a list in singleuser.cmd",
	"singleuser.workingDir":                   "hubkit.kube.options.working_dir",
	"singleuser.image.pullSecret":             "singleuser.image.pullSecrets",
	"hub.extraEnvironment":                    "hub.extraEnv",
}

// checkKeys walks the document against the chart's defaults and the
// rules, and warns about what Load will not act on. name is the key's
// last element and siblings the chart's keys beside it (for "did you
// mean").
func (l *loader) checkKeys(path, name string, siblings []string, u, d *node, inherited *keyRule) {
	r, ok := z2jhRules[path]
	if ok {
		switch r.kind {
		case ruleMapped, ruleOwn:
			return
		case ruleKube:
			if l.cfg.Spawner != SpawnerKube && !equal(u, d) {
				l.warn(path, u, msgKubeOnly)
			}
			return
		}
	} else if inherited != nil {
		r, ok = *inherited, true
	}
	if u.kind == kindMap && d != nil && d.kind == kindMap && len(d.keys) > 0 {
		var pass *keyRule
		if ok {
			pass = &r
		}
		for _, k := range u.keys {
			l.checkKeys(child(path, k), k, d.keys, u.vals[k], d.vals[k], pass)
		}
		return
	}
	switch {
	case ok:
		if !equal(u, d) {
			l.warn(path, u, r.msg)
		}
	case d == nil:
		l.warn(path, u, unknownMessage(path, name, siblings))
	default:
		// A chart default without a rule: TestChartDefaultsCovered
		// keeps this from happening. Never drop the key silently.
		if !equal(u, d) {
			l.warn(path, u, msgNotSupported)
		}
	}
}

func unknownMessage(path, name string, siblings []string) string {
	if hint, ok := misplaced[path]; ok {
		if strings.Contains(hint, " ") {
			return msgUnknown + ": " + hint
		}
		return msgUnknown + ": did you mean " + hint + "?"
	}
	if c := closest(name, siblings); c != "" {
		return msgUnknown + ": did you mean " + c + "?"
	}
	return msgUnknown
}

// closest returns the key of known nearest to k by edit distance, if
// near enough to be a typo.
func closest(k string, known []string) string {
	best, bestD := "", len(k)/3+1
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
