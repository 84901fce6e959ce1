package local

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/hubkit/hubkit/spawner"
)

// maxEncodedName bounds the length of one encoded name, so that a state
// file name ("{user}+{server}.json") stays far below the 255-byte limit
// of common file systems.
const maxEncodedName = 100

// readableHashPrefix is how much of the escaped form a hashed name keeps
// in front of its hash, to stay recognisable in a directory listing.
const readableHashPrefix = 32

// encodeName maps a user or server name to one file name component.
//
// Bytes in [a-z0-9_.-] are kept, except a leading '.'; every other byte
// (upper case letters included) becomes '%' and two lower-case hex digits.
// The result consists of [a-z0-9_.%-] only, never starts with '.', and so
// can be neither "." nor ".." nor a hidden file, contains no separator,
// and is the same on case-insensitive or normalising file systems. The
// escaping is reversible, hence collision-free.
//
// An escaped form longer than maxEncodedName is replaced by its first
// readableHashPrefix bytes, '~' and the hex SHA-256 of the raw name. '~'
// never occurs in an escaped form, so a hashed form never equals an
// escaped one, and two hashed forms are equal only for equal names (up to
// a SHA-256 collision).
func encodeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isLiteral(c) && (i > 0 || c != '.') {
			b.WriteByte(c)
			continue
		}
		const digits = "0123456789abcdef"
		b.WriteByte('%')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&0xf])
	}
	enc := b.String()
	if len(enc) <= maxEncodedName {
		return enc
	}
	cut := readableHashPrefix
	// Do not cut an escape in half.
	if i := strings.LastIndexByte(enc[:cut], '%'); i >= 0 && i > cut-3 {
		cut = i
	}
	sum := sha256.Sum256([]byte(name))
	return enc[:cut] + "~" + hex.EncodeToString(sum[:])
}

func isLiteral(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// stateKey is the base name of ref's state file: "{user}" for a default
// server and "{user}+{server}" for a named one. '+' never occurs in an
// encoded name, so keys of different refs differ.
func stateKey(ref spawner.Ref) string {
	if ref.Server == "" {
		return encodeName(ref.User)
	}
	return encodeName(ref.User) + "+" + encodeName(ref.Server)
}
