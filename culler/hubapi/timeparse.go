package hubapi

import (
	"fmt"
	"strings"
	"time"
)

// timeLayouts are the ISO 8601 forms ParseTime accepts, after the date and
// time separator has been made a "T" and "z" a "Z". Go's parser accepts a
// fractional second after the seconds even when a layout does not show one.
var timeLayouts = []string{
	"2006-01-02T15:04:05Z07:00", // Z, +00:00, -05:30
	"2006-01-02T15:04:05Z0700",  // +0000
	"2006-01-02T15:04:05Z07",    // +00
	"2006-01-02T15:04:05",       // naive: UTC
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// ParseTime parses a timestamp of the JupyterHub REST API. JupyterHub writes
// "2024-01-02T03:04:05.123456Z"; like jupyterhub-idle-culler (which uses
// dateutil), ParseTime also accepts other ISO 8601 forms: any number of
// fractional digits or none, "Z", "+00:00", "+0000" or "+00" offsets, a
// space instead of "T", minutes without seconds, a date alone, and no
// offset at all, which it takes as UTC. The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	if len(v) > 10 && (v[10] == ' ' || v[10] == 't') {
		v = v[:10] + "T" + v[11:]
	}
	if strings.HasSuffix(v, "z") {
		v = v[:len(v)-1] + "Z"
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised timestamp %q", s)
}
