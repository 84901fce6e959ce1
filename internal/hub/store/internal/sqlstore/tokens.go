package sqlstore

import (
	"fmt"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// TokenPrefix returns the prefix by which LookupToken reads the candidate
// tokens for secret; for a secret that no token can have, an error
// matching store.ErrNotFound.
func TokenPrefix(secret string) (string, error) {
	if store.ValidateSecret(secret) != nil {
		return "", errNoToken()
	}
	return store.SecretPrefix(secret), nil
}

// MatchToken returns the token among candidates (those with the secret's
// prefix) whose hash is secret's, compared in constant time: an error
// matching store.ErrNotFound when none is, store.ErrExpired when it has
// expired at now.
func MatchToken(secret string, candidates []store.Token, now time.Time) (store.Token, error) {
	var (
		found store.Token
		ok    bool
	)
	for _, t := range candidates {
		if store.CheckHash(t.Hash, secret) {
			found, ok = t, true
		}
	}
	switch {
	case !ok:
		return store.Token{}, errNoToken()
	case !found.Expires.IsZero() && !found.Expires.After(now):
		return store.Token{}, fmt.Errorf("%w: token %d expired at %s", store.ErrExpired, found.ID, found.Expires.Format(time.RFC3339))
	}
	return found, nil
}

func errNoToken() error { return fmt.Errorf("%w: no token has this secret", store.ErrNotFound) }

// CodeHash returns the hash by which ConsumeOAuthCode finds code; for a
// code that cannot exist, an error matching store.ErrNotFound.
func CodeHash(code, clientID string) ([]byte, error) {
	if store.ValidateSecret(code) != nil {
		return nil, errNoCode(clientID)
	}
	return store.HashSecret(code), nil
}

// Consumed returns what ConsumeOAuthCode returns for clientID at now once
// it removed code c (found says whether there was one): c, or an error
// matching store.ErrNotFound when there was none or it belongs to another
// client, store.ErrExpired when it has expired.
func Consumed(c store.OAuthCode, found bool, clientID string, now time.Time) (store.OAuthCode, error) {
	switch {
	case !found, c.ClientID != clientID:
		return store.OAuthCode{}, errNoCode(clientID)
	case !c.Expires.After(now):
		return store.OAuthCode{}, fmt.Errorf("%w: authorization code expired at %s", store.ErrExpired, c.Expires.Format(time.RFC3339))
	}
	return c, nil
}

func errNoCode(clientID string) error {
	return fmt.Errorf("%w: no such authorization code for client %q", store.ErrNotFound, clientID)
}
