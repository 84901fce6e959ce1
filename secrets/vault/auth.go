package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/secrets"
)

// DefaultServiceAccountTokenPath is where Kubernetes mounts a pod's
// service account token.
const DefaultServiceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// KubernetesAuth logs in with Vault's Kubernetes auth method: the hub
// presents its service account token, Vault has the Kubernetes API server
// review it (TokenReview) and returns a token with the policies of Role.
// This is the recommended credential for a hub in a cluster: nothing
// long-lived is stored in a Secret, and a lost token is replaced by
// logging in again. It implements api.AuthMethod.
type KubernetesAuth struct {
	// Role is the Vault role bound to the hub's service account and
	// namespace. Required.
	Role string

	// MountPath is where the auth method is enabled. Default
	// "kubernetes".
	MountPath string

	// TokenPath is the file holding the service account token, read at
	// every login (projected tokens rotate). Default
	// DefaultServiceAccountTokenPath.
	TokenPath string

	// ServiceAccountToken, when set, is called instead of reading
	// TokenPath, for example to request a token with a Vault audience
	// through the TokenRequest API.
	ServiceAccountToken func(ctx context.Context) (string, error)
}

var _ api.AuthMethod = (*KubernetesAuth)(nil)

// Login exchanges the service account token for a Vault token. It does
// not change c's token. It blocks until Vault answers or ctx ends.
func (k *KubernetesAuth) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	if k.Role == "" {
		return nil, errors.New("vault: KubernetesAuth.Role is required")
	}
	mount := k.MountPath
	if mount == "" {
		mount = "kubernetes"
	}
	mount = strings.Trim(mount, "/")
	var jwt string
	if k.ServiceAccountToken != nil {
		t, err := k.ServiceAccountToken(ctx)
		if err != nil {
			return nil, fmt.Errorf("vault: kubernetes login: getting the service account token: %w", err)
		}
		jwt = t
	} else {
		p := k.TokenPath
		if p == "" {
			p = DefaultServiceAccountTokenPath
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("vault: kubernetes login: reading the service account token: %w", err)
		}
		jwt = string(b)
	}
	jwt = strings.TrimSpace(jwt)
	if jwt == "" {
		return nil, errors.New("vault: kubernetes login: empty service account token")
	}
	anon, err := withToken(c, "")
	if err != nil {
		return nil, err
	}
	path := "auth/" + mount + "/login"
	sec, err := anon.Logical().WriteWithContext(ctx, path, map[string]any{"role": k.Role, "jwt": jwt})
	if err != nil {
		return nil, translate(ctx, "login", path, err)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return nil, &Error{Op: "login", Path: path, Kind: ErrRejected, Err: errors.New("no token in the answer")}
	}
	return sec, nil
}

// TokenAuth is the fallback credential: a token that an operator created
// (renewable, with a long or no max TTL, as buun-stack's admin token) and
// handed over in a file or a variable. Login looks the token up to learn
// its TTL and whether it is renewable; it cannot replace an expired token,
// except by reading a new one from TokenFile, where an operator (or an
// ExternalSecret) may have put one. It implements api.AuthMethod.
//
// A user's server uses TokenAuth with the token from NOTEBOOK_VAULT_TOKEN
// to renew it.
type TokenAuth struct {
	// Token is the token. Ignored when TokenFile is set.
	Token string

	// TokenFile, when set, is read at every login.
	TokenFile string
}

var _ api.AuthMethod = (*TokenAuth)(nil)

// Login looks the token up with its own credentials (lookup-self, allowed
// by Vault's default policy) and returns it with its remaining TTL. It
// does not change c's token. It blocks until Vault answers or ctx ends.
func (a *TokenAuth) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	tok := a.Token
	if a.TokenFile != "" {
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("vault: token login: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		return nil, errors.New("vault: token login: empty token")
	}
	tc, err := withToken(c, tok)
	if err != nil {
		return nil, err
	}
	const path = "auth/token/lookup-self"
	sec, err := tc.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		err = translate(ctx, "login", path, err)
		var e *Error
		if errors.As(err, &e) && e.Kind == secrets.ErrPermissionDenied {
			e.Kind = ErrTokenInvalid
		}
		return nil, err
	}
	if sec == nil {
		return nil, &Error{Op: "login", Path: path, Kind: ErrRejected, Err: errors.New("empty answer")}
	}
	var d struct {
		Accessor  string      `json:"accessor"`
		TTL       json.Number `json:"ttl"`
		Renewable bool        `json:"renewable"`
		Policies  []string    `json:"policies"`
		// ExpireTime is null for a token that does not expire.
		ExpireTime *string `json:"expire_time"`
	}
	if err := decodeInto(sec.Data, &d); err != nil {
		return nil, &Error{Op: "login", Path: path, Kind: ErrRejected, Err: fmt.Errorf("decoding answer: %w", err)}
	}
	ttl, _ := d.TTL.Int64()
	if ttl == 0 && d.ExpireTime != nil {
		ttl = 1 // expiring within the second, not "never expires"
	}
	return &api.Secret{Auth: &api.SecretAuth{
		ClientToken:   tok,
		Accessor:      d.Accessor,
		Policies:      d.Policies,
		LeaseDuration: int(ttl),
		Renewable:     d.Renewable,
	}}, nil
}

// AuthFunc adapts a function to api.AuthMethod, for logins this package
// does not provide (AppRole, userpass, JWT, ...).
type AuthFunc func(ctx context.Context, c *api.Client) (*api.Secret, error)

var _ api.AuthMethod = AuthFunc(nil)

// Login calls f.
func (f AuthFunc) Login(ctx context.Context, c *api.Client) (*api.Secret, error) { return f(ctx, c) }
