// Package cookie writes and reads the authenticator's sealed cookies with
// one set of attributes: HttpOnly, SameSite=Lax, Secure when the request
// came over TLS (or when the hub says it sits behind a TLS proxy).
package cookie

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sealer is what *authenticator.Keyring does.
type Sealer interface {
	Seal(purpose string, plaintext []byte) ([]byte, error)
	Open(purpose string, sealed []byte) ([]byte, error)
}

// MaxSize is the largest cookie value written; browsers keep 4096 bytes per
// cookie including its name and attributes.
const MaxSize = 3800

// ErrTooLarge is a value that does not fit in a cookie.
var ErrTooLarge = errors.New("cookie: value too large for a cookie")

// Spec names a cookie and its scope.
type Spec struct {
	Name   string
	Path   string
	Domain string
	// AlwaysSecure sets Secure even on plain-HTTP requests (a hub behind a
	// TLS-terminating proxy).
	AlwaysSecure bool
}

// Secure reports whether cookies on r's response get the Secure flag.
func (s Spec) Secure(r *http.Request) bool { return s.AlwaysSecure || r.TLS != nil }

// Set writes value, expiring at exp (seen from now).
func (s Spec) Set(w http.ResponseWriter, r *http.Request, value string, now, exp time.Time) {
	maxAge := int(exp.Sub(now).Round(time.Second) / time.Second)
	if maxAge <= 0 {
		maxAge = -1
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.Name,
		Value:    value,
		Path:     s.Path,
		Domain:   s.Domain,
		MaxAge:   maxAge,
		Secure:   s.Secure(r),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// Clear deletes the cookie.
func (s Spec) Clear(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.Name,
		Value:    "",
		Path:     s.Path,
		Domain:   s.Domain,
		MaxAge:   -1,
		Secure:   s.Secure(r),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// Seal encodes v as JSON, seals it for purpose and returns the cookie
// value (base64url).
func Seal(sealer Sealer, purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sealed, err := sealer.Seal(purpose, b)
	if err != nil {
		return "", err
	}
	s := base64.RawURLEncoding.EncodeToString(sealed)
	if len(s) > MaxSize {
		return "", fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(s), MaxSize)
	}
	return s, nil
}

// Open reverses Seal into v. Any failure (encoding, authentication, JSON)
// is an error; callers map it to their own sentinel.
func Open(sealer Sealer, purpose, value string, v any) error {
	if len(value) > MaxSize*2 {
		return ErrTooLarge
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return fmt.Errorf("cookie: not base64url: %w", err)
	}
	b, err := sealer.Open(purpose, sealed)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
