package store

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
)

// Secrets (API tokens, OAuth client secrets, authorization codes) are
// never stored: a Store keeps SHA-256 of each. A fast hash is enough
// because the secrets the hub makes are 256 random bits (NewSecret); a
// secret an administrator configures (a service's API token) must be at
// least MinSecretLength characters and is only as strong as it was chosen.
const (
	// PrefixLength is the length of a token's public prefix
	// (JupyterHub's, 4).
	PrefixLength = 4
	// MinSecretLength is the shortest secret a Store accepts.
	MinSecretLength = 8
	// secretBytes is the randomness of NewSecret.
	secretBytes = 32
)

// NewSecret returns a new secret of 256 random bits read from r, in hex
// (64 characters, like `openssl rand -hex 32`). With r nil it reads
// crypto/rand.
func NewSecret(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("store: reading randomness: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// HashSecret returns SHA-256 of secret, as stored.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SecretPrefix returns the public prefix of a token's secret: its first
// PrefixLength bytes.
func SecretPrefix(secret string) string {
	if len(secret) < PrefixLength {
		return secret
	}
	return secret[:PrefixLength]
}

// CheckHash reports, in constant time for a given hash length, whether
// hash is HashSecret(secret).
func CheckHash(hash []byte, secret string) bool {
	return subtle.ConstantTimeCompare(hash, HashSecret(secret)) == 1
}

// ValidateSecret reports whether secret may be stored: at least
// MinSecretLength bytes, no longer than 1024, no control characters or
// spaces (it travels in an Authorization header). The error wraps
// ErrInvalid and does not contain the secret.
func ValidateSecret(secret string) error {
	if len(secret) < MinSecretLength {
		return Invalid("secret is %d bytes long, shorter than %d", len(secret), MinSecretLength)
	}
	if len(secret) > 1024 {
		return Invalid("secret is %d bytes long, longer than 1024", len(secret))
	}
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; c <= ' ' || c == 0x7f {
			return Invalid("secret contains a space or control character at byte %d", i)
		}
	}
	return nil
}
