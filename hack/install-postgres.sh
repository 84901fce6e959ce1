#!/usr/bin/env bash
# Installs PostgreSQL, the real server that the tests of
# internal/hub/store/postgres start (internal/testenv), from Debian's
# postgresql package (bookworm: PostgreSQL 15). Does nothing when
# initdb, pg_ctl and postgres are already in /usr/lib/postgresql/*/bin or
# on PATH.
#
#   hack/install-postgres.sh
#
# The tests run the binaries from /usr/lib/postgresql/<major>/bin
# themselves (as the package's "postgres" system user when they run as
# root, since initdb refuses root), in a temporary directory, on a free
# loopback port. The package also creates and starts a "main" cluster on
# port 5432 and enables postgresql.service; the tests do not use it, so
# this script stops and disables it when it installed it.
set -euo pipefail

log() { echo "install-postgres: $*" >&2; }

have_binaries() {
  local d
  for d in /usr/lib/postgresql/*/bin "$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"; do
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

if have_binaries >/dev/null; then
  exit 0
fi

source "$(dirname "$0")/lib/apt.sh"
apt_install install-postgres postgresql

if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  log "disabling the postgresql.service that the package enabled"
  as_root systemctl disable --now postgresql.service || true
else
  # No systemd (a container): the package started its cluster through
  # the init script.
  log "stopping the cluster that the package started"
  as_root service postgresql stop || true
  if command -v update-rc.d >/dev/null 2>&1; then
    as_root update-rc.d postgresql disable >/dev/null 2>&1 || true
  fi
fi

bin="$(have_binaries)"
log "$("$bin/postgres" --version): $bin"
