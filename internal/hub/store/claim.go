package store

import (
	"fmt"
	"time"
)

// CheckClaim decides whether claim c may be taken on srv (as stored now)
// at time now, by the rules written on Servers.ClaimServer. It returns nil
// or a *ClaimError. Backends call it inside the transaction that read srv
// with a lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's SELECT … FOR
// UPDATE), so that all of them decide alike.
func CheckClaim(srv Server, c Claim, now time.Time) error {
	held := srv.Pending != PhaseNone
	renewal := held && srv.PendingOwner == c.Owner && srv.Pending == c.Phase
	expired := held && !srv.PendingExpires.IsZero() && !srv.PendingExpires.After(now)
	conflict := func(reason string) error {
		return &ClaimError{
			User: srv.User, Server: srv.Name,
			Pending: srv.Pending, Owner: srv.PendingOwner, Expires: srv.PendingExpires,
			Running: srv.Running(), Reason: reason,
		}
	}
	switch {
	case held && !renewal && !expired:
		return conflict(fmt.Sprintf("pending %s, claimed by %q", srv.Pending, srv.PendingOwner))
	case c.Phase == PhaseSpawn && srv.Running() && !renewal:
		return conflict("already running")
	}
	return nil
}

// CheckFinish decides whether owner may finish phase on srv: it must be
// pending phase under owner (whether or not the claim has expired, as long
// as nobody took it over). It returns nil or a *ClaimError.
func CheckFinish(srv Server, owner string, phase Phase) error {
	if srv.Pending == phase && srv.PendingOwner == owner {
		return nil
	}
	reason := "claim lost: nothing is pending"
	if srv.Pending != PhaseNone {
		reason = fmt.Sprintf("claim lost: pending %s, claimed by %q", srv.Pending, srv.PendingOwner)
	}
	return &ClaimError{
		User: srv.User, Server: srv.Name,
		Pending: srv.Pending, Owner: srv.PendingOwner, Expires: srv.PendingExpires,
		Running: srv.Running(), Reason: reason,
	}
}
