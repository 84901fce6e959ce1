#!/usr/bin/env bash
# Installs configurable-http-proxy (CHP) from npm into a cache outside the
# repository, keyed by version, and prints the path of its
# `configurable-http-proxy` binary. Does nothing but print the path when
# that version is already installed.
#
# Debian's own configurable-http-proxy package wraps the proxy for Debian's
# node and fails with the NodeSource node; tests that start a real
# JupyterHub point c.ConfigurableHTTPProxy.command at this one instead.
#
#   hack/install-chp.sh                 install if missing, print the binary
#   CHP_VERSION=4.6.3 hack/install-chp.sh
#
# Needs node and npm on PATH (Node.js >= 12 for CHP 4.x).
set -euo pipefail

CHP_VERSION="${CHP_VERSION:-4.6.3}"
CACHE_ROOT="${HUBKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hubkit}"
OUT="$CACHE_ROOT/chp/$CHP_VERSION"
BIN="$OUT/node_modules/.bin/configurable-http-proxy"

log() { echo "install-chp: $*" >&2; }

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "$tool is not on PATH; install Node.js (with npm) first"
    exit 1
  fi
done

mkdir -p "$CACHE_ROOT/chp"
# Install into a fresh directory and move it into place, so that an
# interrupted install never leaves a half-filled cache entry behind.
WORK="$(mktemp -d "$CACHE_ROOT/chp/.install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
log "installing configurable-http-proxy@$CHP_VERSION from npm"
npm install --prefix "$WORK" --no-audit --no-fund --loglevel=error \
  "configurable-http-proxy@$CHP_VERSION" >&2
[[ -x "$WORK/node_modules/.bin/configurable-http-proxy" ]]
rm -rf "$OUT"
mv "$WORK" "$OUT"
trap - EXIT
log "$("$BIN" --version 2>/dev/null || true): $BIN"
echo "$BIN"
