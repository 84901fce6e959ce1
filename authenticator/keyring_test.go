package authenticator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/hubkit/hubkit/authenticator"
)

func mustKeyring(t testing.TB, keys ...[]byte) *authenticator.Keyring {
	t.Helper()
	k, err := authenticator.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyringRoundTripAndPurpose(t *testing.T) {
	k := mustKeyring(t, authenticator.NewKey())
	msg := []byte("refresh-token-value")
	sealed, err := k.Seal("auth-state", msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, msg) {
		t.Fatal("sealed data contains the plaintext")
	}
	got, err := k.Open("auth-state", sealed)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := k.Seal("auth-state", msg)
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same plaintext are equal (nonce reused)")
	}
	if _, err := k.Open("session:hubkit-session", sealed); !errors.Is(err, authenticator.ErrDecrypt) {
		t.Errorf("opened under another purpose: %v", err)
	}
}

func TestKeyringTamper(t *testing.T) {
	k := mustKeyring(t, authenticator.NewKey())
	sealed, _ := k.Seal("p", []byte("some secret"))
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(sealed)
			b[i] ^= bit
			if _, err := k.Open("p", b); !errors.Is(err, authenticator.ErrDecrypt) {
				t.Fatalf("byte %d ^ %#x: opened (%v)", i, bit, err)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := k.Open("p", sealed[:n]); !errors.Is(err, authenticator.ErrDecrypt) {
			t.Fatalf("truncated to %d bytes: opened", n)
		}
	}
	if _, err := k.Open("p", append(bytes.Clone(sealed), 0)); !errors.Is(err, authenticator.ErrDecrypt) {
		t.Fatal("extended: opened")
	}
}

func TestKeyringRotation(t *testing.T) {
	oldKey, newKey := authenticator.NewKey(), authenticator.NewKey()
	before := mustKeyring(t, oldKey)
	during := mustKeyring(t, newKey, oldKey)
	after := mustKeyring(t, newKey)

	old, _ := before.Seal("p", []byte("x"))
	if _, err := during.Open("p", old); err != nil {
		t.Fatalf("rotated ring does not open the old key's data: %v", err)
	}
	fresh, _ := during.Seal("p", []byte("y"))
	if _, err := after.Open("p", fresh); err != nil {
		t.Fatalf("the new key did not seal: %v", err)
	}
	if _, err := before.Open("p", fresh); !errors.Is(err, authenticator.ErrDecrypt) {
		t.Fatal("the old ring opened the new key's data")
	}
	if _, err := after.Open("p", old); err == nil || !strings.Contains(err.Error(), "not in the ring") {
		t.Fatalf("retired key: %v", err)
	}
}

func TestParseKeyring(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	other := bytes.Repeat([]byte{0x01}, 32)
	sealedWithOther, _ := mustKeyring(t, other).Seal("p", []byte("z"))
	tests := []struct {
		name, in string
		wantErr  bool
	}{
		{"hex", hex.EncodeToString(key), false},
		{"base64", base64.StdEncoding.EncodeToString(key), false},
		{"base64url raw", base64.RawURLEncoding.EncodeToString(key), false},
		{"two keys", hex.EncodeToString(key) + ";" + hex.EncodeToString(other), false},
		{"spaces and empty parts", " " + hex.EncodeToString(key) + " ;; ", false},
		{"empty", "", true},
		{"short", hex.EncodeToString(key[:16]), true},
		{"not a key", "correct horse battery staple", true},
		{"same key twice", hex.EncodeToString(key) + ";" + hex.EncodeToString(key), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := authenticator.ParseKeyring(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.name == "two keys" {
				if _, err := k.Open("p", sealedWithOther); err != nil {
					t.Errorf("second key does not open: %v", err)
				}
			}
		})
	}
}

func TestAuthStateSealed(t *testing.T) {
	k := mustKeyring(t, authenticator.NewKey())
	st := &authenticator.AuthState{AccessToken: "at-123", RefreshToken: "rt-456", IDToken: "id.tok.en"}
	sealed, err := k.SealAuthState(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"at-123", "rt-456", "id.tok.en"} {
		if bytes.Contains(sealed, []byte(secret)) {
			t.Errorf("sealed auth state shows %q", secret)
		}
	}
	got, err := k.OpenAuthState(sealed)
	if err != nil || got.RefreshToken != "rt-456" {
		t.Fatalf("OpenAuthState = %+v, %v", got, err)
	}
}
