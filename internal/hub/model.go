package hub

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/spawner"
)

// This file encodes JupyterHub's user and server models. They are
// appended to a byte slice field by field rather than built as maps for
// encoding/json: the paginated user listing encodes 200 users per page,
// and maps cost allocations, reflection and a sort of their keys per
// object. The output is what encoding/json would write for the same
// values (its string escaping included), in a fixed key order.

// appendUserModel appends JupyterHub's user model of u, with the fields p
// may read, as a JSON object.
func (h *Hub) appendUserModel(b []byte, p *principal, u store.User) []byte {
	b = append(b, '{')
	b = h.appendUserFields(b, p, u)
	return append(b, '}')
}

// appendUserFields appends the members of the user model without the
// braces, so that GET /hub/api/user can add its own.
func (h *Hub) appendUserFields(b []byte, p *principal, u store.User) []byte {
	t := target(u, nil)
	readUsers := p.can("read:users", t)
	b = append(b, `"kind":"user","name":`...)
	b = appendJSONString(b, u.Name)
	if readUsers || p.can("read:users:groups", t) {
		b = append(b, `,"groups":`...)
		b = appendJSONStrings(b, u.Groups)
	}
	if readUsers {
		b = append(b, `,"admin":`...)
		b = strconv.AppendBool(b, u.Admin)
		b = append(b, `,"roles":["user"`...)
		if u.Admin {
			b = append(b, `,"admin"`...)
		}
		b = append(b, `],"created":`...)
		b = appendJSONTime(b, u.Created)
	}
	if readUsers || p.can("read:users:activity", t) {
		b = append(b, `,"last_activity":`...)
		b = appendJSONTime(b, u.LastActivity)
	}
	if !p.can("read:servers", t) {
		return b
	}
	// The default server's URL and pending phase, then every active
	// server p may read, by name.
	var def, pending string
	b = append(b, `,"servers":{`...)
	first := true
	for _, s := range u.Servers {
		if !s.Active() || !p.can("read:servers", target(u, &s.Name)) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, s.Name)
		b = append(b, ':')
		b = h.appendServerModel(b, p, u, s)
		if s.Name == "" {
			if s.Running() {
				def = h.serverPrefix(spawner.Ref{User: u.Name})
			}
			pending = string(s.Pending)
		}
	}
	b = append(b, `},"server":`...)
	b = appendJSONStringOrNull(b, def)
	b = append(b, `,"pending":`...)
	return appendJSONStringOrNull(b, pending)
}

// appendServerModel appends JupyterHub's server model of u's server s.
func (h *Hub) appendServerModel(b []byte, p *principal, u store.User, s store.Server) []byte {
	ref := spawner.Ref{User: u.Name, Server: s.Name}
	b = append(b, `{"name":`...)
	b = appendJSONString(b, s.Name)
	b = append(b, `,"ready":`...)
	b = strconv.AppendBool(b, s.Ready())
	b = append(b, `,"stopped":`...)
	b = strconv.AppendBool(b, !s.Active())
	b = append(b, `,"pending":`...)
	b = appendJSONStringOrNull(b, string(s.Pending))
	b = append(b, `,"url":`...)
	b = appendJSONString(b, h.serverPrefix(ref))
	b = append(b, `,"user_options":`...)
	b = appendRawJSONObject(b, s.UserOptions)
	b = append(b, `,"progress_url":`...)
	b = appendJSONString(b, h.progressURL(ref))
	b = append(b, `,"started":`...)
	b = appendJSONTime(b, s.Started)
	b = append(b, `,"last_activity":`...)
	b = appendJSONTime(b, s.LastActivity)
	if p.can("admin:server_state", target(u, &s.Name)) {
		b = append(b, `,"state":{`...)
		keys := make([]string, 0, len(s.State))
		for k := range s.State {
			if !strings.HasPrefix(k, "hubkit.") {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, s.State[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendRawJSONObject appends stored JSON (a server's user options) as
// encoding/json writes a json.RawMessage: compacted, HTML characters
// escaped. Anything that is not a JSON object, which the hub never
// stores, is written as {}.
func appendRawJSONObject(b []byte, raw []byte) []byte {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return append(b, "{}"...)
	}
	var buf bytes.Buffer
	buf.Grow(len(trimmed))
	if err := json.Compact(&buf, trimmed); err != nil {
		return append(b, "{}"...)
	}
	var esc bytes.Buffer
	json.HTMLEscape(&esc, buf.Bytes())
	return append(b, esc.Bytes()...)
}

// appendJSONTime appends t as isoTime does: a string, or null for the
// zero time.
func appendJSONTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	return append(b, '"')
}

// appendJSONStringOrNull appends s, or null when s is empty.
func appendJSONStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

// appendJSONStrings appends list as a JSON array ([] for nil).
func appendJSONStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// encodes it: \" \\ \n \r \t \b \f, other control characters and the HTML
// characters < > & as \u00XX, U+2028 and U+2029 escaped, and invalid
// UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// writeRawJSON writes b, an encoded JSON value, as the response.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
