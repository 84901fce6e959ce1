package ui

import (
	"strconv"
	"time"
)

// ago is t relative to the UI's clock: "3 minutes ago", "in 2 days",
// "never" for the zero time.
func (u *UI) ago(t time.Time) string { return relativeTime(u.opts.Now(), t) }

// relativeTime is t relative to now, in the largest whole unit: "just
// now" under a minute, then minutes, hours, days, months of 30 days and
// years of 365 days, "… ago" for the past and "in …" for the future. The
// zero time is "never".
func relativeTime(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	const day = 24 * time.Hour
	var n time.Duration
	var unit string
	switch {
	case d < time.Minute:
		if future {
			return "in less than a minute"
		}
		return "just now"
	case d < time.Hour:
		n, unit = d/time.Minute, "minute"
	case d < day:
		n, unit = d/time.Hour, "hour"
	case d < 30*day:
		n, unit = d/day, "day"
	case d < 365*day:
		n, unit = d/(30*day), "month"
	default:
		n, unit = d/(365*day), "year"
	}
	s := strconv.FormatInt(int64(n), 10) + " " + unit
	if n != 1 {
		s += "s"
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// rfc3339 is t in UTC as RFC 3339, for the datetime attribute of <time>.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// readableTime is t in UTC for people, for the title of <time>.
func readableTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
