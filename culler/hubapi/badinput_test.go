package hubapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
	"github.com/hubkit/hubkit/culler/hubapi/internal/fakehub"
)

// jh3User is a user model as JupyterHub 3.0 writes it (taken from the real
// hub), with %s for the default server's last_activity.
const jh3User = `{"name": "alice", "kind": "user", "created": "2026-11-23T04:58:52.914307Z", "groups": [],
 "auth_state": null, "last_activity": "2026-11-23T04:58:57.618535Z", "pending": null, "admin": false,
 "server": "/user/alice/", "roles": ["user"], "servers": {"": {"name": "", "last_activity": %s,
 "started": "2026-11-23T04:58:52.973428Z", "pending": null, "ready": true, "stopped": false, "url": "/user/alice/",
 "user_options": {}, "progress_url": "/hub/api/users/alice/server/progress", "state": {"pid": 24811}}}}`

func jh3(lastActivity string) string { return fmt.Sprintf(jh3User, lastActivity) }

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDecodeUser feeds user models, well-formed and not, through the list
// API. A model that lacks what the culler needs is an error naming the
// user, never a user with guessed values.
func TestDecodeUser(t *testing.T) {
	for _, tc := range []struct {
		name    string
		model   string
		wantErr string // substring; the error must also be ErrMalformed
		errUser string // the name the error is attributed to
		check   func(t *testing.T, u culler.User)
	}{
		{
			name: "JupyterHub 3.0 model", model: jh3(`"2026-11-23T04:58:53.612070Z"`),
			check: func(t *testing.T, u culler.User) {
				s := u.Servers[0]
				if u.Name != "alice" || u.Admin || !u.Created.Equal(utc("2026-11-23T04:58:52.914307Z")) ||
					!u.LastActivity.Equal(utc("2026-11-23T04:58:57.618535Z")) || len(u.Servers) != 1 ||
					s.Name != "" || s.User != "alice" || !s.Ready || s.Pending != "" ||
					!s.Started.Equal(utc("2026-11-23T04:58:52.973428Z")) || !s.LastActivity.Equal(utc("2026-11-23T04:58:53.612070Z")) ||
					!strings.Contains(string(s.Model), `"state": {"pid": 24811}`) {
					t.Errorf("decoded %+v", u)
				}
			},
		},
		{name: "Z, no fraction", model: jh3(`"2024-01-02T03:04:05Z"`), check: activity("2024-01-02T03:04:05Z")},
		{name: "Z, microseconds", model: jh3(`"2024-01-02T03:04:05.123456Z"`), check: activity("2024-01-02T03:04:05.123456Z")},
		{name: "Z, milliseconds", model: jh3(`"2024-01-02T03:04:05.123Z"`), check: activity("2024-01-02T03:04:05.123Z")},
		{name: "+00:00", model: jh3(`"2024-01-02T03:04:05+00:00"`), check: activity("2024-01-02T03:04:05Z")},
		{name: "+00:00 with fraction", model: jh3(`"2024-01-02T03:04:05.123456+00:00"`), check: activity("2024-01-02T03:04:05.123456Z")},
		{name: "+02:00", model: jh3(`"2024-01-02T05:04:05+02:00"`), check: activity("2024-01-02T03:04:05Z")},
		{name: "-0530", model: jh3(`"2024-01-01T21:34:05-0530"`), check: activity("2024-01-02T03:04:05Z")},
		{name: "naive is UTC", model: jh3(`"2024-01-02T03:04:05.123456"`), check: activity("2024-01-02T03:04:05.123456Z")},
		{name: "space separator", model: jh3(`"2024-01-02 03:04:05"`), check: activity("2024-01-02T03:04:05Z")},
		{name: "nanoseconds", model: jh3(`"2024-01-02T03:04:05.123456789Z"`), check: activity("2024-01-02T03:04:05.123456789Z")},
		{
			name: "null server activity: unknown, the culler uses started", model: jh3(`null`),
			check: func(t *testing.T, u culler.User) {
				if !u.Servers[0].LastActivity.IsZero() || u.Servers[0].Started.IsZero() {
					t.Errorf("decoded %+v", u.Servers[0])
				}
			},
		},
		{name: "unreadable timestamp", model: jh3(`"yesterday"`), errUser: "alice",
			wantErr: `user "alice": server "": last_activity: unrecognised timestamp "yesterday"`},
		{name: "timestamp of the wrong type", model: jh3(`1704164645`), errUser: "alice",
			wantErr: `user "alice": server "": json: cannot unmarshal number`},
		{name: "user activity missing (scope read:users:activity)", errUser: "bob",
			model:   `{"name": "bob", "admin": false, "servers": {}}`,
			wantErr: `user "bob": no "last_activity" field (does the token have the read:users:activity scope?)`},
		{name: "admin missing", errUser: "bob",
			model:   `{"name": "bob", "last_activity": null, "servers": {}}`,
			wantErr: `user "bob": no "admin" field`},
		{name: "admin of the wrong type", errUser: "bob",
			model:   `{"name": "bob", "admin": "yes", "last_activity": null, "servers": {}}`,
			wantErr: `user "bob": json: cannot unmarshal string`},
		{name: "servers missing (scope read:servers)", errUser: "bob",
			model:   `{"name": "bob", "admin": false, "last_activity": null}`,
			wantErr: `user "bob": no "servers" field (does the token have the read:servers scope?)`},
		{name: "servers null", errUser: "bob",
			model:   `{"name": "bob", "admin": false, "last_activity": null, "servers": null}`,
			wantErr: `"servers" is null`},
		{name: "server activity missing", errUser: "bob",
			model:   `{"name": "bob", "admin": false, "last_activity": null, "servers": {"nb": {"name": "nb", "ready": true}}}`,
			wantErr: `user "bob": server "nb": no "last_activity" field`},
		{name: "server neither ready nor url", errUser: "bob",
			model:   `{"name": "bob", "admin": false, "last_activity": null, "servers": {"nb": {"last_activity": null}}}`,
			wantErr: `server "nb": neither "ready" nor "url"`},
		{name: "server under another name", errUser: "bob",
			model:   `{"name": "bob", "admin": false, "last_activity": null, "servers": {"nb": {"name": "other", "last_activity": null, "ready": true}}}`,
			wantErr: `server "nb": listed under "nb" but named "other"`},
		{name: "server null", errUser: "bob",
			model:   `{"name": "bob", "admin": false, "last_activity": null, "servers": {"nb": null}}`,
			wantErr: `server "nb": null`},
		{name: "created unreadable", errUser: "bob",
			model:   `{"name": "bob", "admin": false, "created": "2024-13-45", "last_activity": null, "servers": {}}`,
			wantErr: `created: unrecognised timestamp`},
		{name: "no name", model: `{"admin": false, "last_activity": null, "servers": {}}`, wantErr: `a user: no "name"`},
		{name: "not an object", model: `42`, wantErr: "a user: json: cannot unmarshal number"},
		{name: "null item", model: `null`, wantErr: `a user: no "name"`},
		{
			name:  "ready missing: url decides (JupyterHub before 0.9)",
			model: `{"name": "old", "admin": false, "last_activity": null, "servers": {"": {"last_activity": null, "url": "/user/old/"}, "nb": {"last_activity": null, "url": ""}}}`,
			check: func(t *testing.T, u culler.User) {
				if len(u.Servers) != 2 || !u.Servers[0].Ready || u.Servers[1].Ready {
					t.Errorf("decoded %+v", u.Servers)
				}
			},
		},
		{
			name:  "no servers dict: the default server from the user model (JupyterHub before 0.9)",
			model: `{"name": "old", "admin": true, "last_activity": "2024-01-02T03:04:05Z", "server": "/user/old/", "pending": null}`,
			check: func(t *testing.T, u culler.User) {
				if !u.Admin || len(u.Servers) != 1 || !u.Servers[0].Ready || u.Servers[0].Name != "" ||
					!u.Servers[0].LastActivity.Equal(utc("2024-01-02T03:04:05Z")) || !u.Servers[0].Started.IsZero() {
					t.Errorf("decoded %+v", u)
				}
			},
		},
		{
			name:  "no servers dict, not running",
			model: `{"name": "old", "admin": false, "last_activity": null, "server": null, "pending": null}`,
			check: func(t *testing.T, u culler.User) {
				if len(u.Servers) != 0 {
					t.Errorf("decoded %+v", u)
				}
			},
		},
		{
			name:  "pending server",
			model: `{"name": "p", "admin": false, "last_activity": null, "servers": {"": {"last_activity": null, "started": null, "pending": "spawn", "ready": false}}}`,
			check: func(t *testing.T, u culler.User) {
				if u.Servers[0].Pending != "spawn" || u.Servers[0].Ready {
					t.Errorf("decoded %+v", u.Servers[0])
				}
			},
		},
		{
			name:  "servers sorted by name, unknown fields ignored",
			model: `{"name": "s", "admin": false, "last_activity": null, "future": [1], "servers": {"z": {"last_activity": null, "ready": true}, "": {"last_activity": null, "ready": true}, "m": {"last_activity": null, "ready": true}}}`,
			check: func(t *testing.T, u culler.User) {
				var names []string
				for _, s := range u.Servers {
					names = append(names, s.Name)
				}
				if !slices.Equal(names, []string{"", "m", "z"}) {
					t.Errorf("servers %q", names)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakehub.Hub{}
			h.AddRaw("x", "ready", tc.model)
			h.Add(readyUser("after")) // the listing goes on after a bad user
			c, _ := serve(t, h, hubapi.Options{})
			var got []culler.User
			var errs []error
			var errUsers []string
			for u, err := range c.Users(t.Context(), culler.Query{Ready: true}) {
				if err != nil {
					errs = append(errs, err)
					errUsers = append(errUsers, u.Name)
					continue
				}
				got = append(got, u)
			}
			if len(got) == 0 || got[len(got)-1].Name != "after" {
				t.Fatalf("the user after the tested one was not listed: %+v %v", got, errs)
			}
			if tc.wantErr != "" {
				if len(errs) != 1 || !errors.Is(errs[0], hubapi.ErrMalformed) || !strings.Contains(errs[0].Error(), tc.wantErr) {
					t.Fatalf("errors = %v, want one ErrMalformed containing %q", errs, tc.wantErr)
				}
				if errUsers[0] != tc.errUser {
					t.Errorf("error attributed to %q, want %q", errUsers[0], tc.errUser)
				}
				if len(got) != 1 {
					t.Errorf("a malformed user was yielded as a user: %+v", got)
				}
				return
			}
			if len(errs) > 0 || len(got) != 2 {
				t.Fatalf("users %+v, errors %v", got, errs)
			}
			tc.check(t, got[0])
		})
	}
}

func activity(want string) func(t *testing.T, u culler.User) {
	return func(t *testing.T, u culler.User) {
		t.Helper()
		got := u.Servers[0].LastActivity
		if !got.Equal(utc(want)) || got.Location() != time.UTC {
			t.Errorf("last_activity = %v, want %v (UTC)", got, want)
		}
	}
}

// TestMalformedPages: an unreadable page ends its list with an error; the
// next list is still read.
func TestMalformedPages(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int
		wantErr    string
	}{
		{name: "truncated JSON", body: `{"items": [{"name": "a"`, wantErr: "unexpected end of JSON input"},
		{name: "items not a list", body: `{"items": 5, "_pagination": {"next": null}}`, wantErr: "cannot unmarshal number"},
		{name: "no items", body: `{"_pagination": {"next": null}}`, wantErr: `no "items" list`},
		{name: "no _pagination", body: `{"items": []}`, wantErr: `no "_pagination" object`},
		{name: "next without offset", body: `{"items": [], "_pagination": {"next": {"url": "http://h/hub/api/users"}}}`, wantErr: "neither an offset"},
		{name: "empty answer", body: ``, wantErr: "empty answer"},
		{name: "HTML with 200", body: `<html>proxy error</html>`, wantErr: "neither a JSON list nor a JSON object"},
		{name: "500 after retries", body: `{"status": 500, "message": "database is locked"}`, code: 500,
			wantErr: "500 Internal Server Error: database is locked"},
		{name: "400", body: `{"status": 400, "message": "Unrecognized state filter"}`, code: 400,
			wantErr: "400 Bad Request: Unrecognized state filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakehub.Hub{}
			h.Add(readyUser("r"), inactiveUser("i"))
			h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Query().Get("state") != "inactive" {
					return false
				}
				if tc.code != 0 {
					w.WriteHeader(tc.code)
				}
				fmt.Fprint(w, tc.body)
				return true
			}
			c, _ := serve(t, h, hubapi.Options{Retries: 1})
			l := list(t, c, culler.Query{Ready: true, Inactive: true})
			if len(l.errs) != 1 || !strings.Contains(l.errs[0].Error(), tc.wantErr) {
				t.Errorf("errors = %v, want one containing %q", l.errs, tc.wantErr)
			}
			if !slices.Equal(l.names(), []string{"r"}) {
				t.Errorf("users = %q, want the ready list still read", l.names())
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"},
		{"2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.123456Z"},
		{"2024-01-02T03:04:05.1Z", "2024-01-02T03:04:05.1Z"},
		{"2024-01-02T03:04:05+00:00", "2024-01-02T03:04:05Z"},
		{"2024-01-02T03:04:05.123456+00:00", "2024-01-02T03:04:05.123456Z"},
		{"2024-01-02T04:04:05+0100", "2024-01-02T03:04:05Z"},
		{"2024-01-02T04:04:05+01", "2024-01-02T03:04:05Z"},
		{"2024-01-02T03:04:05", "2024-01-02T03:04:05Z"},
		{"2024-01-02t03:04:05z", "2024-01-02T03:04:05Z"},
		{"2024-01-02 03:04:05.5", "2024-01-02T03:04:05.5Z"},
		{"2024-01-02T03:04Z", "2024-01-02T03:04:00Z"},
		{"2024-01-02T03:04", "2024-01-02T03:04:00Z"},
		{"2024-01-02", "2024-01-02T00:00:00Z"},
		{" 2024-01-02T03:04:05Z ", "2024-01-02T03:04:05Z"},
		{"", ""},
		{"yesterday", ""},
		{"2024-01-02T25:04:05Z", ""},
		{"1704164645", ""},
		{"2024-01-02T03:04:05 +00:00", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := hubapi.ParseTime(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Errorf("ParseTime(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || !got.Equal(utc(tc.want)) || got.Location() != time.UTC {
				t.Errorf("ParseTime(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}
