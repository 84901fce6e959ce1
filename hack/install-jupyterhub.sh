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

source "$(dirname "$0")/lib/apt.sh"
apt_install install-jupyterhub jupyterhub

if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  log "disabling the jupyterhub.service that the package enabled"
  as_root systemctl disable --now jupyterhub.service || true
fi

command -v jupyterhub-singleuser >/dev/null
log "$(jupyterhub-singleuser --version 2>/dev/null | head -n 1 || true): $(command -v jupyterhub-singleuser)"
