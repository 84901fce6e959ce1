#!/usr/bin/env bash
# Builds a HashiCorp Vault server from the Go module proxy and caches it
# outside the repository, keyed by version. Prints the path of the binary.
#
# The tests of secrets/vault run it in dev mode on loopback. Vault >= 1.15 is
# licensed BUSL-1.1: it is a test dependency only. This script never copies
# its source or binary into the repository, and nothing in hubkit ships it.
#
# `go install github.com/hashicorp/vault@vX` refuses the module: its go.mod
# has replace lines for the nested ./api and ./sdk modules, which the module
# zip does not contain. In a writable copy of the module with those replace
# lines removed, the build resolves the published api and sdk releases and
# fails on exactly three call sites where the published sdk differs from the
# in-tree one; this script adapts them (and fails loudly if the expected
# text is not there, e.g. for another VAULT_VERSION).
#
#   hack/vault.sh                       build if missing, print the binary path
#   VAULT_VERSION=1.21.4 hack/vault.sh
#
# About 9 minutes on 2 cores; about 365 MB stripped.
set -euo pipefail

VAULT_VERSION="${VAULT_VERSION:-1.21.4}"
CACHE_ROOT="${HUBKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hubkit}"
OUT="$CACHE_ROOT/vault/$VAULT_VERSION"
BIN="$OUT/vault"

log() { echo "vault: $*" >&2; }
die() { echo "vault: $*" >&2; exit 1; }

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi

mkdir -p "$OUT"
WORK="$(mktemp -d "$CACHE_ROOT/vault-build.XXXXXX")"
trap 'chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

log "downloading github.com/hashicorp/vault@v$VAULT_VERSION from the module proxy"
moddir="$(cd "$WORK" && GOFLAGS= go mod download -json "github.com/hashicorp/vault@v$VAULT_VERSION" |
  sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
[[ -n "$moddir" && -f "$moddir/go.mod" ]] || die "module download gave no directory"

src="$WORK/src"
cp -r "$moddir" "$src"
chmod -R u+w "$src"

# patch FILE PERL-EXPR: apply a one-line substitution that must match.
patch() {
  local file="$src/$1" expr="$2"
  [[ -f "$file" ]] || die "patch: $1 does not exist in v$VAULT_VERSION"
  perl -0pi -e "\$n = ($expr); END { exit(\$n ? 0 : 3) }" "$file" ||
    die "patch: expected text not found in $1 (v$VAULT_VERSION); the adaptation needs updating"
}

# 1. Drop the replace lines for the nested ./api... and ./sdk modules, so the
#    published releases named in the require block are used.
patch go.mod 's{^replace github\.com/hashicorp/vault/(?:api|sdk)\S* => \./\S+\n}{}mg'
if grep -qE '=> \./' "$src/go.mod"; then
  die "go.mod still has local replace lines: $(grep -E '=> \./' "$src/go.mod")"
fi

# 2. The published sdk's framework.Backend.ActivationFunc takes an extra
#    string argument (the feature name).
patch vault/identity_store.go \
  's{ActivationFunc:\s+iStore\.activateDeduplication,}{ActivationFunc: func(ctx context.Context, req *logical.Request, _ string) error { return iStore.activateDeduplication(ctx, req) },}g'
patch vault/logical_system_activation_flags.go \
  's{b\.idStoreBackend\.ActivationFunc\(ctx, nil\)}{b.idStoreBackend.ActivationFunc(ctx, nil, activationflags.IdentityDeduplication)}g'
grep -q 'activationflags' "$src/vault/logical_system_activation_flags.go" ||
  die "vault/logical_system_activation_flags.go no longer imports activationflags"

# 3. The published sdk's keysutil.LockManager.RestorePolicy returns only an
#    error; the restored key's name is the one that was asked for.
patch builtin/logical/transit/path_restore.go \
  's{restoredKeyName, err := b\.lm\.RestorePolicy\(([^\n]*)\)\n}{err := b.lm.RestorePolicy($1)\n\trestoredKeyName := keyName\n}g'

log "building vault v$VAULT_VERSION (about 9 minutes on 2 cores)"
(cd "$src" && go build -trimpath -ldflags '-s -w' -o "$OUT/vault.tmp" .)
mv "$OUT/vault.tmp" "$BIN"
log "binary at $BIN"
echo "$BIN"
