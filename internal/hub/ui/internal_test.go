package ui

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestRelativeTime(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now, "just now"},
		{now.Add(-59 * time.Second), "just now"},
		{now.Add(-time.Minute), "1 minute ago"},
		{now.Add(-3*time.Minute - 30*time.Second), "3 minutes ago"},
		{now.Add(-time.Hour), "1 hour ago"},
		{now.Add(-23 * time.Hour), "23 hours ago"},
		{now.Add(-24 * time.Hour), "1 day ago"},
		{now.Add(-29 * 24 * time.Hour), "29 days ago"},
		{now.Add(-30 * 24 * time.Hour), "1 month ago"},
		{now.Add(-364 * 24 * time.Hour), "12 months ago"},
		{now.Add(-365 * 24 * time.Hour), "1 year ago"},
		{now.Add(-3 * 365 * 24 * time.Hour), "3 years ago"},
		{now.Add(30 * time.Second), "in less than a minute"},
		{now.Add(2 * time.Hour), "in 2 hours"},
		{now.Add(7 * 24 * time.Hour), "in 7 days"},
		{now.In(time.FixedZone("X", 3600)).Add(-2 * time.Minute), "2 minutes ago"},
	} {
		if got := relativeTime(now, tc.t); got != tc.want {
			t.Errorf("relativeTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// A template error returns the error and writes nothing: no header, no
// status, no half page.
func TestRenderErrorWritesNothing(t *testing.T) {
	u, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	broken, err := u.pages[pageHome].Clone()
	if err == nil {
		_, err = broken.Parse(`{{define "content"}}<p>before</p>{{index .Servers 3}}{{end}}`)
	}
	if err != nil {
		t.Fatal(err)
	}
	u.pages[pageHome] = broken

	rec := httptest.NewRecorder()
	err = u.Home(rec, HomeData{})
	if err == nil {
		t.Fatal("no error")
	}
	if rec.Body.Len() != 0 || len(rec.Header()) != 0 || rec.Flushed {
		t.Errorf("wrote %d bytes, headers %v", rec.Body.Len(), rec.Header())
	}
}

func TestEscapeSegment(t *testing.T) {
	for in, want := range map[string]string{
		"alice":           "alice",
		"a/b":             "a%2Fb",
		"jörg":            "j%C3%B6rg",
		"a.b@example.org": "a.b@example.org",
		"q?x#y":           "q%3Fx%23y",
		".":               "%2E",
		"..":              "%2E%2E",
		"...":             "...",
		"":                "",
	} {
		if got := escapeSegment(in); got != want {
			t.Errorf("escapeSegment(%q) = %q, want %q", in, got, want)
		}
	}
}

// An unknown static file is an error rather than a broken link.
func TestStaticURLUnknown(t *testing.T) {
	u, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.staticURL("nope.css"); err == nil {
		t.Error("no error for an unknown static file")
	}
}
