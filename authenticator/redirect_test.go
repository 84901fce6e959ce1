package authenticator_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/hubkit/hubkit/authenticator"
)

func TestSafeNext(t *testing.T) {
	const fb = "/hub/home"
	tests := []struct {
		in, want string
	}{
		{"/hub/home", "/hub/home"},
		{"/user/alice/lab?reset&x=%2Fa", "/user/alice/lab?reset&x=%2Fa"},
		{"/user/alice/lab#cell-3", "/user/alice/lab#cell-3"},
		{"/a/b%20c", "/a/b%20c"},
		{"/", "/"},
		{"", fb},
		{"hub/home", fb},
		{"../etc", fb},
		{"//evil.example", fb},
		{"//evil.example/hub", fb},
		{"///evil.example", fb},
		{"https://evil.example", fb},
		{"http://evil.example/hub/home", fb},
		{"HTTPS://evil.example", fb},
		{"javascript:alert(1)", fb},
		{"data:text/html,x", fb},
		{"/\\evil.example", fb},
		{"\\\\evil.example", fb},
		{"/\\/evil.example", fb},
		{"/hub\\..\\..\\evil", fb},
		{"/\t/evil.example", fb},
		{"/\n/evil.example", fb},
		{"/\r\n/evil.example", fb},
		{" //evil.example", fb},
		{"/%2F/evil.example", fb},
		{"/%2f%2fevil.example", fb},
		{"%2F%2Fevil.example", fb},
		{"/%5Cevil.example", fb},
		{"/%5cevil.example", fb},
		{"/%252F%252Fevil.example", fb},
		{"/%25252F%25252Fevil.example", fb},
		{"/%09/evil.example", fb},
		{"/%", fb},
		{"/@evil.example", "/@evil.example"}, // a path on this host, harmless
		{"/" + strings.Repeat("a", 3000), fb},
	}
	for _, tt := range tests {
		t.Run(url.QueryEscape(tt.in), func(t *testing.T) {
			if got := authenticator.SafeNext(tt.in, fb); got != tt.want {
				t.Errorf("SafeNext(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzSafeNext: whatever SafeNext accepts, a browser resolving it against
// this hub stays on this hub, and so does a framework that decodes it once
// more.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/hub/home", "//evil", "/\\evil", "/%2F%2Fevil", "https://x", "/a?b=c#d", "/\t/x", "/%5C"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://hub.example/hub/login")
	f.Fuzz(func(t *testing.T, s string) {
		got := authenticator.SafeNext(s, "/fallback")
		if got == "/fallback" {
			return
		}
		for _, form := range []string{got, strings.ReplaceAll(got, "\\", "/"), unescaped(got)} {
			u, err := base.Parse(form)
			if err != nil {
				continue
			}
			if u.Host != "hub.example" || u.Scheme != "https" {
				t.Fatalf("SafeNext(%q) = %q resolves to %s", s, got, u)
			}
		}
		if strings.ContainsAny(got, "\\\t\n\r") {
			t.Fatalf("SafeNext(%q) = %q keeps a backslash or control character", s, got)
		}
	})
}

func unescaped(s string) string {
	d, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return d
}
