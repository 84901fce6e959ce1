package sqlstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

func isErr(err, target error) bool { return errors.Is(err, target) }

// row is a row of column values, scanned by assignment (nil: NULL).
type row []any

func (r row) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return fmt.Errorf("scanning %d columns into %d destinations", len(r), len(dest))
	}
	for i, d := range dest {
		v := reflect.ValueOf(d).Elem()
		if r[i] == nil {
			v.SetZero()
			continue
		}
		v.Set(reflect.ValueOf(r[i]))
	}
	return nil
}

// codec reads times as Unix seconds (0: NULL) and scopes as
// comma-separated text.
var codec = sqlstore.Codec[int64, string]{
	Backend: "test",
	Time: func(s int64) time.Time {
		if s == 0 {
			return time.Time{}
		}
		return time.Unix(s, 0).UTC()
	},
	Scopes: func(s string) ([]string, error) {
		if s == "" {
			return nil, nil
		}
		return strings.Split(s, ","), nil
	},
}

func TestScanServer(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	tests := []struct {
		name    string
		row     row
		want    store.Server
		wantErr string
	}{
		{
			name: "stopped, nothing set",
			row:  row{"", []byte(`{}`), "", int64(0), int64(0), nil, "", "", int64(0), int64(1)},
			want: store.Server{Created: at(1)},
		},
		{
			name: "running, pending a check",
			row: row{"gpu", []byte(`{"pvc_name":"claim-alice"}`), "http://a", int64(2), int64(3), []byte(`{"profile":"gpu"}`),
				"check", "hub-1", int64(4), int64(1)},
			want: store.Server{
				Name: "gpu", State: map[string]string{"pvc_name": "claim-alice"}, URL: "http://a",
				Started: at(2), LastActivity: at(3), UserOptions: json.RawMessage(`{"profile":"gpu"}`),
				Pending: store.PhaseCheck, PendingOwner: "hub-1", PendingExpires: at(4), Created: at(1),
			},
		},
		{
			name:    "state not an object of strings",
			row:     row{"gpu", []byte(`{"n":1}`), "", int64(0), int64(0), nil, "", "", int64(0), int64(1)},
			wantErr: `test: server "gpu": stored state is not a JSON object of strings`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := codec.ScanServer(tc.row, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q…", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(srv, tc.want) {
				t.Errorf("ScanServer =\n%#v\nwant\n%#v", srv, tc.want)
			}
			// With a first column.
			var id int64
			srv, err = codec.ScanServer(append(row{int64(7)}, tc.row...), &id)
			if err != nil || id != 7 || !reflect.DeepEqual(srv, tc.want) {
				t.Errorf("ScanServer with a first column: id %d, %v", id, err)
			}
		})
	}
}

func TestScanToken(t *testing.T) {
	tok, err := codec.ScanToken(row{int64(5), []byte("abcd"), []byte{1, 2}, "alice", "", "", "", "note",
		int64(1), int64(0), int64(2)})
	want := store.Token{ID: 5, Prefix: "abcd", Hash: []byte{1, 2}, Owner: store.Owner{User: "alice"}, Note: "note",
		Created: time.Unix(1, 0).UTC(), LastActivity: time.Unix(2, 0).UTC()}
	if err != nil || !reflect.DeepEqual(tok, want) {
		t.Errorf("ScanToken = %#v, %v; want %#v", tok, err, want)
	}
}

