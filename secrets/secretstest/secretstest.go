package secretstest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hubkit/hubkit/secrets"
)

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) secrets.SecretStore)
	}{
		{"PutGet", testPutGet},
		{"PutReplaces", testPutReplaces},
		{"CopiesInAndOut", testCopies},
		{"GetMissing", testGetMissing},
		{"GetField", testGetField},
		{"ListEmpty", testListEmpty},
		{"ListSortedNested", testListSortedNested},
		{"NameAndNestedName", testNameAndNested},
		{"Delete", testDelete},
		{"DeleteFields", testDeleteFields},
		{"DeleteLastField", testDeleteLastField},
		{"DeleteFieldsMissing", testDeleteFieldsMissing},
		{"PutAfterDelete", testPutAfterDelete},
		{"InvalidNames", testInvalidNames},
		{"InvalidFields", testInvalidFields},
		{"LongestName", testLongestName},
		{"UnicodeAndBinaryLooking", testUnicode},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ConcurrentDeleteFields", testConcurrentDeleteFields},
		{"CancelledContext", testCancelled},
		{"StoresAreSeparate", testSeparate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

func mustPut(t *testing.T, s secrets.SecretStore, name string, fields map[string]string) {
	t.Helper()
	if err := s.Put(t.Context(), name, fields); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func mustGet(t *testing.T, s secrets.SecretStore, name string) map[string]string {
	t.Helper()
	f, err := s.Get(t.Context(), name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	return f
}

func mustList(t *testing.T, s secrets.SecretStore) []string {
	t.Helper()
	names, err := s.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if names == nil {
		t.Fatalf("List returned a nil slice; want an empty one")
	}
	return names
}

func wantFields(t *testing.T, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("fields = %q, want %q", got, want)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}

func testPutGet(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	f := map[string]string{"openai": "sk-123", "github": "ghp-456", "database_url": "postgresql://u:p@h:5432/db"}
	mustPut(t, s, "api-keys", f)
	wantFields(t, mustGet(t, s, "api-keys"), f)
}

func testPutReplaces(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	mustPut(t, s, "creds", map[string]string{"a": "1", "b": "2"})
	mustPut(t, s, "creds", map[string]string{"b": "20", "c": "30"})
	// Replace, not merge: "a" is gone.
	wantFields(t, mustGet(t, s, "creds"), map[string]string{"b": "20", "c": "30"})
	if _, err := secrets.GetField(t.Context(), s, "creds", "a"); !errors.Is(err, secrets.ErrFieldNotFound) {
		t.Fatalf("GetField of a replaced-away field: %v, want ErrFieldNotFound", err)
	}
}

func testCopies(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	in := map[string]string{"k": "v"}
	mustPut(t, s, "x", in)
	in["k"] = "changed after Put"
	in["new"] = "added after Put"
	out := mustGet(t, s, "x")
	wantFields(t, out, map[string]string{"k": "v"})
	out["k"] = "changed after Get"
	wantFields(t, mustGet(t, s, "x"), map[string]string{"k": "v"})
}

func testGetMissing(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	_, err := s.Get(t.Context(), "nope")
	wantErr(t, "Get of a missing secret", err, secrets.ErrNotFound)
	if errors.Is(err, secrets.ErrFieldNotFound) {
		t.Fatalf("Get of a missing secret matches ErrFieldNotFound: %v", err)
	}
	mustPut(t, s, "team/db", map[string]string{"k": "v"})
	_, err = s.Get(t.Context(), "team")
	wantErr(t, "Get of a name that is only a directory", err, secrets.ErrNotFound)
}

func testGetField(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	mustPut(t, s, "api-keys", map[string]string{"openai": "sk-123", "github": "ghp-456"})
	v, err := secrets.GetField(t.Context(), s, "api-keys", "openai")
	if err != nil || v != "sk-123" {
		t.Fatalf("GetField = %q, %v; want sk-123", v, err)
	}
	_, err = secrets.GetField(t.Context(), s, "api-keys", "nonexistent")
	wantErr(t, "GetField of a missing field", err, secrets.ErrFieldNotFound)
	if errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("a missing field matches ErrNotFound: %v", err)
	}
	_, err = secrets.GetField(t.Context(), s, "missing", "openai")
	wantErr(t, "GetField of a missing secret", err, secrets.ErrNotFound)
	_, err = secrets.GetField(t.Context(), s, "api-keys", "")
	wantErr(t, "GetField with an empty field", err, secrets.ErrInvalid)
}

func testListEmpty(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	if names := mustList(t, s); len(names) != 0 {
		t.Fatalf("List of an empty store = %q", names)
	}
}

func testListSortedNested(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	names := []string{"zeta", "alpha", "team/db", "team/x/y", "a.b", "A_1", "m-2"}
	for _, n := range names {
		mustPut(t, s, n, map[string]string{"k": n})
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if got := mustList(t, s); !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

func testNameAndNested(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	mustPut(t, s, "a", map[string]string{"k": "top"})
	mustPut(t, s, "a/b", map[string]string{"k": "nested"})
	if got := mustList(t, s); !slices.Equal(got, []string{"a", "a/b"}) {
		t.Fatalf("List = %q", got)
	}
	if err := s.Delete(t.Context(), "a"); err != nil {
		t.Fatalf("Delete(a): %v", err)
	}
	wantFields(t, mustGet(t, s, "a/b"), map[string]string{"k": "nested"})
	if got := mustList(t, s); !slices.Equal(got, []string{"a/b"}) {
		t.Fatalf("List after deleting a = %q", got)
	}
}

func testDelete(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	mustPut(t, s, "old-api-key", map[string]string{"k": "v"})
	mustPut(t, s, "keep", map[string]string{"k": "v"})
	if err := s.Delete(t.Context(), "old-api-key"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Get(t.Context(), "old-api-key")
	wantErr(t, "Get after Delete", err, secrets.ErrNotFound)
	if got := mustList(t, s); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("List after Delete = %q", got)
	}
	wantErr(t, "second Delete", s.Delete(t.Context(), "old-api-key"), secrets.ErrNotFound)
	wantErr(t, "Delete of a never-existing secret", s.Delete(t.Context(), "never"), secrets.ErrNotFound)
}

func testDeleteFields(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	mustPut(t, s, "credentials", map[string]string{"github": "token123", "aws": "secret456", "gcp": "g"})
	if err := s.DeleteFields(t.Context(), "credentials", "github"); err != nil {
		t.Fatalf("DeleteFields: %v", err)
	}
	wantFields(t, mustGet(t, s, "credentials"), map[string]string{"aws": "secret456", "gcp": "g"})
	if err := s.DeleteFields(t.Context(), "credentials", "gcp", "gcp"); err != nil {
		t.Fatalf("DeleteFields with a repeated field: %v", err)
	}
	wantFields(t, mustGet(t, s, "credentials"), map[string]string{"aws": "secret456"})
}

func testDeleteLastField(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	mustPut(t, s, "x", map[string]string{"a": "1", "b": "2"})
	if err := s.DeleteFields(t.Context(), "x", "a", "b"); err != nil {
		t.Fatalf("DeleteFields of all fields: %v", err)
	}
	_, err := s.Get(t.Context(), "x")
	wantErr(t, "Get after deleting the last field", err, secrets.ErrNotFound)
	if got := mustList(t, s); len(got) != 0 {
		t.Fatalf("List after deleting the last field = %q", got)
	}
}

func testDeleteFieldsMissing(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	wantErr(t, "DeleteFields of a missing secret", s.DeleteFields(t.Context(), "nope", "a"), secrets.ErrNotFound)
	mustPut(t, s, "x", map[string]string{"a": "1", "b": "2"})
	err := s.DeleteFields(t.Context(), "x", "a", "missing")
	wantErr(t, "DeleteFields with a missing field", err, secrets.ErrFieldNotFound)
	// A failed call changes nothing: "a" is still there.
	wantFields(t, mustGet(t, s, "x"), map[string]string{"a": "1", "b": "2"})
	wantErr(t, "DeleteFields with no fields", s.DeleteFields(t.Context(), "x"), secrets.ErrInvalid)
	wantFields(t, mustGet(t, s, "x"), map[string]string{"a": "1", "b": "2"})
}

func testPutAfterDelete(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	mustPut(t, s, "x", map[string]string{"a": "1"})
	if err := s.Delete(t.Context(), "x"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "x", map[string]string{"b": "2"})
	wantFields(t, mustGet(t, s, "x"), map[string]string{"b": "2"})
}

// BadNames are names every SecretStore rejects with ErrInvalid.
var BadNames = []string{
	"", "/", "//", "/a", "a/", "a//b", ".", "..", "../a", "a/..", "a/../b", "./a", "a/./b",
	"a b", "a\x00b", "a\nb", "clé", "日本", "a\\b", "a?b", "a#b", "a%2fb", "a*", "+", "a:b",
	strings.Repeat("a", secrets.MaxNameLength+1),
	strings.Repeat("ab/", 100),
}

func testInvalidNames(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	ctx := t.Context()
	mustPut(t, s, "a", map[string]string{"k": "v"})
	for _, name := range BadNames {
		what := fmt.Sprintf("%q", name)
		if len(what) > 40 {
			what = what[:40] + "…"
		}
		wantErr(t, "Put "+what, s.Put(ctx, name, map[string]string{"k": "v"}), secrets.ErrInvalid)
		_, err := s.Get(ctx, name)
		wantErr(t, "Get "+what, err, secrets.ErrInvalid)
		_, err = secrets.GetField(ctx, s, name, "k")
		wantErr(t, "GetField "+what, err, secrets.ErrInvalid)
		wantErr(t, "Delete "+what, s.Delete(ctx, name), secrets.ErrInvalid)
		wantErr(t, "DeleteFields "+what, s.DeleteFields(ctx, name, "k"), secrets.ErrInvalid)
	}
	if got := mustList(t, s); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("List after rejected writes = %q", got)
	}
}

func testInvalidFields(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	ctx := t.Context()
	for _, f := range []map[string]string{
		nil,
		{},
		{"": "v"},
		{"ok": "v", "": "v"},
		{"\xff\xfe": "v"},
		{strings.Repeat("f", secrets.MaxFieldLength+1): "v"},
		{"k": "\xff binary bytes \x80"},
	} {
		wantErr(t, fmt.Sprintf("Put %q", f), s.Put(ctx, "x", f), secrets.ErrInvalid)
	}
	if got := mustList(t, s); len(got) != 0 {
		t.Fatalf("List after rejected Puts = %q", got)
	}
	mustPut(t, s, "x", map[string]string{"k": "v"})
	for _, f := range []string{"", "\xff", strings.Repeat("f", secrets.MaxFieldLength+1)} {
		wantErr(t, fmt.Sprintf("DeleteFields %q", f), s.DeleteFields(ctx, "x", "k", f), secrets.ErrInvalid)
	}
	wantFields(t, mustGet(t, s, "x"), map[string]string{"k": "v"})
}

func testLongestName(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	seg := strings.Repeat("n", 63)
	name := strings.Join([]string{seg, seg, seg, seg}, "/") // 255 bytes
	name += "x"
	if len(name) != secrets.MaxNameLength {
		t.Fatalf("test name has %d bytes", len(name))
	}
	mustPut(t, s, name, map[string]string{"k": "v"})
	wantFields(t, mustGet(t, s, name), map[string]string{"k": "v"})
	if got := mustList(t, s); !slices.Equal(got, []string{name}) {
		t.Fatalf("List = %q", got)
	}
	longField := strings.Repeat("f", secrets.MaxFieldLength)
	mustPut(t, s, "lf", map[string]string{longField: "v"})
	wantFields(t, mustGet(t, s, "lf"), map[string]string{longField: "v"})
}

func testUnicode(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	raw := make([]byte, 300)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	f := map[string]string{
		"日本語":              "値 – ünïcödé ✓",
		"emoji🔑":           "🗝️ zero\u200bwidth",
		"ctl\x01\t\n":      "\x00\x01\x02\x1f\x7f nul and controls",
		"empty":            "",
		"base64":           base64.StdEncoding.EncodeToString(raw),
		"json":             `{"a":[1,2],"b":null,"c":"\u00e9"}`,
		"quotes'\"`":       `'single' "double" \backslash\`,
		" spaced field ":   "  leading and trailing  ",
		"newlines":         "line1\nline2\r\nline3\n",
		"big":              strings.Repeat("0123456789abcdef", 4096), // 64 KiB
		"percent%2F/slash": "%2F/..//",
	}
	mustPut(t, s, "unicode", f)
	wantFields(t, mustGet(t, s, "unicode"), f)
	for k, v := range f {
		got, err := secrets.GetField(t.Context(), s, "unicode", k)
		if err != nil || got != v {
			t.Fatalf("GetField(%q) = %q, %v", k, got, err)
		}
	}
	if err := s.DeleteFields(t.Context(), "unicode", "日本語", "ctl\x01\t\n"); err != nil {
		t.Fatalf("DeleteFields of unicode fields: %v", err)
	}
	delete(f, "日本語")
	delete(f, "ctl\x01\t\n")
	wantFields(t, mustGet(t, s, "unicode"), f)
}

func testConcurrentPuts(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Put(t.Context(), fmt.Sprintf("s%d", i), map[string]string{"i": fmt.Sprint(i)})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Put s%d: %v", i, err)
		}
	}
	if got := mustList(t, s); len(got) != n {
		t.Fatalf("List = %q, want %d names", got, n)
	}
	for i := range n {
		wantFields(t, mustGet(t, s, fmt.Sprintf("s%d", i)), map[string]string{"i": fmt.Sprint(i)})
	}
}

func testConcurrentDeleteFields(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	mustPut(t, s, "x", map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"})
	var wg sync.WaitGroup
	del := []string{"a", "c", "e"}
	errs := make([]error, len(del))
	for i, f := range del {
		wg.Go(func() { errs[i] = s.DeleteFields(t.Context(), "x", f) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("DeleteFields %s: %v", del[i], err)
		}
	}
	// No lost update: every concurrent deletion took effect.
	wantFields(t, mustGet(t, s, "x"), map[string]string{"b": "2", "d": "4", "f": "6"})
}

func testCancelled(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s := newStore(t)
	mustPut(t, s, "x", map[string]string{"k": "v"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s with a cancelled context succeeded", what)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a cancelled context: %v, want context.Canceled", what, err)
		}
	}
	check("Put", s.Put(ctx, "y", map[string]string{"k": "v"}))
	_, err := s.Get(ctx, "x")
	check("Get", err)
	_, err = s.List(ctx)
	check("List", err)
	check("Delete", s.Delete(ctx, "x"))
	check("DeleteFields", s.DeleteFields(ctx, "x", "k"))
	wantFields(t, mustGet(t, s, "x"), map[string]string{"k": "v"})
	if _, err := s.Get(t.Context(), "y"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Put with a cancelled context stored the secret: %v", err)
	}
}

func testSeparate(t *testing.T, newStore func(t *testing.T) secrets.SecretStore) {
	s1, s2 := newStore(t), newStore(t)
	mustPut(t, s1, "shared-name", map[string]string{"owner": "one"})
	if got := mustList(t, s2); len(got) != 0 {
		t.Fatalf("second store lists %q", got)
	}
	_, err := s2.Get(t.Context(), "shared-name")
	wantErr(t, "Get from the other store", err, secrets.ErrNotFound)
	mustPut(t, s2, "shared-name", map[string]string{"owner": "two"})
	wantFields(t, mustGet(t, s1, "shared-name"), map[string]string{"owner": "one"})
	if err := s2.Delete(t.Context(), "shared-name"); err != nil {
		t.Fatal(err)
	}
	wantFields(t, mustGet(t, s1, "shared-name"), map[string]string{"owner": "one"})
}
