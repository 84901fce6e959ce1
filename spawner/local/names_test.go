package local

import (
	"strconv"
	"strings"
	"testing"

	"github.com/hubkit/hubkit/spawner"
)

func TestEncodeName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"alice", "alice"},
		{"alice.smith", "alice.smith"},
		{"Alice", "%41lice"},
		{"..", "%2e."},
		{".", "%2e"},
		{".hidden", "%2ehidden"},
		{"a/b", "a%2fb"},
		{"a\\b", "a%5cb"},
		{"a+b", "a%2bb"},
		{"a~b", "a%7eb"},
		{"%41", "%2541"},
		{"ü", "%c3%bc"},
		{"user@example.org", "user%40example.org"},
	} {
		if got := encodeName(c.in); got != c.want {
			t.Errorf("encodeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := strings.Repeat("A", 255)
	got := encodeName(long)
	if len(got) > maxEncodedName || !strings.Contains(got, "~") || !strings.HasPrefix(got, "%41%41") {
		t.Errorf("encodeName(255 x A) = %q", got)
	}
	if encodeName(long) == encodeName(long[:254]+"B") {
		t.Error("long names that differ at the end share an encoding")
	}
}

func TestStateKey(t *testing.T) {
	seen := map[string]spawner.Ref{}
	for _, ref := range []spawner.Ref{
		{User: "a"}, {User: "a", Server: "b"}, {User: "a+b"}, {User: "a", Server: "+b"},
		{User: "a+", Server: "b"}, {User: "ab"},
	} {
		k := stateKey(ref)
		if prev, dup := seen[k]; dup {
			t.Errorf("%q and %q share state key %q", prev, ref, k)
		}
		seen[k] = ref
	}
}

// decodeName inverts the escaped (not hashed) form of encodeName.
func decodeName(enc string) (string, bool) {
	var b []byte
	for i := 0; i < len(enc); i++ {
		if enc[i] != '%' {
			b = append(b, enc[i])
			continue
		}
		if i+2 >= len(enc) {
			return "", false
		}
		v, err := strconv.ParseUint(enc[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b = append(b, byte(v))
		i += 2
	}
	return string(b), true
}

func FuzzEncodeName(f *testing.F) {
	for _, s := range []string{"alice", "..", ".", "Alice", "%2e", "a/b", strings.Repeat("é", 60), strings.Repeat("x", 255)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" {
			return // Ref.Validate rejects it
		}
		enc := encodeName(name)
		if enc == "" || enc[0] == '.' || len(enc) > maxEncodedName {
			t.Fatalf("encodeName(%q) = %q: empty, hidden or too long", name, enc)
		}
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; !isLiteral(c) && c != '%' && c != '~' {
				t.Fatalf("encodeName(%q) = %q contains %q", name, enc, c)
			}
		}
		if strings.ToLower(enc) != enc {
			t.Fatalf("encodeName(%q) = %q is not lower case", name, enc)
		}
		if strings.Contains(enc, "~") {
			return // hashed: distinct by SHA-256
		}
		if dec, ok := decodeName(enc); !ok || dec != name {
			t.Fatalf("encodeName(%q) = %q decodes to %q", name, enc, dec)
		}
	})
}
