package spawner

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest user or server name, in bytes, that a Ref
// accepts. JupyterHub stores names in a 255-character column.
const MaxNameLength = 255

// Ref names one server: a user's default server (Server == "") or one of the
// user's named servers. Names are the raw JupyterHub names; implementations
// derive backend-safe names from them.
type Ref struct {
	User   string `json:"user"`
	Server string `json:"server,omitempty"`
}

// String returns "user" for a default server and "user/server" for a named
// one.
func (r Ref) String() string {
	if r.Server == "" {
		return r.User
	}
	return r.User + "/" + r.Server
}

// Validate reports whether r names a server that any Spawner may be asked
// to run. The user name must be non-empty; both names must be valid UTF-8
// of at most MaxNameLength bytes without '/', control characters or
// surrounding white space. The error wraps ErrInvalid.
func (r Ref) Validate() error {
	if r.User == "" {
		return fmt.Errorf("%w: empty user name", ErrInvalid)
	}
	if err := validateName("user", r.User); err != nil {
		return err
	}
	if r.Server == "" {
		return nil
	}
	return validateName("server", r.Server)
}

func validateName(kind, s string) error {
	switch {
	case len(s) > MaxNameLength:
		return fmt.Errorf("%w: %s name is %d bytes long, more than %d", ErrInvalid, kind, len(s), MaxNameLength)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s name %q is not valid UTF-8", ErrInvalid, kind, s)
	case strings.ContainsRune(s, '/'):
		return fmt.Errorf("%w: %s name %q contains '/'", ErrInvalid, kind, s)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%w: %s name %q begins or ends with white space", ErrInvalid, kind, s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %s name %q contains a control character", ErrInvalid, kind, s)
	}
	return nil
}

// DefaultPrefix returns the URL prefix under which JupyterHub serves ref
// when the hub passes no JUPYTERHUB_SERVICE_PREFIX: "/user/{user}/" for a
// default server and "/user/{user}/{server}/" for a named one, with both
// names escaped as JupyterHub escapes them (Python's quote with safe="@~").
func DefaultPrefix(ref Ref) string {
	p := "/user/" + escapePath(ref.User) + "/"
	if ref.Server != "" {
		p += escapePath(ref.Server) + "/"
	}
	return p
}

// escapePath escapes one URL path segment like JupyterHub's
// url_escape_path: ASCII letters, digits and "_.-~@" stay, every other
// byte becomes %XX.
func escapePath(s string) string {
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&0xf])
	}
	return b.String()
}
