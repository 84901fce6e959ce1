package oidc

import (
	"context"
	"fmt"
	"net/url"

	"github.com/hubkit/hubkit/authenticator"
)

// LogoutURL returns the provider's end_session_endpoint with id_token_hint
// (the login's ID token), post_logout_redirect_uri and client_id — OpenID
// Connect RP-initiated logout, which Keycloak needs to end its SSO session
// without asking (OAuthenticator never sent it; its PR #531 closed
// unmerged). "" when the provider advertises no end-session endpoint.
// Implements [authenticator.Logouter].
func (a *Authenticator) LogoutURL(ctx context.Context, id authenticator.Identity) (string, error) {
	prov, err := a.provider(ctx)
	if err != nil {
		return "", err
	}
	if prov.endSession == "" {
		return "", nil
	}
	u, err := url.Parse(prov.endSession)
	if err != nil {
		return "", fmt.Errorf("oidc: end_session_endpoint %q: %w", prov.endSession, err)
	}
	q := u.Query()
	if id.AuthState != nil && id.AuthState.IDToken != "" {
		q.Set("id_token_hint", id.AuthState.IDToken)
	}
	q.Set("client_id", a.opts.ClientID)
	if a.opts.PostLogoutRedirectURL != "" {
		q.Set("post_logout_redirect_uri", a.opts.PostLogoutRedirectURL)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
