package slug

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// hashLength is the number of hex digits of the sha256 digest kept
	// in a hashed slug.
	hashLength = 8

	// defaultMaxLength is the length budget of a hashed slug when the
	// caller gives no explicit maximum (KubeSpawner's strip_and_hash default).
	defaultMaxLength = 32

	// defaultMultiMaxLength is the default length budget of Multi.
	defaultMultiMaxLength = 48

	// fieldMaxLength is the per-field budget used by For, matching
	// KubeSpawner's _slug_max_length.
	fieldMaxLength = 48

	// maxDNSLabel is the Kubernetes limit for DNS labels and label values.
	maxDNSLabel = 63
)

// Scheme selects which family of names the scheme-dependent fields of
// [Names] (Username, Servername, UserServer) take their values from.
type Scheme string

const (
	// SchemeSafe is KubeSpawner's default "safe" scheme: names that are
	// already valid are kept, anything else is stripped and hashed.
	SchemeSafe Scheme = "safe"
	// SchemeEscape is the legacy "escape" scheme of KubeSpawner < 7. It is
	// neither length-bounded nor collision-free and exists for
	// compatibility with objects created by older deployments.
	SchemeEscape Scheme = "escape"
)

// ParseScheme converts a configuration value to a [Scheme]. The empty
// string selects [SchemeSafe], KubeSpawner's default; any value other
// than "safe", "escape" or "" is an error.
func ParseScheme(s string) (Scheme, error) {
	switch Scheme(s) {
	case "", SchemeSafe:
		return SchemeSafe, nil
	case SchemeEscape:
		return SchemeEscape, nil
	}
	return "", fmt.Errorf("slug: scheme must be %q or %q, not %q", SchemeSafe, SchemeEscape, s)
}

