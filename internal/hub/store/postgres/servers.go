package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

// serverCols are the columns of codec.ScanServer.
const serverCols = `s.name, s.state, s.url, s.started, s.last_activity, s.user_options, s.pending, s.pending_owner, s.pending_expires, s.created`

// getServer reads the user's server and returns it with its row's ID;
// with lock, it locks the row until the transaction ends (SELECT … FOR
// UPDATE): concurrent claims on the server wait, then read what the winner
// wrote. When the user exists but the server does not, the error is
// ErrNotFound for the server and uid is the user's ID.
func getServer(ctx context.Context, q querier, user, server string, lock bool) (id, uid int64, srv store.Server, err error) {
	query := `SELECT s.id, ` + serverCols + ` FROM servers s JOIN users u ON u.id = s.user_id WHERE u.name = $1 AND s.name = $2`
	if lock {
		query += ` FOR UPDATE OF s`
	}
	srv, err = codec.ScanServer(q.QueryRow(ctx, query, user, server), &id)
	if errors.Is(err, pgx.ErrNoRows) {
		if uid, err = userID(ctx, q, user); err != nil {
			return 0, 0, store.Server{}, err
		}
		return 0, uid, store.Server{}, store.NotFound("server", store.RefString(user, server))
	}
	srv.User = user
	return id, 0, srv, err
}

// GetServer implements store.Servers.
func (s *Store) GetServer(ctx context.Context, user, server string) (store.Server, error) {
	if err := sqlstore.ValidateRef(user, server); err != nil {
		return store.Server{}, err
	}
	var srv store.Server
	err := s.single(ctx, "get server", func(q querier) error {
		var err error
		_, _, srv, err = getServer(ctx, q, user, server, false)
		return err
	})
	return srv, err
}

// ListServers implements store.Servers.
func (s *Store) ListServers(ctx context.Context, q store.ServerQuery) ([]store.Server, error) {
	query := `SELECT u.name, ` + serverCols + ` FROM servers s JOIN users u ON u.id = s.user_id WHERE true`
	var args []any
	if q.User != "" {
		if err := store.ValidateName("user", q.User); err != nil {
			return nil, err
		}
		query += ` AND u.name = $1`
		args = append(args, q.User)
	}
	if q.Active {
		query += ` AND (s.url <> '' OR s.pending <> '')`
	}
	query += ` ORDER BY u.name, s.name`
	var out []store.Server
	err := s.single(ctx, "list servers", func(qr querier) error {
		out = nil
		rows, err := qr.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var user string
			srv, err := codec.ScanServer(rows, &user)
			if err != nil {
				return err
			}
			srv.User = user
			out = append(out, srv)
		}
		return rows.Err()
	})
	return out, err
}

// ClaimServer implements store.Servers. An existing server's row is
// locked (SELECT … FOR UPDATE) before store.CheckClaim decides, so
// concurrent claims, in this process or another replica, queue on the row
// and each decides on what the one before it wrote. A server's first claim
// inserts the row with ON CONFLICT DO NOTHING: of claimants racing to
// create it, one inserts, the others wait for its commit, find the row,
// lock it and lose to its claim with a *store.ClaimError.
func (s *Store) ClaimServer(ctx context.Context, user, server string, c store.Claim) (store.Server, error) {
	expires, options, err := sqlstore.ClaimValues(user, server, c)
	if err != nil {
		return store.Server{}, err
	}
	var out store.Server
	err = s.write(ctx, "claim server", func(q querier) error {
		now := s.now()
		id, uid, srv, err := getServer(ctx, q, user, server, true)
		if errors.Is(err, store.ErrNotFound) && uid != 0 && c.Phase == store.PhaseSpawn {
			out, err = codec.ScanServer(q.QueryRow(ctx, `INSERT INTO servers AS s (user_id, name, user_options, pending, pending_owner, pending_expires, created)
VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) ON CONFLICT (user_id, name) DO NOTHING RETURNING `+serverCols,
				uid, server, options, string(c.Phase), c.Owner, ts(expires), now), nil)
			if err == nil {
				out.User = user
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			// A concurrent claim created the server: ON CONFLICT
			// waited for it to commit, and this next statement's
			// snapshot (READ COMMITTED) sees the row, which is locked
			// and checked like any other.
			id, _, srv, err = getServer(ctx, q, user, server, true)
		}
		if err != nil {
			return err
		}
		if err := store.CheckClaim(srv, c, now); err != nil {
			return err
		}
		out, err = codec.ScanServer(q.QueryRow(ctx, `UPDATE servers s SET pending = $1, pending_owner = $2, pending_expires = $3,
user_options = coalesce($4::jsonb, s.user_options) WHERE s.id = $5 RETURNING `+serverCols,
			string(c.Phase), c.Owner, ts(expires), options, id), nil)
		out.User = user
		return err
	})
	return out, err
}

// FinishServer implements store.Servers, locking the row like
// ClaimServer.
func (s *Store) FinishServer(ctx context.Context, user, server, owner string, phase store.Phase, o store.Outcome) (store.Server, error) {
	state, err := sqlstore.FinishValues(user, server, owner, phase, o)
	if err != nil {
		return store.Server{}, err
	}
	var out store.Server
	err = s.write(ctx, "finish server", func(q querier) error {
		id, _, srv, err := getServer(ctx, q, user, server, true)
		if err != nil {
			return err
		}
		if err := store.CheckFinish(srv, owner, phase); err != nil {
			return err
		}
		started := ts(sqlstore.Started(o, srv, s.now))
		out, err = codec.ScanServer(q.QueryRow(ctx, `UPDATE servers s SET pending = '', pending_owner = '', pending_expires = NULL,
url = $1, started = $2, state = coalesce($3::jsonb, s.state) WHERE s.id = $4 RETURNING `+serverCols,
			o.URL, started, state, id), nil)
		out.User = user
		return err
	})
	return out, err
}

// DeleteServer implements store.Servers.
func (s *Store) DeleteServer(ctx context.Context, user, server string) error {
	if err := sqlstore.ValidateRef(user, server); err != nil {
		return err
	}
	return s.write(ctx, "delete server", func(q querier) error {
		id, _, srv, err := getServer(ctx, q, user, server, true)
		if err != nil {
			return err
		}
		if err := sqlstore.CheckDelete(srv); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM servers WHERE id = $1`, id)
		return err
	})
}
