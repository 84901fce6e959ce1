package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/hubkit/hubkit/secrets"
)

// Layout says where users' secrets live and how their policies are named.
// The zero value is the buun-stack layout: KV v2 at "secret", user
// prefixes "jupyter/users/{username}", policies "jupyter-user-{username}".
type Layout struct {
	// Mount is the path of the KV version 2 secrets engine. Default
	// "secret" (where a Vault dev server mounts it).
	Mount string

	// PathTemplate is a user's prefix inside Mount. "{username}" is
	// replaced by SafeName(username) and must occur exactly once, as a
	// whole path segment. Default "jupyter/users/{username}".
	PathTemplate string

	// PolicyTemplate names a user's policy. It must end with
	// "{username}", which is replaced by SafeName(username), so that the
	// hub's own policy can cover all user policies with one glob.
	// Default "jupyter-user-{username}".
	PolicyTemplate string
}

// Default layout values.
const (
	DefaultMount          = "secret"
	DefaultPathTemplate   = "jupyter/users/{username}"
	DefaultPolicyTemplate = "jupyter-user-{username}"
)

const userVar = "{username}"

func (l Layout) withDefaults() Layout {
	if l.Mount == "" {
		l.Mount = DefaultMount
	}
	if l.PathTemplate == "" {
		l.PathTemplate = DefaultPathTemplate
	}
	if l.PolicyTemplate == "" {
		l.PolicyTemplate = DefaultPolicyTemplate
	}
	return l
}

func (l Layout) validate() error {
	if err := validPath("Layout.Mount", l.Mount); err != nil {
		return err
	}
	if strings.Count(l.PathTemplate, userVar) != 1 {
		return fmt.Errorf("vault: Layout.PathTemplate %q must contain %s exactly once", l.PathTemplate, userVar)
	}
	segs := strings.Split(l.PathTemplate, "/")
	found := false
	for _, s := range segs {
		if strings.Contains(s, userVar) {
			if s != userVar {
				return fmt.Errorf("vault: Layout.PathTemplate %q: %s must be a whole path segment", l.PathTemplate, userVar)
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("vault: Layout.PathTemplate %q must contain %s", l.PathTemplate, userVar)
	}
	if err := validPath("Layout.PathTemplate", strings.ReplaceAll(l.PathTemplate, userVar, "x")); err != nil {
		return err
	}
	if !strings.HasSuffix(l.PolicyTemplate, userVar) || strings.Count(l.PolicyTemplate, userVar) != 1 {
		return fmt.Errorf("vault: Layout.PolicyTemplate %q must end with %s and contain it once", l.PolicyTemplate, userVar)
	}
	if p := strings.TrimSuffix(l.PolicyTemplate, userVar); p != strings.ToLower(p) || strings.ContainsAny(p, "*+/ ") || p == "" {
		return fmt.Errorf("vault: Layout.PolicyTemplate %q: the part before %s must be non-empty lower case without '*', '+', '/' or spaces", l.PolicyTemplate, userVar)
	}
	return nil
}

// validPath checks a Vault path written in configuration (a mount, a
// prefix): the rules of secrets.ValidateName, so no glob characters, no
// empty, "." or ".." segments.
func validPath(what, p string) error {
	if err := secrets.ValidateName(p); err != nil {
		var ie *secrets.InvalidError
		if errors.As(err, &ie) {
			return fmt.Errorf("vault: %s %q: %s", what, p, ie.Reason)
		}
		return fmt.Errorf("vault: %s %q: %w", what, p, err)
	}
	return nil
}

// UserPrefix returns the user's prefix inside Mount, for example
// "jupyter/users/alice".
func (l Layout) UserPrefix(username string) string {
	l = l.withDefaults()
	return strings.Replace(l.PathTemplate, userVar, SafeName(username), 1)
}

// UserPolicy returns the name of the user's policy, for example
// "jupyter-user-alice".
func (l Layout) UserPolicy(username string) string {
	l = l.withDefaults()
	return strings.Replace(l.PolicyTemplate, userVar, SafeName(username), 1)
}

// UserPolicyHCL returns the user's policy: create, read, update, delete
// and list on the user's prefix in Mount (data and metadata), and nothing
// else. A user's token also carries Vault's "default" policy, which lets
// it look up, renew and revoke itself.
func (l Layout) UserPolicyHCL(username string) string {
	l = l.withDefaults()
	prefix := l.UserPrefix(username)
	return fmt.Sprintf(`# hubkit: secrets of JupyterHub user %q (Vault name %q).
path "%[3]s/data/%[4]s/*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "%[3]s/metadata/%[4]s/*" {
  capabilities = ["read", "list", "delete"]
}
`, username, SafeName(username), l.Mount, prefix)
}

// maxSafeName bounds the length of a name SafeName keeps unchanged.
const maxSafeName = 64

// SafeName returns the form of a JupyterHub username used in Vault paths
// and policy names. A name of 1 to 64 characters from [a-z0-9._-] that
// starts and ends with a letter or digit and contains no "--" and no ".."
// is kept as it is (so "alice" keeps buun-stack's paths and policy
// names). Any other name, for example "Alice", "a.b@example.com", "bob--x"
// or one with '*', '+', '/' or non-ASCII letters, becomes a readable
// lower-case stem, "---" and 32 hex digits of the SHA-256 of the name:
// "a-b-example-com---3f1c...". Two different usernames never share a
// safe name (short of a SHA-256 collision in 128 bits): kept names
// contain no "--", hashed ones always do.
//
// Vault policy names are case-insensitive and '*' and '+' are wildcards
// in policy paths, which is why names are never used raw.
func SafeName(username string) string {
	if isSafe(username) {
		return username
	}
	sum := sha256.Sum256([]byte(username))
	return stem(username) + "---" + hex.EncodeToString(sum[:16])
}

func isSafe(s string) bool {
	if len(s) == 0 || len(s) > maxSafeName || strings.Contains(s, "--") || strings.Contains(s, "..") {
		return false
	}
	if !lowerAlnum(s[0]) || !lowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !lowerAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func lowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// stem is the readable part of a hashed safe name: lower case, every run
// of other characters a single '-', trimmed, at most 32 characters, "x"
// when nothing is left.
func stem(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 0x80 || !lowerAlnum(byte(r)) {
			dash = true
			continue
		}
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > 32 {
		out = strings.TrimRight(out[:32], "-")
	}
	if out == "" {
		return "x"
	}
	return out
}
