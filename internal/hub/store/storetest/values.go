package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

var valueTests = []test{
	{"PutGet", testPutGetValue},
	{"Expiry", testValueExpiry},
	{"Delete", testDeleteValue},
	{"Invalid", testValueInvalid},
	{"UseOnce", testUseOnce},
	{"UseOnceExactlyOnce", testConcurrentUseOnce},
	{"Purge", testPurgeValues},
}

func mustPut(t *testing.T, s store.Store, key string, value []byte, expires time.Time) {
	t.Helper()
	if err := s.PutValue(t.Context(), key, value, expires); err != nil {
		t.Fatalf("PutValue(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, s store.Store, key string, want []byte) {
	t.Helper()
	got, err := s.GetValue(t.Context(), key)
	if err != nil {
		t.Fatalf("GetValue(%q): %v", key, err)
	}
	if got == nil || !bytes.Equal(got, want) {
		t.Errorf("GetValue(%q) = %q, want %q", key, got, want)
	}
}

func wantNoValue(t *testing.T, s store.Store, key string) {
	t.Helper()
	got, err := s.GetValue(t.Context(), key)
	wantErr(t, fmt.Sprintf("GetValue(%q) = %q", key, got), err, store.ErrNotFound)
	if strings.Contains(err.Error(), key) {
		t.Errorf("error %q contains the key, which may be a secret", err)
	}
}

func testPutGetValue(t *testing.T, e *env) {
	a, b := e.s, e.replica(t)
	sealed := []byte("sealed\x00auth\xffstate") // any bytes
	mustPut(t, a, "session:abc", sealed, epoch.Add(time.Hour))
	wantValue(t, a, "session:abc", sealed)
	wantValue(t, b, "session:abc", sealed) // another replica sees it

	// Values passed in are not retained; values returned are copies.
	sealed[0] = 'X'
	wantValue(t, a, "session:abc", []byte("sealed\x00auth\xffstate"))
	got, _ := a.GetValue(t.Context(), "session:abc")
	got[0] = 'Y'
	wantValue(t, a, "session:abc", []byte("sealed\x00auth\xffstate"))

	// PutValue replaces value and expiry, from either replica.
	mustPut(t, b, "session:abc", []byte("v2"), time.Time{})
	wantValue(t, a, "session:abc", []byte("v2"))
	e.clock.Advance(2 * time.Hour) // past the first expiry, which was replaced
	wantValue(t, a, "session:abc", []byte("v2"))

	// An empty value is a value.
	mustPut(t, a, "empty", nil, time.Time{})
	wantValue(t, b, "empty", []byte{})
	mustPut(t, a, "empty too", []byte{}, time.Time{})
	wantValue(t, b, "empty too", []byte{})

	// Keys are bytewise and case-sensitive, and at most MaxNameLength
	// bytes long.
	wantNoValue(t, a, "Session:abc")
	wantNoValue(t, a, "session:abc ")
	wantNoValue(t, a, "session:ab")
	long := strings.Repeat("k", store.MaxNameLength)
	mustPut(t, a, long, []byte("long"), time.Time{})
	wantValue(t, b, long, []byte("long"))

	// The largest value.
	big := bytes.Repeat([]byte{0xa5}, store.MaxValueSize)
	mustPut(t, a, "big", big, time.Time{})
	wantValue(t, b, "big", big)
	wantNoValue(t, a, "missing")
}

func testValueExpiry(t *testing.T, e *env) {
	a, b := e.s, e.replica(t)
	mustPut(t, a, "minute", []byte("m"), epoch.Add(time.Minute))
	mustPut(t, a, "hour", []byte("h"), epoch.Add(time.Hour))
	mustPut(t, a, "never", []byte("n"), time.Time{})
	mustPut(t, a, "past", []byte("p"), epoch.Add(-time.Second))
	wantNoValue(t, a, "past")
	wantValue(t, b, "minute", []byte("m"))
	e.clock.Advance(time.Minute) // exactly at its expiry: gone
	wantNoValue(t, a, "minute")
	wantNoValue(t, b, "minute")
	wantValue(t, b, "hour", []byte("h"))
	// An expired value can be put again.
	mustPut(t, b, "minute", []byte("m2"), e.clock.Now().Add(time.Minute))
	wantValue(t, a, "minute", []byte("m2"))
	e.clock.Advance(100 * 365 * 24 * time.Hour)
	wantValue(t, a, "never", []byte("n"))
	wantNoValue(t, a, "hour")
}

func testDeleteValue(t *testing.T, e *env) {
	ctx := t.Context()
	a, b := e.s, e.replica(t)
	mustPut(t, a, "session:d1", []byte("v"), time.Time{})
	mustPut(t, a, "other", []byte("o"), time.Time{})
	wantNoErr(t, "DeleteValue", b.DeleteValue(ctx, "session:d1"))
	wantNoValue(t, a, "session:d1")
	wantValue(t, a, "other", []byte("o"))
	wantNoErr(t, "DeleteValue again", a.DeleteValue(ctx, "session:d1"))
	wantNoErr(t, "DeleteValue of a key never put", a.DeleteValue(ctx, "never-put"))
	mustPut(t, a, "session:d1", []byte("v2"), time.Time{})
	wantValue(t, b, "session:d1", []byte("v2"))
}

func testValueInvalid(t *testing.T, e *env) {
	ctx := t.Context()
	err := e.s.PutValue(ctx, "big", make([]byte, store.MaxValueSize+1), time.Time{})
	wantErr(t, "PutValue of an oversized value", err, store.ErrInvalid)
	wantNoValue(t, e.s, "big")
	for _, tc := range []struct{ what, key string }{
		{"empty key", ""},
		{"long key", strings.Repeat("k", store.MaxNameLength+1)},
		{"key not UTF-8", "state:\xff\xfe"},
		{"key with NUL", "state:\x00"},
		{"key with a newline", "state:a\nb"},
	} {
		wantErr(t, "PutValue with "+tc.what, e.s.PutValue(ctx, tc.key, []byte("v"), time.Time{}), store.ErrInvalid)
		_, err := e.s.GetValue(ctx, tc.key)
		wantErr(t, "GetValue with "+tc.what, err, store.ErrInvalid)
		wantErr(t, "DeleteValue with "+tc.what, e.s.DeleteValue(ctx, tc.key), store.ErrInvalid)
		used, err := e.s.UseOnce(ctx, tc.key, time.Time{})
		wantErr(t, "UseOnce with "+tc.what, err, store.ErrInvalid)
		wantEqual(t, "UseOnce with "+tc.what, used, false)
	}
	_, err = e.s.GetValue(cancelled(t), "k")
	if err == nil || isErr(err, store.ErrNotFound) {
		t.Errorf("GetValue with a cancelled context: error = %v", err)
	}
}

func testUseOnce(t *testing.T, e *env) {
	ctx := t.Context()
	a, b := e.s, e.replica(t)
	use := func(s store.Store, key string, expires time.Time, want bool) {
		t.Helper()
		got, err := s.UseOnce(ctx, key, expires)
		wantNoErr(t, "UseOnce("+key+")", err)
		if got != want {
			t.Errorf("UseOnce(%q) at %v = %v, want %v", key, e.clock.Now(), got, want)
		}
	}
	exp := epoch.Add(10 * time.Minute)
	use(a, "oauth-state:s1", exp, true)
	use(a, "oauth-state:s1", exp, false)
	use(b, "oauth-state:s1", exp.Add(time.Hour), false) // a later expiry changes nothing
	use(b, "oauth-state:s2", exp, true)
	use(a, "OAuth-state:s1", exp, true) // bytewise, case-sensitive
	e.clock.Advance(9 * time.Minute)
	use(b, "oauth-state:s1", exp, false)
	e.clock.Advance(time.Minute) // exactly at the expiry: usable again
	use(b, "oauth-state:s1", e.clock.Now().Add(time.Minute), true)
	use(a, "oauth-state:s1", e.clock.Now().Add(time.Minute), false)

	// Zero expiry: used for ever.
	use(a, "forever", time.Time{}, true)
	e.clock.Advance(100 * 365 * 24 * time.Hour)
	use(b, "forever", time.Time{}, false)

	// Used keys are apart from values: a key may hold a value and be
	// used, and deleting the value does not forget the use.
	mustPut(t, a, "both", []byte("v"), time.Time{})
	use(a, "both", time.Time{}, true)
	wantValue(t, b, "both", []byte("v"))
	wantNoErr(t, "DeleteValue", a.DeleteValue(ctx, "both"))
	use(b, "both", time.Time{}, false)
	wantNoValue(t, a, "forever")
}

// testConcurrentUseOnce: a browser's OAuth callback, replayed to every
// replica at once, is accepted exactly once.
func testConcurrentUseOnce(t *testing.T, e *env) {
	ctx := t.Context()
	stores := []store.Store{e.s, e.replica(t)}
	for round := range 10 {
		key := fmt.Sprintf("oauth-state:round-%d", round)
		if round%2 == 1 {
			// A key whose earlier use has expired.
			key = "oauth-state:reused"
			e.clock.Advance(time.Minute)
		}
		used := make([]bool, claimants)
		errs := race(claimants, func(i int) error {
			var err error
			used[i], err = stores[i%2].UseOnce(ctx, key, e.clock.Now().Add(time.Minute))
			return err
		})
		wins := 0
		for i, err := range errs {
			wantNoErr(t, fmt.Sprintf("round %d: UseOnce %d", round, i), err)
			if used[i] {
				wins++
			}
		}
		wantEqual(t, fmt.Sprintf("round %d: first uses", round), wins, 1)
	}
}

// testPurgeValues: PurgeExpired deletes expired values and used-key marks
// with the tokens and codes, counts them, and keeps the rest.
func testPurgeValues(t *testing.T, e *env) {
	ctx := t.Context()
	mustPut(t, e.s, "v-minute", []byte("1"), epoch.Add(time.Minute))
	mustPut(t, e.s, "v-second", []byte("2"), epoch.Add(time.Second))
	mustPut(t, e.s, "v-hour", []byte("3"), epoch.Add(time.Hour))
	mustPut(t, e.s, "v-never", []byte("4"), time.Time{})
	for key, exp := range map[string]time.Time{"u-minute": epoch.Add(time.Minute), "u-hour": epoch.Add(time.Hour), "u-never": {}} {
		used, err := e.s.UseOnce(ctx, key, exp)
		wantNoErr(t, "UseOnce", err)
		wantEqual(t, "UseOnce("+key+")", used, true)
	}
	mustCreateUser(t, e.s, "alice")
	_, err := e.s.CreateToken(ctx, newSecret(t), store.Token{Owner: store.Owner{User: "alice"}, Expires: epoch.Add(time.Minute)})
	wantNoErr(t, "CreateToken", err)
	mustAcquire(t, e.s, "culler", "hub-a", time.Second)

	n, err := e.s.PurgeExpired(ctx)
	wantNoErr(t, "PurgeExpired before anything expired", err)
	wantEqual(t, "purged before anything expired", n, 0)

	e.clock.Advance(time.Minute)
	n, err = e.s.PurgeExpired(ctx)
	wantNoErr(t, "PurgeExpired", err)
	wantEqual(t, "purged (2 values, 1 used key, 1 token)", n, 4)
	n, err = e.s.PurgeExpired(ctx)
	wantNoErr(t, "PurgeExpired again", err)
	wantEqual(t, "purged again", n, 0)

	wantNoValue(t, e.s, "v-minute")
	wantValue(t, e.s, "v-hour", []byte("3"))
	wantValue(t, e.s, "v-never", []byte("4"))
	for key, want := range map[string]bool{"u-minute": true, "u-hour": false, "u-never": false} {
		used, err := e.s.UseOnce(ctx, key, time.Time{})
		wantNoErr(t, "UseOnce after the purge", err)
		wantEqual(t, "UseOnce("+key+") after the purge", used, want)
	}
	// The expired lease is not purged, and is taken over as before.
	got := mustAcquire(t, e.s, "culler", "hub-b", time.Second)
	wantEqual(t, "expired lease after the purge", got.Holder, "hub-b")
}
