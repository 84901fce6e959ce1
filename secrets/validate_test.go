package secrets_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hubkit/hubkit/secrets"
)

func TestValidateName(t *testing.T) {
	good := []string{"a", "api-keys", "team/db", "a/b/c", "v1.2_x", "A-Z", ".hidden", "a..b", "...", strings.Repeat("n", 256)}
	for _, n := range good {
		if err := secrets.ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v", n, err)
		}
	}
	for _, tc := range []struct{ name, reason string }{
		{"", "empty"},
		{"/", "empty path segment"},
		{"/a", "empty path segment"},
		{"a/", "empty path segment"},
		{"a//b", "empty path segment"},
		{"..", `".."`},
		{"a/../b", `".."`},
		{".", `"."`},
		{"a b", "only ASCII"},
		{"clé", "only ASCII"},
		{"a*", "only ASCII"},
		{"a+b", "only ASCII"},
		{"a\x00", "only ASCII"},
		{strings.Repeat("n", 257), "longer than 256"},
	} {
		err := secrets.ValidateName(tc.name)
		var ie *secrets.InvalidError
		if !errors.Is(err, secrets.ErrInvalid) || !errors.As(err, &ie) || ie.What != "name" {
			t.Errorf("ValidateName(%q) = %v, want an InvalidError", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.reason) || !strings.HasPrefix(err.Error(), "secrets: invalid name") {
			t.Errorf("ValidateName(%q) = %q, want a message about %q", tc.name, err, tc.reason)
		}
	}
	// A long name is shortened in the message.
	if err := secrets.ValidateName(strings.Repeat("n", 1000)); len(err.Error()) > 200 {
		t.Errorf("message of a long name has %d bytes", len(err.Error()))
	}
}

func TestValidateFields(t *testing.T) {
	for _, f := range []string{"k", "日本語", "emoji🔑", " spaced ", "ctl\x01", strings.Repeat("f", 256)} {
		if err := secrets.ValidateField(f); err != nil {
			t.Errorf("ValidateField(%q) = %v", f, err)
		}
	}
	for _, f := range []string{"", "\xff", strings.Repeat("f", 257)} {
		if err := secrets.ValidateField(f); !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("ValidateField(%q) = %v", f, err)
		}
	}
	if err := secrets.ValidateValue(""); err != nil {
		t.Errorf("empty value: %v", err)
	}
	if err := secrets.ValidateValue("\x00\x01 binary-looking but UTF-8"); err != nil {
		t.Errorf("control characters: %v", err)
	}
	err := secrets.ValidateFields(map[string]string{"password": "s3cret\xff"})
	if !errors.Is(err, secrets.ErrInvalid) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("invalid value: %v (a message must not contain the value)", err)
	}
	if err := secrets.ValidateFields(nil); !errors.Is(err, secrets.ErrInvalid) {
		t.Errorf("no fields: %v", err)
	}
	if err := secrets.ValidateFieldList(nil); !errors.Is(err, secrets.ErrInvalid) {
		t.Errorf("no field names: %v", err)
	}
}

func TestErrors(t *testing.T) {
	nf := &secrets.NotFoundError{Name: "x"}
	if !errors.Is(nf, secrets.ErrNotFound) || errors.Is(nf, secrets.ErrFieldNotFound) || nf.Error() != `secrets: secret "x" not found` {
		t.Errorf("NotFoundError: %v", nf)
	}
	fe := &secrets.FieldError{Name: "x", Field: "f"}
	if !errors.Is(fe, secrets.ErrFieldNotFound) || errors.Is(fe, secrets.ErrNotFound) || fe.Error() != `secrets: secret "x" has no field "f"` {
		t.Errorf("FieldError: %v", fe)
	}
}
