package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/hubkit/hubkit/internal/hub/store"
)

func TestNewSecret(t *testing.T) {
	s, err := store.NewSecret(bytes.NewReader(bytes.Repeat([]byte{0xab}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if s != strings.Repeat("ab", 32) {
		t.Errorf("NewSecret = %q", s)
	}
	a, _ := store.NewSecret(nil)
	b, _ := store.NewSecret(nil)
	if len(a) != 64 || a == b {
		t.Errorf("NewSecret(nil) = %q, %q", a, b)
	}
	if _, err := hex.DecodeString(a); err != nil {
		t.Errorf("not hex: %v", err)
	}
	if _, err := store.NewSecret(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("NewSecret with too little randomness succeeded")
	}
	if err := store.ValidateSecret(a); err != nil {
		t.Errorf("ValidateSecret(NewSecret) = %v", err)
	}
}

func TestHashAndCheck(t *testing.T) {
	sum := sha256.Sum256([]byte("hello-world"))
	if h := store.HashSecret("hello-world"); !bytes.Equal(h, sum[:]) {
		t.Errorf("HashSecret = %x", h)
	}
	if !store.CheckHash(sum[:], "hello-world") || store.CheckHash(sum[:], "hello-worle") || store.CheckHash(nil, "") {
		t.Error("CheckHash")
	}
	if p := store.SecretPrefix("abcdef"); p != "abcd" {
		t.Errorf("SecretPrefix = %q", p)
	}
	if p := store.SecretPrefix("ab"); p != "ab" {
		t.Errorf("SecretPrefix(short) = %q", p)
	}
}

func TestValidateSecret(t *testing.T) {
	tests := []struct {
		secret string
		ok     bool
	}{
		{"12345678", true},
		{"1234567", false},
		{"", false},
		{strings.Repeat("x", 1024), true},
		{strings.Repeat("x", 1025), false},
		{"abcd efgh", false},
		{"abcd\tefgh", false},
		{"abcdefgh\x7f", false},
		{"ünïcödé-secret", true},
	}
	for _, tc := range tests {
		err := store.ValidateSecret(tc.secret)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("ValidateSecret(%q) = %v, want ok=%v", tc.secret, err, tc.ok)
		}
		if err != nil && len(tc.secret) > 0 && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("error %q contains the secret", err)
		}
	}
}
