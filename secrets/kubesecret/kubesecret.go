package kubesecret

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/hubkit/hubkit/secrets"
)

// Labels, annotations, type and data key of the Kubernetes Secrets a
// Store writes.
const (
	// LabelManagedBy is "app.kubernetes.io/managed-by" = ManagedBy.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "hubkit"
	// LabelOwner holds a hash of the owning user's name (label values
	// cannot hold arbitrary usernames), for listing.
	LabelOwner = "hubkit.io/secret-owner"
	// AnnotationUser is the owning user's name as given.
	AnnotationUser = "hubkit.io/secret-user"
	// AnnotationName is the secret's name.
	AnnotationName = "hubkit.io/secret-name"
	// SecretType is the type of the Secrets.
	SecretType corev1.SecretType = "hubkit.io/user-secret"
	// DataKey is the data key holding the fields as a JSON object
	// (field names may be any UTF-8, which Secret data keys may not).
	DataKey = "fields.json"
)

// Options configure New.
type Options struct {
	// Namespace holds the Secrets. Required.
	Namespace string

	// User owns the store: its secrets are labelled and annotated with
	// it, and a store never sees another user's. Required; any string.
	User string

	// ObjectPrefix starts every Secret's object name; the rest is a hash
	// of User and the secret's name. Default "hubkit-secret-".
	ObjectPrefix string

	// Logger receives debug records of retried writes. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.ObjectPrefix == "" {
		o.ObjectPrefix = "hubkit-secret-"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is a secrets.SecretStore on Kubernetes Secrets: one Secret per
// secret, in one namespace, for one user. Safe for concurrent use.
type Store struct {
	c     kubernetes.Interface
	o     Options
	owner string
}

var _ secrets.SecretStore = (*Store)(nil)

// New returns a store on c. It does no I/O.
func New(c kubernetes.Interface, opts Options) (*Store, error) {
	if c == nil {
		return nil, errors.New("kubesecret: nil client")
	}
	opts = opts.withDefaults()
	if opts.Namespace == "" || opts.User == "" {
		return nil, errors.New("kubesecret: Options.Namespace and Options.User are required")
	}
	if len(opts.ObjectPrefix) > 200 {
		return nil, errors.New("kubesecret: Options.ObjectPrefix is too long")
	}
	return &Store{c: c, o: opts, owner: hash(opts.User)}, nil
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// ObjectName returns the name of the Secret holding the secret name.
func (s *Store) ObjectName(name string) string {
	return s.o.ObjectPrefix + hash(s.o.User, name)
}

func (s *Store) secrets() corev1client.SecretInterface { return s.c.CoreV1().Secrets(s.o.Namespace) }

// get returns the Secret of name, or a translated error.
func (s *Store) get(ctx context.Context, name string) (*corev1.Secret, map[string]string, error) {
	obj := s.ObjectName(name)
	sec, err := s.secrets().Get(ctx, obj, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && ctx.Err() == nil {
			return nil, nil, &secrets.NotFoundError{Name: name}
		}
		return nil, nil, s.translate(ctx, "get", obj, err)
	}
	if sec.Annotations[AnnotationUser] != s.o.User || sec.Annotations[AnnotationName] != name {
		return nil, nil, &Error{Op: "get", Object: obj, Kind: secrets.ErrPermissionDenied,
			Err: errors.New("the Secret belongs to another user or secret")}
	}
	fields, err := decode(sec)
	if err != nil {
		return nil, nil, &Error{Op: "get", Object: obj, Kind: ErrCorrupt, Err: err}
	}
	return sec, fields, nil
}

func decode(sec *corev1.Secret) (map[string]string, error) {
	var fields map[string]string
	if err := json.Unmarshal(sec.Data[DataKey], &fields); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", DataKey, err)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%s holds no fields", DataKey)
	}
	return fields, nil
}

func (s *Store) object(name string, fields map[string]string) (*corev1.Secret, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      s.ObjectName(name),
			Namespace: s.o.Namespace,
			Labels:    map[string]string{LabelManagedBy: ManagedBy, LabelOwner: s.owner},
			Annotations: map[string]string{
				AnnotationUser: s.o.User,
				AnnotationName: name,
			},
		},
		Type: SecretType,
		Data: map[string][]byte{DataKey: b},
	}, nil
}

// conflictAttempts bounds optimistic-concurrency retries.
const conflictAttempts = 10

// Put creates or replaces the secret's Secret. See secrets.SecretStore.
func (s *Store) Put(ctx context.Context, name string, fields map[string]string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	if err := secrets.ValidateFields(fields); err != nil {
		return err
	}
	want, err := s.object(name, fields)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		cur, _, err := s.get(ctx, name)
		switch {
		case errors.Is(err, secrets.ErrNotFound):
			_, err = s.secrets().Create(ctx, want.DeepCopy(), metav1.CreateOptions{FieldManager: ManagedBy})
		case errors.Is(err, ErrCorrupt):
			// Replace an unreadable Secret of ours.
			cur, err = s.secrets().Get(ctx, want.Name, metav1.GetOptions{})
			if err == nil {
				err = s.update(ctx, cur, want)
			}
		case err != nil:
			return err
		default:
			err = s.update(ctx, cur, want)
		}
		if err == nil {
			return nil
		}
		if !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) || attempt == conflictAttempts {
			return s.translate(ctx, "put", want.Name, err)
		}
		s.o.Logger.DebugContext(ctx, "kubesecret: concurrent write, retrying", "secret", name, "attempt", attempt)
	}
}

