package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

// serverCols are the columns of codec.ScanServer.
const serverCols = `s.name, s.state, s.url, s.started, s.last_activity, s.user_options, s.pending, s.pending_owner, s.pending_expires, s.created`

func getServer(ctx context.Context, q queryer, user, server string) (int64, store.Server, error) {
	var id int64
	srv, err := codec.ScanServer(q.QueryRowContext(ctx, `SELECT s.id, `+serverCols+` FROM servers s JOIN users u ON u.id = s.user_id
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

// GetServer implements store.Servers.
func (s *Store) GetServer(ctx context.Context, user, server string) (store.Server, error) {
	if err := sqlstore.ValidateRef(user, server); err != nil {
		return store.Server{}, err
	}
	var srv store.Server
	err := s.read(ctx, "get server", func(tx queryer) error {
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
	err := s.read(ctx, "list servers", func(tx queryer) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var user string
			srv, err := codec.ScanServer(rows, &user)
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
	expires, options, err := sqlstore.ClaimValues(user, server, c)
	if err != nil {
		return store.Server{}, err
	}
	var out store.Server
	err = s.write(ctx, "claim server", func(tx *cachedTx) error {
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
	state, err := sqlstore.FinishValues(user, server, owner, phase, o)
	if err != nil {
		return store.Server{}, err
	}
	var out store.Server
	err = s.write(ctx, "finish server", func(tx *cachedTx) error {
		id, srv, err := getServer(ctx, tx, user, server)
		if err != nil {
			return err
		}
		if err := store.CheckFinish(srv, owner, phase); err != nil {
			return err
		}
		started := micros(sqlstore.Started(o, srv, s.now))
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
	if err := sqlstore.ValidateRef(user, server); err != nil {
		return err
	}
	return s.write(ctx, "delete server", func(tx *cachedTx) error {
		id, srv, err := getServer(ctx, tx, user, server)
		if err != nil {
			return err
		}
		if err := sqlstore.CheckDelete(srv); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM servers WHERE id = ?`, id)
		return err
	})
}
