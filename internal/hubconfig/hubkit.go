package hubconfig

import (
	"time"

	"github.com/hubkit/hubkit/authenticator/header"
	"github.com/hubkit/hubkit/secrets/vault"
	"github.com/hubkit/hubkit/sparksvc"
)

// hubkitSection is what the hubkit: section says beyond what readHubkit
// puts into the Config directly.
type hubkitSection struct {
	local        localSection
	kubeOptions  *node // hubkit.kube.options, merged last
	oidcIssuer   string
	oidcJWKS     string
	oidcEndSess  string
	header       *header.Options // hubkit.auth.header
	headerNode   *node
	storePath    string
	storePathSet bool
}

type localSection struct {
	cmd, args          []string
	cmdSet, argsSet    bool
	startTimeout       time.Duration
	startTimeoutSet    bool
	stateDir, homeRoot string
	host               string
}

// readHubkit reads the hubkit: section: hubkit's own keys for what z2jh
// has no name for. An unknown key here is an error.
func (l *loader) readHubkit() {
	c := l.cfg
	c.Listen = DefaultListen
	c.Spawner = SpawnerLocal
	c.CryptKeyEnv = DefaultCryptKeyEnv
	hk := &l.hk
	l.fields("hubkit", l.user.get("hubkit"), map[string]func(string, *node){
		"listen":      l.setStr(&c.Listen),
		"apiListen":   l.setStr(&c.APIListen),
		"publicURL":   l.setStr(&c.PublicURL),
		"hubAPIURL":   l.setStr(&c.HubAPIURL),
		"cryptKeyEnv": l.setStr(&c.CryptKeyEnv),
		"spawner": func(p string, v *node) {
			if s, ok := l.str(p, v); ok {
				if s != SpawnerLocal && s != SpawnerKube {
					l.errorf(p, v, "want %q or %q, got %q", SpawnerLocal, SpawnerKube, s)
					return
				}
				c.Spawner = s
			}
		},
		"local": func(p string, v *node) {
			s := &hk.local
			l.fields(p, v, map[string]func(string, *node){
				"cmd": func(p string, v *node) {
					s.cmd, s.cmdSet = l.cmdList(p, v)
				},
				"args": func(p string, v *node) {
					s.args, s.argsSet = l.strList(p, v)
				},
				"startTimeout": func(p string, v *node) {
					s.startTimeout, s.startTimeoutSet = l.duration(p, v)
				},
				"stateDir": l.setStr(&s.stateDir),
				"homeRoot": l.setStr(&s.homeRoot),
				"host":     l.setStr(&s.host),
			})
		},
		"kube": func(p string, v *node) {
			k := &c.Kube
			l.fields(p, v, map[string]func(string, *node){
				"namespace":             l.setStr(&k.Namespace),
				"enableUserNamespaces":  l.setBool(&k.EnableUserNamespaces),
				"userNamespaceTemplate": l.setStr(&k.UserNamespaceTemplate),
				"slugScheme":            l.setStr(&k.SlugScheme),
				"instance":              l.setStr(&k.Instance),
				"options": func(p string, v *node) {
					if l.mapping(p, v) {
						hk.kubeOptions = v
					}
				},
			})
		},
		"auth": func(p string, v *node) {
			l.fields(p, v, map[string]func(string, *node){
				"oidc": func(p string, v *node) {
					l.fields(p, v, map[string]func(string, *node){
						"issuer":        l.setStr(&hk.oidcIssuer),
						"jwksURL":       l.setStr(&hk.oidcJWKS),
						"endSessionURL": l.setStr(&hk.oidcEndSess),
					})
				},
				"header": func(p string, v *node) { l.readHeader(p, v) },
			})
		},
		"store": func(p string, v *node) {
			l.fields(p, v, map[string]func(string, *node){
				"path": func(p string, v *node) {
					hk.storePath, hk.storePathSet = l.str(p, v)
				},
			})
		},
		"vault": func(p string, v *node) { l.readVault(p, v) },
		"spark": func(p string, v *node) { l.readSpark(p, v) },
		"replica": func(p string, v *node) {
			l.fields(p, v, map[string]func(string, *node){
				"id": l.setStr(&c.Replica.ID),
				"claimTTL": func(p string, v *node) {
					if d, ok := l.duration(p, v); ok {
						c.Replica.ClaimTTL = d
					}
				},
			})
		},
	})
}

func (l *loader) setStr(dst *string) func(string, *node) {
	return func(p string, v *node) {
		if s, ok := l.str(p, v); ok {
			*dst = s
		}
	}
}

func (l *loader) setBool(dst *bool) func(string, *node) {
	return func(p string, v *node) {
		if b, ok := l.boolean(p, v); ok {
			*dst = b
		}
	}
}

func (l *loader) setStrList(dst *[]string) func(string, *node) {
	return func(p string, v *node) {
		if s, ok := l.strList(p, v); ok {
			*dst = s
		}
	}
}

// cmdList reads a command: a string or a list of strings.
func (l *loader) cmdList(path string, n *node) ([]string, bool) {
	if n.isNull() {
		return nil, false
	}
	if n.kind == kindString {
		return []string{n.str}, true
	}
	if n.kind != kindList {
		l.wrongKind(path, n, "string or list of strings")
		return nil, false
	}
	return l.strList(path, n)
}

