package memory

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/hubkit/hubkit/secrets"
)

// Store is a secrets.SecretStore in process memory. The zero value is not
// usable; call New. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	secrets map[string]map[string]string
}

var _ secrets.SecretStore = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{secrets: map[string]map[string]string{}}
}

// Put stores a copy of fields as the secret name, replacing it. See
// secrets.SecretStore.
func (s *Store) Put(ctx context.Context, name string, fields map[string]string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	if err := secrets.ValidateFields(fields); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name] = maps.Clone(fields)
	return nil
}

// Get returns a copy of the secret's fields. See secrets.SecretStore.
func (s *Store) Get(ctx context.Context, name string) (map[string]string, error) {
	if err := secrets.ValidateName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.secrets[name]
	if !ok {
		return nil, &secrets.NotFoundError{Name: name}
	}
	return maps.Clone(f), nil
}

// List returns the sorted names. See secrets.SecretStore.
func (s *Store) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := slices.Sorted(maps.Keys(s.secrets))
	if names == nil {
		names = []string{}
	}
	return names, nil
}

// Delete removes the secret. See secrets.SecretStore.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.secrets[name]; !ok {
		return &secrets.NotFoundError{Name: name}
	}
	delete(s.secrets, name)
	return nil
}

// DeleteFields removes fields from the secret. See secrets.SecretStore.
func (s *Store) DeleteFields(ctx context.Context, name string, fields ...string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	if err := secrets.ValidateFieldList(fields); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.secrets[name]
	if !ok {
		return &secrets.NotFoundError{Name: name}
	}
	for _, f := range fields {
		if _, ok := cur[f]; !ok {
			return &secrets.FieldError{Name: name, Field: f}
		}
	}
	next := maps.Clone(cur)
	for _, f := range fields {
		delete(next, f)
	}
	if len(next) == 0 {
		delete(s.secrets, name)
		return nil
	}
	s.secrets[name] = next
	return nil
}
