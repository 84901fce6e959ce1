package secrets

import "context"

// SecretStore holds one user's named secrets. A secret is a name and one
// or more fields; a field is a name and a string value.
//
// The semantics are those notebook users know from the Vault-backed
// SecretStore of the buun-stack deployment (put, get, get a field, list,
// delete, delete a field), written down exactly:
//
//   - Put replaces: after Put(name, f) the secret has exactly the fields
//     of f. Fields of an earlier version that f does not name are gone.
//     There is no merge; to change one field, Get, change and Put.
//   - A secret has at least one field. Put with no fields is ErrInvalid;
//     DeleteFields that removes the last field deletes the secret.
//   - Delete and DeleteFields report ErrNotFound when the secret (or
//     ErrFieldNotFound when a field) does not exist; they are not
//     idempotent, and a failed call changes nothing.
//   - Names and fields are validated before any I/O (see [ValidateName],
//     [ValidateField] and [ValidateValue]); an invalid one is an
//     [ErrInvalid] error and the backend is not called.
//
// All methods block until the backend answers or ctx ends, and are safe
// for concurrent use. Errors from the backend are translated: callers test
// them with errors.Is against [ErrNotFound], [ErrFieldNotFound],
// [ErrInvalid], [ErrPermissionDenied] and [ErrUnavailable], never against a
// backend's own error types.
type SecretStore interface {
	// Put stores fields as the secret name, replacing all of its fields
	// if it exists. fields must not be empty. The map is not retained.
	// Backends that keep versions (Vault KV v2) keep the earlier ones.
	Put(ctx context.Context, name string, fields map[string]string) error

	// Get returns all fields of the secret name, in a map the caller
	// owns, or ErrNotFound.
	Get(ctx context.Context, name string) (map[string]string, error)

	// List returns the names of all secrets in the store, sorted, with
	// nested names ("team/db") in full. An empty store gives an empty
	// list and no error.
	List(ctx context.Context) ([]string, error)

	// Delete removes the secret name with all its fields (and, in
	// backends that keep versions, all its versions), or returns
	// ErrNotFound.
	Delete(ctx context.Context, name string) error

	// DeleteFields removes the given fields from the secret name and
	// keeps the others; when no field remains the secret is deleted. It
	// returns ErrNotFound when the secret does not exist and
	// ErrFieldNotFound (changing nothing) when one of the fields does
	// not. fields must not be empty. Concurrent DeleteFields calls on one
	// secret do not lose each other's changes.
	DeleteFields(ctx context.Context, name string, fields ...string) error
}

// GetField returns one field of the secret name: ErrNotFound when the
// secret does not exist, ErrFieldNotFound when it has no such field. It is
// Get followed by a lookup (every backend reads a secret whole).
func GetField(ctx context.Context, s SecretStore, name, field string) (string, error) {
	if err := ValidateField(field); err != nil {
		return "", err
	}
	fields, err := s.Get(ctx, name)
	if err != nil {
		return "", err
	}
	v, ok := fields[field]
	if !ok {
		return "", &FieldError{Name: name, Field: field}
	}
	return v, nil
}
