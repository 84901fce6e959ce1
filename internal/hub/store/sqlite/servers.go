package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hubkit/hubkit/internal/hub/store"
)

const serverCols = `s.name, s.state, s.url, s.started, s.last_activity, s.user_options, s.pending, s.pending_owner, s.pending_expires, s.created`

// scanServer scans serverCols, preceded by one more column into first when
// first is not nil.
func scanServer(sc interface{ Scan(...any) error }, first any) (store.Server, error) {
	var (
		srv                                       store.Server
		state                                     string
		options                                   sql.NullString
		pending                                   string
		started, activity, pendingExpires, create sql.NullInt64
	)
	dest := []any{&srv.Name, &state, &srv.URL, &started, &activity, &options, &pending, &srv.PendingOwner, &pendingExpires, &create}
	if first != nil {
		dest = append([]any{first}, dest...)
	}
	if err := sc.Scan(dest...); err != nil {
		return store.Server{}, err
	}
	if err := json.Unmarshal([]byte(state), &srv.State); err != nil {
		return store.Server{}, fmt.Errorf("sqlite: server %q: stored state is not a JSON object of strings: %w", srv.Name, err)
	}
	if len(srv.State) == 0 {
		srv.State = nil
	}
	if options.Valid {
		srv.UserOptions = json.RawMessage(options.String)
	}
	srv.Pending = store.Phase(pending)
	srv.Started, srv.LastActivity = fromMicros(started), fromMicros(activity)
	srv.PendingExpires, srv.Created = fromMicros(pendingExpires), fromMicros(create)
	return srv, nil
}

func getServer(ctx context.Context, q queryer, user, server string) (int64, store.Server, error) {
	var id int64
	srv, err := scanServer(q.QueryRowContext(ctx, `SELECT s.id, `+serverCols+` FROM servers s JOIN users u ON u.id = s.user_id
WHERE u.name = ? AND s.name = ?`, user, server), &id)
	if errors.Is(err, sql.ErrNoRows) {
		if _, uerr := userID(ctx, q, user); uerr != nil {
			return 0, store.Server{}, uerr
		}
		return 0, store.Server{}, store.NotFound("server", store.RefString(user, server))
	}
	srv.User = user
	return id, srv, err
}

func validateRef(user, server string) error {
	if err := store.ValidateName("user", user); err != nil {
		return err
	}
	return store.ValidateServerName(server)
}

// GetServer implements store.Servers.
func (s *Store) GetServer(ctx context.Context, user, server string) (store.Server, error) {
	if err := validateRef(user, server); err != nil {
		return store.Server{}, err
	}
	var srv store.Server
	err := s.read(ctx, "get server", func(tx *sql.Tx) error {
		var err error
		_, srv, err = getServer(ctx, tx, user, server)
		return err
	})
	return srv, err
}

// ListServers implements store.Servers.
func (s *Store) ListServers(ctx context.Context, q store.ServerQuery) ([]store.Server, error) {
	query := `SELECT u.name, ` + serverCols + ` FROM servers s JOIN users u ON u.id = s.user_id WHERE 1`
	var args []any
	if q.User != "" {
		if err := store.ValidateName("user", q.User); err != nil {
			return nil, err
		}
		query += ` AND u.name = ?`
		args = append(args, q.User)
	}
	if q.Active {
		query += ` AND (s.url <> '' OR s.pending <> '')`
	}
	query += ` ORDER BY u.name, s.name`
	var out []store.Server
	err := s.read(ctx, "list servers", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var user string
			srv, err := scanServer(rows, &user)
			if err != nil {
				rows.Close()
				return err
			}
			srv.User = user
			out = append(out, srv)
		}
		return closeRows(rows)
	})
	return out, err
}

// ClaimServer implements store.Servers. The read and the write are one
// BEGIN IMMEDIATE transaction, which holds SQLite's write lock from its
// start: no other claim, in this process or another, can come between
// them.
func (s *Store) ClaimServer(ctx context.Context, user, server string, c store.Claim) (store.Server, error) {
	if err := validateRef(user, server); err != nil {
		return store.Server{}, err
	}
	if err := store.ValidateClaim(c); err != nil {
		return store.Server{}, err
	}
	expires := store.UTC(c.Expires)
	var options any
	if c.Phase == store.PhaseSpawn && c.UserOptions != nil {
		options = string(c.UserOptions)
	}
	var out store.Server
	err := s.write(ctx, "claim server", func(tx *sql.Tx) error {
		now := s.now()
		id, srv, err := getServer(ctx, tx, user, server)
		switch {
		case errors.Is(err, store.ErrNotFound) && c.Phase == store.PhaseSpawn:
			uid, err := userID(ctx, tx, user)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO servers (user_id, name, user_options, pending, pending_owner, pending_expires, created)
VALUES (?, ?, ?, ?, ?, ?, ?)`, uid, server, options, string(c.Phase), c.Owner, micros(expires), micros(now)); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if err := store.CheckClaim(srv, c, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE servers SET pending = ?, pending_owner = ?, pending_expires = ?,
user_options = coalesce(?, user_options) WHERE id = ?`, string(c.Phase), c.Owner, micros(expires), options, id); err != nil {
				return err
			}
		}
		_, out, err = getServer(ctx, tx, user, server)
		return err
	})
	return out, err
}

// FinishServer implements store.Servers.
func (s *Store) FinishServer(ctx context.Context, user, server, owner string, phase store.Phase, o store.Outcome) (store.Server, error) {
	if err := validateRef(user, server); err != nil {
		return store.Server{}, err
	}
	if err := store.ValidateClaim(store.Claim{Phase: phase, Owner: owner}); err != nil {
		return store.Server{}, err
	}
	var state any
	if o.State != nil {
		b, err := json.Marshal(o.State)
		if err != nil {
			return store.Server{}, store.Invalid("server state: %v", err)
		}
		state = string(b)
	}
	var out store.Server
	err := s.write(ctx, "finish server", func(tx *sql.Tx) error {
		id, srv, err := getServer(ctx, tx, user, server)
		if err != nil {
			return err
		}
		if err := store.CheckFinish(srv, owner, phase); err != nil {
			return err
		}
		var started any
		if o.URL != "" {
			t := store.UTC(o.Started)
			switch {
			case !t.IsZero():
			case srv.Running():
				t = srv.Started
			default:
				t = s.now()
			}
			started = micros(t)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE servers SET pending = '', pending_owner = '', pending_expires = NULL,
url = ?, started = ?, state = coalesce(?, state) WHERE id = ?`, o.URL, started, state, id); err != nil {
			return err
		}
		_, out, err = getServer(ctx, tx, user, server)
		return err
	})
	return out, err
}

// DeleteServer implements store.Servers.
func (s *Store) DeleteServer(ctx context.Context, user, server string) error {
	if err := validateRef(user, server); err != nil {
		return err
	}
	return s.write(ctx, "delete server", func(tx *sql.Tx) error {
		id, srv, err := getServer(ctx, tx, user, server)
		if err != nil {
			return err
		}
		if srv.Active() {
			return store.Conflict("server %s is active (pending %q, running %t): stop it first",
				store.RefString(user, server), srv.Pending, srv.Running())
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM servers WHERE id = ?`, id)
		return err
	})
}
