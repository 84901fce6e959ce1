#!/usr/bin/env bash
# Installs Debian's chromium, the headless browser that the example hub's
# end-to-end tests drive (through the DevTools protocol, with chromedp).
# Does nothing when chromium is already on PATH.
#
#   hack/install-chromium.sh
set -euo pipefail

log() { echo "install-chromium: $*" >&2; }

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  log "updating package lists"
  "${SUDO[@]}" apt-get update -q
fi
install() {
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
}
log "installing chromium (Debian package)"
if ! install; then
  log "install failed; updating package lists and retrying"
  "${SUDO[@]}" apt-get update -q
  install
fi
command -v chromium >/dev/null
log "$(chromium --headless=new --version 2>/dev/null | head -n 1 || true): $(command -v chromium)"
