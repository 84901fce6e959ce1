package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/secrets"
)

// StoreOptions configure NewStore.
type StoreOptions struct {
	// Mount is the path of the KV version 2 engine. Default "secret".
	Mount string

	// Prefix is the store's path inside Mount, for example
	// "jupyter/users/alice" (Layout.UserPrefix). Every secret of the store
	// lives under it; names cannot leave it. Required.
	Prefix string

	// Logger receives debug records of retried writes. Default: discard.
	Logger *slog.Logger
}

func (o StoreOptions) withDefaults() StoreOptions {
	if o.Mount == "" {
		o.Mount = DefaultMount
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is a secrets.SecretStore on Vault's KV version 2 engine, confined
// to one prefix: secret "api-keys" of the store with prefix
// "jupyter/users/alice" on mount "secret" is the KV v2 secret
// "secret/jupyter/users/alice/api-keys". It uses its client's token,
// whatever it is at the time of each call. Safe for concurrent use.
type Store struct {
	c      *api.Client
	mount  string
	prefix string
	log    *slog.Logger
}

var _ secrets.SecretStore = (*Store)(nil)

// NewStore returns a store on c under opts.Prefix. It does no I/O.
func NewStore(c *api.Client, opts StoreOptions) (*Store, error) {
	if c == nil {
		return nil, errors.New("vault: NewStore: nil client")
	}
	opts = opts.withDefaults()
	if err := validPath("StoreOptions.Mount", opts.Mount); err != nil {
		return nil, err
	}
	if err := validPath("StoreOptions.Prefix", opts.Prefix); err != nil {
		return nil, err
	}
	return &Store{c: c, mount: opts.Mount, prefix: opts.Prefix, log: opts.Logger}, nil
}

// NewUserStore returns the store of one user under layout: NewStore with
// layout's Mount and UserPrefix(username).
func NewUserStore(c *api.Client, layout Layout, username string) (*Store, error) {
	layout = layout.withDefaults()
	if err := layout.validate(); err != nil {
		return nil, err
	}
	return NewStore(c, StoreOptions{Mount: layout.Mount, Prefix: layout.UserPrefix(username)})
}

// Mount returns the store's KV v2 mount.
func (s *Store) Mount() string { return s.mount }

// Prefix returns the store's prefix inside the mount.
func (s *Store) Prefix() string { return s.prefix }

// Client returns the store's Vault client.
func (s *Store) Client() *api.Client { return s.c }

func (s *Store) dataPath(name string) string { return s.mount + "/data/" + s.prefix + "/" + name }
func (s *Store) metaPath(name string) string {
	if name == "" {
		return s.mount + "/metadata/" + s.prefix
	}
	return s.mount + "/metadata/" + s.prefix + "/" + name
}

// fail translates err; a permission-denied answer is checked against the
// token itself, so that an expired or revoked token is reported as
// ErrTokenInvalid rather than as a policy refusal.
func (s *Store) fail(ctx context.Context, op, path string, err error) error {
	err = translate(ctx, op, path, err)
	var e *Error
	if errors.As(err, &e) && e.Kind == secrets.ErrPermissionDenied && !tokenValid(ctx, s.c) {
		e.Kind = ErrTokenInvalid
	}
	return err
}

// tokenValid asks Vault whether c's token can look itself up (every
// token with the default policy can). It reports true when unsure.
func tokenValid(ctx context.Context, c *api.Client) bool {
	if c.Token() == "" {
		return false
	}
	_, err := c.Auth().Token().LookupSelfWithContext(ctx)
	var re *api.ResponseError
	if errors.As(err, &re) && (re.StatusCode == 403 || re.StatusCode == 401) {
		return false
	}
	return true
}

// Put writes fields as a new version of the secret. Earlier versions stay
// in the secret's history (see Metadata and GetVersion), up to the
// mount's max_versions. See secrets.SecretStore.
func (s *Store) Put(ctx context.Context, name string, fields map[string]string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	if err := secrets.ValidateFields(fields); err != nil {
		return err
	}
	_, err := s.write(ctx, name, fields, -1)
	return err
}

// write writes a version; cas >= 0 makes it a check-and-set write.
func (s *Store) write(ctx context.Context, name string, fields map[string]string, cas int) (int, error) {
	data := make(map[string]any, len(fields))
	for k, v := range fields {
		data[k] = v
	}
	body := map[string]any{"data": data}
	if cas >= 0 {
		body["options"] = map[string]any{"cas": cas}
	}
	p := s.dataPath(name)
	sec, err := s.c.Logical().WriteWithContext(ctx, p, body)
	if err != nil {
		return 0, s.fail(ctx, "put", p, err)
	}
	var meta versionMeta
	if sec != nil {
		_ = decodeInto(sec.Data, &meta)
	}
	return meta.Version, nil
}

// Get reads the current version of the secret. Values that another Vault
// client stored as non-strings (numbers, objects) come back as their JSON
// text. See secrets.SecretStore.
func (s *Store) Get(ctx context.Context, name string) (map[string]string, error) {
	if err := secrets.ValidateName(name); err != nil {
		return nil, err
	}
	fields, _, err := s.read(ctx, name, 0)
	return fields, err
}

// GetVersion reads one version of the secret (1 is the first). A version
// that was deleted or destroyed, or does not exist, is ErrNotFound.
func (s *Store) GetVersion(ctx context.Context, name string, version int) (map[string]string, error) {
	if err := secrets.ValidateName(name); err != nil {
		return nil, err
	}
	if version < 1 {
		return nil, &secrets.InvalidError{What: "version", Value: strconv.Itoa(version), Reason: "versions start at 1"}
	}
	fields, _, err := s.read(ctx, name, version)
	return fields, err
}

// kvData is the data of a KV v2 read.
type kvData struct {
	Data     map[string]json.RawMessage `json:"data"`
	Metadata versionMeta                `json:"metadata"`
}

type versionMeta struct {
	Version      int       `json:"version"`
	CreatedTime  time.Time `json:"created_time"`
	DeletionTime string    `json:"deletion_time"`
	Destroyed    bool      `json:"destroyed"`
}

func (s *Store) read(ctx context.Context, name string, version int) (map[string]string, int, error) {
	p := s.dataPath(name)
	var params map[string][]string
	if version > 0 {
		params = map[string][]string{"version": {strconv.Itoa(version)}}
	}
	sec, err := s.c.Logical().ReadWithDataWithContext(ctx, p, params)
	if err != nil {
		return nil, 0, s.fail(ctx, "get", p, err)
	}
	if sec == nil || sec.Data == nil {
		return nil, 0, &secrets.NotFoundError{Name: name}
	}
	var d kvData
	if err := decodeInto(sec.Data, &d); err != nil {
		return nil, 0, &Error{Op: "get", Path: p, Kind: ErrRejected, Err: fmt.Errorf("decoding answer: %w", err)}
	}
	if d.Data == nil { // deleted or destroyed version
		return nil, 0, &secrets.NotFoundError{Name: name}
	}
	fields := make(map[string]string, len(d.Data))
	for k, raw := range d.Data {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			v = string(raw) // not a string: keep its JSON text
		}
		fields[k] = v
	}
	return fields, d.Metadata.Version, nil
}

// List lists the store's secrets, descending into nested names. See
// secrets.SecretStore.
func (s *Store) List(ctx context.Context) ([]string, error) {
	names := []string{}
	if err := s.list(ctx, "", &names); err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

func (s *Store) list(ctx context.Context, dir string, names *[]string) error {
	p := s.metaPath(strings.TrimSuffix(dir, "/"))
	sec, err := s.c.Logical().ListWithContext(ctx, p)
	if err != nil {
		return s.fail(ctx, "list", p, err)
	}
	if sec == nil {
		return nil
	}
	var d struct {
		Keys []string `json:"keys"`
	}
	if err := decodeInto(sec.Data, &d); err != nil {
		return &Error{Op: "list", Path: p, Kind: ErrRejected, Err: fmt.Errorf("decoding answer: %w", err)}
	}
	for _, k := range d.Keys {
		if sub, ok := strings.CutSuffix(k, "/"); ok {
			if err := s.list(ctx, dir+sub+"/", names); err != nil {
				return err
			}
			continue
		}
		*names = append(*names, dir+k)
	}
	return nil
}

// Delete removes the secret with all its versions and its metadata (KV
// v2's "metadata delete", as buun-stack's SecretStore does): it cannot be
// undeleted. See secrets.SecretStore.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	if _, err := s.Metadata(ctx, name); err != nil {
		return err
	}
	return s.destroy(ctx, name)
}

