package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/hubkit/hubkit/secrets"
)

// Conditions specific to Vault. Each also matches the general condition of
// package secrets named in its comment, so callers that only know
// secrets.SecretStore still classify it.
var (
	// ErrUnreachable: no answer from Vault (connection refused, DNS,
	// TLS, timeout). Matches secrets.ErrUnavailable.
	ErrUnreachable error = &condition{"vault: unreachable", secrets.ErrUnavailable}

	// ErrSealed: Vault answered that it is sealed. Matches
	// secrets.ErrUnavailable.
	ErrSealed error = &condition{"vault: sealed", secrets.ErrUnavailable}

	// ErrTokenInvalid: the token was refused and cannot even look itself
	// up: it expired (TTL or max TTL), was revoked, or never existed. A
	// user's server needs a new token, which the hub issues at the next
	// spawn. Matches secrets.ErrPermissionDenied.
	ErrTokenInvalid error = &condition{"vault: token expired, revoked or invalid", secrets.ErrPermissionDenied}

	// ErrRejected: Vault refused the request as malformed or conflicting
	// (HTTP 400), for example a check-and-set write that lost a race.
	ErrRejected error = &condition{"vault: request rejected", nil}
)

type condition struct {
	msg    string
	parent error
}

func (c *condition) Error() string { return c.msg }
func (c *condition) Unwrap() error { return c.parent }

// Error is an error from a Vault call, translated. Kind is the condition
// (one of this package's sentinels, or secrets.ErrNotFound,
// secrets.ErrPermissionDenied, secrets.ErrUnavailable, or the context's
// error); errors.Is sees through Error to Kind and to the underlying error.
type Error struct {
	// Op is what was being done: "get", "put", "list", "delete",
	// "provision", "renew", "login", ...
	Op string
	// Path is the Vault API path, without "/v1/".
	Path string
	// Status is the HTTP status of Vault's answer, 0 if there was none.
	Status int
	// Messages are Vault's own error messages, if it sent any.
	Messages []string
	// Kind classifies the error.
	Kind error
	// Err is the underlying error (from the Vault client, the network or
	// the context).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("vault: ")
	b.WriteString(e.Op)
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(strings.TrimPrefix(e.Kind.Error(), "vault: "), "secrets: "))
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if len(e.Messages) > 0 {
			b.WriteString(": ")
			b.WriteString(strings.Join(e.Messages, "; "))
		}
		b.WriteString(")")
	} else if e.Err != nil && e.Err != e.Kind {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
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

// translate turns an error from the Vault client into an *Error. ctx is
// the caller's context: when it has ended, the context's error is the
// kind, so errors.Is(err, context.Canceled) holds.
func translate(ctx context.Context, op, path string, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Path: path, Err: err}
	var re *api.ResponseError
	switch {
	case ctx.Err() != nil:
		e.Kind = ctx.Err()
	case errors.As(err, &re):
		e.Status = re.StatusCode
		e.Messages = cleanMessages(re.Errors)
		e.Kind = kindOf(re.StatusCode, re.Errors)
	default:
		// No answer: connection refused, DNS, TLS, the client's own
		// timeout, retries given up.
		e.Kind = ErrUnreachable
	}
	return e
}

func kindOf(status int, msgs []string) error {
	switch {
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return secrets.ErrPermissionDenied
	case status == http.StatusNotFound:
		return secrets.ErrNotFound
	case status == http.StatusServiceUnavailable && mentions(msgs, "sealed"):
		return ErrSealed
	case status == http.StatusTooManyRequests || status >= 500:
		return secrets.ErrUnavailable
	case status == http.StatusBadRequest:
		return ErrRejected
	}
	return ErrRejected
}

func mentions(msgs []string, word string) bool {
	for _, m := range msgs {
		if strings.Contains(strings.ToLower(m), word) {
			return true
		}
	}
	return false
}

// isCASMismatch reports a KV v2 check-and-set write that lost a race.
func isCASMismatch(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusBadRequest && mentions(e.Messages, "check-and-set")
}

// cleanMessages flattens Vault's multi-error texts ("1 error occurred:\n\t*
// permission denied\n\n") into one line each.
func cleanMessages(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		if strings.Contains(m, "occurred:") {
			var items []string
			for _, line := range strings.Split(m, "\n") {
				if item, ok := strings.CutPrefix(strings.TrimSpace(line), "* "); ok {
					items = append(items, item)
				}
			}
			if len(items) > 0 {
				m = strings.Join(items, "; ")
			}
		}
		if m = strings.Join(strings.Fields(m), " "); m != "" {
			out = append(out, m)
		}
	}
	return out
}
