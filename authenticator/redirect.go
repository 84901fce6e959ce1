package authenticator

import (
	"net/url"
	"strings"
)

// maxNext bounds the length of a next target.
const maxNext = 2048

// SafeNext returns next when it is a local path on this site — "/hub/home",
// "/user/alice/lab?x=1" — and fallback otherwise. It is what every redirect
// after a login or logout goes through, so that a crafted ?next= cannot
// send a person to another site (an open redirect).
//
// Refused: anything with a scheme or a host ("https://evil.example",
// "//evil.example"), a backslash anywhere ("/\evil.example", which
// browsers read as "//evil.example"), control characters
// (browsers drop tabs and newlines: "/\t/evil.example"), relative paths
// ("evil", "../x"), and percent-encoded forms of the same that a later
// decode would turn into one ("/%2F%2Fevil.example", "/%5Cevil.example",
// double encodings), and targets longer than 2048 bytes.
func SafeNext(next, fallback string) string {
	if localPath(next) {
		return next
	}
	return fallback
}

func localPath(s string) bool {
	if len(s) == 0 || len(s) > maxNext || s[0] != '/' {
		return false
	}
	// Check the raw string and each successive percent-decoding of it: a
	// proxy or framework that decodes once more must not find a host.
	cur := s
	for i := 0; ; i++ {
		if !plainLocal(cur) {
			return false
		}
		dec, err := url.PathUnescape(cur)
		if err != nil {
			return false
		}
		if dec == cur {
			break
		}
		if i == 3 {
			return false // encoded four times over: refuse rather than guess
		}
		cur = dec
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" && strings.HasPrefix(u.EscapedPath(), "/")
}

// plainLocal checks one form of the target.
func plainLocal(s string) bool {
	if len(s) == 0 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