func (s *Store) destroy(ctx context.Context, name string) error {
	p := s.metaPath(name)
	if _, err := s.c.Logical().DeleteWithContext(ctx, p); err != nil {
		return s.fail(ctx, "delete", p, err)
	}
	return nil
}

// casAttempts bounds the read-modify-write retries of DeleteFields.
const casAttempts = 10

// DeleteFields writes a new version without the given fields, with
// check-and-set so that concurrent writers are not overwritten; when no
// field would remain it deletes the secret like Delete (KV v2 has no
// check-and-set for that: a Put racing with the removal of the last field
// may be deleted with it). See secrets.SecretStore.
func (s *Store) DeleteFields(ctx context.Context, name string, fields ...string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	if err := secrets.ValidateFieldList(fields); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		cur, version, err := s.read(ctx, name, 0)
		if err != nil {
			return err
		}
		for _, f := range fields {
			if _, ok := cur[f]; !ok {
				return &secrets.FieldError{Name: name, Field: f}
			}
		}
		for _, f := range fields {
			delete(cur, f)
		}
		if len(cur) == 0 {
			return s.destroy(ctx, name)
		}
		_, err = s.write(ctx, name, cur, version)
		if err == nil || !isCASMismatch(err) || attempt == casAttempts {
			return err
		}
		s.log.DebugContext(ctx, "vault: concurrent write, retrying", "secret", name, "attempt", attempt)
	}
}

