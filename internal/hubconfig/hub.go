package hubconfig

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	corev1 "k8s.io/api/core/v1"

	"github.com/hubkit/hubkit/internal/hub/scopes"
	"github.com/hubkit/hubkit/spawner/kube"
)

// hub.config sections that hubkit reads.
const (
	secJupyterHub  = "JupyterHub"
	secAuth        = "Authenticator"
	secOAuth       = "OAuthenticator"
	secGeneric     = "GenericOAuthenticator"
	secDummy       = "DummyAuthenticator"
	secCryptKeeper = "CryptKeeper"
	secSpawner     = "Spawner"
	secKubeSpawner = "KubeSpawner"
)

var knownSections = []string{secJupyterHub, secAuth, secOAuth, secGeneric, secDummy, secCryptKeeper, secSpawner, secKubeSpawner}

// setting is one trait of a hub.config section (or of the legacy auth
// block translated to one).
type setting struct {
	path string
	n    *node
}

// section returns the traits of hub.config.<name> in document order.
func (l *loader) section(name string) []string {
	s := l.merged.lookup("hub", "config", name)
	if s == nil || s.kind != kindMap {
		return nil
	}
	return s.keys
}

func (l *loader) trait(sec, key string) setting {
	return setting{child(child("hub.config", sec), key), l.merged.lookup("hub", "config", sec, key)}
}

// warnTraitIfSet warns about hub.config.<sec>.<key> when the document
// sets it to something other than the chart's default.
func (l *loader) warnTraitIfSet(sec, key, msg string) {
	u := l.user.lookup("hub", "config", sec, key)
	if u != nil && !equal(u, chartDefaults().lookup("hub", "config", sec, key)) {
		l.warn(child(child("hub.config", sec), key), u, msg)
	}
}

func (l *loader) readHub() {
	c := l.cfg
	c.BaseURL = "/"
	if s, ok := l.str("hub.baseUrl", l.at("hub.baseUrl")); ok {
		c.BaseURL = s
	}
	lim := &c.Limits
	if v, ok := l.nonNegative("hub.concurrentSpawnLimit", l.at("hub.concurrentSpawnLimit")); ok {
		lim.ConcurrentSpawnLimit = v
	}
	if v, ok := l.nonNegative("hub.activeServerLimit", l.at("hub.activeServerLimit")); ok {
		lim.ActiveServerLimit = v
	}
	if v, ok := l.nonNegative("hub.namedServerLimitPerUser", l.at("hub.namedServerLimitPerUser")); ok {
		lim.NamedServerLimitPerUser = v
	}
	if v, ok := l.boolean("hub.allowNamedServers", l.at("hub.allowNamedServers")); ok {
		lim.AllowNamedServers = v
	}
	if v, ok := l.boolean("debug.enabled", l.at("debug.enabled")); ok {
		c.Debug = v
	}
	l.readHubConfig()
	c.BaseURL = normalizeBaseURL(c.BaseURL)
	l.readStore()
	for _, e := range l.env("hub.extraEnv", l.at("hub.extraEnv")) {
		if e.v.ValueFrom != nil {
			if c.HubEnvFrom == nil {
				c.HubEnvFrom = map[string]corev1.EnvVarSource{}
			}
			c.HubEnvFrom[e.name] = *e.v.ValueFrom
			if c.Spawner != SpawnerKube {
				l.warn(e.path, e.n, "takes its value from Kubernetes (valueFrom), which only the hub's Deployment "+
					"can resolve; a hub run outside Kubernetes does not get it")
			}
			continue
		}
		if c.HubEnv == nil {
			c.HubEnv = map[string]string{}
		}
		c.HubEnv[e.name] = e.v.Value
	}
	l.readServices()
}

