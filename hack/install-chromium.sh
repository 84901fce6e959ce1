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

source "$(dirname "$0")/lib/apt.sh"
apt_install install-chromium chromium fonts-dejavu-core
command -v chromium >/dev/null
log "$(chromium --headless=new --version 2>/dev/null | head -n 1 || true): $(command -v chromium)"
