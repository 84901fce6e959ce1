#!/usr/bin/env bash
# Figures for the hub's state store (results: bench/README.md, "The hub's
# state store at 50,000 users").
#
# 1. The Go benchmarks of internal/hub/store/sqlite on a 50,000-user
#    database (start-up, paged user lists, reads, writes, the batcher),
#    then the same benchmarks of internal/hub/store/postgres on the same
#    users, against the PostgreSQL that internal/testenv starts
#    (hack/install-postgres.sh; skipped without it).
# 2. With DRIVERS=1, the driver comparison in bench/store-drivers
#    (modernc.org/sqlite vs. github.com/ncruces/go-sqlite3).
# 3. When Debian's jupyterhub is installed (hack/install-jupyterhub.sh)
#    and CHP can be (hack/install-chp.sh), the peer: JupyterHub's start-up
#    on its own SQLite database holding the same 50,000 users, filled
#    through its ORM by bench/store-jupyterhub.py; timed from launch to
#    its "JupyterHub is now running" line, twice (the first start finds
#    5,000 servers recorded as running and dead; the second none).
#
#   bench/store.sh
#   COUNT=3 DRIVERS=1 USERS=50000 bench/store.sh
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT="${COUNT:-1}"
USERS="${USERS:-50000}"
PORT="${PORT:-18800}"
WORK="$(mktemp -d)"
HUB_PID=""
cleanup() {
  if [[ -n "$HUB_PID" ]]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "## machine"
echo "$(go version); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(free -g | awk '/Mem:/ {print $2 " GiB"}'); $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}') temp dir"

echo "## hubkit store (modernc.org/sqlite)"
go test -run '^$' -bench . -benchmem -count "$COUNT" ./internal/hub/store/sqlite/

echo "## hubkit store (PostgreSQL, pgx; test server with fsync off, on loopback)"
go test -run '^$' -bench . -benchmem -count "$COUNT" ./internal/hub/store/postgres/

if [[ "${DRIVERS:-0}" == 1 ]]; then
  echo "## drivers"
  (cd bench/store-drivers && go build -o "$WORK/drivers" . &&
    for d in sqlite sqlite3; do echo "### $d"; "$WORK/drivers" -driver "$d" -n "$USERS"; done)
fi

PY=/usr/bin/python3
if [[ ! -x /usr/bin/jupyterhub ]] || ! "$PY" -c 'import jupyterhub' 2>/dev/null; then
  echo "## peer: skipped (no Debian jupyterhub; run hack/install-jupyterhub.sh)"
  exit 0
fi
CHP="$(hack/install-chp.sh)"
echo "## peer: JupyterHub $("$PY" -c 'import jupyterhub; print(jupyterhub.__version__)') on SQLite, $USERS users"
cat > "$WORK/jupyterhub_config.py" <<PYEOF
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = $PORT
c.JupyterHub.hub_port = $((PORT + 1))
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:$((PORT + 2))"
c.ConfigurableHTTPProxy.command = ["$CHP"]
c.JupyterHub.db_url = "sqlite:///$WORK/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "$WORK/cookie_secret"
c.ConfigurableHTTPProxy.pid_file = "$WORK/proxy.pid"
PYEOF
export CONFIGPROXY_AUTH_TOKEN="bench-$RANDOM$RANDOM"

# start_hub LABEL LOG: starts JupyterHub, prints the seconds until it runs,
# stops it.
start_hub() {
  local label="$1" log="$2" start end
  start=$(date +%s.%N)
  "$PY" /usr/bin/jupyterhub -f "$WORK/jupyterhub_config.py" >"$log" 2>&1 &
  HUB_PID=$!
  for _ in $(seq 1 18000); do # at most 30 minutes
    grep -q "JupyterHub is now running" "$log" && break
    if ! kill -0 "$HUB_PID" 2>/dev/null; then echo "JupyterHub exited:"; tail -20 "$log"; exit 1; fi
    sleep 0.1
  done
  end=$(date +%s.%N)
  echo "$label: start $(echo "$end - $start" | bc) s; RSS $(ps -o rss= -p "$HUB_PID") KiB"
  kill "$HUB_PID"
  wait "$HUB_PID" 2>/dev/null || true
  HUB_PID=""
}
start_hub "empty database" "$WORK/empty.log"
"$PY" bench/store-jupyterhub.py "sqlite:///$WORK/jupyterhub.sqlite" "$USERS"
start_hub "first start ($((USERS / 10)) servers recorded running, all dead)" "$WORK/first.log"
start_hub "second start (none active)" "$WORK/second.log"