// Metadata is the version history of a secret, as KV v2 keeps it.
type Metadata struct {
	CurrentVersion int
	OldestVersion  int
	Created        time.Time
	Updated        time.Time
	// Versions are the versions still known to Vault, oldest first.
	Versions []Version
}

// Version is one version of a secret.
type Version struct {
	Number  int
	Created time.Time
	// Deleted is when the version was soft-deleted (zero if it was not).
	Deleted   time.Time
	Destroyed bool
}

// Metadata returns the secret's version history, or ErrNotFound.
func (s *Store) Metadata(ctx context.Context, name string) (*Metadata, error) {
	if err := secrets.ValidateName(name); err != nil {
		return nil, err
	}
	p := s.metaPath(name)
	sec, err := s.c.Logical().ReadWithContext(ctx, p)
	if err != nil {
		return nil, s.fail(ctx, "metadata", p, err)
	}
	if sec == nil || sec.Data == nil {
		return nil, &secrets.NotFoundError{Name: name}
	}
	var d struct {
		CurrentVersion int       `json:"current_version"`
		OldestVersion  int       `json:"oldest_version"`
		CreatedTime    time.Time `json:"created_time"`
		UpdatedTime    time.Time `json:"updated_time"`
		Versions       map[string]struct {
			CreatedTime  time.Time `json:"created_time"`
			DeletionTime string    `json:"deletion_time"`
			Destroyed    bool      `json:"destroyed"`
		} `json:"versions"`
	}
	if err := decodeInto(sec.Data, &d); err != nil {
		return nil, &Error{Op: "metadata", Path: p, Kind: ErrRejected, Err: fmt.Errorf("decoding answer: %w", err)}
	}
	m := &Metadata{CurrentVersion: d.CurrentVersion, OldestVersion: d.OldestVersion, Created: d.CreatedTime, Updated: d.UpdatedTime}
	for k, v := range d.Versions {
		n, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		var del time.Time
		if v.DeletionTime != "" {
			del, _ = time.Parse(time.RFC3339Nano, v.DeletionTime)
		}
		m.Versions = append(m.Versions, Version{Number: n, Created: v.CreatedTime, Deleted: del, Destroyed: v.Destroyed})
	}
	slices.SortFunc(m.Versions, func(a, b Version) int { return a.Number - b.Number })
	return m, nil
}

// decodeInto decodes an untrusted map from the Vault client (numbers as
// json.Number) into a typed struct by re-encoding it.
func decodeInto(m map[string]any, v any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
