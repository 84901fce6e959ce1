package secrets

import (
	"errors"
	"fmt"
)

// Conditions a SecretStore reports. Test for them with errors.Is; the
// errors returned carry more detail (the secret's name, the backend's
// message) and wrap these.
var (
	// ErrNotFound: the secret does not exist.
	ErrNotFound = errors.New("secrets: not found")

	// ErrFieldNotFound: the secret exists but has no such field.
	ErrFieldNotFound = errors.New("secrets: field not found")

	// ErrInvalid: a name, field name or value is not acceptable (see
	// ValidateName, ValidateField, ValidateValue), or no fields were
	// given where some are required. The backend was not called.
	ErrInvalid = errors.New("secrets: invalid input")

	// ErrPermissionDenied: the store's credential may not do this, for
	// example a user's Vault token used outside its user's prefix, or a
	// token that expired or was revoked.
	ErrPermissionDenied = errors.New("secrets: permission denied")

	// ErrUnavailable: the backend could not be reached or cannot serve
	// requests now (connection refused, timeout, Vault sealed). Retrying
	// later may succeed.
	ErrUnavailable = errors.New("secrets: backend unavailable")
)

// NotFoundError reports a secret that does not exist. It matches
// ErrNotFound.
type NotFoundError struct {
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("secrets: secret %q not found", e.Name) }

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// FieldError reports a field that a secret does not have. It matches
// ErrFieldNotFound.
type FieldError struct {
	Name  string
	Field string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("secrets: secret %q has no field %q", e.Name, e.Field)
}

// Is reports whether target is ErrFieldNotFound.
func (e *FieldError) Is(target error) bool { return target == ErrFieldNotFound }

// InvalidError reports unacceptable input. It matches ErrInvalid.
type InvalidError struct {
	// What is "name", "field", "value" or "fields".
	What string
	// Value is the offending input (a value is never included: it may be
	// a secret; Value is then empty).
	Value string
	// Reason says what is wrong, for example "empty path segment".
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("secrets: invalid %s: %s", e.What, e.Reason)
	}
	return fmt.Sprintf("secrets: invalid %s %q: %s", e.What, e.Value, e.Reason)
}

// Is reports whether target is ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }
