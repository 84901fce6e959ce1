package hubconfig

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hubkit/hubkit/authenticator"
	"github.com/hubkit/hubkit/authenticator/oidc"
)

// authClass is hub.config.JupyterHub.authenticator_class (or the legacy
// auth.type) and where it was given.
type authClass struct {
	name  string
	path  string
	n     *node
	given bool // by the document, not the chart default
}

// authType maps an authenticator class to a login type; keycloak says
// the class demands a Keycloak realm.
func authType(class string) (typ string, keycloak, ok bool) {
	switch class {
	case "dummy", "DummyAuthenticator", "dummyauthenticator.DummyAuthenticator", "jupyterhub.auth.DummyAuthenticator":
		return AuthDev, false, true
	case "generic-oauth", "generic", "GenericOAuthenticator", "oauthenticator.generic.GenericOAuthenticator",
		"oauthenticator.GenericOAuthenticator":
		return AuthOIDC, false, true
	case "keycloak":
		return AuthOIDC, true, true
	}
	return "", false, false
}

// authSections are the hub.config sections each login reads, from the
// least to the most specific class (the more specific winning, as in
// traitlets).
var authSections = map[string][]string{
	AuthDev:    {secAuth, secDummy},
	AuthOIDC:   {secAuth, secOAuth, secGeneric},
	AuthHeader: {secAuth},
}

// oidcSettings are the GenericOAuthenticator traits hubkit reads.
type oidcSettings struct {
	clientID, clientSecret, callback       string
	authURL, tokenURL, userinfoURL         string
	usernameClaim, usernameKey, logoutURL  string
	groupsClaim                            string
	scopes                                 []string
	scopesSet, fromIDToken, fromIDTokenSet bool
	authParams                             map[string]string
}