// normalizeBaseURL gives a base URL a leading and a trailing slash, as
// JupyterHub does.
func normalizeBaseURL(s string) string {
	if !strings.HasPrefix(s, "/") {
		s = "/" + s
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s
}

// readHubConfig checks the section names of hub.config and reads the
// JupyterHub and CryptKeeper sections; the authenticator and spawner
// sections are read by readAuth and readSpawners.
func (l *loader) readHubConfig() {
	hc := l.at("hub.config")
	if !l.mapping("hub.config", hc) {
		return
	}
	for _, name := range hc.keys {
		path := child("hub.config", name)
		sec := hc.vals[name]
		if r := []rune(name); len(r) == 0 || !unicode.IsUpper(r[0]) {
			l.errorf(path, sec, "hub.config sections are Configurable class names, which start with an upper-case letter "+
				"(z2jh refuses this too): a misplaced or misspelled key?")
			continue
		}
		if !l.mapping(path, sec) {
			continue
		}
		if !slices.Contains(knownSections, name) {
			l.warn(path, sec, "hubkit does not read this section (it reads "+strings.Join(knownSections, ", ")+")")
		}
	}
	c := l.cfg
	for _, k := range l.section(secJupyterHub) {
		s := l.trait(secJupyterHub, k)
		switch k {
		case "authenticator_class", "admin_users":
			// readAuth
		case "base_url":
			if v, ok := l.str(s.path, s.n); ok {
				c.BaseURL = v
			}
		case "concurrent_spawn_limit":
			if v, ok := l.nonNegative(s.path, s.n); ok {
				c.Limits.ConcurrentSpawnLimit = v
			}
		case "active_server_limit":
			if v, ok := l.nonNegative(s.path, s.n); ok {
				c.Limits.ActiveServerLimit = v
			}
		case "named_server_limit_per_user":
			if v, ok := l.nonNegative(s.path, s.n); ok {
				c.Limits.NamedServerLimitPerUser = v
			}
		case "allow_named_servers":
			if v, ok := l.boolean(s.path, s.n); ok {
				c.Limits.AllowNamedServers = v
			}
		case "cookie_secret":
			l.warnTraitIfSet(secJupyterHub, k, z2jhRules["hub.cookieSecret"].msg)
		case "admin_access":
			l.warnTraitIfSet(secJupyterHub, k, msgAdminAccess)
		default:
			l.warnTraitIfSet(secJupyterHub, k, msgNotSupported)
		}
	}
	for _, k := range l.section(secCryptKeeper) {
		s := l.trait(secCryptKeeper, k)
		if k != "keys" {
			l.warn(s.path, s.n, msgNotSupported)
			continue
		}
		l.cryptKeys(s)
	}
}

// cryptKeys reads CryptKeeper.keys: a list of keys, or one string of
// keys separated by ";" (as z2jh stores it).
func (l *loader) cryptKeys(s setting) {
	var keys []string
	if s.n.kind == kindString {
		keys = strings.Split(s.n.str, ";")
	} else if list, ok := l.strList(s.path, s.n); ok {
		keys = list
	}
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" {
			l.cfg.CryptKeys = append(l.cfg.CryptKeys, k)
		}
	}
}

