package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// AcquireLease implements store.Leases with one INSERT … ON CONFLICT DO
// UPDATE … WHERE: it takes the lease's row when there is none, or when the
// holder is owner or has expired. Of concurrent calls for a free lease,
// from any replica, one inserts the row; the others wait for its commit,
// then lock the row, find it held, and change nothing. A caller that lost
// reads the holder in the same transaction, under the row lock its upsert
// took.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (store.Lease, error) {
	if err := store.ValidateLease(name, owner, ttl); err != nil {
		return store.Lease{}, err
	}
	l := store.Lease{Name: name}
	err := s.write(ctx, "acquire lease", func(q querier) error {
		now := s.now()
		err := q.QueryRow(ctx, `INSERT INTO leases AS l (name, holder, expires) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE l.holder = excluded.holder OR l.expires <= $4
RETURNING l.holder, l.expires`, name, owner, store.UTC(now.Add(ttl)), now).Scan(&l.Holder, &l.Expires)
		if errors.Is(err, pgx.ErrNoRows) {
			err = q.QueryRow(ctx, `SELECT holder, expires FROM leases WHERE name = $1`, name).Scan(&l.Holder, &l.Expires)
		}
		return err
	})
	if err != nil {
		return store.Lease{}, err
	}
	l.Expires = l.Expires.UTC()
	l.Held = l.Holder == owner
	return l, nil
}

// ReleaseLease implements store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if err := store.ValidateLeaseOwner(name, owner); err != nil {
		return err
	}
	return s.singleWrite(ctx, "release lease", func(q querier) error {
		_, err := q.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, owner)
		return err
	})
}

// PutValue implements store.Values.
func (s *Store) PutValue(ctx context.Context, key string, value []byte, expires time.Time) error {
	if err := store.ValidateValue(key, value); err != nil {
		return err
	}
	if value == nil {
		value = []byte{} // an empty bytea, not NULL
	}
	return s.singleWrite(ctx, "put value", func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO kv_values (key, value, expires) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
			key, value, ts(store.UTC(expires)))
		return err
	})
}

var errNoValue = fmt.Errorf("%w: no value under this key", store.ErrNotFound)

// GetValue implements store.Values.
func (s *Store) GetValue(ctx context.Context, key string) ([]byte, error) {
	if err := store.ValidateKey("value key", key); err != nil {
		return nil, err
	}
	var v []byte
	err := s.single(ctx, "get value", func(q querier) error {
		err := q.QueryRow(ctx, `SELECT value FROM kv_values WHERE key = $1 AND (expires IS NULL OR expires > $2)`,
			key, s.now()).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoValue
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// DeleteValue implements store.Values.
func (s *Store) DeleteValue(ctx context.Context, key string) error {
	if err := store.ValidateKey("value key", key); err != nil {
		return err
	}
	return s.singleWrite(ctx, "delete value", func(q querier) error {
		_, err := q.Exec(ctx, `DELETE FROM kv_values WHERE key = $1`, key)
		return err
	})
}

// UseOnce implements store.Values with one INSERT … ON CONFLICT DO UPDATE
// … WHERE that changes a row only when the key is not marked or its mark
// has expired: of concurrent calls, one inserts (or renews an expired
// mark) and the others, waiting on its row, find it marked and change
// nothing.
func (s *Store) UseOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	if err := store.ValidateKey("value key", key); err != nil {
		return false, err
	}
	var first bool
	err := s.singleWrite(ctx, "use key once", func(q querier) error {
		tag, err := q.Exec(ctx, `INSERT INTO used_keys AS k (key, expires) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET expires = excluded.expires
WHERE k.expires IS NOT NULL AND k.expires <= $3`,
			key, ts(store.UTC(expires)), s.now())
		first = err == nil && tag.RowsAffected() == 1
		return err
	})
	return first, err
}
