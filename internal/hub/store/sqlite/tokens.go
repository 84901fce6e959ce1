package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

func scopesJSON(scopes []string) string {
	b, _ := json.Marshal(store.SortedUnique(scopes)) // []string always marshals
	if string(b) == "null" {
		return "[]"
	}
	return string(b)
}

func parseScopes(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("sqlite: stored scopes are not a JSON array of strings: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// ownerID resolves an owner to (user_id, service) column values.
func ownerID(ctx context.Context, q queryer, o store.Owner) (any, any, error) {
	if o.Service != "" {
		return nil, o.Service, nil
	}
	id, err := userID(ctx, q, o.User)
	return id, nil, err
}

func clientExists(ctx context.Context, q queryer, id string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM oauth_clients WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.NotFound("OAuth client", id)
	}
	return err
}

// CreateToken implements store.Tokens.
func (s *Store) CreateToken(ctx context.Context, secret string, t store.Token) (store.Token, error) {
	t, err := sqlstore.NewToken(secret, t, s.now)
	if err != nil {
		return store.Token{}, err
	}
	err = s.write(ctx, "create token", func(tx *cachedTx) error {
		uid, service, err := ownerID(ctx, tx, t.Owner)
		if err != nil {
			return err
		}
		if t.ClientID != "" {
			if err := clientExists(ctx, tx, t.ClientID); err != nil {
				return err
			}
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO api_tokens (prefix, hash, user_id, service, client_id, scopes, note, created, expires)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			t.Prefix, t.Hash, uid, service, sqlstore.NullString(t.ClientID), scopesJSON(t.Scopes), t.Note,
			micros(t.Created), micros(t.Expires)).Scan(&t.ID)
		if isUnique(err) {
			return store.Conflict("a token with this secret exists")
		}
		return err
	})
	if err != nil {
		return store.Token{}, err
	}
	return t, nil
}

// tokenCols are the columns of codec.ScanToken, from tokenFrom.
const tokenCols = `t.id, t.prefix, t.hash, coalesce(u.name, ''), coalesce(t.service, ''), coalesce(t.client_id, ''),
t.scopes, t.note, t.created, t.expires, t.last_activity`

const tokenFrom = ` FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id`

// queryTokens reads the tokens that where (a WHERE clause on tokenFrom,
// with an ORDER BY if needed) selects.
func queryTokens(ctx context.Context, tx queryer, where string, args ...any) ([]store.Token, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+tokenCols+tokenFrom+where, args...)
	if err != nil {
		return nil, err
	}
	var out []store.Token
	for rows.Next() {
		t, err := codec.ScanToken(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, t)
	}
	return out, closeRows(rows)
}

// LookupToken implements store.Tokens: it reads the tokens with the
// secret's prefix (an index lookup) and compares each one's hash in
// constant time.
func (s *Store) LookupToken(ctx context.Context, secret string) (store.Token, error) {
	prefix, err := sqlstore.TokenPrefix(secret)
	if err != nil {
		return store.Token{}, err
	}
	var t store.Token
	err = s.read(ctx, "lookup token", func(tx queryer) error {
		var err error
		t, err = s.lookupToken(ctx, tx, secret, prefix)
		return err
	})
	if err != nil {
		return store.Token{}, err
	}
	return t, nil
}

// LookupTokenUser implements store.Tokens: LookupToken and GetUser in one
// read transaction.
func (s *Store) LookupTokenUser(ctx context.Context, secret string) (store.Token, store.User, error) {
	prefix, err := sqlstore.TokenPrefix(secret)
	if err != nil {
		return store.Token{}, store.User{}, err
	}
	var (
		t store.Token
		u store.User
	)
	err = s.read(ctx, "lookup token", func(tx queryer) error {
		var err error
		if t, err = s.lookupToken(ctx, tx, secret, prefix); err != nil || t.Owner.User == "" {
			return err
		}
		u, err = getUser(ctx, tx, t.Owner.User)
		return err
	})
	if err != nil {
		return store.Token{}, store.User{}, err
	}
	return t, u, nil
}

