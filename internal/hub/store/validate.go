package store

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest user, group, server, service or client
// name, in bytes (JupyterHub's 255-character columns).
const MaxNameLength = 255

// MaxValueSize is the longest value Values.PutValue stores, in bytes.
const MaxValueSize = 64 << 10

// The validators below are what every backend calls before any I/O, so
// that all of them reject the same input with ErrInvalid.

// ValidateName checks a user, group, service or OAuth client name (kind
// says which, for the message): non-empty, valid UTF-8, at most
// MaxNameLength bytes, no control characters.
func ValidateName(kind, name string) error {
	if name == "" {
		return Invalid("empty %s name", kind)
	}
	return validateText(kind+" name", name)
}

// ValidateServerName checks a server name like ValidateName, except that
// "" (the default server) is valid.
func ValidateServerName(name string) error {
	if name == "" {
		return nil
	}
	return validateText("server name", name)
}

func validateText(what, s string) error {
	switch {
	case len(s) > MaxNameLength:
		return Invalid("%s is %d bytes long, more than %d", what, len(s), MaxNameLength)
	case !utf8.ValidString(s):
		return Invalid("%s %q is not valid UTF-8", what, s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return Invalid("%s %q contains a control character", what, s)
	}
	return nil
}

// ValidateOwner checks that exactly one of o.User and o.Service is set,
// and valid.
func ValidateOwner(o Owner) error {
	switch {
	case o.User != "" && o.Service != "":
		return Invalid("owner has both a user (%q) and a service (%q)", o.User, o.Service)
	case o.User != "":
		return ValidateName("user", o.User)
	case o.Service != "":
		return ValidateName("service", o.Service)
	}
	return Invalid("owner has neither a user nor a service")
}

// ValidateUserQuery checks q.
func ValidateUserQuery(q UserQuery) error {
	switch q.State {
	case UserAny, UserActive, UserReady, UserInactive:
	default:
		return Invalid("unknown user state %q", q.State)
	}
	if q.Offset < 0 {
		return Invalid("negative offset %d", q.Offset)
	}
	return validateTextAllowEmpty("name filter", q.NameContains)
}

func validateTextAllowEmpty(what, s string) error {
	if s == "" {
		return nil
	}
	return validateText(what, s)
}

// ValidateClaim checks c: a phase other than PhaseNone, an owner, and
// user options that are a JSON object when set.
func ValidateClaim(c Claim) error {
	if !c.Phase.Valid() || c.Phase == PhaseNone {
		return Invalid("claim phase %q is not spawn, stop or check", c.Phase)
	}
	if c.Owner == "" {
		return Invalid("claim has no owner")
	}
	if err := validateText("claim owner", c.Owner); err != nil {
		return err
	}
	if c.UserOptions != nil {
		return ValidateJSONObject("user options", c.UserOptions)
	}
	return nil
}

// ValidateJSONObject checks that raw is a JSON object (or null).
func ValidateJSONObject(what string, raw json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Invalid("%s are not a JSON object: %v", what, err)
	}
	return nil
}

// ValidateToken checks the fields of t that CreateToken uses.
func ValidateToken(t Token) error {
	if err := ValidateOwner(t.Owner); err != nil {
		return err
	}
	if t.ClientID != "" {
		if err := ValidateName("OAuth client", t.ClientID); err != nil {
			return err
		}
	}
	return validateScopes(t.Scopes)
}

func validateScopes(scopes []string) error {
	for _, s := range scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return Invalid("scope %q is empty or contains white space", s)
		}
	}
	return nil
}

// ValidateOAuthClient checks the fields of c that PutOAuthClient uses.
func ValidateOAuthClient(c OAuthClient) error {
	if err := ValidateName("OAuth client", c.ID); err != nil {
		return err
	}
	if err := ValidateOwner(c.Owner); err != nil {
		return err
	}
	if c.RedirectURI == "" {
		return Invalid("OAuth client %q has no redirect URI", c.ID)
	}
	return validateScopes(c.Scopes)
}

// ValidateOAuthCode checks the fields of c that CreateOAuthCode uses.
func ValidateOAuthCode(c OAuthCode) error {
	if err := ValidateName("OAuth client", c.ClientID); err != nil {
		return err
	}
	if err := ValidateName("user", c.User); err != nil {
		return err
	}
	if c.Expires.IsZero() {
		return Invalid("authorization code has no expiry")
	}
	switch c.CodeChallengeMethod {
	case "":
		if c.CodeChallenge != "" {
			return Invalid("code challenge without a method")
		}
	case "S256", "plain":
		if c.CodeChallenge == "" {
			return Invalid("code challenge method %q without a challenge", c.CodeChallengeMethod)
		}
	default:
		return Invalid("unknown code challenge method %q", c.CodeChallengeMethod)
	}
	return validateScopes(c.Scopes)
}

// ValidateActivity checks a.
func ValidateActivity(a Activity) error {
	switch a.Kind {
	case ActivityUser:
		return ValidateName("user", a.User)
	case ActivityServer:
		if err := ValidateName("user", a.User); err != nil {
			return err
		}
		return ValidateServerName(a.Server)
	case ActivityToken:
		if a.TokenID <= 0 {
			return Invalid("token activity without a token ID")
		}
		return nil
	}
	return Invalid("unknown activity kind %d", a.Kind)
}

// ValidateKey checks a lease name, a lease owner or a value key (kind
// says which, for the message: "lease name", "value key") by the rules of
// ValidateName: non-empty, valid UTF-8, at most MaxNameLength bytes, no
// control characters. Its errors do not quote the key, which may hold a
// secret (a session ID, an OAuth state).
func ValidateKey(kind, key string) error {
	switch {
	case key == "":
		return Invalid("empty %s", kind)
	case len(key) > MaxNameLength:
		return Invalid("%s is %d bytes long, more than %d", kind, len(key), MaxNameLength)
	case !utf8.ValidString(key):
		return Invalid("%s is not valid UTF-8", kind)
	}
	if i := strings.IndexFunc(key, unicode.IsControl); i >= 0 {
		return Invalid("%s contains a control character at byte %d", kind, i)
	}
	return nil
}

// ValidateLease checks the arguments of Leases.AcquireLease: a name and an
// owner that pass ValidateKey, and a positive ttl.
func ValidateLease(name, owner string, ttl time.Duration) error {
	if err := ValidateLeaseOwner(name, owner); err != nil {
		return err
	}
	if ttl <= 0 {
		return Invalid("lease ttl %v is not positive", ttl)
	}
	return nil
}

// ValidateLeaseOwner checks the arguments of Leases.ReleaseLease: a name
// and an owner that pass ValidateKey.
func ValidateLeaseOwner(name, owner string) error {
	if err := ValidateKey("lease name", name); err != nil {
		return err
	}
	return ValidateKey("lease owner", owner)
}

// ValidateValue checks the arguments of Values.PutValue: a key that passes
// ValidateKey and a value of at most MaxValueSize bytes.
func ValidateValue(key string, value []byte) error {
	if err := ValidateKey("value key", key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return Invalid("value is %d bytes long, more than %d", len(value), MaxValueSize)
	}
	return nil
}

// SortedUnique returns a sorted copy of names without duplicates; nil for
// an empty input. Backends use it to normalise groups, members and scopes.
func SortedUnique(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// UTC returns t in UTC truncated to the microsecond, the precision of
// every time a Store keeps; the zero time stays zero.
func UTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}
