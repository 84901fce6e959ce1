// Package claims reads an Identity out of a token's JSON claims without a
// single type assertion: each value is decoded into the Go type it must
// have, and a value of another JSON type is an *authenticator.ClaimError
// naming the claim, never a panic.
package claims

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hubkit/hubkit/authenticator"
)

// Claims are a token's claims: a JSON object, decoded one level at a time.
type Claims struct {
	m map[string]json.RawMessage
}

// Parse reads a JSON object.
func Parse(b []byte) (Claims, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Claims{}, fmt.Errorf("claims: not a JSON object: %w", err)
	}
	if m == nil {
		return Claims{}, errors.New("claims: not a JSON object: null")
	}
	return Claims{m: m}, nil
}

// Lookup finds the value at path: a top-level claim of that exact name
// first ("https://example.com/groups"), else a dotted path through nested
// objects ("realm_access.roles"). A JSON null counts as missing.
func (c Claims) Lookup(path string) (json.RawMessage, bool, error) {
	if v, ok := c.m[path]; ok {
		return nonNull(v)
	}
	parts := strings.Split(path, ".")
	cur := c.m
	for i, p := range parts {
		v, ok := cur[p]
		if !ok {
			return nil, false, nil
		}
		if i == len(parts)-1 {
			return nonNull(v)
		}
		if kind(v) == "null" {
			return nil, false, nil
		}
		var next map[string]json.RawMessage
		if err := json.Unmarshal(v, &next); err != nil {
			return nil, false, &authenticator.ClaimError{Claim: strings.Join(parts[:i+1], "."), Want: "object", Got: kind(v)}
		}
		cur = next
	}
	return nil, false, nil
}

func nonNull(v json.RawMessage) (json.RawMessage, bool, error) {
	if kind(v) == "null" {
		return nil, false, nil
	}
	return v, true, nil
}

// String returns the string at path; ok is false when it is missing.
func (c Claims) String(path string) (s string, ok bool, err error) {
	v, ok, err := c.Lookup(path)
	if err != nil || !ok {
		return "", false, err
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, &authenticator.ClaimError{Claim: path, Want: "string", Got: kind(v)}
	}
	return s, true, nil
}

// Strings returns the array of strings at path (nil when missing).
func (c Claims) Strings(path string) ([]string, error) {
	v, ok, err := c.Lookup(path)
	if err != nil || !ok {
		return nil, err
	}
	return DecodeStrings(path, v)
}

// DecodeStrings decodes v, which must be a JSON array of strings.
func DecodeStrings(path string, v json.RawMessage) ([]string, error) {
	if kind(v) != "array" {
		return nil, &authenticator.ClaimError{Claim: path, Want: "array of strings", Got: kind(v)}
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(v, &elems); err != nil {
		return nil, &authenticator.ClaimError{Claim: path, Want: "array of strings", Got: "malformed array"}
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		var s string
		if err := json.Unmarshal(e, &s); err != nil {
			return nil, &authenticator.ClaimError{Claim: path, Want: "array of strings", Got: "array containing " + kind(e)}
		}
		out = append(out, s)
	}
	return out, nil
}

// kind names the JSON type of v.
func kind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// Mapping says where an Identity's fields are in the claims. Paths follow
// [Claims.Lookup].
type Mapping struct {
	// Username is the claim of the username; required and must be a
	// non-empty string.
	Username string
	// Email is the claim of the e-mail address; optional.
	Email string
	// Groups are claims holding arrays of group names; all are merged.
	Groups []string
	// Roles are claims holding arrays of role names; all are merged.
	Roles []string
}

// Identity reads an identity from raw claims.
func (m Mapping) Identity(raw []byte) (authenticator.Identity, error) {
	c, err := Parse(raw)
	if err != nil {
		return authenticator.Identity{}, err
	}
	var id authenticator.Identity
	name, ok, err := c.String(m.Username)
	if err != nil {
		return authenticator.Identity{}, err
	}
	if !ok || name == "" {
		return authenticator.Identity{}, &authenticator.ClaimError{Claim: m.Username, Want: "non-empty string (the username claim)", Got: missingOrEmpty(ok)}
	}
	id.Username = name
	if m.Email != "" {
		if id.Email, _, err = c.String(m.Email); err != nil {
			return authenticator.Identity{}, err
		}
	}
	for _, p := range m.Groups {
		g, err := c.Strings(p)
		if err != nil {
			return authenticator.Identity{}, err
		}
		id.Groups = appendUnique(id.Groups, g...)
	}
	for _, p := range m.Roles {
		r, err := c.Strings(p)
		if err != nil {
			return authenticator.Identity{}, err
		}
		id.Roles = appendUnique(id.Roles, r...)
	}
	return id, nil
}

func missingOrEmpty(present bool) string {
	if present {
		return "empty string"
	}
	return "missing"
}

// appendUnique appends the values of add not yet in dst, in order.
func appendUnique(dst []string, add ...string) []string {
	for _, s := range add {
		if s != "" && !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

// protected are claims that userinfo may not override: they describe the
// ID token itself.
var protected = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true, "nonce": true,
	"azp": true, "at_hash": true, "c_hash": true, "auth_time": true, "sid": true, "acr": true,
	"amr": true, "jti": true,
}

// Merge returns the ID token's claims with userinfo's claims on top,
// except those that describe the token (iss, sub, aud, exp, nonce, …).
// Both must be JSON objects.
func Merge(idToken, userinfo []byte) ([]byte, error) {
	base, err := Parse(idToken)
	if err != nil {
		return nil, err
	}
	over, err := Parse(userinfo)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	for k, v := range over.m {
		if !protected[k] {
			base.m[k] = v
		}
	}
	return json.Marshal(base.m)
}
