// Package profiles reads a z2jh singleuser.profileList verbatim, renders
// the spawn form with KubeSpawner's field names, parses a submitted form or
// JSON user_options, and resolves a selection to one override in
// KubeSpawner's order (configuration, then the profile, then each option).
//
// The package knows nothing of Kubernetes: an override is a
// map[string]any keyed by the spawner's option names (KubeSpawner's trait
// names for spawner/kube), handed to the spawner in
// spawner.Request.Override.
//
// # The profile list
//
// [Parse] takes the profileList as platform teams already have it, in YAML
// or JSON, as a list or as a mapping (whose profiles, as in KubeSpawner,
// come in the order of their keys). Every KubeSpawner key is understood:
//
//	display_name, slug, description, default, kubespawner_override,
//	profile_options:
//	  <option>: display_name, choices, unlisted_choice
//	    choices:
//	      <choice>: display_name, default, kubespawner_override
//	    unlisted_choice: enabled, display_name, display_name_in_choices,
//	      validation_regex, validation_message, kubespawner_override
//
// A missing slug is made from the display name as KubeSpawner makes it
// ([Slugify]); without a default, the first profile and the first choice of
// each option are the defaults. Any other key is an error naming it (with a
// suggestion for a likely typo), as are duplicate slugs, option keys that
// would make ambiguous form fields, regular expressions that do not
// compile and malformed {value} templates. [List.Check] goes one step
// further and runs every kubespawner_override through the spawner's own
// option parser at startup.
//
// # Per-group access (hubkit extension)
//
// KubeSpawner users have asked for years to offer some profiles only to
// some users (kubespawner #589, #889). Profiles, choices and
// unlisted_choice take two extra keys:
//
//	allowed_groups: [gpu-users, admins]   # members of any of these groups
//	allowed_users: [alice]                # and these users
//
// Without either key everyone is admitted; with an empty list nobody is. A
// user who is not admitted does not see the entry in the form ([List.For],
// [List.Form]) and cannot select it through the API either: [List.Resolve]
// refuses with [ErrNotAllowed]. A profile whose option would be left with
// nothing to choose is hidden too, and hidden defaults pass to the first
// remaining profile or choice. KubeSpawner itself ignores these keys: a
// list that relies on them must not be handed back to it.
//
// Profiles switched on and off by deployment settings (the buun-stack
// JUPYTER_PROFILE_*_ENABLED variables) need no extension: filter the list
// with [List.Filter], as the package example shows.
//
// # Form and selection
//
// [List.Form] renders an html/template fragment (everything escaped) with
// KubeSpawner's field names:
//
//	profile=<slug>
//	profile-option-<slug>--<option>=<choice>
//	profile-option-<slug>--<option>--unlisted-choice=<value>
//
// [ParseForm] reads those fields back and [ParseUserOptions] reads the JSON
// user_options of JupyterHub's REST API ({"profile": slug, "<option>":
// choice, "<option>--unlisted-choice": value}); both give a [Selection],
// which is only syntax. Neither panics nor accepts malformed input: errors
// wrap [ErrMalformed].
//
// # Resolution
//
// [List.Resolve] checks a Selection against what the user is offered and
// merges the overrides in KubeSpawner's order: the profile's
// kubespawner_override, then the override of each option's choice (or of
// its unlisted choice, with {value} replaced by the user's value in every
// string and key) in the order of the options. Maps merge recursively, a
// null deletes a key, anything else replaces. The spawner then applies the
// one override to its configuration ([Merge] shows the result). Refusals
// are [*SelectionError] values wrapping [ErrUnknownProfile],
// [ErrUnknownOption], [ErrChoiceNotOffered], [ErrUnlistedNotEnabled],
// [ErrInvalidValue] or [ErrNotAllowed], with a message for the user.
//
// Resolve takes the configuration (for spawner/kube, its Options as a JSON
// object) as base: when one layer deletes a map (null) and a later one
// sets it again, the override then also deletes the configured map's other
// keys, so that the spawner ends up exactly where KubeSpawner would. It
// may be nil when no list does that.
//
// A [List] is not modified once built and is safe for concurrent use;
// every call returns fresh maps that the caller may change.
//
// # Differences from KubeSpawner
//
//   - validation_regex is Go (RE2) syntax: look-arounds and
//     back-references do not compile. As with Python's re.match it is
//     anchored at the start only; $ matches only at the very end (Python
//     also lets it match before a final newline).
//   - Display names and descriptions are text, not HTML.
//   - Option keys that the profile does not have are refused, not ignored.
//   - Malformed {value} templates and unknown keys fail when the list is
//     parsed, not when a user spawns.
//   - Slugify transliterates Latin letters only; set slug for display
//     names in other scripts.
//   - kubespawner_override values that are Python callables have no
//     equivalent; use the spawner's hooks.
package profiles