func (s *Store) update(ctx context.Context, cur, want *corev1.Secret) error {
	next := cur.DeepCopy()
	next.Data = want.Data
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	maps.Copy(next.Labels, want.Labels)
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	maps.Copy(next.Annotations, want.Annotations)
	_, err := s.secrets().Update(ctx, next, metav1.UpdateOptions{FieldManager: ManagedBy})
	return err
}

// Get reads the secret. See secrets.SecretStore.
func (s *Store) Get(ctx context.Context, name string) (map[string]string, error) {
	if err := secrets.ValidateName(name); err != nil {
		return nil, err
	}
	_, fields, err := s.get(ctx, name)
	return fields, err
}

// List lists the user's Secrets by label. See secrets.SecretStore.
func (s *Store) List(ctx context.Context) ([]string, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy, LabelOwner: s.owner}).String()
	names := []string{}
	opts := metav1.ListOptions{LabelSelector: sel, Limit: 500}
	for {
		l, err := s.secrets().List(ctx, opts)
		if err != nil {
			return nil, s.translate(ctx, "list", "", err)
		}
		for _, sec := range l.Items {
			n := sec.Annotations[AnnotationName]
			if sec.Annotations[AnnotationUser] != s.o.User || secrets.ValidateName(n) != nil || sec.Name != s.ObjectName(n) {
				continue // not ours, or not written by a Store
			}
			names = append(names, n)
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	slices.Sort(names)
	return names, nil
}

// Delete deletes the secret's Secret. See secrets.SecretStore.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	cur, _, err := s.get(ctx, name)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return err
	}
	obj := s.ObjectName(name)
	opts := metav1.DeleteOptions{}
	if cur != nil {
		opts.Preconditions = &metav1.Preconditions{UID: &cur.UID}
	}
	if err := s.secrets().Delete(ctx, obj, opts); err != nil {
		if apierrors.IsNotFound(err) && ctx.Err() == nil {
			return &secrets.NotFoundError{Name: name}
		}
		return s.translate(ctx, "delete", obj, err)
	}
	return nil
}

// DeleteFields rewrites the secret without the fields, or deletes it
// when none would remain, with optimistic concurrency (resourceVersion)
// so that concurrent writers are not overwritten. See
// secrets.SecretStore.
func (s *Store) DeleteFields(ctx context.Context, name string, fields ...string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	if err := secrets.ValidateFieldList(fields); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		cur, have, err := s.get(ctx, name)
		if err != nil {
			return err
		}
		for _, f := range fields {
			if _, ok := have[f]; !ok {
				return &secrets.FieldError{Name: name, Field: f}
			}
		}
		for _, f := range fields {
			delete(have, f)
		}
		if len(have) == 0 {
			rv := cur.ResourceVersion
			err = s.secrets().Delete(ctx, cur.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
			if apierrors.IsNotFound(err) {
				err = apierrors.NewConflict(corev1.Resource("secrets"), cur.Name, err)
			}
		} else {
			want, merr := s.object(name, have)
			if merr != nil {
				return merr
			}
			err = s.update(ctx, cur, want)
		}
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt == conflictAttempts {
			return s.translate(ctx, "delete fields", cur.Name, err)
		}
		s.o.Logger.DebugContext(ctx, "kubesecret: concurrent write, retrying", "secret", name, "attempt", attempt)
	}
}

// ErrCorrupt: a Secret of the store does not hold what a Store writes
// (someone edited it by hand). Put replaces it; Get reports it.
var ErrCorrupt = errors.New("kubesecret: Secret content is not a hubkit secret")

// Error is an error from the Kubernetes API, translated. errors.Is sees
// through it to Kind (a sentinel of package secrets, ErrCorrupt, or the
// context's error) and to the API error.
type Error struct {
	// Op is "get", "put", "list", "delete" or "delete fields".
	Op string
	// Object is the Secret's object name, "" for a list.
	Object string
	// Kind classifies the error.
	Kind error
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kubesecret: ")
	b.WriteString(e.Op)
	if e.Object != "" {
		b.WriteString(" " + e.Object)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(strings.TrimPrefix(e.Kind.Error(), "secrets: "), "kubesecret: "))
	if e.Err != nil && e.Err != e.Kind {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Kind and Err.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func (s *Store) translate(ctx context.Context, op, obj string, err error) error {
	e := &Error{Op: op, Object: obj, Err: err}
	switch {
	case ctx.Err() != nil:
		e.Kind = ctx.Err()
	case apierrors.IsNotFound(err):
		e.Kind = secrets.ErrNotFound
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		e.Kind = secrets.ErrPermissionDenied
	case apierrors.IsInvalid(err), apierrors.IsRequestEntityTooLargeError(err), apierrors.IsBadRequest(err):
		e.Kind = secrets.ErrInvalid
	default:
		// Timeouts, 429, 5xx, and no answer at all.
		e.Kind = secrets.ErrUnavailable
	}
	return e
}