func (l *loader) readStore() {
	s := &l.cfg.Store
	s.Driver, s.Path = DriverSQLite, DefaultSQLitePath
	typ, _ := l.str("hub.db.type", l.at("hub.db.type"))
	url, hasURL := l.str("hub.db.url", l.at("hub.db.url"))
	switch typ {
	case "", "sqlite-pvc":
		if hasURL {
			l.warn("hub.db.url", l.at("hub.db.url"), "is not used with hub.db.type sqlite-pvc (in z2jh neither)")
		}
	case "sqlite-memory":
		l.warn("hub.db.type", l.at("hub.db.type"), "hubkit's SQLite store is always a file (hubkit.store.path), "+
			"so the hub's state survives restarts, where sqlite-memory would lose it")
	case "postgres":
		s.Driver, s.URL = DriverPostgres, postgresURL(url)
	case "other":
		switch {
		case strings.HasPrefix(url, "sqlite:///"):
			s.Path = strings.TrimPrefix(url, "sqlite:///")
		case strings.HasPrefix(url, "postgres"):
			s.Driver, s.URL = DriverPostgres, postgresURL(url)
		default:
			l.errorf("hub.db.url", l.at("hub.db.url"), "with hub.db.type other, want a sqlite:///<file> or postgresql:// URL, got %q", url)
		}
	case "mysql":
		l.errorf("hub.db.type", l.at("hub.db.type"), "MySQL is not supported by hubkit: use sqlite-pvc or postgres")
	default:
		l.errorf("hub.db.type", l.at("hub.db.type"), "want sqlite-pvc, sqlite-memory, postgres or other, got %q", typ)
	}
	if l.hk.storePathSet {
		if s.Driver == DriverSQLite {
			s.Path = l.hk.storePath
		} else {
			l.warn("hubkit.store.path", l.user.lookup("hubkit", "store", "path"), "is not used with PostgreSQL")
		}
	}
	if s.Driver != DriverSQLite {
		s.Path = ""
	}
	if pw, ok := l.str("hub.db.password", l.at("hub.db.password")); ok {
		if s.Driver == DriverPostgres {
			s.Password = pw
		} else {
			l.warn("hub.db.password", l.at("hub.db.password"), "is not used with SQLite (in z2jh neither)")
		}
	}
}

// postgresURL turns an SQLAlchemy URL ("postgresql+psycopg2://…") into a
// plain one.
func postgresURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if base, _, hasDriver := strings.Cut(scheme, "+"); hasDriver {
		scheme = base
	}
	return scheme + "://" + rest
}

// envEntry is one variable of an extraEnv block.
type envEntry struct {
	name string
	path string
	n    *node
	v    kube.EnvValue
}

// env reads an extraEnv block as z2jh accepts it: a mapping of names to
// strings (numbers and booleans are taken as their text) or to EnvVar
// bodies (value or valueFrom; a "name" field wins over the key), or a
// list of EnvVars. The entries come sorted by name.
func (l *loader) env(path string, n *node) []envEntry {
	if n.isNull() {
		return nil
	}
	var out []envEntry
	add := func(name, p string, v *node) {
		var ev kube.EnvValue
		switch v.kind {
		case kindNull:
		case kindMap:
			if err := json.Unmarshal(v.appendJSON(nil), &ev); err != nil {
				l.errorf(p, v, "%v", err)
				return
			}
			if nv := v.get("name"); nv != nil {
				if s, ok := l.str(child(p, "name"), nv); ok {
					name = s
				}
			}
		case kindString:
			ev.Value = v.str
		case kindInt, kindFloat, kindBool:
			ev.Value = scalarText(v)
		default:
			l.wrongKind(p, v, "string or an EnvVar (value or valueFrom)")
			return
		}
		if name == "" {
			l.errorf(p, v, "an environment variable needs a name")
			return
		}
		out = append(out, envEntry{name, p, v, ev})
	}
	switch n.kind {
	case kindMap:
		for _, k := range n.keys {
			add(k, child(path, k), n.vals[k])
		}
	case kindList:
		for i, v := range n.list {
			p := index(path, i)
			if v.kind != kindMap {
				l.wrongKind(p, v, "mapping (an EnvVar with name and value or valueFrom)")
				continue
			}
			add("", p, v)
		}
	default:
		l.wrongKind(path, n, "mapping or list")
	}
	slices.SortStableFunc(out, func(a, b envEntry) int { return strings.Compare(a.name, b.name) })
	return out
}

// scalarText is a number's or a boolean's text, as Helm renders it.
func scalarText(n *node) string {
	switch n.kind {
	case kindInt:
		return strconv.FormatInt(n.i, 10)
	case kindFloat:
		return strconv.FormatFloat(n.f, 'f', -1, 64)
	case kindBool:
		return strconv.FormatBool(n.b)
	}
	return n.str
}

