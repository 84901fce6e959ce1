// Package slug turns JupyterHub user and server names into Kubernetes
// object names and label values exactly as KubeSpawner 7 does
// (kubespawner/slugs.py and KubeSpawner._expand_user_properties), so that
// hubkit finds and names the same pods, PVCs, secrets and namespaces as an
// existing KubeSpawner deployment.
//
// # Safe names
//
// A name that is already valid for its use is kept as it is: "alex" stays
// "alex". Validity depends on the use. Object names ([IsValidObjectName])
// must be DNS labels: at most 63 lowercase ASCII letters, digits and '-',
// starting with a letter and ending with a letter or digit. Label values
// ([IsValidLabel]) may also contain upper case letters, '.' and '_', and
// may be empty.
//
// Any other name is hashed by [StripAndHash]: it is lowercased (with
// Python's full Unicode lowercasing), every run of characters outside
// [a-z0-9] becomes a single '-', the result is trimmed of '-', cut to fit
// the length budget, prefixed with "x-" if it does not start with a letter
// (or replaced by "x" if nothing is left), and followed by "---" and the
// first 8 hex digits of the SHA-256 of the original name's bytes:
//
//	"user@email.com" -> "user-email-com---0925f997"
//	"Alex"           -> "alex---db74c940"
//	"9z9"            -> "x-9z9---224de202"
//
// The hash is what keeps distinct names apart once the readable prefix
// has lost information; it is 32 bits, so collisions between hashed names
// with the same prefix are possible in principle but rare. Names are
// expected to be valid UTF-8, as in Python; other byte strings still get
// valid slugs, but [Multi] may then map different name lists to one slug.
//
// # '---' versus '--'
//
// A name containing "--" is always hashed, even if otherwise valid, and the
// stripping guarantees that the readable prefix of a hashed name never
// contains "--" either. Hence, outside a hash separator, "--" in a slug
// only ever comes from joining a user and a server name
// ("{username}--{servername}", as in the user_server template key and the
// legacy "claim-{username}--{servername}" PVC template), and "---" only
// ever precedes a hash. A joined name can therefore never be confused with
// a single user name. When the two safe names do not fit into 48
// characters together, [Multi] builds one slug "{user}--{server}---{hash}"
// with a single hash over both names.
//
// KubeSpawner documents the separator as exactly "---", but when the
// prefix needs "x-" and the re-truncation ends on a '-', the prefix keeps
// a trailing '-' and the separator reads "----": "9aaaaaaaaaaaaaaaaa@b"
// becomes "x-9aaaaaaaaaaaaaaaaa----eb4068a4". This package reproduces that
// quirk; the result is still a valid name and still ends in the hash.
//
// # Why labels keep case
//
// Label values may contain upper case letters, so [SafeLabel] returns a
// valid value such as "AbC" unchanged, while [SafeObject] must hash it
// ("jupyter-Alex" -> "jupyter-alex---3a1c285c"). Keeping the value
// unchanged when possible lets selectors use the user's own name, and it
// is what KubeSpawner writes into the hub.jupyter.org/username label, so
// changing it would orphan existing objects. The only intentional
// difference from KubeSpawner is that hubkit's label check is strictly
// ASCII (see [IsValidLabel]).
//
// # Templates and the legacy scheme
//
// [For] computes every name KubeSpawner offers to its templates, for the
// default "safe" scheme and the legacy "escape" scheme ([Escape], which
// hex-escapes every character outside [a-z0-9] and was used before
// KubeSpawner 7). [Expand] renders a template such as
// "jupyter-{user_server}" with those names.
package slug