// IsValidObjectName reports whether s may be used unchanged as a
// Kubernetes object name under the strictest rules (RFC 1035 and RFC 1123
// DNS labels): 1 to 63 characters, only lowercase ASCII letters, digits
// and '-', starting with a letter and ending with a letter or digit.
func IsValidObjectName(s string) bool {
	if len(s) < 1 || len(s) > maxDNSLabel {
		return false
	}
	if !isLowerAlpha(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// IsValidLabel reports whether s is a valid Kubernetes label value: empty,
// or at most 63 characters from [A-Za-z0-9._-] starting and ending with
// an ASCII letter or digit. Upper case is allowed, so label values keep the
// case of the input when it is already valid.
//
// KubeSpawner checks the character set with a case-insensitive Python
// regular expression, which also accepts a few non-ASCII letters whose case
// folding is ASCII (KELVIN SIGN U+212A, LONG S U+017F, U+0130 and U+0131)
// in the middle of a value; Kubernetes rejects those. This function is
// strictly ASCII, so for such inputs [SafeLabel] returns a hashed, valid
// value where KubeSpawner would return the input unchanged (and invalid).
func IsValidLabel(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > maxDNSLabel {
		return false
	}
	if !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

// Safe returns name unchanged if it contains no "--", valid(name) is true
// and, when maxLength > 0, it has at most maxLength characters. Otherwise
// it returns StripAndHash(name, maxLength), with a budget of 32 when
// maxLength is 0. This is KubeSpawner's safe_slug; maxLength 0 corresponds
// to its max_length=None. A nil valid means [IsValidObjectName].
//
// Safe panics, like [StripAndHash], if a hash is needed and maxLength is
// below 12 (negative values included).
func Safe(name string, valid func(string) bool, maxLength int) string {
	return safe(name, valid, maxLength, hashLength)
}

// SafeObject returns a slug of name that is always a valid Kubernetes
// object name (DNS label); see [Safe] and [IsValidObjectName].
func SafeObject(name string) string {
	return Safe(name, IsValidObjectName, 0)
}

// SafeLabel returns a slug of name that is always a valid Kubernetes label
// value; see [Safe] and [IsValidLabel]. Valid values, including upper case
// ones, are returned unchanged.
func SafeLabel(name string) string {
	return Safe(name, IsValidLabel, 0)
}

// StripAndHash returns "{prefix}---{hash}": prefix is name lowercased,
// with every run of characters other than [a-z0-9] replaced by a single
// '-', trimmed of '-' and truncated to maxLength-11 characters (prefixed
// with "x-" if it does not start with a letter, "x" if empty); hash is the
// first 8 hex digits of the SHA-256 of name's bytes. A maxLength of 0
// means the default budget of 32.
//
// StripAndHash panics if maxLength is below 12 (after applying the
// default): that is a programming error, as in KubeSpawner, which raises
// ValueError. At exactly 12 the result may be one character longer than
// maxLength when the name starts with a digit ("x----{hash}"); this
// KubeSpawner quirk is kept for exact compatibility.
func StripAndHash(name string, maxLength int) string {
	if maxLength == 0 {
		maxLength = defaultMaxLength
	}
	return stripAndHash(name, maxLength, hashLength)
}

// Multi returns a single slug for several names: "{a}--{b}---{hash}",
// where every component gets an equal share of maxLength and the hash is
// over all names' bytes joined with a 0xFF byte (which never occurs in
// UTF-8, so shifting characters between names changes the hash). A
// maxLength of 0 means the default of 48. This is KubeSpawner's
// multi_slug.
//
// The delimiter only separates names reliably when they are valid UTF-8,
// as every name JupyterHub produces is: a name containing a 0xFF byte can
// shift across the boundary ([]string{"a", "\xffb"} and
// []string{"a\xff", "b"} hash alike and give the same slug).
//
// Multi panics if names is empty or maxLength leaves fewer than two
// characters per name.
func Multi(names []string, maxLength int) string {
	if maxLength == 0 {
		maxLength = defaultMultiMaxLength
	}
	return multi(names, maxLength, hashLength)
}

// Escape implements the legacy "escape" scheme (KubeSpawner's escape_slug,
// built on the escapism library): lowercase ASCII letters and digits are
// kept, and every other character is replaced by '-' followed by the
// lowercase hex value of each byte of its UTF-8 encoding. As in escapism,
// the hex value is not zero-padded, so "\n" becomes "-a". Bytes of invalid
// UTF-8 (which a Python string cannot hold) are escaped one by one.
//
// The result is not length-limited, need not be a valid object name (it
// may start with '-' or a digit) and is not collision-free: because of the
// missing padding, "\x01" followed by "2" and "\x12" both give "-12".
func Escape(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if r < utf8.RuneSelf && isLowerAlnum(byte(r)) {
			b.WriteByte(byte(r))
		} else {
			for j := i; j < i+size; j++ {
				b.WriteByte('-')
				b.WriteString(strconv.FormatUint(uint64(name[j]), 16))
			}
		}
		i += size
	}
	return b.String()
}

// Names holds every name KubeSpawner derives from a user and server name
// for its templates. The scheme-dependent fields Username, Servername and
// UserServer equal either the Safe* or the Escaped* fields.
type Names struct {
	// Username, Servername and UserServer depend on the scheme.
	Username, Servername, UserServer string
	// SafeUsername and SafeServername are [Safe] slugs with a budget of
	// 48; SafeServername is empty for the default server. SafeUserServer
	// is "{SafeUsername}--{SafeServername}" (or SafeUsername alone for the
	// default server) when that fits in 48 characters, and
	// Multi([user, server], 48) otherwise.
	SafeUsername, SafeServername, SafeUserServer string
	// EscapedUsername and EscapedServername are [Escape] results.
	// EscapedUserServer is always "{EscapedUsername}--{EscapedServername}",
	// also for the default server, as in KubeSpawner.
	EscapedUsername, EscapedServername, EscapedUserServer string
	// UnescapedUsername and UnescapedServername are the raw inputs.
	UnescapedUsername, UnescapedServername string
}

// For computes the names KubeSpawner's _expand_user_properties derives
// for user and server (server is "" for the default server) under scheme.
// An empty scheme means [SchemeSafe]. For panics on any other scheme; use
// [ParseScheme] to validate configuration.
//
// Distinct (user, server) pairs get distinct SafeUserServer values, up to
// collisions of the 32-bit hash, provided both names are valid UTF-8 (see
// [Multi]); the Safe* values are valid object names for any input.
func For(user, server string, scheme Scheme) Names {
	return forNames(user, server, scheme, hashLength)
}

// Expand renders a KubeSpawner-style template such as "jupyter-{user_server}"
// with Python str.format syntax restricted to plain "{key}" fields and the
// "{{" and "}}" escapes. The keys are username, servername, user_server,
// safe_username, safe_servername, safe_user_server, escaped_username,
// escaped_servername, escaped_user_server, unescaped_username and
// unescaped_servername, taken from n, plus the keys of extra (for example
// userid, hubnamespace, pod_name). An unknown key, an extra key that
// shadows a built-in one, an unbalanced brace, or a field with a
// conversion, format spec, attribute or index is an error.
//
// Unless the template itself ends with '-', trailing '-' characters are
// removed from the result, so "{username}--{servername}" renders as just
// the user name for the default server.
func Expand(template string, n Names, extra map[string]string) (string, error) {
	builtin := map[string]string{
		"username":             n.Username,
		"servername":           n.Servername,
		"user_server":          n.UserServer,
		"safe_username":        n.SafeUsername,
		"safe_servername":      n.SafeServername,
		"safe_user_server":     n.SafeUserServer,
		"escaped_username":     n.EscapedUsername,
		"escaped_servername":   n.EscapedServername,
		"escaped_user_server":  n.EscapedUserServer,
		"unescaped_username":   n.UnescapedUsername,
		"unescaped_servername": n.UnescapedServername,
	}
	for k := range extra {
		if _, ok := builtin[k]; ok {
			return "", fmt.Errorf("slug: template %q: extra key %q shadows a built-in key", template, k)
		}
	}
	lookup := func(key string) (string, bool) {
		if v, ok := builtin[key]; ok {
			return v, true
		}
		v, ok := extra[key]
		return v, ok
	}

	var b strings.Builder
	for i := 0; i < len(template); {
		c := template[i]
		switch c {
		case '{':
			if i+1 < len(template) && template[i+1] == '{' {
				b.WriteByte('{')
				i += 2
				continue
			}
			end := strings.IndexAny(template[i+1:], "{}")
			if end < 0 || template[i+1+end] == '{' {
				return "", fmt.Errorf("slug: template %q: unmatched '{' at offset %d", template, i)
			}
			key := template[i+1 : i+1+end]
			if key == "" {
				return "", fmt.Errorf("slug: template %q: empty field {} at offset %d (positional fields are not supported)", template, i)
			}
			if strings.ContainsAny(key, ":!.[]") {
				return "", fmt.Errorf("slug: template %q: unsupported field %q (conversions, format specs, attributes and indexes are not supported)", template, key)
			}
			v, ok := lookup(key)
			if !ok {
				return "", fmt.Errorf("slug: template %q: unknown key %q", template, key)
			}
			b.WriteString(v)
			i += end + 2
		case '}':
			if i+1 < len(template) && template[i+1] == '}' {
				b.WriteByte('}')
				i += 2
				continue
			}
			return "", fmt.Errorf("slug: template %q: single '}' at offset %d", template, i)
		default:
			b.WriteByte(c)
			i++
		}
	}
	out := b.String()
	if !strings.HasSuffix(template, "-") {
		out = strings.TrimRight(out, "-")
	}
	return out, nil
}

// safe is Safe with a configurable number of hex digits in the hash; the
// length budget always assumes hashLength digits. Tests use a full-width
// hash to tell structural collisions from truncated-hash collisions.
func safe(name string, valid func(string) bool, maxLength, hexLen int) string {
	budget := maxLength
	if budget == 0 {
		budget = defaultMaxLength
	}
	if strings.Contains(name, "--") {
		// "--" joins user and server names; never pass it through.
		return stripAndHash(name, budget, hexLen)
	}
	if valid == nil {
		valid = IsValidObjectName
	}
	// Python's len counts code points.
	if valid(name) && (maxLength == 0 || utf8.RuneCountInString(name) <= maxLength) {
		return name
	}
	return stripAndHash(name, budget, hexLen)
}

func stripAndHash(name string, maxLength, hexLen int) string {
	nameLength := maxLength - (hashLength + 3)
	if nameLength < 1 {
		panic(fmt.Sprintf("slug: cannot make hashed names shorter than %d characters (maxLength %d)", hashLength+4, maxLength))
	}
	sum := sha256.Sum256([]byte(name))
	return extractSafeName(name, nameLength) + "---" + hex.EncodeToString(sum[:])[:hexLen]
}

func multi(names []string, maxLength, hexLen int) string {
	if len(names) == 0 {
		panic("slug: Multi needs at least one name")
	}
	h := sha256.New()
	for i, name := range names {
		if i > 0 {
			h.Write([]byte{0xff})
		}
		h.Write([]byte(name))
	}
	sum := h.Sum(nil)

	available := maxLength - (hashLength + 1)
	// Each share holds "{name}--", hence the 2. Python floors; Go
	// truncates toward zero, which only differs when available < 0, and
	// then both are rejected.
	perName := available/len(names) - 2
	if perName < 2 {
		panic(fmt.Sprintf("slug: maxLength %d leaves too few characters for %d names", maxLength, len(names)))
	}
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = extractSafeName(name, perName)
	}
	return strings.Join(parts, "--") + "---" + hex.EncodeToString(sum)[:hexLen]
}

func forNames(user, server string, scheme Scheme, hexLen int) Names {
	switch scheme {
	case "", SchemeSafe, SchemeEscape:
	default:
		panic(fmt.Sprintf("slug: scheme must be %q or %q, not %q", SchemeSafe, SchemeEscape, string(scheme)))
	}
	n := Names{
		UnescapedUsername:   user,
		UnescapedServername: server,
		EscapedUsername:     Escape(user),
		EscapedServername:   Escape(server),
	}
	n.EscapedUserServer = n.EscapedUsername + "--" + n.EscapedServername

	if server != "" {
		n.SafeServername = safe(server, IsValidObjectName, fieldMaxLength, hexLen)
	}
	n.SafeUsername = safe(user, IsValidObjectName, fieldMaxLength, hexLen)
	// The length test always uses the real (8 digit) hash width so that
	// the wide-hash variant used in tests takes the same branches.
	switch {
	case width(n.SafeUsername, hexLen)+width(n.SafeServername, hexLen)+2 > fieldMaxLength:
		// Note: also taken for the default server when the user slug is
		// longer than 46 characters, giving "{user}--x---{hash}".
		n.SafeUserServer = multi([]string{user, server}, fieldMaxLength, hexLen)
	case server != "":
		n.SafeUserServer = n.SafeUsername + "--" + n.SafeServername
	default:
		n.SafeUserServer = n.SafeUsername
	}

	if scheme == SchemeEscape {
		n.Username = n.EscapedUsername
		n.Servername = n.EscapedServername
		n.UserServer = n.EscapedUsername
		if n.EscapedServername != "" {
			n.UserServer = n.EscapedUserServer
		}
	} else {
		n.Username = n.SafeUsername
		n.Servername = n.SafeServername
		n.UserServer = n.SafeUserServer
	}
	return n
}

// width returns the length s would have with an 8 digit hash. s is a slug
// produced with hexLen hash digits; a hashed slug always ends in the hash.
func width(s string, hexLen int) int {
	if hexLen != hashLength && strings.Contains(s, "---") {
		return len(s) - hexLen + hashLength
	}
	return len(s)
}

// extractSafeName is KubeSpawner's _extract_safe_name: lowercase (as
// Python's str.lower), replace runs of characters outside [a-z0-9] with
// '-', strip leading '-', truncate to maxLength, strip trailing '-', make
// sure it starts with a letter and is not empty.
func extractSafeName(name string, maxLength int) string {
	s := strings.TrimLeft(lowerAlnumRuns(name), "-")
	s = strings.TrimRight(pyPrefix(s, maxLength), "-")
	if s != "" && !isLowerAlpha(s[0]) {
		s = "x-" + pyPrefix(s, maxLength-2)
	}
	if s == "" {
		s = "x"
	}
	return s
}

// lowerAlnumRuns lowercases name the way Python's str.lower does, as far
// as the result can contain [a-z0-9], and replaces every run of other
// characters with one '-'. The result is ASCII.
//
// Only two non-ASCII code points lowercase to something containing ASCII
// letters or digits in Python's full Unicode lowercasing:
// U+0130 (LATIN CAPITAL LETTER I WITH DOT ABOVE) becomes "i" followed by
// U+0307 COMBINING DOT ABOVE (Go's unicode.ToLower gives only "i"), and
// U+212A KELVIN SIGN becomes "k". Everything else non-ASCII, including
// invalid UTF-8 bytes, lowercases to non-ASCII and so becomes '-'.
func lowerAlnumRuns(name string) string {
	b := make([]byte, 0, len(name))
	inRun := false
	emit := func(c byte) {
		b = append(b, c)
		inRun = false
	}
	sep := func() {
		if !inRun {
			b = append(b, '-')
			inRun = true
		}
	}
	for _, r := range name {
		switch {
		case r >= 'A' && r <= 'Z':
			emit(byte(r) + 'a' - 'A')
		case r < utf8.RuneSelf && isLowerAlnum(byte(r)):
			emit(byte(r))
		case r == '\u0130':
			emit('i')
			sep() // U+0307 is not alphanumeric ASCII
		case r == '\u212a':
			emit('k')
		default:
			sep()
		}
	}
	return string(b)
}

// pyPrefix returns s[:n] with Python slice semantics for an ASCII s: a
// negative n counts from the end and out-of-range bounds are clamped.
func pyPrefix(s string, n int) string {
	if n < 0 {
		n += len(s)
		if n < 0 {
			n = 0
		}
	}
	if n > len(s) {
		n = len(s)
	}
	return s[:n]
}

func isLowerAlpha(c byte) bool { return c >= 'a' && c <= 'z' }

func isLowerAlnum(c byte) bool { return isLowerAlpha(c) || c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }
