package sqlstore

import (
	"encoding/json"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// The functions below check a method's arguments, before any I/O, and
// return what the method writes, normalised. Their errors match
// store.ErrInvalid.

// NewUser checks u for CreateUser and returns it as it is stored: its
// groups sorted and unique, Created in UTC, or now() when zero.
func NewUser(u store.User, now func() time.Time) (store.User, error) {
	if err := store.ValidateName("user", u.Name); err != nil {
		return store.User{}, err
	}
	u.Groups = store.SortedUnique(u.Groups)
	if err := ValidateGroups(u.Groups); err != nil {
		return store.User{}, err
	}
	u.Created = store.UTC(u.Created)
	if u.Created.IsZero() {
		u.Created = now()
	}
	return u, nil
}

// ValidateGroups checks group names.
func ValidateGroups(groups []string) error {
	for _, g := range groups {
		if err := store.ValidateName("group", g); err != nil {
			return err
		}
	}
	return nil
}

// ValidateUserUpdate checks the arguments of UpdateUser and returns the
// groups to set, sorted and unique (nil when upd.Groups is nil).
func ValidateUserUpdate(name string, upd store.UserUpdate) ([]string, error) {
	if err := store.ValidateName("user", name); err != nil {
		return nil, err
	}
	if upd.Name != nil {
		if err := store.ValidateName("user", *upd.Name); err != nil {
			return nil, err
		}
	}
	if upd.Groups == nil {
		return nil, nil
	}
	groups := store.SortedUnique(*upd.Groups)
	if err := ValidateGroups(groups); err != nil {
		return nil, err
	}
	return groups, nil
}

// ValidateGroupUpdate checks the arguments of UpdateGroup.
func ValidateGroupUpdate(name string, upd store.GroupUpdate) error {
	if err := store.ValidateName("group", name); err != nil {
		return err
	}
	for _, users := range [][]string{upd.Add, upd.Remove} {
		for _, u := range users {
			if err := store.ValidateName("user", u); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateRef checks a user's name and one of their server's names.
func ValidateRef(user, server string) error {
	if err := store.ValidateName("user", user); err != nil {
		return err
	}
	return store.ValidateServerName(server)
}

// ClaimValues checks the arguments of ClaimServer and returns what it
// writes: the claim's expiry in UTC, and the user options to set, as JSON
// text (a spawn that has some) or nil (keep the stored ones).
func ClaimValues(user, server string, c store.Claim) (expires time.Time, options any, err error) {
	if err := ValidateRef(user, server); err != nil {
		return time.Time{}, nil, err
	}
	if err := store.ValidateClaim(c); err != nil {
		return time.Time{}, nil, err
	}
	if c.Phase == store.PhaseSpawn && c.UserOptions != nil {
		options = string(c.UserOptions)
	}
	return store.UTC(c.Expires), options, nil
}

// FinishValues checks the arguments of FinishServer and returns the
// spawner state it writes: JSON text, or nil to keep the stored state.
func FinishValues(user, server, owner string, phase store.Phase, o store.Outcome) (state any, err error) {
	if err := ValidateRef(user, server); err != nil {
		return nil, err
	}
	if err := store.ValidateClaim(store.Claim{Phase: phase, Owner: owner}); err != nil {
		return nil, err
	}
	if o.State == nil {
		return nil, nil
	}
	b, err := json.Marshal(o.State)
	if err != nil {
		return nil, store.Invalid("server state: %v", err)
	}
	return string(b), nil
}

// Started returns the start time FinishServer writes for o on srv (as
// stored before): o.Started in UTC when set; else, for a server that was
// running already, the time it started; else now(). It is the zero time
// when o leaves the server stopped.
func Started(o store.Outcome, srv store.Server, now func() time.Time) time.Time {
	if o.URL == "" {
		return time.Time{}
	}
	t := store.UTC(o.Started)
	switch {
	case !t.IsZero():
	case srv.Running():
		t = srv.Started
	default:
		t = now()
	}
	return t
}

// CheckDelete returns DeleteServer's error for srv (as stored): a conflict
// when it is active; nil when it may be deleted.
func CheckDelete(srv store.Server) error {
	if srv.Active() {
		return store.Conflict("server %s is active (pending %q, running %t): stop it first",
			store.RefString(srv.User, srv.Name), srv.Pending, srv.Running())
	}
	return nil
}

// NewToken checks the arguments of CreateToken and returns t as it is
// stored: with the secret's prefix and hash, sorted and unique scopes,
// Created now(), Expires in UTC and no LastActivity. ID is left to the
// database.
func NewToken(secret string, t store.Token, now func() time.Time) (store.Token, error) {
	if err := store.ValidateSecret(secret); err != nil {
		return store.Token{}, err
	}
	if err := store.ValidateToken(t); err != nil {
		return store.Token{}, err
	}
	t.Prefix, t.Hash = store.SecretPrefix(secret), store.HashSecret(secret)
	t.Scopes = store.SortedUnique(t.Scopes)
	t.Created, t.Expires, t.LastActivity = now(), store.UTC(t.Expires), time.Time{}
	return t, nil
}

// ValidateTokenQuery checks the query of ListTokens: a valid owner or
// client ID, at least one of them.
func ValidateTokenQuery(q store.TokenQuery) error {
	if q.Owner != (store.Owner{}) {
		if err := store.ValidateOwner(q.Owner); err != nil {
			return err
		}
	}
	if q.ClientID != "" {
		if err := store.ValidateName("OAuth client", q.ClientID); err != nil {
			return err
		}
	}
	if q.Owner == (store.Owner{}) && q.ClientID == "" {
		return store.Invalid("token query selects nothing: set an owner or a client ID")
	}
	return nil
}

// ValidateOAuthClient checks the arguments of PutOAuthClient.
func ValidateOAuthClient(c store.OAuthClient, secret string) error {
	if err := store.ValidateOAuthClient(c); err != nil {
		return err
	}
	return store.ValidateSecret(secret)
}

// NewOAuthCode checks the arguments of CreateOAuthCode and returns c as it
// is stored: sorted and unique scopes, Created now(), Expires in UTC.
func NewOAuthCode(code string, c store.OAuthCode, now func() time.Time) (store.OAuthCode, error) {
	if err := store.ValidateSecret(code); err != nil {
		return store.OAuthCode{}, err
	}
	if err := store.ValidateOAuthCode(c); err != nil {
		return store.OAuthCode{}, err
	}
	c.Scopes = store.SortedUnique(c.Scopes)
	c.Created, c.Expires = now(), store.UTC(c.Expires)
	return c, nil
}

// ValidateActivities checks every activity of a RecordActivity call.
func ValidateActivities(acts []store.Activity) error {
	for _, a := range acts {
		if err := store.ValidateActivity(a); err != nil {
			return err
		}
	}
	return nil
}

// NullString returns s as a column value: NULL (nil) when empty.
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
