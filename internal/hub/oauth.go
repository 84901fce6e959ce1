package hub

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hubkit/hubkit/internal/hub/scopes"
	"github.com/hubkit/hubkit/internal/hub/store"
)

// The lifetimes of the OAuth provider's codes and access tokens
// (JupyterHub's oauth_token_expires_in defaults to the cookie's 14 days).
const (
	oauthCodeLifetime  = 5 * time.Minute
	oauthTokenLifetime = 14 * 24 * time.Hour
)

// oauthError answers the token endpoint with RFC 6749's error body.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// checkRedirectURI reports whether presented may stand for the client's
// registered redirect URI: the same path, and, when absolute, on the host
// the browser is talking to (single-user servers register a path; the
// browser brings them back to whatever host it used).
func checkRedirectURI(registered, presented, host string) bool {
	if presented == registered {
		return true
	}
	u, err := url.Parse(presented)
	if err != nil || u.Fragment != "" || u.User != nil || u.RawQuery != "" {
		return false
	}
	if !strings.HasPrefix(registered, "/") {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host == host && u.EscapedPath() == registered
}

// grantedScopes are the client's scopes that the authorizing user holds.
func grantedScopes(c store.OAuthClient, p *principal, user string) []string {
	var out []string
	for _, sc := range c.Scopes {
		set, err := scopes.Expand([]string{sc}, scopes.Owner{User: user})
		if err != nil {
			continue
		}
		if len(scopes.Intersect(set, p.scopes).Strings()) > 0 {
			out = append(out, sc)
		}
	}
	return out
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize access</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{{.Static}}hub.css"></head>
<body><main>
<h1>Authorize access</h1>
<p>{{.Description}} ({{.ClientID}}) asks to act as <strong>{{.User}}</strong> with:</p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>
<form method="post" action="{{.Action}}">
<input type="hidden" name="_xsrf" value="{{.XSRF}}">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<button type="submit" name="consent" value="yes">Authorize</button>
<a href="{{.Home}}">Cancel</a>
</form></main></body></html>
`))

// oauthAuthorize is /hub/api/oauth2/authorize: a logged-in user authorizes
// a client — at once for their own servers, after a confirmation (POST)
// for anyone else's — and the browser returns to the client with a
// single-use code.
func (h *Hub) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	p, err := h.authenticate(r)
	if err != nil || p.user == nil || p.session == nil {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, h.prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		h.errorPage(w, r, p, http.StatusForbidden, "Log in first.")
		return
	}
	var q url.Values
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if !checkXSRF(r, p) {
			h.errorPage(w, r, p, http.StatusForbidden, "The form has expired; go back and try again.")
			return
		}
		q = r.PostForm
	} else {
		q = r.URL.Query()
	}
	c, err := h.st.GetOAuthClient(r.Context(), q.Get("client_id"))
	if err != nil {
		h.errorPage(w, r, p, http.StatusBadRequest, "Unknown OAuth client.")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		redirect = c.RedirectURI
	}
	if !checkRedirectURI(c.RedirectURI, redirect, r.Host) {
		// Never redirect to an unchecked URI: show the error here.
		h.errorPage(w, r, p, http.StatusBadRequest, "The redirect URI does not match the client's.")
		return
	}
	back := func(params url.Values) {
		u, _ := url.Parse(redirect)
		v := u.Query()
		for k, vs := range params {
			v[k] = vs
		}
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	}
	method := q.Get("code_challenge_method")
	challenge := q.Get("code_challenge")
	if challenge != "" && method == "" {
		method = "plain"
	}
	if challenge != "" && method != "S256" && method != "plain" || challenge == "" && method != "" {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"unsupported PKCE parameters"}})
		return
	}
	granted := grantedScopes(c, p, p.user.Name)
	if len(granted) == 0 {
		h.errorPage(w, r, p, http.StatusForbidden, "You are not allowed to use this server.")
		return
	}
	own := c.Owner.User == p.user.Name && c.Owner.Service == ""
	if !own && (r.Method != http.MethodPost || q.Get("consent") != "yes") {
		params := map[string]string{}
		for _, k := range []string{"client_id", "redirect_uri", "response_type", "state", "code_challenge", "code_challenge_method", "scope"} {
			if v := q.Get(k); v != "" {
				params[k] = v
			}
		}
		var buf bytes.Buffer
		err := consentPage.Execute(&buf, map[string]any{
			"Static": h.prefix + "static/", "Description": c.Description, "ClientID": c.ID, "User": p.user.Name,
			"Scopes": granted, "Action": h.prefix + "api/oauth2/authorize", "XSRF": xsrfToken(p.session),
			"Params": params, "Home": h.prefix + "home",
		})
		if err != nil {
			h.errorPage(w, r, p, http.StatusInternalServerError, "Could not render the page.")
			return
		}
		securePageHeaders(w)
		_, _ = w.Write(buf.Bytes())
		return
	}
	code, err := store.NewSecret(nil)
	if err != nil {
		h.errorPage(w, r, p, http.StatusInternalServerError, "Could not make a code.")
		return
	}
	if _, err := h.st.CreateOAuthCode(r.Context(), code, store.OAuthCode{
		ClientID: c.ID, User: p.user.Name, RedirectURI: redirect,
		CodeChallenge: challenge, CodeChallengeMethod: method,
		Scopes: granted, Expires: h.now().Add(oauthCodeLifetime),
	}); err != nil {
		h.errorPage(w, r, p, http.StatusServiceUnavailable, "Could not store the code; try again.")
		return
	}
	back(url.Values{"code": {code}})
}

// oauthToken is /hub/api/oauth2/token: a client exchanges a code (and its
// PKCE verifier) for an access token, authenticating with its secret.
func (h *Hub) oauthToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-JupyterHub-Version", APIVersion)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if f.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported")
		return
	}
	c, err := h.st.GetOAuthClient(r.Context(), id)
	if err != nil || !c.CheckSecret(secret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	code, err := h.st.ConsumeOAuthCode(r.Context(), f.Get("code"), c.ID)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code is not valid (unknown, used, expired or another client's)")
		return
	}
	if ru := f.Get("redirect_uri"); ru != "" && ru != code.RedirectURI {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		return
	}
	if code.CodeChallenge != "" {
		v := f.Get("code_verifier")
		ok := false
		switch code.CodeChallengeMethod {
		case "S256":
			sum := sha256.Sum256([]byte(v))
			ok = subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(code.CodeChallenge)) == 1
		case "plain":
			ok = subtle.ConstantTimeCompare([]byte(v), []byte(code.CodeChallenge)) == 1
		}
		if v == "" || !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
			return
		}
	}
	access, err := store.NewSecret(nil)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "could not make a token")
		return
	}
	t, err := h.st.CreateToken(r.Context(), access, store.Token{
		Owner: store.Owner{User: code.User}, Scopes: code.Scopes, ClientID: c.ID,
		Note: "OAuth token for " + c.ID, Expires: h.now().Add(oauthTokenLifetime),
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "the user or client no longer exists")
			return
		}
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "could not store the token")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "token_type": "Bearer",
		"expires_in": int(t.Expires.Sub(h.now()).Seconds()), "scope": strings.Join(t.Scopes, " "),
	})
}

// securePageHeaders are the headers of every HTML page the hub writes
// outside the ui package.
func securePageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
}
