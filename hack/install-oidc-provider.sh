#!/usr/bin/env bash
# Installs the OpenID provider that hubkit's authenticator tests log in
# against — npm's oidc-provider (panva's, OpenID Certified), pinned by
# internal/testenv/oidcprovider/package.json and its package-lock.json —
# into a cache outside the repository, and prints that directory. It holds
# package.json, package-lock.json, provider.js and node_modules; the tests
# run the repository's provider.js with HUBKIT_OIDC_PROVIDER_MODULES
# pointing at its node_modules.
#
#   hack/install-oidc-provider.sh      install if missing, print the directory
#
# Idempotent: when the cache entry exists and was installed from the same
# lock file it only refreshes provider.js and prints the directory. Needs
# node (>= 20.19) and npm on PATH; `npm ci` installs exactly what the lock
# file records, from the configured npm registry.
set -euo pipefail

cd "$(dirname "$0")/.."
SRC="internal/testenv/oidcprovider"
CACHE_ROOT="${HUBKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hubkit}"

log() { echo "install-oidc-provider: $*" >&2; }

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "$tool is not on PATH; install Node.js >= 20.19 (with npm) first"
    exit 1
  fi
done

VERSION="$(node -p 'require("./'"$SRC"'/package.json").dependencies["oidc-provider"]')"
OUT="$CACHE_ROOT/oidc-provider/$VERSION"

if [[ -f "$OUT/node_modules/oidc-provider/package.json" ]] &&
  cmp -s "$SRC/package-lock.json" "$OUT/package-lock.json"; then
  cp "$SRC/provider.js" "$OUT/provider.js.tmp" && mv "$OUT/provider.js.tmp" "$OUT/provider.js"
  echo "$OUT"
  exit 0
fi

mkdir -p "$CACHE_ROOT/oidc-provider"
# Install into a fresh directory and move it into place, so that an
# interrupted install never leaves a half-filled cache entry behind.
WORK="$(mktemp -d "$CACHE_ROOT/oidc-provider/.install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/provider.js" "$WORK/"
log "installing oidc-provider@$VERSION from npm (npm ci)"
(cd "$WORK" && npm ci --no-audit --no-fund --loglevel=error >&2)
[[ -f "$WORK/node_modules/oidc-provider/package.json" ]]
rm -rf "$OUT"
mv "$WORK" "$OUT"
trap - EXIT
log "oidc-provider@$VERSION: $OUT"
echo "$OUT"
