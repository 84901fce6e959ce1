package authenticator

import (
	"context"
	"sync"
	"time"
)

// StateStore keeps sealed auth state (tokens) on the server side, by
// session id: tokens are too large and too secret for a cookie. It only
// ever sees ciphertext ([Keyring.SealAuthState]). A hub that runs several
// replicas backs it with its database; [MemoryStore] serves one process.
type StateStore interface {
	// Put stores sealed under key until expires, replacing what was there.
	// Safe for concurrent use.
	Put(ctx context.Context, key string, sealed []byte, expires time.Time) error
	// Get returns what Put stored, or an error wrapping [ErrNotFound] when
	// there is nothing or it expired. Side-effect free.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete removes key. Idempotent: deleting nothing is no error.
	Delete(ctx context.Context, key string) error
}

// OnceStore remembers single-use values — OAuth states — so that a
// callback cannot be replayed. A hub with several replicas backs it with
// shared storage; [MemoryStore] serves one process.
type OnceStore interface {
	// Use records key as used until expires. It reports true the first
	// time and false on every later call before expires. Safe for
	// concurrent use: of two simultaneous calls exactly one gets true.
	Use(ctx context.Context, key string, expires time.Time) (bool, error)
}

// MemoryStore is an in-process [StateStore] and [OnceStore]. Expired
// entries are dropped as new ones arrive. Safe for concurrent use.
type MemoryStore struct {
	now func() time.Time

	mu     sync.Mutex
	states map[string]memEntry
	used   map[string]time.Time
	puts   int
}

type memEntry struct {
	sealed  []byte
	expires time.Time
}

var (
	_ StateStore = (*MemoryStore)(nil)
	_ OnceStore  = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty store; now is its clock (nil: time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, states: map[string]memEntry{}, used: map[string]time.Time{}}
}

// Put implements [StateStore].
func (m *MemoryStore) Put(_ context.Context, key string, sealed []byte, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	m.states[key] = memEntry{sealed: append([]byte(nil), sealed...), expires: expires}
	return nil
}

// Get implements [StateStore].
func (m *MemoryStore) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.states[key]
	if !ok || !m.now().Before(e.expires) {
		return nil, ErrNotFound
	}
	return append([]byte(nil), e.sealed...), nil
}

// Delete implements [StateStore].
func (m *MemoryStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.states, key)
	return nil
}

// Use implements [OnceStore].
func (m *MemoryStore) Use(_ context.Context, key string, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	if exp, ok := m.used[key]; ok && m.now().Before(exp) {
		return false, nil
	}
	m.used[key] = expires
	return true, nil
}

// sweep drops expired entries every 256 writes. Called with mu held.
func (m *MemoryStore) sweep() {
	m.puts++
	if m.puts%256 != 0 {
		return
	}
	now := m.now()
	for k, e := range m.states {
		if !now.Before(e.expires) {
			delete(m.states, k)
		}
	}
	for k, exp := range m.used {
		if !now.Before(exp) {
			delete(m.used, k)
		}
	}
}
