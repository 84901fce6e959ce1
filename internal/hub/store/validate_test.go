package store_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", store.MaxNameLength+1)
	exp := time.Now()
	tests := []struct {
		name string
		err  error
		ok   bool
	}{
		{"name", store.ValidateName("user", "alice"), true},
		{"name unicode", store.ValidateName("user", "zoë@example.com"), true},
		{"name max", store.ValidateName("user", long[1:]), true},
		{"name empty", store.ValidateName("user", ""), false},
		{"name long", store.ValidateName("user", long), false},
		{"name NUL", store.ValidateName("user", "a\x00"), false},
		{"name bad UTF-8", store.ValidateName("user", "\xc3"), false},
		{"server default", store.ValidateServerName(""), true},
		{"server named", store.ValidateServerName("gpu"), true},
		{"server control", store.ValidateServerName("g\tpu"), false},
		{"owner user", store.ValidateOwner(store.Owner{User: "a"}), true},
		{"owner service", store.ValidateOwner(store.Owner{Service: "cull"}), true},
		{"owner none", store.ValidateOwner(store.Owner{}), false},
		{"owner both", store.ValidateOwner(store.Owner{User: "a", Service: "b"}), false},
		{"query", store.ValidateUserQuery(store.UserQuery{State: store.UserReady, Offset: 3, Limit: -1}), true},
		{"query state", store.ValidateUserQuery(store.UserQuery{State: "Ready"}), false},
		{"query offset", store.ValidateUserQuery(store.UserQuery{Offset: -1}), false},
		{"claim", store.ValidateClaim(store.Claim{Phase: store.PhaseSpawn, Owner: "h", UserOptions: json.RawMessage(`{}`)}), true},
		{"claim null options", store.ValidateClaim(store.Claim{Phase: store.PhaseStop, Owner: "h", UserOptions: json.RawMessage(`null`)}), true},
		{"claim none", store.ValidateClaim(store.Claim{Phase: store.PhaseNone, Owner: "h"}), false},
		{"claim owner", store.ValidateClaim(store.Claim{Phase: store.PhaseCheck}), false},
		{"claim options", store.ValidateClaim(store.Claim{Phase: store.PhaseSpawn, Owner: "h", UserOptions: json.RawMessage(`"x"`)}), false},
		{"claim bad JSON", store.ValidateClaim(store.Claim{Phase: store.PhaseSpawn, Owner: "h", UserOptions: json.RawMessage(`{`)}), false},
		{"token", store.ValidateToken(store.Token{Owner: store.Owner{User: "a"}, Scopes: []string{"read:users"}}), true},
		{"token scope", store.ValidateToken(store.Token{Owner: store.Owner{User: "a"}, Scopes: []string{""}}), false},
		{"client", store.ValidateOAuthClient(store.OAuthClient{ID: "c", RedirectURI: "/cb", Owner: store.Owner{User: "a"}}), true},
		{"client id", store.ValidateOAuthClient(store.OAuthClient{RedirectURI: "/cb", Owner: store.Owner{User: "a"}}), false},
		{"code", store.ValidateOAuthCode(store.OAuthCode{ClientID: "c", User: "a", Expires: exp}), true},
		{"code S256", store.ValidateOAuthCode(store.OAuthCode{ClientID: "c", User: "a", Expires: exp, CodeChallenge: "x", CodeChallengeMethod: "S256"}), true},
		{"code plain", store.ValidateOAuthCode(store.OAuthCode{ClientID: "c", User: "a", Expires: exp, CodeChallenge: "x", CodeChallengeMethod: "plain"}), true},
		{"code challenge no method", store.ValidateOAuthCode(store.OAuthCode{ClientID: "c", User: "a", Expires: exp, CodeChallenge: "x"}), false},
		{"code method no challenge", store.ValidateOAuthCode(store.OAuthCode{ClientID: "c", User: "a", Expires: exp, CodeChallengeMethod: "S256"}), false},
		{"code no expiry", store.ValidateOAuthCode(store.OAuthCode{ClientID: "c", User: "a"}), false},
		{"key", store.ValidateKey("value key", "session:Zoë/1"), true},
		{"key max", store.ValidateKey("value key", long[1:]), true},
		{"key empty", store.ValidateKey("value key", ""), false},
		{"key long", store.ValidateKey("value key", long), false},
		{"key bad UTF-8", store.ValidateKey("value key", "\xff"), false},
		{"key NUL", store.ValidateKey("value key", "a\x00b"), false},
		{"lease", store.ValidateLease("culler", "hub-0", time.Second), true},
		{"lease ttl zero", store.ValidateLease("culler", "hub-0", 0), false},
		{"lease ttl negative", store.ValidateLease("culler", "hub-0", -time.Second), false},
		{"lease no name", store.ValidateLease("", "hub-0", time.Second), false},
		{"lease no owner", store.ValidateLease("culler", "", time.Second), false},
		{"lease release", store.ValidateLeaseOwner("culler", "hub-0"), true},
		{"lease release no owner", store.ValidateLeaseOwner("culler", ""), false},
		{"value", store.ValidateValue("k", make([]byte, store.MaxValueSize)), true},
		{"value empty", store.ValidateValue("k", nil), true},
		{"value too long", store.ValidateValue("k", make([]byte, store.MaxValueSize+1)), false},
		{"value no key", store.ValidateValue("", []byte("v")), false},
	}
	for _, tc := range tests {
		if (tc.err == nil) != tc.ok || (tc.err != nil && !errors.Is(tc.err, store.ErrInvalid)) {
			t.Errorf("%s: error = %v, want ok=%v", tc.name, tc.err, tc.ok)
		}
		if tc.err != nil && !strings.HasPrefix(tc.err.Error(), "store: ") {
			t.Errorf("%s: error %q lacks the store: prefix", tc.name, tc.err)
		}
	}
}