func (l *loader) readServices() {
	svcs := l.at("hub.services")
	if !l.mapping("hub.services", svcs) {
		return
	}
	byName := map[string]int{}
	for _, key := range svcs.keys {
		path := child("hub.services", key)
		sv := svcs.vals[key]
		if !l.mapping(path, sv) {
			continue
		}
		s := Service{Name: key}
		for _, k := range sv.keys {
			p, v := child(path, k), sv.vals[k]
			switch k {
			case "name":
				if name, ok := l.str(p, v); ok {
					s.Name = name
				}
			case "apiToken", "api_token":
				if t, ok := l.str(p, v); ok {
					s.APIToken = t
				}
			case "admin":
				if b, ok := l.boolean(p, v); ok {
					s.Admin = b
				}
			case "url":
				if u, ok := l.str(p, v); ok {
					s.URL = u
				}
			case "command", "environment", "user", "cwd":
				l.warn(p, v, "hubkit's hub does not start services: run the service yourself (a Deployment, or cullerd) "+
					"with the service's apiToken")
			default:
				l.warn(p, v, msgNotSupported)
			}
		}
		byName[s.Name] = len(l.cfg.Services)
		l.cfg.Services = append(l.cfg.Services, s)
	}
	roles := l.at("hub.loadRoles")
	if !l.mapping("hub.loadRoles", roles) {
		return
	}
	for _, key := range roles.keys {
		path := child("hub.loadRoles", key)
		r := roles.vals[key]
		if !l.mapping(path, r) {
			continue
		}
		var scs, services []string
		for _, k := range r.keys {
			p, v := child(path, k), r.vals[k]
			switch k {
			case "name", "description":
				l.str(p, v)
			case "scopes":
				if list, ok := l.strList(p, v); ok {
					if err := scopes.Validate(list); err != nil {
						l.errorf(p, v, "%v", err)
					}
					scs = list
				}
			case "services":
				services, _ = l.strList(p, v)
			case "users", "groups":
				if !v.empty() {
					l.warn(p, v, "roles of users and groups are not supported by hubkit's hub: admin rights come from "+
						"hub.config.Authenticator.admin_users and admin_groups")
				}
			default:
				l.warn(p, v, msgNotSupported)
			}
		}
		for _, name := range services {
			i, ok := byName[name]
			if !ok {
				l.errorf(child(path, "services"), r.get("services"), "no service %q in hub.services", name)
				continue
			}
			for _, sc := range scs {
				if !slices.Contains(l.cfg.Services[i].Scopes, sc) {
					l.cfg.Services[i].Scopes = append(l.cfg.Services[i].Scopes, sc)
				}
			}
		}
	}
}

func (l *loader) readCull() {
	c := &l.cfg.Cull
	o := &c.Options
	if v, ok := l.boolean("cull.enabled", l.at("cull.enabled")); ok {
		c.Enabled = v
	}
	secs := func(key string, dst *time.Duration) {
		if v, ok := l.nonNegative(key, l.at(key)); ok {
			*dst = time.Duration(v) * time.Second
		}
	}
	secs("cull.timeout", &o.Timeout)
	secs("cull.every", &o.Every)
	secs("cull.maxAge", &o.MaxAge)
	if v, ok := l.nonNegative("cull.concurrency", l.at("cull.concurrency")); ok {
		o.Concurrency = v
	}
	if v, ok := l.boolean("cull.users", l.at("cull.users")); ok {
		o.CullUsers = v
	}
	if v, ok := l.boolean("cull.adminUsers", l.at("cull.adminUsers")); ok {
		o.SkipAdminUsers = !v
	}
	if v, ok := l.boolean("cull.removeNamedServers", l.at("cull.removeNamedServers")); ok {
		o.RemoveNamedServers = v
	}
}