func TestMatchToken(t *testing.T) {
	const secret = "0123456789abcdef"
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tok := func(id int64, secret string, expires time.Time) store.Token {
		return store.Token{ID: id, Prefix: store.SecretPrefix(secret), Hash: store.HashSecret(secret), Expires: expires}
	}
	other := tok(1, "0123-other-secret", time.Time{})
	tests := []struct {
		name       string
		candidates []store.Token
		wantID     int64
		wantErr    error
	}{
		{"none", nil, 0, store.ErrNotFound},
		{"another secret with the prefix", []store.Token{other}, 0, store.ErrNotFound},
		{"found among others", []store.Token{other, tok(2, secret, time.Time{})}, 2, nil},
		{"expires later", []store.Token{tok(2, secret, now.Add(time.Second))}, 2, nil},
		{"expires now", []store.Token{tok(2, secret, now)}, 0, store.ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqlstore.MatchToken(secret, tc.candidates, now)
			if tc.wantErr != nil {
				if !isErr(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.ID != tc.wantID {
				t.Errorf("MatchToken = token %d, %v; want token %d", got.ID, err, tc.wantID)
			}
		})
	}
	if _, err := sqlstore.TokenPrefix("short"); !isErr(err, store.ErrNotFound) {
		t.Errorf("TokenPrefix of an invalid secret: error = %v, want ErrNotFound", err)
	}
	if p, err := sqlstore.TokenPrefix(secret); err != nil || p != "0123" {
		t.Errorf("TokenPrefix = %q, %v", p, err)
	}
}

func TestConsumed(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	code := store.OAuthCode{ClientID: "jupyterhub-user-alice", User: "alice", Expires: now.Add(time.Minute)}
	expired := code
	expired.Expires = now
	tests := []struct {
		name     string
		c        store.OAuthCode
		found    bool
		clientID string
		wantErr  error
	}{
		{"consumed", code, true, code.ClientID, nil},
		{"none", store.OAuthCode{}, false, code.ClientID, store.ErrNotFound},
		{"another client's", code, true, "jupyterhub-user-bob", store.ErrNotFound},
		{"expired", expired, true, code.ClientID, store.ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqlstore.Consumed(tc.c, tc.found, tc.clientID, now)
			switch {
			case tc.wantErr != nil && !isErr(err, tc.wantErr):
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && (err != nil || !reflect.DeepEqual(got, tc.c)):
				t.Errorf("Consumed = %+v, %v", got, err)
			}
		})
	}
}

func TestUserFilterWhere(t *testing.T) {
	f := sqlstore.UserFilter{Active: "ACTIVE", Ready: "READY", Inactive: "INACTIVE", NameContains: "u.name LIKE ?"}
	tests := []struct {
		q         store.UserQuery
		wantWhere string
		wantArgs  []any
	}{
		{store.UserQuery{}, "", nil},
		{store.UserQuery{State: store.UserReady, Limit: 5}, " WHERE READY", nil},
		{store.UserQuery{NameContains: `a_b%c\`}, " WHERE u.name LIKE ?", []any{`%a\_b\%c\\%`}},
		{store.UserQuery{State: store.UserInactive, NameContains: "x"}, " WHERE INACTIVE AND u.name LIKE ?", []any{"%x%"}},
	}
	for _, tc := range tests {
		where, args := f.Where(tc.q)
		if where != tc.wantWhere || !reflect.DeepEqual(args, tc.wantArgs) {
			t.Errorf("Where(%+v) = %q, %q; want %q, %q", tc.q, where, args, tc.wantWhere, tc.wantArgs)
		}
	}
}

func TestPageTotal(t *testing.T) {
	tests := []struct {
		offset, limit, n int
		want             int
		wantOK           bool
	}{
		{0, 0, 0, 0, false},   // no users, or an offset past them all
		{5, 0, 0, 0, false},   // the same
		{0, 0, 7, 7, true},    // no limit: all the rest
		{5, 0, 7, 12, true},   // the same after an offset
		{0, 10, 10, 0, false}, // a full page: maybe more
		{20, 10, 3, 23, true}, // the last page
		{20, 10, 0, 0, false}, // past the end
		{0, -1, 4, 4, true},   // a negative limit is no limit
	}
	for _, tc := range tests {
		got, ok := sqlstore.PageTotal(store.UserQuery{Offset: tc.offset, Limit: tc.limit}, tc.n)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("PageTotal(offset %d, limit %d, %d users) = %d, %v; want %d, %v", tc.offset, tc.limit, tc.n, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestStarted(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	earlier := now.Add(-time.Hour)
	given := time.Date(2025, 1, 1, 11, 30, 0, 123456789, time.FixedZone("CET", 3600))
	running := store.Server{URL: "http://a", Started: earlier}
	tests := []struct {
		name string
		o    store.Outcome
		srv  store.Server
		want time.Time
	}{
		{"stopped", store.Outcome{Started: given}, running, time.Time{}},
		{"given", store.Outcome{URL: "http://b", Started: given}, running, store.UTC(given)},
		{"still running", store.Outcome{URL: "http://b"}, running, earlier},
		{"newly running", store.Outcome{URL: "http://b"}, store.Server{}, now},
	}
	for _, tc := range tests {
		if got := sqlstore.Started(tc.o, tc.srv, clock); !got.Equal(tc.want) {
			t.Errorf("%s: Started = %v, want %v", tc.name, got, tc.want)
		}
	}
}
