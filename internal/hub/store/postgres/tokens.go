package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubkit/hubkit/internal/hub/store"
	"github.com/hubkit/hubkit/internal/hub/store/internal/sqlstore"
)

// scopesArg returns scopes sorted and unique for a text[] NOT NULL column.
func scopesArg(scopes []string) []string {
	s := store.SortedUnique(scopes)
	if s == nil {
		return []string{}
	}
	return s
}

// scopesResult returns the scopes of a text[] column; nil for none.
func scopesResult(s []string) ([]string, error) {
	if len(s) == 0 {
		return nil, nil
	}
	return s, nil
}

// ownerID resolves an owner to (user_id, service) column values.
func ownerID(ctx context.Context, q querier, o store.Owner) (any, any, error) {
	if o.Service != "" {
		return nil, o.Service, nil
	}
	id, err := userID(ctx, q, o.User)
	return id, nil, err
}

func clientExists(ctx context.Context, q querier, id string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM oauth_clients WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
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
	err = s.write(ctx, "create token", func(q querier) error {
		uid, service, err := ownerID(ctx, q, t.Owner)
		if err != nil {
			return err
		}
		if t.ClientID != "" {
			if err := clientExists(ctx, q, t.ClientID); err != nil {
				return err
			}
		}
		err = q.QueryRow(ctx, `INSERT INTO api_tokens (prefix, hash, user_id, service, client_id, scopes, note, created, expires)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			[]byte(t.Prefix), t.Hash, uid, service, sqlstore.NullString(t.ClientID), scopesArg(t.Scopes), t.Note,
			t.Created, ts(t.Expires)).Scan(&t.ID)
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
func queryTokens(ctx context.Context, q querier, where string, args ...any) ([]store.Token, error) {
	rows, err := q.Query(ctx, `SELECT `+tokenCols+tokenFrom+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := codec.ScanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// LookupToken implements store.Tokens: it reads the tokens with the
// secret's prefix (an index lookup) and compares each one's hash in
// constant time.
func (s *Store) LookupToken(ctx context.Context, secret string) (store.Token, error) {
	prefix, err := sqlstore.TokenPrefix(secret)
	if err != nil {
		return store.Token{}, err
	}
	var candidates []store.Token
	err = s.single(ctx, "lookup token", func(q querier) error {
		var err error
		candidates, err = queryTokens(ctx, q, ` WHERE t.prefix = $1`, []byte(prefix))
		return err
	})
	if err != nil {
		return store.Token{}, err
	}
	return sqlstore.MatchToken(secret, candidates, s.now())
}

// LookupTokenUser implements store.Tokens in one round trip: it reads the
// tokens with the secret's prefix and, keyed by that prefix too, the users
// who own them with their groups and servers, in one snapshot; then picks
// the token by comparing hashes in constant time, and its owner among
// those users. A prefix is four hex digits of a random secret: with n
// tokens, a lookup also reads about n/65,536 other tokens and their owners
// (under one with 50,000 tokens), which costs less than a second round
// trip.
func (s *Store) LookupTokenUser(ctx context.Context, secret string) (store.Token, store.User, error) {
	prefix, err := sqlstore.TokenPrefix(secret)
	if err != nil {
		return store.Token{}, store.User{}, err
	}
	p := []byte(prefix)
	var (
		candidates []store.Token
		users      sqlstore.UserSet
	)
	err = s.readSteps(ctx, "lookup token", func(b *pgx.Batch) {
		candidates, users = nil, sqlstore.UserSet{}
		b.Queue(`SELECT `+tokenCols+tokenFrom+` WHERE t.prefix = $1`, p).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				t, err := codec.ScanToken(rows)
				if err != nil {
					return err
				}
				candidates = append(candidates, t)
			}
			return rows.Err()
		})
		const owners = `IN (SELECT user_id FROM api_tokens WHERE prefix = $1 AND user_id IS NOT NULL)`
		b.Queue(`SELECT `+userCols+` FROM users u WHERE u.id `+owners, p).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				id, u, err := codec.ScanUser(rows)
				if err != nil {
					return err
				}
				users.Add(id, u)
			}
			return rows.Err()
		})
		queueUserRows(b, &users, owners, p)
	})
	if err != nil {
		return store.Token{}, store.User{}, err
	}
	t, err := sqlstore.MatchToken(secret, candidates, s.now())
	if err != nil || t.Owner.User == "" {
		return t, store.User{}, err
	}
	for _, u := range users.Users() {
		if u.Name == t.Owner.User {
			return t, u, nil
		}
	}
	// Not reached: the token was read with its owner's name, in the
	// same snapshot, and a user's tokens go with the user.
	return store.Token{}, store.User{}, store.NotFound("user", t.Owner.User)
}

// ListTokens implements store.Tokens.
func (s *Store) ListTokens(ctx context.Context, q store.TokenQuery) ([]store.Token, error) {
	if err := sqlstore.ValidateTokenQuery(q); err != nil {
		return nil, err
	}
	where, args := " WHERE true", []any{}
	switch {
	case q.Owner.User != "":
		args = append(args, q.Owner.User)
		where += ` AND u.name = $` + strconv.Itoa(len(args))
	case q.Owner.Service != "":
		args = append(args, q.Owner.Service)
		where += ` AND t.service = $` + strconv.Itoa(len(args))
	}
	if q.ClientID != "" {
		args = append(args, q.ClientID)
		where += ` AND t.client_id = $` + strconv.Itoa(len(args))
	}
	var out []store.Token
	err := s.single(ctx, "list tokens", func(qr querier) error {
		var err error
		out, err = queryTokens(ctx, qr, where+` ORDER BY t.id`, args...)
		return err
	})
	return out, err
}

// DeleteToken implements store.Tokens.
func (s *Store) DeleteToken(ctx context.Context, id int64) error {
	return s.singleWrite(ctx, "delete token", func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			return store.NotFound("token", strconv.FormatInt(id, 10))
		}
		return err
	})
}

// PutOAuthClient implements store.OAuth, with one upsert.
func (s *Store) PutOAuthClient(ctx context.Context, c store.OAuthClient, secret string) (store.OAuthClient, error) {
	if err := sqlstore.ValidateOAuthClient(c, secret); err != nil {
		return store.OAuthClient{}, err
	}
	var out store.OAuthClient
	err := s.write(ctx, "put OAuth client", func(q querier) error {
		uid, service, err := ownerID(ctx, q, c.Owner)
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO oauth_clients (id, secret_hash, redirect_uri, description, user_id, service, scopes, created)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, redirect_uri = excluded.redirect_uri,
description = excluded.description, user_id = excluded.user_id, service = excluded.service, scopes = excluded.scopes`,
			c.ID, store.HashSecret(secret), c.RedirectURI, c.Description, uid, service, scopesArg(c.Scopes), s.now()); err != nil {
			return err
		}
		out, err = getClient(ctx, q, c.ID)
		return err
	})
	return out, err
}

