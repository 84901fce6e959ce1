package sqlstore

import (
	"errors"

	"github.com/hubkit/hubkit/internal/hub/store"
)

// IsStoreError reports whether err matches one of the store's conditions
// (store.ErrNotFound, …): an error a backend passes through its boundary
// untranslated.
func IsStoreError(err error) bool {
	for _, e := range []error{store.ErrNotFound, store.ErrConflict, store.ErrInvalid,
		store.ErrExpired, store.ErrUnavailable, store.ErrSchema} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