func (l *loader) readAuth() {
	legacy := l.readLegacyAuth()
	cs := l.trait(secJupyterHub, "authenticator_class")
	class := authClass{path: cs.path, n: cs.n, given: l.userSets("hub.config.JupyterHub.authenticator_class")}
	class.name, _ = l.str(cs.path, cs.n)
	if legacy != nil && legacy.class.name != "" {
		if class.given && class.name != legacy.class.name {
			l.errorf(legacy.class.path, legacy.class.n, "names authenticator %q, and hub.config.JupyterHub.authenticator_class %q",
				legacy.class.name, class.name)
			return
		}
		class = legacy.class
	}
	a := &l.cfg.Auth
	var wantKeycloak bool
	if l.hk.header != nil {
		if t, _, _ := authType(class.name); class.given && t != AuthDev {
			l.errorf("hubkit.auth.header", l.hk.headerNode, "chooses the header login, and %s chooses %q: keep one", class.path, class.name)
			return
		}
		a.Type = AuthHeader
	} else {
		t, kc, ok := authType(class.name)
		if !ok {
			what := fmt.Sprintf("%q is not an authenticator hubkit has", class.name)
			if class.name == "" {
				what = "is not set, and JupyterHub's default (PAM, the system's users) is not an authenticator hubkit has"
			}
			l.errorf(class.path, class.n, "%s: use dummy (the development login), generic-oauth (OpenID Connect, "+
				"Keycloak) or a hubkit.auth.header section (a trusted front proxy such as Cloudflare Access or "+
				"oauth2-proxy)", what)
			return
		}
		a.Type, wantKeycloak = t, kc
	}

	// Collect the traits of the sections the login reads, the more
	// specific section (and hub.config over the legacy block) winning.
	sections := authSections[a.Type]
	set := map[string]setting{}
	var order []string
	use := func(k string, s setting) {
		if prev, ok := set[k]; ok {
			l.warn(prev.path, prev.n, "is overridden by "+s.path)
		} else {
			order = append(order, k)
		}
		set[k] = s
	}
	for _, sec := range sections {
		if legacy != nil {
			for _, k := range legacy.order[sec] {
				use(k, legacy.sections[sec][k])
			}
		}
		for _, k := range l.section(sec) {
			use(k, l.trait(sec, k))
		}
	}
	for _, sec := range []string{secAuth, secOAuth, secGeneric, secDummy} {
		if slices.Contains(sections, sec) {
			continue
		}
		if n := l.at("hub.config." + sec); !n.isNull() {
			l.warn("hub.config."+sec, n, "is not used: the login is "+a.Type+loginSource(class, l.hk.header != nil))
		}
		if legacy != nil && len(legacy.order[sec]) > 0 {
			s := legacy.sections[sec][legacy.order[sec][0]]
			l.warn(s.path, s.n, "is not used: the login is "+a.Type+loginSource(class, l.hk.header != nil))
		}
	}

	var r authenticator.Rules
	var o oidcSettings
	allowGiven := false
	notFor := func(s setting, typ string) bool {
		if a.Type != typ {
			l.warn(s.path, s.n, "is not used by the "+a.Type+" login")
			return true
		}
		return false
	}
	for _, k := range order {
		s := set[k]
		p, n := s.path, s.n
		str := func(dst *string) {
			if v, ok := l.str(p, n); ok {
				*dst = v
			}
		}
		list := func(dst *[]string) bool {
			v, ok := l.strList(p, n)
			if ok {
				*dst = v
			}
			return ok
		}
		flag := func(dst *bool) {
			if v, ok := l.boolean(p, n); ok {
				*dst = v
			}
		}
		switch k {
		case "allow_all":
			if v, ok := l.boolean(p, n); ok {
				r.AllowAll, allowGiven = v, true
			}
		case "allowed_users":
			allowGiven = (list(&r.AllowedUsers) && len(r.AllowedUsers) > 0) || allowGiven
		case "allowed_groups":
			allowGiven = (list(&r.AllowedGroups) && len(r.AllowedGroups) > 0) || allowGiven
		case "admin_users":
			list(&r.AdminUsers)
		case "admin_groups":
			list(&r.AdminGroups)
		case "blocked_users":
			list(&r.BlockedUsers)
		case "enable_auth_state":
			flag(&a.EnableAuthState)
		case "manage_groups":
			flag(&a.ManageGroups)
		case "auto_login":
			flag(&a.AutoLogin)
		case "login_service":
			str(&a.LoginService)
		case "password":
			if !notFor(s, AuthDev) {
				str(&a.DevPassword)
			}
		case "client_id", "client_secret", "oauth_callback_url", "authorize_url", "token_url", "userdata_url",
			"username_claim", "username_key", "logout_redirect_url", "scope", "claim_groups_key",
			"auth_state_groups_key", "extra_authorize_params", "userdata_from_id_token",
			"enable_pkce", "validate_server_cert", "tls_verify", "userdata_method":
			if !notFor(s, AuthOIDC) {
				l.oidcTrait(k, s, &o)
			}
		default:
			l.warn(p, n, msgNotSupported)
		}
	}

	// The deprecated JupyterHub.admin_users adds to admin_users.
	if s := l.trait(secJupyterHub, "admin_users"); !s.n.isNull() {
		if users, ok := l.strList(s.path, s.n); ok {
			l.warn(s.path, s.n, "is deprecated (since JupyterHub 0.7.2): hubkit adds these users to "+
				"hub.config.Authenticator.admin_users; move them there")
			for _, u := range users {
				if !slices.Contains(r.AdminUsers, u) {
					r.AdminUsers = append(r.AdminUsers, u)
				}
			}
		}
	}
	if a.Type == AuthDev && !allowGiven {
		r.AllowAll = true
	}
	a.Rules = r
	l.cfg.AdminUsers = slices.Clone(r.AdminUsers)

	switch a.Type {
	case AuthDev:
		a.Warning = DevWarning
	case AuthOIDC:
		l.buildOIDC(o, class, wantKeycloak)
		a.OIDC.Rules = r
	case AuthHeader:
		a.Header = *l.hk.header
		a.Header.Rules = r
	}
	if a.Type != AuthOIDC {
		if n := l.user.lookup("hubkit", "auth", "oidc"); n != nil {
			l.warn("hubkit.auth.oidc", n, "is not used by the "+a.Type+" login")
		}
	}
}

func loginSource(c authClass, header bool) string {
	if header {
		return " (hubkit.auth.header)"
	}
	return " (" + c.path + " " + c.name + ")"
}

