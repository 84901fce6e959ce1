package secrets

import (
	"strings"
	"unicode/utf8"
)

// Limits on names, checked by ValidateName and ValidateField.
const (
	// MaxNameLength is the longest secret name, in bytes.
	MaxNameLength = 256
	// MaxFieldLength is the longest field name, in bytes.
	MaxFieldLength = 256
)

// ValidateName checks a secret name. A name is one or more segments
// joined by '/'; a segment is 1 or more of the ASCII letters, digits, '.',
// '_' and '-', and is neither "." nor "..". So "api-keys", "team/db" and
// "v1.2_x" are names; "", "/", "/a", "a/", "a//b", "a/../b", "a b" and
// "clé" are not. Names are at most MaxNameLength bytes. The character set
// is kept small so that a name means the same thing in a Vault path, a
// Kubernetes annotation, a URL and a file name.
func ValidateName(name string) error {
	bad := func(reason string) error {
		return &InvalidError{What: "name", Value: quoteable(name), Reason: reason}
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > MaxNameLength:
		return bad("longer than 256 bytes")
	}
	for seg := range strings.SplitSeq(name, "/") {
		switch seg {
		case "":
			return bad("empty path segment")
		case ".", "..":
			return bad(`"." and ".." are not allowed as path segments`)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !nameChar(c) {
				return bad("only ASCII letters, digits, '.', '_', '-' and '/' between segments are allowed")
			}
		}
	}
	return nil
}

func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// ValidateField checks a field name: not empty, valid UTF-8 and at most
// MaxFieldLength bytes. Any other character is allowed, unicode and
// control characters included.
func ValidateField(field string) error {
	bad := func(reason string) error {
		return &InvalidError{What: "field", Value: quoteable(field), Reason: reason}
	}
	switch {
	case field == "":
		return bad("empty")
	case len(field) > MaxFieldLength:
		return bad("longer than 256 bytes")
	case !utf8.ValidString(field):
		return bad("not valid UTF-8")
	}
	return nil
}

// ValidateValue checks a field's value: any valid UTF-8 string, the empty
// one included. Binary data must be encoded (base64, hex) by the caller:
// every backend stores text, and Vault's JSON API would silently replace
// invalid bytes.
func ValidateValue(value string) error {
	if !utf8.ValidString(value) {
		return &InvalidError{What: "value", Reason: "not valid UTF-8 (encode binary data, e.g. as base64)"}
	}
	return nil
}

// ValidateFields checks the fields of a Put: at least one, and each name
// and value valid.
func ValidateFields(fields map[string]string) error {
	if len(fields) == 0 {
		return &InvalidError{What: "fields", Reason: "a secret needs at least one field"}
	}
	for k, v := range fields {
		if err := ValidateField(k); err != nil {
			return err
		}
		if err := ValidateValue(v); err != nil {
			return &InvalidError{What: "value", Reason: "field " + quoteable(k) + ": not valid UTF-8 (encode binary data, e.g. as base64)"}
		}
	}
	return nil
}

// ValidateFieldList checks the field names given to DeleteFields: at least
// one, each valid.
func ValidateFieldList(fields []string) error {
	if len(fields) == 0 {
		return &InvalidError{What: "fields", Reason: "no field names given"}
	}
	for _, f := range fields {
		if err := ValidateField(f); err != nil {
			return err
		}
	}
	return nil
}

// quoteable shortens s for an error message.
func quoteable(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
