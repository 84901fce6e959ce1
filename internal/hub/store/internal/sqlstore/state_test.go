package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestDecodeState: decodeState returns what json.Unmarshal does, whether
// the hand-written reader or encoding/json reads the input.
func TestDecodeState(t *testing.T) {
	inputs := []string{
		`{}`, ` { } `, `null`, ``, `[]`, `"x"`, `{"a":1}`, `{"a":null}`, `{"a":"b"`, `{"a":"b",}`, `{"a" "b"}`,
		`{"pvc_name":"claim-alice"}`,
		`{"namespace": "jhub", "pod_name": "jupyter-alice", "pvc_name": "claim-alice"}`, // PostgreSQL's jsonb
		"{\n\t\"a\" : \"b\" ,\r\n\"c\":\"\"}",
		`{"a":"b","a":"c"}`,
		`{"a":"b\"c"}`, `{"a":"\u00e9"}`, `{"é":"ü✓"}`, "{\"a\":\"\xff\"}", "{\"a\":\"b\tc\"}",
		`{"a":"b"} x`, `{"a":"b"}}`, `{"a":"b" "c":"d"}`, `{,}`, `{"a":}`, `{"a"`, `{"a":"b`, `{`,
	}
	for _, in := range inputs {
		got, err := decodeState([]byte(in))
		var want map[string]string
		werr := json.Unmarshal([]byte(in), &want)
		if len(want) == 0 {
			want = nil
		}
		if werr != nil {
			want = nil // json.Unmarshal may have filled part of it
		}
		if (err != nil) != (werr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeState(%q) = %#v, %v; json.Unmarshal: %#v, %v", in, got, err, want, werr)
		}
	}
}

func BenchmarkDecodeState(b *testing.B) {
	state := []byte(`{"namespace":"jhub","pod_name":"jupyter-user-04242","pvc_name":"claim-user-04242"}`)
	b.Run("decodeState", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeState(state); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		for b.Loop() {
			var m map[string]string
			if err := json.Unmarshal(state, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