func getClient(ctx context.Context, q querier, id string) (store.OAuthClient, error) {
	c, err := codec.ScanOAuthClient(q.QueryRow(ctx, `SELECT c.id, c.secret_hash, c.redirect_uri, c.description, coalesce(u.name, ''), coalesce(c.service, ''),
c.scopes, c.created FROM oauth_clients c LEFT JOIN users u ON u.id = c.user_id WHERE c.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.single(ctx, "get OAuth client", func(q querier) error {
		var err error
		c, err = getClient(ctx, q, id)
		return err
	})
	return c, err
}

// DeleteOAuthClient implements store.OAuth. The foreign keys cascade to
// the client's codes and tokens.
func (s *Store) DeleteOAuthClient(ctx context.Context, id string) error {
	if err := store.ValidateName("OAuth client", id); err != nil {
		return err
	}
	return s.singleWrite(ctx, "delete OAuth client", func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM oauth_clients WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			return store.NotFound("OAuth client", id)
		}
		return err
	})
}

// CreateOAuthCode implements store.OAuth.
func (s *Store) CreateOAuthCode(ctx context.Context, code string, c store.OAuthCode) (store.OAuthCode, error) {
	c, err := sqlstore.NewOAuthCode(code, c, s.now)
	if err != nil {
		return store.OAuthCode{}, err
	}
	err = s.write(ctx, "create OAuth code", func(q querier) error {
		if err := clientExists(ctx, q, c.ClientID); err != nil {
			return err
		}
		uid, err := userID(ctx, q, c.User)
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, code_challenge,
code_challenge_method, scopes, created, expires) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			store.HashSecret(code), c.ClientID, uid, c.RedirectURI, c.CodeChallenge, c.CodeChallengeMethod,
			scopesArg(c.Scopes), c.Created, c.Expires)
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

// ConsumeOAuthCode implements store.OAuth with one DELETE … RETURNING:
// of concurrent calls with one code, the first deletes the row and the
// others, waiting on its row lock, find it gone.
func (s *Store) ConsumeOAuthCode(ctx context.Context, code, clientID string) (store.OAuthCode, error) {
	hash, err := sqlstore.CodeHash(code, clientID)
	if err != nil {
		return store.OAuthCode{}, err
	}
	var (
		c     store.OAuthCode
		found bool
	)
	err = s.singleWrite(ctx, "consume OAuth code", func(q querier) error {
		var err error
		c, err = codec.ScanOAuthCode(q.QueryRow(ctx, `DELETE FROM oauth_codes c USING users u WHERE c.code_hash = $1 AND u.id = c.user_id
RETURNING c.client_id, u.name, c.redirect_uri, c.code_challenge, c.code_challenge_method, c.scopes, c.created, c.expires`, hash))
		found = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return store.OAuthCode{}, err
	}
	return sqlstore.Consumed(c, found, clientID, s.now())
}

// RecordActivity implements store.ActivityWriter: one transaction of up
// to three statements (users, servers, tokens) sent in one round trip,
// whatever the number of activities. Each statement takes the latest time
// per row from the batch, locks the rows whose stored time is earlier in
// ID order (so that replicas flushing overlapping batches at once queue
// instead of deadlocking), and updates them.
func (s *Store) RecordActivity(ctx context.Context, acts []store.Activity) error {
	if err := sqlstore.ValidateActivities(acts); err != nil {
		return err
	}
	var (
		userNames, srvUsers, srvNames []string
		userTimes, srvTimes, tokTimes []time.Time
		tokIDs                        []int64
	)
	for _, a := range acts {
		t := store.UTC(a.Time)
		if t.IsZero() {
			continue
		}
		switch a.Kind {
		case store.ActivityServer:
			srvUsers, srvNames, srvTimes = append(srvUsers, a.User), append(srvNames, a.Server), append(srvTimes, t)
			fallthrough
		case store.ActivityUser:
			userNames, userTimes = append(userNames, a.User), append(userTimes, t)
		case store.ActivityToken:
			tokIDs, tokTimes = append(tokIDs, a.TokenID), append(tokTimes, t)
		}
	}
	if len(userNames)+len(tokIDs) == 0 {
		return nil
	}
	// The batch is made afresh for each attempt: pgx keeps per-connection
	// statement descriptions in it.
	return s.write(ctx, "record activity", func(q querier) error {
		b := &pgx.Batch{}
		if len(userNames) > 0 {
			b.Queue(`WITH a AS (SELECT name, max(t) AS t FROM unnest($1::text[], $2::timestamptz[]) AS x (name, t) GROUP BY name),
l AS (SELECT u.id, a.t FROM users u JOIN a ON u.name = a.name
    WHERE u.last_activity IS NULL OR u.last_activity < a.t ORDER BY u.id FOR NO KEY UPDATE OF u)
UPDATE users u SET last_activity = l.t FROM l WHERE u.id = l.id AND (u.last_activity IS NULL OR u.last_activity < l.t)`,
				userNames, userTimes)
		}
		if len(srvNames) > 0 {
			b.Queue(`WITH a AS (SELECT uname, sname, max(t) AS t FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS x (uname, sname, t)
    GROUP BY uname, sname),
l AS (SELECT s.id, a.t FROM servers s JOIN users u ON u.id = s.user_id JOIN a ON u.name = a.uname AND s.name = a.sname
    WHERE s.last_activity IS NULL OR s.last_activity < a.t ORDER BY s.id FOR NO KEY UPDATE OF s)
UPDATE servers s SET last_activity = l.t FROM l WHERE s.id = l.id AND (s.last_activity IS NULL OR s.last_activity < l.t)`,
				srvUsers, srvNames, srvTimes)
		}
		if len(tokIDs) > 0 {
			b.Queue(`WITH a AS (SELECT id, max(t) AS t FROM unnest($1::bigint[], $2::timestamptz[]) AS x (id, t) GROUP BY id),
l AS (SELECT k.id, a.t FROM api_tokens k JOIN a ON k.id = a.id
    WHERE k.last_activity IS NULL OR k.last_activity < a.t ORDER BY k.id FOR NO KEY UPDATE OF k)
UPDATE api_tokens k SET last_activity = l.t FROM l WHERE k.id = l.id AND (k.last_activity IS NULL OR k.last_activity < l.t)`,
				tokIDs, tokTimes)
		}
		return q.SendBatch(ctx, b).Close()
	})
}

// PurgeExpired implements store.Purger.
func (s *Store) PurgeExpired(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, "purge expired", func(q querier) error {
		n = 0
		now := s.now()
		for _, stmt := range []string{
			`DELETE FROM api_tokens WHERE expires IS NOT NULL AND expires <= $1`,
			`DELETE FROM oauth_codes WHERE expires <= $1`,
			`DELETE FROM kv_values WHERE expires IS NOT NULL AND expires <= $1`,
			`DELETE FROM used_keys WHERE expires IS NOT NULL AND expires <= $1`,
		} {
			tag, err := q.Exec(ctx, stmt, now)
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	return int(n), err
}