// oidcTrait reads one GenericOAuthenticator trait.
func (l *loader) oidcTrait(k string, s setting, o *oidcSettings) {
	p, n := s.path, s.n
	str := func(dst *string) {
		if v, ok := l.str(p, n); ok {
			*dst = v
		}
	}
	switch k {
	case "client_id":
		str(&o.clientID)
	case "client_secret":
		str(&o.clientSecret)
	case "oauth_callback_url":
		str(&o.callback)
	case "authorize_url":
		str(&o.authURL)
	case "token_url":
		str(&o.tokenURL)
	case "userdata_url":
		str(&o.userinfoURL)
	case "username_claim":
		str(&o.usernameClaim)
	case "username_key":
		l.warn(p, n, "is deprecated (OAuthenticator 16): read as username_claim; rename it")
		str(&o.usernameKey)
	case "logout_redirect_url":
		str(&o.logoutURL)
	case "scope":
		if n.kind == kindString {
			o.scopes, o.scopesSet = strings.Fields(n.str), true
		} else if v, ok := l.strList(p, n); ok {
			o.scopes, o.scopesSet = v, true
		}
	case "claim_groups_key":
		str(&o.groupsClaim)
	case "auth_state_groups_key":
		if v, ok := l.str(p, n); ok {
			claim, found := strings.CutPrefix(v, "oauth_user.")
			if !found || claim == "" {
				l.errorf(p, n, "hubkit reads groups from the ID token's and userinfo's claims, "+
					"named oauth_user.<claim>; %q is not one", v)
				return
			}
			o.groupsClaim = claim
		}
	case "extra_authorize_params":
		if m, ok := l.strMap(p, n); ok {
			o.authParams = m
		}
	case "userdata_from_id_token":
		if v, ok := l.boolean(p, n); ok {
			o.fromIDToken, o.fromIDTokenSet = v, true
		}
	case "enable_pkce":
		if v, ok := l.boolean(p, n); ok && !v {
			l.warn(p, n, "hubkit always uses PKCE (S256); it cannot be turned off")
		}
	case "validate_server_cert", "tls_verify":
		if v, ok := l.boolean(p, n); ok && !v {
			l.warn(p, n, "hubkit always verifies the provider's TLS certificate; trust a private CA with "+
				"SSL_CERT_FILE or SSL_CERT_DIR in the hub's environment")
		}
	case "userdata_method":
		if v, ok := l.str(p, n); ok && v != "GET" {
			l.warn(p, n, "hubkit fetches userinfo with GET, as OpenID Connect specifies")
		}
	}
}

// buildOIDC fills Auth.OIDC (and Auth.Keycloak) from the traits read.
func (l *loader) buildOIDC(s oidcSettings, class authClass, wantKeycloak bool) {
	a := &l.cfg.Auth
	issuer := l.hk.oidcIssuer
	var kc *oidc.Keycloak
	if issuer != "" {
		if base, realm, ok := keycloakRealm(issuer, false); ok {
			kc = &oidc.Keycloak{URL: base, Realm: realm}
		}
	} else {
		var base, realm string
		agree := false
		for _, u := range []string{s.authURL, s.tokenURL, s.userinfoURL} {
			if u == "" {
				continue
			}
			b, r, ok := keycloakRealm(u, true)
			if !ok || (agree && (b != base || r != realm)) {
				agree = false
				break
			}
			base, realm, agree = b, r, true
		}
		if agree {
			kc = &oidc.Keycloak{URL: base, Realm: realm}
		}
	}
	if wantKeycloak && kc == nil {
		l.errorf(class.path, class.n, "keycloak needs a Keycloak realm: set hubkit.auth.oidc.issuer to "+
			"https://<host>/realms/<realm>, or the realm's authorize_url, token_url and userdata_url")
		return
	}
	callback := s.callback
	if callback == "" && l.cfg.PublicURL != "" {
		callback = strings.TrimSuffix(l.cfg.PublicURL, "/") + l.cfg.BaseURL + "hub/oauth_callback"
	}
	var o oidc.Options
	if kc != nil {
		kc.ClientID, kc.ClientSecret = s.clientID, s.clientSecret
		kc.RedirectURL, kc.PostLogoutRedirectURL = callback, s.logoutURL
		o = kc.Options()
		a.Keycloak = kc
	} else {
		o = oidc.Options{ClientID: s.clientID, ClientSecret: s.clientSecret, RedirectURL: callback,
			PostLogoutRedirectURL: s.logoutURL, UserInfo: s.userinfoURL != ""}
	}
	if issuer != "" {
		o.Issuer = issuer
	}
	o.Endpoints = oidc.Endpoints{AuthURL: s.authURL, TokenURL: s.tokenURL, UserInfoURL: s.userinfoURL,
		JWKSURL: l.hk.oidcJWKS, EndSessionURL: l.hk.oidcEndSess}
	if c := cmpOr(s.usernameClaim, s.usernameKey); c != "" {
		o.UsernameClaim = c
	}
	if s.scopesSet {
		o.Scopes = s.scopes
	}
	if s.groupsClaim != "" {
		o.GroupsClaims = []string{s.groupsClaim}
	}
	if s.fromIDTokenSet {
		o.UserInfo = !s.fromIDToken
	}
	o.AuthParams = s.authParams
	a.OIDC = o
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// keycloakRealm recognises a Keycloak realm's issuer
// (https://host[/auth]/realms/<realm>) or, with endpoint, one of its
// OpenID Connect endpoints (…/protocol/openid-connect/auth, token,
// userinfo, certs, logout), and returns Keycloak's base URL and the realm.
func keycloakRealm(raw string, endpoint bool) (base, realm string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", false
	}
	i := strings.LastIndex(u.Path, "/realms/")
	if i < 0 {
		return "", "", false
	}
	realm, tail, _ := strings.Cut(u.Path[i+len("/realms/"):], "/")
	if realm == "" {
		return "", "", false
	}
	if endpoint {
		switch tail {
		case "protocol/openid-connect/auth", "protocol/openid-connect/token", "protocol/openid-connect/userinfo",
			"protocol/openid-connect/certs", "protocol/openid-connect/logout":
		default:
			return "", "", false
		}
	} else if tail != "" {
		return "", "", false
	}
	return u.Scheme + "://" + u.Host + u.Path[:i], realm, true
}

