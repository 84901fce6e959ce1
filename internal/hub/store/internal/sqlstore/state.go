package sqlstore

import (
	"encoding/json"
	"unicode/utf8"
)

// decodeState decodes a server's stored spawner state, a JSON object of
// strings, as json.Unmarshal into a map[string]string does; nil for an
// empty object. Listing a page of users decodes one per server, and
// encoding/json, by reflection, was the largest cost of scanning them;
// so an object of plain strings (no escapes, valid UTF-8: what spawners
// store, with or without spaces) is read by hand, and anything else by
// encoding/json.
func decodeState(b []byte) (map[string]string, error) {
	m, ok := plainStringObject(string(b))
	if !ok {
		m = nil
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// plainStringObject parses b, a JSON object whose keys and values are
// strings without escapes or control characters, in valid UTF-8; ok is
// false for anything else, valid JSON or not. The keys and values share
// b's memory.
func plainStringObject(b string) (m map[string]string, ok bool) {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return nil, false
	}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		return map[string]string{}, skipSpace(b, i+1) == len(b)
	}
	m = map[string]string{}
	for {
		k, j, ok := plainString(b, i)
		if !ok {
			return nil, false
		}
		if i = skipSpace(b, j); i == len(b) || b[i] != ':' {
			return nil, false
		}
		v, j, ok := plainString(b, skipSpace(b, i+1))
		if !ok {
			return nil, false
		}
		m[k] = v
		if i = skipSpace(b, j); i == len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return m, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

// plainString reads the string that starts at b[i], and returns it with
// the index after its closing quote.
func plainString(b string, i int) (string, int, bool) {
	if i == len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			if !utf8.ValidString(s) {
				return "", 0, false
			}
			return s, j + 1, true
		case c == '\\', c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// skipSpace returns the index of the first byte at or after i that is no
// JSON white space.
func skipSpace(b string, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
