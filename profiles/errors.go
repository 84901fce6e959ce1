package profiles

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Errors about a user's selection are *SelectionError
// values that wrap one of the selection sentinels; test with errors.Is.
var (
	// ErrInvalidList: the profile list cannot be used (a syntax error, an
	// unknown key, a value of the wrong type, a duplicate slug, a
	// validation_regex that does not compile, ...). The message names
	// where.
	ErrInvalidList = errors.New("profiles: invalid profile list")

	// ErrMalformed: a submitted form or user_options document is not of
	// the expected shape (not a JSON object, a field given twice, a value
	// that is not a string).
	ErrMalformed = errors.New("profiles: malformed selection")

	// ErrUnknownProfile: the selection names a profile that the list does
	// not have.
	ErrUnknownProfile = errors.New("profiles: no such profile")

	// ErrUnknownOption: the selection sets an option that the selected
	// profile does not have.
	ErrUnknownOption = errors.New("profiles: no such option")

	// ErrChoiceNotOffered: the selection names a choice that the option
	// does not offer.
	ErrChoiceNotOffered = errors.New("profiles: choice not offered")

	// ErrUnlistedNotEnabled: the selection gives a free-form value for an
	// option whose unlisted_choice is not enabled.
	ErrUnlistedNotEnabled = errors.New("profiles: unlisted choice not enabled")

	// ErrInvalidValue: a free-form value does not match the option's
	// validation_regex, or is missing where the option needs one.
	ErrInvalidValue = errors.New("profiles: invalid value")

	// ErrNotAllowed: the profile, choice or unlisted choice exists but the
	// user's groups (or name) may not use it (the hubkit allowed_groups and
	// allowed_users keys), or no profile at all is available to the user.
	ErrNotAllowed = errors.New("profiles: not allowed")
)

// SelectionError is a selection that Resolve refused. Err is one of
// ErrUnknownProfile, ErrUnknownOption, ErrChoiceNotOffered,
// ErrUnlistedNotEnabled, ErrInvalidValue or ErrNotAllowed. Message is
// written for the user who made the selection (for an unlisted value that
// failed validation it includes the option's validation_message) and is
// what a spawn form should show.
type SelectionError struct {
	// Profile is the slug of the profile concerned ("" when none is).
	Profile string
	// Option is the key of the option concerned, if any.
	Option string
	// Choice is the key of the choice concerned, if any.
	Choice string
	// Value is the free-form value concerned, if any.
	Value string
	// Message explains the refusal in one sentence.
	Message string
	// Err is the sentinel.
	Err error
}

// Error implements error: "profiles: profile "gpu", option "image": ...".
func (e *SelectionError) Error() string {
	var b strings.Builder
	b.WriteString("profiles: ")
	sep := ""
	if e.Profile != "" {
		b.WriteString("profile " + strconv.Quote(e.Profile))
		sep = ", "
	}
	if e.Option != "" {
		b.WriteString(sep + "option " + strconv.Quote(e.Option))
		sep = ", "
	}
	if sep != "" {
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the sentinel.
func (e *SelectionError) Unwrap() error { return e.Err }
