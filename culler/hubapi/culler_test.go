package hubapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkit/hubkit/culler"
	"github.com/hubkit/hubkit/culler/hubapi"
	"github.com/hubkit/hubkit/culler/hubapi/internal/fakehub"
)

func idleServer(name string) fakehub.Server {
	return fakehub.Server{Name: name, Ready: true, Started: ago(3 * time.Hour), LastActivity: ago(2 * time.Hour)}
}

func activeServer(name string) fakehub.Server {
	return fakehub.Server{Name: name, Ready: true, Started: ago(3 * time.Hour), LastActivity: ago(time.Minute)}
}

// TestCullerOverHubAPI runs whole passes against a hub that answers badly
// for some users: malformed models, a 500 on one stop, a stop that hangs,
// a stop still in progress. Each of those users is left alone (and
// reported); every other user is culled exactly per policy; nothing else
// is written to the hub.
func TestCullerOverHubAPI(t *testing.T) {
	h := &fakehub.Hub{Token: token}
	h.Add(
		fakehub.User{Name: "idle", LastActivity: ago(2 * time.Hour), Servers: []fakehub.Server{idleServer("")}},
		fakehub.User{Name: "active", LastActivity: ago(time.Minute), Servers: []fakehub.Server{activeServer("")}},
		fakehub.User{Name: "mixed", LastActivity: ago(time.Minute), Servers: []fakehub.Server{activeServer(""), idleServer("nb")}},
		fakehub.User{Name: "named", LastActivity: ago(2 * time.Hour), Servers: []fakehub.Server{idleServer("nb")}},
		fakehub.User{Name: "err500", LastActivity: ago(2 * time.Hour), Servers: []fakehub.Server{idleServer("")}},
		fakehub.User{Name: "hang", LastActivity: ago(2 * time.Hour), Servers: []fakehub.Server{idleServer("")}},
		fakehub.User{Name: "slow", LastActivity: ago(2 * time.Hour), Servers: []fakehub.Server{idleServer("")}},
		fakehub.User{Name: "boss", Admin: true, LastActivity: ago(2 * time.Hour), Servers: []fakehub.Server{idleServer("")}},
		fakehub.User{Name: "gone", Created: ago(30 * 24 * time.Hour)},
		fakehub.User{Name: "new", Created: ago(time.Minute)},
	)
	// Idle servers whose users' models are broken.
	h.AddRaw("noscope", "ready", `{"name": "noscope", "admin": false, "servers": {"": {"name": "", "last_activity": "2024-01-02T01:00:00Z", "started": "2024-01-02T00:00:00Z", "ready": true, "pending": null}}}`)
	h.AddRaw("badtime", "ready", `{"name": "badtime", "admin": false, "last_activity": null, "servers": {"": {"name": "", "last_activity": "two hours ago", "started": "2024-01-02T00:00:00Z", "ready": true, "pending": null}}}`)
	h.AddRaw("badtype", "ready", `{"name": "badtype", "admin": false, "last_activity": null, "servers": {"": {"name": "", "last_activity": "2024-01-02T01:00:00Z", "ready": "yes"}}}`)
	h.StopAs("err500", http.StatusInternalServerError)
	h.StopAs("slow", http.StatusAccepted)
	release := make(chan struct{})
	defer close(release)
	h.Fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete && r.URL.Path == "/hub/api/users/hang/server" {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return true
		}
		return false
	}
	c, _ := serve(t, h, hubapi.Options{PageSize: 2, Retries: 1, RequestTimeout: 100 * time.Millisecond})
	cl, err := culler.New(c, culler.Options{
		Timeout: time.Hour, CullUsers: true, SkipAdminUsers: true, RemoveNamedServers: true,
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := cl.Once(t.Context())
	if err == nil {
		t.Error("Once: want the errors of the broken users")
	}

	wantWrites := []string{
		"DELETE /hub/api/users/boss/server",
		"DELETE /hub/api/users/err500/server", // tried twice (Retries: 1)
		"DELETE /hub/api/users/err500/server",
		"DELETE /hub/api/users/gone",
		"DELETE /hub/api/users/hang/server", // timed out twice
		"DELETE /hub/api/users/hang/server",
		"DELETE /hub/api/users/idle",
		"DELETE /hub/api/users/idle/server",
		`DELETE /hub/api/users/mixed/servers/nb {"remove": true}`,
		"DELETE /hub/api/users/named",
		`DELETE /hub/api/users/named/servers/nb {"remove": true}`,
		"DELETE /hub/api/users/slow/server",
	}
	got := h.Writes()
	slices.Sort(got)
	if !slices.Equal(got, wantWrites) {
		t.Errorf("writes:\n got  %q\n want %q", got, wantWrites)
	}

	wantErrs := []string{
		`culler: reading user badtime: hubapi: malformed answer from the hub: user "badtime": server "": last_activity: unrecognised timestamp "two hours ago"`,
		`culler: reading user badtype: hubapi: malformed answer from the hub: user "badtype": server "": json: cannot unmarshal string`,
		`culler: reading user noscope: hubapi: malformed answer from the hub: user "noscope": no "last_activity" field`,
		`culler: stopping server err500: hubapi: DELETE http://`,
		`culler: stopping server hang: hubapi: DELETE http://`,
	}
	var msgs []string
	for _, e := range rep.Errors {
		msgs = append(msgs, e.Error())
	}
	slices.Sort(msgs)
	if len(msgs) != len(wantErrs) {
		t.Fatalf("errors:\n%s", strings.Join(msgs, "\n"))
	}
	for i, w := range wantErrs {
		if !strings.HasPrefix(msgs[i], w) {
			t.Errorf("error %d = %q, want prefix %q", i, msgs[i], w)
		}
	}
	if !strings.Contains(msgs[3], "500 Internal Server Error") || !strings.Contains(msgs[4], "no answer within 100ms") {
		t.Errorf("errors do not say what happened:\n%s", strings.Join(msgs, "\n"))
	}

	var deleted []string
	for _, d := range rep.Deleted {
		deleted = append(deleted, d.User)
	}
	slices.Sort(deleted)
	if !slices.Equal(deleted, []string{"gone", "idle", "named"}) {
		t.Errorf("deleted %q", deleted)
	}
	if rep.Users != 10 {
		t.Errorf("Users = %d, want 10 (the 3 broken ones are errors)", rep.Users)
	}
	for _, name := range []string{"active", "mixed", "err500", "hang", "slow", "boss", "new", "noscope", "badtime", "badtype"} {
		if _, ok := h.User(name); !ok {
			t.Errorf("user %s was deleted", name)
		}
	}
}