// legacyAuth is the auth block of z2jh before 1.0, translated the way
// z2jh 1.0's migration helper translated it to hub.config.
type legacyAuth struct {
	class    authClass
	sections map[string]map[string]setting
	order    map[string][]string
}

// legacyKeys maps the old auth keys (flattened) to section and trait.
var legacyKeys = map[string][2]string{
	"scopes":          {secOAuth, "scope"},
	"state.enabled":   {secAuth, "enable_auth_state"},
	"admin.users":     {secAuth, "admin_users"},
	"whitelist.users": {secAuth, "allowed_users"},
	"allowedUsers":    {secAuth, "allowed_users"},
	"dummy.password":  {secDummy, "password"},
}

func (l *loader) readLegacyAuth() *legacyAuth {
	an := l.user.get("auth")
	if an.isNull() || !l.mapping("auth", an) {
		return nil
	}
	la := &legacyAuth{sections: map[string]map[string]setting{}, order: map[string][]string{}}
	add := func(sec, trait string, s setting) {
		if la.sections[sec] == nil {
			la.sections[sec] = map[string]setting{}
		}
		if _, dup := la.sections[sec][trait]; !dup {
			la.order[sec] = append(la.order[sec], trait)
		}
		la.sections[sec][trait] = s
	}
	classSection := ""
	if tn := an.get("type"); !tn.isNull() {
		typ, _ := l.str("auth.type", tn)
		la.class = authClass{name: typ, path: "auth.type", n: tn, given: true}
		if typ == "custom" {
			cn := an.lookup("custom", "className")
			name, _ := l.str("auth.custom.className", cn)
			if name == "" {
				l.errorf("auth.custom.className", cn, "auth.type custom needs a className")
			}
			la.class = authClass{name: name, path: "auth.custom.className", n: cn, given: true}
			classSection = name[strings.LastIndexByte(name, '.')+1:]
		}
	}
	var flat func(prefix string, n *node)
	flat = func(prefix string, n *node) {
		for _, k := range n.keys {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			v, path := n.vals[k], "auth."+key
			switch {
			case key == "type" || key == "custom.className":
			case key == "custom.config":
				if classSection != "" && l.mapping(path, v) {
					for _, ck := range v.keys {
						add(classSection, ck, setting{child(path, ck), v.vals[ck]})
					}
				}
			case key == "state.cryptoKey":
				l.cryptKeys(setting{path, v})
			case key == "admin.access":
				if b, ok := l.boolean(path, v); ok && !b {
					l.warn(path, v, msgAdminAccess)
				}
			case legacyKeys[key] != [2]string{}:
				m := legacyKeys[key]
				add(m[0], m[1], setting{path, v})
			case v.kind == kindMap && len(v.keys) > 0:
				flat(key, v)
			default:
				l.warn(path, v, "is an auth key of z2jh before 1.0 that hubkit does not translate")
			}
		}
	}
	flat("", an)
	l.warn("auth", an, "was removed in z2jh 1.0 (later charts refuse it); hubkit reads it the way z2jh 1.0's "+
		"migration did: auth.type/custom.className as hub.config.JupyterHub.authenticator_class, custom.config as "+
		"hub.config.<class>, admin.users and allowedUsers as hub.config.Authenticator.admin_users and allowed_users. "+
		"Move the settings to hub.config")
	return la
}