// lookupToken returns the token of secret, whose prefix is prefix (see
// sqlstore.TokenPrefix), or LookupToken's errors.
func (s *Store) lookupToken(ctx context.Context, tx queryer, secret, prefix string) (store.Token, error) {
	candidates, err := queryTokens(ctx, tx, ` WHERE t.prefix = ?`, prefix)
	if err != nil {
		return store.Token{}, err
	}
	return sqlstore.MatchToken(secret, candidates, s.now())
}

// ListTokens implements store.Tokens.
func (s *Store) ListTokens(ctx context.Context, q store.TokenQuery) ([]store.Token, error) {
	if err := sqlstore.ValidateTokenQuery(q); err != nil {
		return nil, err
	}
	where, args := " WHERE 1", []any{}
	switch {
	case q.Owner.User != "":
		where += ` AND u.name = ?`
		args = append(args, q.Owner.User)
	case q.Owner.Service != "":
		where += ` AND t.service = ?`
		args = append(args, q.Owner.Service)
	}
	if q.ClientID != "" {
		where += ` AND t.client_id = ?`
		args = append(args, q.ClientID)
	}
	var out []store.Token
	err := s.read(ctx, "list tokens", func(tx queryer) error {
		var err error
		out, err = queryTokens(ctx, tx, where+` ORDER BY t.id`, args...)
		return err
	})
	return out, err
}

// DeleteToken implements store.Tokens.
func (s *Store) DeleteToken(ctx context.Context, id int64) error {
	return s.write(ctx, "delete token", func(tx *cachedTx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
		return notFoundIfNone(res, err, "token", strconv.FormatInt(id, 10))
	})
}

