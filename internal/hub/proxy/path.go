package proxy

import (
	"fmt"
	"strings"
)

// This file holds the path rules: how request paths are split into
// segments, which paths are refused as ambiguous, and the canonical
// (JupyterHub-escaped) form of a segment that route keys are made of.

// maxPrefixSegments bounds how deep a route prefix may be. JupyterHub's
// deepest prefix is /user/{name}/{server}/ (three segments).
const maxPrefixSegments = 32

// safeByte reports whether JupyterHub's url_escape_path leaves c as it is
// in a path segment (ASCII letters, digits and "_.-~@"); every other byte
// is written as %XX with upper-case hex digits. This matches
// spawner.DefaultPrefix.
func safeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '~' || c == '@'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const upperHex = "0123456789ABCDEF"

// segFlags describes a raw (percent-encoded) path segment.
type segFlags uint8

const (
	segBadEscape segFlags = 1 << iota // a '%' not followed by two hex digits
	segSlash                          // decodes to a string containing '/'
	segBackslash                      // contains '\' raw or decodes to one
	segDot                            // decodes to "." or ".."
)

// appendCanonical appends the canonical form of the raw segment seg to dst:
// seg percent-decoded, then escaped the way JupyterHub escapes names. Two
// raw segments have the same canonical form exactly when they decode to
// the same bytes. It also reports what it saw in seg.
func appendCanonical(dst []byte, seg string) ([]byte, segFlags) {
	var f segFlags
	dots, other := 0, false
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' {
			if i+2 >= len(seg) {
				f |= segBadEscape
				return dst, f
			}
			hi, ok1 := unhex(seg[i+1])
			lo, ok2 := unhex(seg[i+2])
			if !ok1 || !ok2 {
				f |= segBadEscape
				return dst, f
			}
			c = hi<<4 | lo
			i += 2
		}
		switch c {
		case '/':
			f |= segSlash
		case '\\':
			f |= segBackslash
		}
		if c == '.' {
			dots++
		} else {
			other = true
		}
		if safeByte(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
		}
	}
	if !other && (dots == 1 || dots == 2) {
		f |= segDot
	}
	return dst, f
}

// isCanonical reports whether the raw segment seg is already in canonical
// form, so that it can be used as a key without copying.
func isCanonical(seg string) bool {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if safeByte(c) {
			continue
		}
		if c != '%' || i+2 >= len(seg) {
			return false
		}
		hi, lo := seg[i+1], seg[i+2]
		if !isUpperHex(hi) || !isUpperHex(lo) {
			return false
		}
		d, _ := unhex(hi)
		e, _ := unhex(lo)
		if b := d<<4 | e; safeByte(b) || b == '/' || b == '\\' {
			return false
		}
		i += 2
	}
	return true
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// checkPath applies the rules that hold for every segment of a request
// path, routed on or not: no dot segments, literal or percent-encoded
// ("..", "%2e%2E", ".%2e"), no raw backslash, and only well-formed
// percent escapes. Browsers never send any of these (they resolve dot
// segments and turn "\" into "/" before sending), while servers and
// intermediaries disagree about what they mean; a request carrying one is
// refused rather than guessed at. Encoded slashes and backslashes are
// only refused where the route is chosen (see Table.match): after the
// route's prefix they are the route's server's business (a file name
// with a backslash is encoded as %5C).
func checkPath(path string) error {
	if path == "" || path[0] != '/' {
		return fmt.Errorf("%w: path does not start with /", ErrBadPath)
	}
	// Fast path: nothing that could form a dot segment, an escape or a
	// backslash.
	if strings.IndexByte(path, '%') < 0 && strings.IndexByte(path, '\\') < 0 && !strings.Contains(path, "/.") {
		return nil
	}
	for rest := path[1:]; ; {
		seg := rest
		i := strings.IndexByte(rest, '/')
		if i >= 0 {
			seg = rest[:i]
		}
		if err := checkSegment(seg); err != nil {
			return err
		}
		if i < 0 {
			return nil
		}
		rest = rest[i+1:]
	}
}

func checkSegment(seg string) error {
	if strings.IndexByte(seg, '\\') >= 0 {
		return fmt.Errorf("%w: backslash in %q", ErrAmbiguousPath, seg)
	}
	if strings.IndexByte(seg, '%') < 0 {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%w: dot segment %q", ErrAmbiguousPath, seg)
		}
		return nil
	}
	var buf [16]byte
	_, f := appendCanonical(buf[:0], seg)
	switch {
	case f&segBadEscape != 0:
		return fmt.Errorf("%w: bad percent escape in %q", ErrBadPath, seg)
	case f&segDot != 0:
		return fmt.Errorf("%w: encoded dot segment %q", ErrAmbiguousPath, seg)
	}
	return nil
}

// canonicalPrefix turns a route prefix as the hub writes it
// ("/user/alice/", "/user/J%C3%B6rg/My%20Lab/", "/") into its key (the
// canonical segments joined by "/", without a trailing slash; "" for the
// root) and its display form (the key with a trailing slash).
func canonicalPrefix(prefix string) (key, display string, depth int, err error) {
	if prefix == "" || prefix[0] != '/' {
		return "", "", 0, fmt.Errorf("%w %q: must start with /", ErrInvalidPrefix, prefix)
	}
	rest := strings.TrimSuffix(prefix[1:], "/")
	if rest == "" {
		return "", "/", 0, nil
	}
	var b []byte
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" {
			return "", "", 0, fmt.Errorf("%w %q: empty segment", ErrInvalidPrefix, prefix)
		}
		var f segFlags
		b = append(b, '/')
		b, f = appendCanonical(b, seg)
		switch {
		case f&segBadEscape != 0:
			return "", "", 0, fmt.Errorf("%w %q: bad percent escape", ErrInvalidPrefix, prefix)
		case f&segDot != 0:
			return "", "", 0, fmt.Errorf("%w %q: dot segment", ErrInvalidPrefix, prefix)
		case f&(segSlash|segBackslash) != 0:
			return "", "", 0, fmt.Errorf("%w %q: a segment contains an encoded slash or backslash", ErrInvalidPrefix, prefix)
		}
		depth++
	}
	if depth > maxPrefixSegments {
		return "", "", 0, fmt.Errorf("%w %q: more than %d segments", ErrInvalidPrefix, prefix, maxPrefixSegments)
	}
	key = string(b)
	return key, key + "/", depth, nil
}
