#!/usr/bin/env bash
# Installs jupyterhub-singleuser, the real single-user server that the
# spawner/local tests start, from Debian's jupyterhub package (bookworm:
# JupyterHub 3.0.0 on the classic Notebook 6.4). Does nothing when
# jupyterhub-singleuser is already on PATH.
#
#   hack/install-jupyterhub.sh
#
# The package also brings the jupyterhub hub itself and
# configurable-http-proxy, which depends on Node.js (nodejs and a few
# dozen node-* packages). On a machine that runs systemd, the package
# enables and starts a jupyterhub.service that listens on port 8000 with
# PAM logins; this script disables it again when it installed it.
set -euo pipefail

log() { echo "install-jupyterhub: $*" >&2; }

if command -v jupyterhub-singleuser >/dev/null 2>&1; then
  exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# apt-get update only when the package lists do not know the package.
if ! apt-cache policy jupyterhub 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  log "updating package lists"
  "${SUDO[@]}" apt-get update -q
fi

install() {
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends jupyterhub
}
log "installing jupyterhub (Debian package)"
if ! install; then
  # Stale package lists point at versions the mirror no longer has.
  log "install failed; updating package lists and retrying"
  "${SUDO[@]}" apt-get update -q
  install
fi

if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  log "disabling the jupyterhub.service that the package enabled"
  "${SUDO[@]}" systemctl disable --now jupyterhub.service || true
fi

command -v jupyterhub-singleuser >/dev/null
log "$(jupyterhub-singleuser --version 2>/dev/null | head -n 1 || true): $(command -v jupyterhub-singleuser)"