// PutOAuthClient implements store.OAuth.
func (s *Store) PutOAuthClient(ctx context.Context, c store.OAuthClient, secret string) (store.OAuthClient, error) {
	if err := sqlstore.ValidateOAuthClient(c, secret); err != nil {
		return store.OAuthClient{}, err
	}
	var out store.OAuthClient
	err := s.write(ctx, "put OAuth client", func(tx *cachedTx) error {
		uid, service, err := ownerID(ctx, tx, c.Owner)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO oauth_clients (id, secret_hash, redirect_uri, description, user_id, service, scopes, created)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, redirect_uri = excluded.redirect_uri,
description = excluded.description, user_id = excluded.user_id, service = excluded.service, scopes = excluded.scopes`,
			c.ID, store.HashSecret(secret), c.RedirectURI, c.Description, uid, service, scopesJSON(c.Scopes), micros(s.now())); err != nil {
			return err
		}
		out, err = getClient(ctx, tx, c.ID)
		return err
	})
	return out, err
}

func getClient(ctx context.Context, q queryer, id string) (store.OAuthClient, error) {
	c, err := codec.ScanOAuthClient(q.QueryRowContext(ctx, `SELECT c.id, c.secret_hash, c.redirect_uri, c.description, coalesce(u.name, ''), coalesce(c.service, ''),
c.scopes, c.created FROM oauth_clients c LEFT JOIN users u ON u.id = c.user_id WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.OAuthClient{}, store.NotFound("OAuth client", id)
	}
	return c, err
}

// GetOAuthClient implements store.OAuth.
func (s *Store) GetOAuthClient(ctx context.Context, id string) (store.OAuthClient, error) {
	if err := store.ValidateName("OAuth client", id); err != nil {
		return store.OAuthClient{}, err
	}
	var c store.OAuthClient
	err := s.read(ctx, "get OAuth client", func(tx queryer) error {
		var err error
		c, err = getClient(ctx, tx, id)
		return err
	})
	return c, err
}

// DeleteOAuthClient implements store.OAuth.
func (s *Store) DeleteOAuthClient(ctx context.Context, id string) error {
	if err := store.ValidateName("OAuth client", id); err != nil {
		return err
	}
	return s.write(ctx, "delete OAuth client", func(tx *cachedTx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oauth_clients WHERE id = ?`, id)
		return notFoundIfNone(res, err, "OAuth client", id)
	})
}

// CreateOAuthCode implements store.OAuth.
func (s *Store) CreateOAuthCode(ctx context.Context, code string, c store.OAuthCode) (store.OAuthCode, error) {
	c, err := sqlstore.NewOAuthCode(code, c, s.now)
	if err != nil {
		return store.OAuthCode{}, err
	}
	err = s.write(ctx, "create OAuth code", func(tx *cachedTx) error {
		if err := clientExists(ctx, tx, c.ClientID); err != nil {
			return err
		}
		uid, err := userID(ctx, tx, c.User)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, code_challenge,
code_challenge_method, scopes, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			store.HashSecret(code), c.ClientID, uid, c.RedirectURI, c.CodeChallenge, c.CodeChallengeMethod,
			scopesJSON(c.Scopes), micros(c.Created), micros(c.Expires))
		if isUnique(err) {
			return store.Conflict("authorization code exists")
		}
		return err
	})
	if err != nil {
		return store.OAuthCode{}, err
	}
	return c, nil
}

// ConsumeOAuthCode implements store.OAuth: the read and the delete are one
// write transaction, so one code is consumed once.
func (s *Store) ConsumeOAuthCode(ctx context.Context, code, clientID string) (store.OAuthCode, error) {
	hash, err := sqlstore.CodeHash(code, clientID)
	if err != nil {
		return store.OAuthCode{}, err
	}
	var (
		c     store.OAuthCode
		found bool
	)
	err = s.write(ctx, "consume OAuth code", func(tx *cachedTx) error {
		var err error
		c, err = codec.ScanOAuthCode(tx.QueryRowContext(ctx, `SELECT c.client_id, u.name, c.redirect_uri, c.code_challenge, c.code_challenge_method,
c.scopes, c.created, c.expires FROM oauth_codes c JOIN users u ON u.id = c.user_id WHERE c.code_hash = ?`, hash))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		_, err = tx.ExecContext(ctx, `DELETE FROM oauth_codes WHERE code_hash = ?`, hash)
		return err
	})
	if err != nil {
		return store.OAuthCode{}, err
	}
	return sqlstore.Consumed(c, found, clientID, s.now())
}

// RecordActivity implements store.ActivityWriter: one transaction, one
// UPDATE per entry, each a no-op when the stored time is already later.
func (s *Store) RecordActivity(ctx context.Context, acts []store.Activity) error {
	if err := sqlstore.ValidateActivities(acts); err != nil {
		return err
	}
	if len(acts) == 0 {
		return nil
	}
	return s.write(ctx, "record activity", func(tx *cachedTx) error {
		user, err := tx.prepare(ctx, `UPDATE users SET last_activity = ?1
WHERE name = ?2 AND (last_activity IS NULL OR last_activity < ?1)`)
		if err != nil {
			return err
		}
		server, err := tx.prepare(ctx, `UPDATE servers SET last_activity = ?1
WHERE user_id = (SELECT id FROM users WHERE name = ?2) AND name = ?3 AND (last_activity IS NULL OR last_activity < ?1)`)
		if err != nil {
			return err
		}
		token, err := tx.prepare(ctx, `UPDATE api_tokens SET last_activity = ?1
WHERE id = ?2 AND (last_activity IS NULL OR last_activity < ?1)`)
		if err != nil {
			return err
		}
		for _, a := range acts {
			t := micros(store.UTC(a.Time))
			if t == nil {
				continue
			}
			switch a.Kind {
			case store.ActivityServer:
				if _, err := server.ExecContext(ctx, t, a.User, a.Server); err != nil {
					return err
				}
				fallthrough
			case store.ActivityUser:
				if _, err := user.ExecContext(ctx, t, a.User); err != nil {
					return err
				}
			case store.ActivityToken:
				if _, err := token.ExecContext(ctx, t, a.TokenID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// PurgeExpired implements store.Purger.
func (s *Store) PurgeExpired(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, "purge expired", func(tx *cachedTx) error {
		now := micros(s.now())
		for _, q := range []string{
			`DELETE FROM api_tokens WHERE expires IS NOT NULL AND expires <= ?`,
			`DELETE FROM oauth_codes WHERE expires <= ?`,
			`DELETE FROM kv_values WHERE expires IS NOT NULL AND expires <= ?`,
			`DELETE FROM used_keys WHERE expires IS NOT NULL AND expires <= ?`,
		} {
			res, err := tx.ExecContext(ctx, q, now)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return int(n), err
}
