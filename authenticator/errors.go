package authenticator

import (
	"errors"
	"fmt"
)

// Conditions that callers check with errors.Is. Implementations wrap them
// with details.
var (
	// ErrNotAllowed: the rules do not allow this person to log in.
	ErrNotAllowed = errors.New("authenticator: user is not allowed")
	// ErrBlocked: the person is in the blocked users, whatever else holds.
	ErrBlocked = errors.New("authenticator: user is blocked")
	// ErrLoginRequired: the login cannot be renewed (refresh refused,
	// session gone); the person must log in again.
	ErrLoginRequired = errors.New("authenticator: login required")
	// ErrNoSession: the request carries no session cookie.
	ErrNoSession = errors.New("authenticator: no session")
	// ErrSessionExpired: the session cookie is genuine but past its expiry.
	ErrSessionExpired = errors.New("authenticator: session expired")
	// ErrInvalidSession: the session cookie was not made by this hub with a
	// key it still has (tampered, truncated, foreign, or sealed with a
	// retired key).
	ErrInvalidSession = errors.New("authenticator: invalid session cookie")
	// ErrInvalidState: an OAuth callback or login form whose state is
	// missing, foreign to this browser, expired, or already used.
	ErrInvalidState = errors.New("authenticator: invalid login state")
	// ErrNoCredentials: the request carries no credentials at all.
	ErrNoCredentials = errors.New("authenticator: no credentials")
	// ErrBadCredentials: the credentials were wrong (development login).
	ErrBadCredentials = errors.New("authenticator: bad credentials")
	// ErrNotFound: a [StateStore] has nothing under the key.
	ErrNotFound = errors.New("authenticator: not found")
	// ErrDecrypt: sealed data that no key of the [Keyring] opens.
	ErrDecrypt = errors.New("authenticator: cannot decrypt")
)

// ClaimError is a claim that is missing or of the wrong JSON type. It wraps
// nothing; check for it with errors.As.
type ClaimError struct {
	// Claim is the claim's path, for example "groups" or
	// "resource_access.jupyterhub.roles".
	Claim string
	// Want is the JSON type expected ("string", "array of strings", …).
	Want string
	// Got is what was there ("missing", "number", "string", …).
	Got string
}

func (e *ClaimError) Error() string {
	if e.Got == "missing" {
		return fmt.Sprintf("authenticator: claim %q is missing (want %s)", e.Claim, e.Want)
	}
	return fmt.Sprintf("authenticator: claim %q is %s, want %s", e.Claim, e.Got, e.Want)
}
