package authenticator

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of every key in a [Keyring]: 32 bytes, as
// JUPYTERHUB_CRYPT_KEY's keys (`openssl rand -hex 32`).
const KeySize = 32

// sealVersion is the first byte of everything a Keyring seals.
const sealVersion = 1

// sealHeader is version (1) + key id (4).
const sealHeader = 5

// Keyring seals and opens secrets — session cookies, login-state cookies,
// auth state at rest — with authenticated encryption (AES-256-GCM, a fresh
// random nonce per seal). Sealed data is both encrypted and signed: a
// changed byte, a truncated value or a foreign key fails to open.
//
// # Rotation
//
// The first key seals; every key opens. To rotate, put a new key first and
// keep the old one after it until everything sealed with it has expired
// (session lifetime), then drop it. Each sealed value names its key by a
// 4-byte id derived from the key, so opening tries one key, not all.
//
// # Purposes
//
// Every seal names a purpose ("session:hubkit-session", "auth-state", …)
// that is authenticated with the data: a value sealed for one purpose never
// opens as another (a login-state cookie cannot pose as a session).
//
// A Keyring is immutable and safe for concurrent use.
type Keyring struct {
	keys []ringKey
}

type ringKey struct {
	id   [4]byte
	aead cipher.AEAD
}

// NewKey returns a fresh random key of [KeySize] bytes.
func NewKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic("authenticator: crypto/rand failed: " + err.Error())
	}
	return k
}

// NewKeyring returns a keyring of keys, each [KeySize] bytes; the first
// seals, all open. Keys are not retained: each is stretched into an
// encryption key with HKDF-SHA256.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("authenticator: keyring needs at least one key")
	}
	k := &Keyring{}
	for i, raw := range keys {
		if len(raw) != KeySize {
			return nil, fmt.Errorf("authenticator: key %d is %d bytes, want %d", i, len(raw), KeySize)
		}
		enc, err := hkdf.Key(sha256.New, raw, nil, "hubkit authenticator seal v1", 32)
		if err != nil {
			return nil, fmt.Errorf("authenticator: deriving key %d: %w", i, err)
		}
		idb, err := hkdf.Key(sha256.New, raw, nil, "hubkit authenticator key id v1", 4)
		if err != nil {
			return nil, fmt.Errorf("authenticator: deriving key %d: %w", i, err)
		}
		block, err := aes.NewCipher(enc)
		if err != nil {
			return nil, fmt.Errorf("authenticator: key %d: %w", i, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("authenticator: key %d: %w", i, err)
		}
		var id [4]byte
		copy(id[:], idb)
		for _, prev := range k.keys {
			if prev.id == id {
				return nil, fmt.Errorf("authenticator: key %d is given twice", i)
			}
		}
		k.keys = append(k.keys, ringKey{id: id, aead: aead})
	}
	return k, nil
}

// ParseKeyring reads keys in JUPYTERHUB_CRYPT_KEY's format: one or more
// keys separated by ";", each 32 bytes written as hex (64 characters) or
// base64 (standard or URL alphabet, padded or not). The first key seals.
func ParseKeyring(s string) (*Keyring, error) {
	var keys [][]byte
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, err := decodeKey(part)
		if err != nil {
			return nil, fmt.Errorf("authenticator: key %d: %w", i, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("authenticator: no key given (want 32 bytes as hex or base64, several separated by \";\")")
	}
	return NewKeyring(keys...)
}

func decodeKey(s string) ([]byte, error) {
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("decodes to %d bytes, want %d", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("neither hex nor base64 of %d bytes", KeySize)
}

// Seal encrypts and authenticates plaintext for purpose with the first
// key.
func (k *Keyring) Seal(purpose string, plaintext []byte) ([]byte, error) {
	key := k.keys[0]
	out := make([]byte, sealHeader, sealHeader+len(plaintext)+key.aead.Overhead())
	out[0] = sealVersion
	copy(out[1:sealHeader], key.id[:])
	return key.aead.Seal(out, nil, plaintext, aad(purpose, out[:sealHeader])), nil
}

// Open authenticates and decrypts what [Keyring.Seal] sealed for the same
// purpose with any key of the ring. Anything else gives an error wrapping
// [ErrDecrypt].
func (k *Keyring) Open(purpose string, sealed []byte) ([]byte, error) {
	if len(sealed) < sealHeader || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: not sealed by this version", ErrDecrypt)
	}
	for _, key := range k.keys {
		if !bytes.Equal(key.id[:], sealed[1:sealHeader]) {
			continue
		}
		pt, err := key.aead.Open(nil, nil, sealed[sealHeader:], aad(purpose, sealed[:sealHeader]))
		if err != nil {
			return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("%w: sealed with a key not in the ring", ErrDecrypt)
}

func aad(purpose string, header []byte) []byte {
	b := make([]byte, 0, 32+len(purpose)+len(header))
	b = append(b, "hubkit-authenticator-v1\x00"...)
	b = append(b, purpose...)
	b = append(b, 0)
	return append(b, header...)
}

// purposeAuthState is the purpose of sealed auth state.
const purposeAuthState = "auth-state"

// SealAuthState encrypts auth state for storage at rest.
func (k *Keyring) SealAuthState(s *AuthState) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("authenticator: encoding auth state: %w", err)
	}
	return k.Seal(purposeAuthState, b)
}

// OpenAuthState decrypts what [Keyring.SealAuthState] sealed.
func (k *Keyring) OpenAuthState(sealed []byte) (*AuthState, error) {
	b, err := k.Open(purposeAuthState, sealed)
	if err != nil {
		return nil, err
	}
	var s AuthState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("authenticator: decoding auth state: %w", err)
	}
	return &s, nil
}
