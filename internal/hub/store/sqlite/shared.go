package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// AcquireLease implements store.Leases with a conditional upsert: it
// takes the lease's row when there is none, or when the holder is owner or
// has expired, and reads the row back, in one write transaction. Writes
// run one at a time (the single writer connection, and SQLite's file lock
// between processes), so of concurrent calls for a free lease the first
// takes it and the others find it held.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (store.Lease, error) {
	if err := store.ValidateLease(name, owner, ttl); err != nil {
		return store.Lease{}, err
	}
	l := store.Lease{Name: name}
	err := s.write(ctx, "acquire lease", func(tx *cachedTx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE leases.holder = excluded.holder OR leases.expires <= ?`,
			name, owner, store.UTC(now.Add(ttl)).UnixMicro(), now.UnixMicro()); err != nil {
			return err
		}
		var expires int64
		if err := tx.QueryRowContext(ctx, `SELECT holder, expires FROM leases WHERE name = ?`, name).Scan(&l.Holder, &expires); err != nil {
			return err
		}
		l.Expires = time.UnixMicro(expires).UTC()
		return nil
	})
	if err != nil {
		return store.Lease{}, err
	}
	l.Held = l.Holder == owner
	return l, nil
}

// ReleaseLease implements store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if err := store.ValidateLeaseOwner(name, owner); err != nil {
		return err
	}
	return s.write(ctx, "release lease", func(tx *cachedTx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, owner)
		return err
	})
}

// PutValue implements store.Values.
func (s *Store) PutValue(ctx context.Context, key string, value []byte, expires time.Time) error {
	if err := store.ValidateValue(key, value); err != nil {
		return err
	}
	if value == nil {
		value = []byte{} // an empty BLOB, not NULL
	}
	return s.write(ctx, "put value", func(tx *cachedTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kv_values (key, value, expires) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
			key, value, micros(expires))
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
	err := s.read(ctx, "get value", func(tx queryer) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM kv_values WHERE key = ? AND (expires IS NULL OR expires > ?)`,
			key, s.now().UnixMicro()).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
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
	return s.write(ctx, "delete value", func(tx *cachedTx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM kv_values WHERE key = ?`, key)
		return err
	})
}

// UseOnce implements store.Values with a conditional upsert, which
// changes a row only when the key is not marked or its mark has expired:
// one statement in a write transaction, so one call of many wins.
func (s *Store) UseOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	if err := store.ValidateKey("value key", key); err != nil {
		return false, err
	}
	var first bool
	err := s.write(ctx, "use key once", func(tx *cachedTx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO used_keys (key, expires) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET expires = excluded.expires
WHERE used_keys.expires IS NOT NULL AND used_keys.expires <= ?`,
			key, micros(expires), s.now().UnixMicro())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	return first, err
}
