package hub

import (
	"encoding/json"
	"testing"
	"time"
)

// appendJSONString must write what encoding/json writes, byte for byte:
// clients parse the hub's answers with every kind of JSON library.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "alice", `a"b\c`, "<script>&</script>", "tab\there\nnew\r\x00\x1f\x7f",
		"\u2028\u2029", "caf\u00e9 \U0001f600", "bad\xffutf8\xc3", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}

func TestAppendRawJSONObject(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "{}",
		`{"profile": "gpu", "n":1}`:  `{"profile":"gpu","n":1}`,
		`{"x":"<b>&"}`:               `{"x":"\u003cb\u003e\u0026"}`,
		`[1,2]`:                      "{}",
		`{"broken"`:                  "{}",
		`  {"a":{"b":[true,null]}} `: `{"a":{"b":[true,null]}}`,
	} {
		if got := string(appendRawJSONObject(nil, []byte(in))); got != want {
			t.Errorf("appendRawJSONObject(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestAppendJSONTime(t *testing.T) {
	if got := string(appendJSONTime(nil, time.Time{})); got != "null" {
		t.Errorf("zero time = %s, want null", got)
	}
	ts := time.Date(2026, 11, 23, 9, 5, 7, 123456789, time.FixedZone("X", 3600))
	want, _ := json.Marshal(isoTime(ts))
	if got := appendJSONTime(nil, ts); string(got) != string(want) {
		t.Errorf("appendJSONTime = %s, want %s", got, want)
	}
}