// duration reads a duration: seconds as a number, or a Go duration
// string ("24h", "90s").
func (l *loader) duration(path string, n *node) (time.Duration, bool) {
	if n.isNull() {
		return 0, false
	}
	if n.kind == kindString {
		d, err := time.ParseDuration(n.str)
		if err != nil || d < 0 {
			l.errorf(path, n, "want seconds or a duration such as \"90s\" or \"24h\", got %q", n.str)
			return 0, false
		}
		return d, true
	}
	s, ok := l.nonNegative(path, n)
	return time.Duration(s) * time.Second, ok
}

func (l *loader) readHeader(path string, n *node) {
	if !l.mapping(path, n) {
		return
	}
	var team, audience string
	var o header.Options
	var groups []string
	groupsSet := false
	l.fields(path, n, map[string]func(string, *node){
		"cloudflareTeam": l.setStr(&team),
		"audience":       l.setStr(&audience),
		"issuer":         l.setStr(&o.Issuer),
		"header":         l.setStr(&o.Header),
		"cookie":         l.setStr(&o.Cookie),
		"certsURL":       l.setStr(&o.CertsURL),
		"usernameClaim":  l.setStr(&o.UsernameClaim),
		"emailClaim":     l.setStr(&o.EmailClaim),
		"groupsClaims": func(p string, v *node) {
			groups, groupsSet = l.strList(p, v)
		},
		"rolesClaims": l.setStrList(&o.RolesClaims),
	})
	out := header.Options{Audience: audience}
	if team != "" {
		out = header.CloudflareAccess(team, audience)
	}
	for _, f := range []struct{ dst, v *string }{
		{&out.Issuer, &o.Issuer}, {&out.Header, &o.Header}, {&out.Cookie, &o.Cookie},
		{&out.CertsURL, &o.CertsURL}, {&out.UsernameClaim, &o.UsernameClaim}, {&out.EmailClaim, &o.EmailClaim},
	} {
		if *f.v != "" {
			*f.dst = *f.v
		}
	}
	if groupsSet {
		out.GroupsClaims = groups
	}
	out.RolesClaims = o.RolesClaims
	l.hk.header = &out
	l.hk.headerNode = n
}

func (l *loader) readVault(path string, n *node) {
	if !l.mapping(path, n) {
		return
	}
	v := &Vault{}
	p := &v.Provisioner
	l.fields(path, n, map[string]func(string, *node){
		"address":       l.setStr(&v.Address),
		"namespace":     l.setStr(&v.Namespace),
		"serverAddress": l.setStr(&p.Address),
		"tokenFile":     l.setStr(&v.TokenFile),
		"tokenEnv":      l.setStr(&v.TokenEnv),
		"optional":      l.setBool(&v.Optional),
		"kubernetes": func(path string, n *node) {
			if !l.mapping(path, n) {
				return
			}
			k := &vault.KubernetesAuth{}
			l.fields(path, n, map[string]func(string, *node){
				"role":      l.setStr(&k.Role),
				"mountPath": l.setStr(&k.MountPath),
				"tokenPath": l.setStr(&k.TokenPath),
			})
			v.Kubernetes = k
		},
		"mount":          l.setStr(&p.Layout.Mount),
		"pathTemplate":   l.setStr(&p.Layout.PathTemplate),
		"policyTemplate": l.setStr(&p.Layout.PolicyTemplate),
		"tokenRole":      l.setStr(&p.TokenRole),
		"statePath":      l.setStr(&p.StatePath),
		"ttl": func(path string, n *node) {
			if d, ok := l.duration(path, n); ok {
				p.TTL = d
			}
		},
		"maxTTL": func(path string, n *node) {
			if d, ok := l.duration(path, n); ok {
				p.MaxTTL = d
			}
		},
		"revoke": func(path string, n *node) {
			if s, ok := l.str(path, n); ok {
				switch r := vault.Revocation(s); r {
				case vault.RevokeOnSpawn, vault.RevokeOnStop, vault.RevokeNever:
					p.Revoke = r
				default:
					l.errorf(path, n, "want %q, %q or %q, got %q", vault.RevokeOnSpawn, vault.RevokeOnStop, vault.RevokeNever, s)
				}
			}
		},
	})
	l.cfg.Vault = v
}

func (l *loader) readSpark(path string, n *node) {
	if !l.mapping(path, n) {
		return
	}
	s := &sparksvc.Config{}
	port := func(dst *int32) func(string, *node) {
		return func(p string, v *node) {
			if i, ok := l.integer(p, v); ok {
				if i < 1 || i > 65535 {
					l.errorf(p, v, "want a port number (1-65535), got %d", i)
					return
				}
				*dst = int32(i)
			}
		}
	}
	l.fields(path, n, map[string]func(string, *node){
		"uiPort":                      port(&s.UIPort),
		"driverPort":                  port(&s.DriverPort),
		"blockManagerPort":            port(&s.BlockManagerPort),
		"clusterDomain":               l.setStr(&s.ClusterDomain),
		"serviceAccountPrefix":        l.setStr(&s.ServiceAccountPrefix),
		"sharedSecrets":               l.setStrList(&s.SharedSecrets),
		"insecureNoExecutorIsolation": l.setBool(&s.InsecureNoExecutorIsolation),
	})
	l.cfg.Spark = s
}