func TestUTC(t *testing.T) {
	in := time.Date(2025, 3, 1, 13, 0, 0, 123456789, time.FixedZone("CET", 3600))
	got := store.UTC(in)
	if got.Location() != time.UTC || got.Nanosecond() != 123456000 || !got.Equal(in.Truncate(time.Microsecond)) {
		t.Errorf("UTC(%v) = %v", in, got)
	}
	if !store.UTC(time.Time{}).IsZero() {
		t.Error("UTC(zero) is not zero")
	}
}

func TestServerStates(t *testing.T) {
	tests := []struct {
		srv                    store.Server
		running, ready, active bool
	}{
		{store.Server{}, false, false, false},
		{store.Server{Pending: store.PhaseSpawn}, false, false, true},
		{store.Server{URL: "http://x"}, true, true, true},
		{store.Server{URL: "http://x", Pending: store.PhaseStop}, true, false, true},
		{store.Server{URL: "http://x", Pending: store.PhaseCheck}, true, false, true},
	}
	for _, tc := range tests {
		if tc.srv.Running() != tc.running || tc.srv.Ready() != tc.ready || tc.srv.Active() != tc.active {
			t.Errorf("%+v: Running %v Ready %v Active %v, want %v %v %v", tc.srv,
				tc.srv.Running(), tc.srv.Ready(), tc.srv.Active(), tc.running, tc.ready, tc.active)
		}
	}
}

func TestErrors(t *testing.T) {
	ce := &store.ClaimError{User: "alice", Server: "gpu", Reason: "already running"}
	if !errors.Is(ce, store.ErrConflict) || ce.Error() != "store: server alice/gpu: already running" {
		t.Errorf("ClaimError: %v", ce)
	}
	if err := store.NotFound("user", "bob"); !errors.Is(err, store.ErrNotFound) || err.Error() != `store: not found: user "bob"` {
		t.Errorf("NotFound: %v", err)
	}
	if got := store.RefString("alice", ""); got != "alice" {
		t.Errorf("RefString = %q", got)
	}
	if got := (store.Owner{Service: "cull"}).String(); got != "service:cull" {
		t.Errorf("Owner.String = %q", got)
	}
}
