#!/usr/bin/env bash
# Times one idle-culler pass over 10,000 users (results: bench/README.md, "Idle culler").
#
# 1. The Go benchmark BenchmarkOncePass10k (culler + culler/hubapi against
#    an in-memory hub on loopback, in one process).
# 2. cullerd --once against the same hub served by a separate process.
# 3. When JUPYTERHUB_IDLE_CULLER_SRC names a checkout of
#    jupyterhub-idle-culler (the directory holding jupyterhub_idle_culler/),
#    one cull_idle() pass of the reference against the same hub, with
#    Debian's python3 (tornado, traitlets, dateutil, packaging).
#
#   bench/culler.sh
#   COUNT=5 JUPYTERHUB_IDLE_CULLER_SRC=/path/to/jupyterhub-idle-culler bench/culler.sh
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT="${COUNT:-5}"
PAGE="${PAGE:-200}"
PORT="${PORT:-18765}"
PYTHON="${PYTHON:-/usr/bin/python3}"
WORK="$(mktemp -d)"
HUB_PID=""
cleanup() {
  if [[ -n "$HUB_PID" ]]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "## machine"
echo "$(go version); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
echo
echo "## go test -bench BenchmarkOncePass10k -benchmem -count $COUNT ./culler/hubapi/"
[[ -n "${SKIP_GO_BENCH:-}" ]] || go test -run '^$' -bench 'BenchmarkOncePass10k' -benchmem -count "$COUNT" ./culler/hubapi/ | grep -E '^(Benchmark|cpu|goos|goarch)'

go test -c -o "$WORK/hubapi.test" ./culler/hubapi
go build -o "$WORK/cullerd" ./examples/cullerd

start_hub() { # $1: every n-th server idle (0: none); $2: how long each DELETE takes
  HUBKIT_BENCH_HUB_ADDR="127.0.0.1:$PORT" HUBKIT_BENCH_HUB_IDLE_EACH="$1" HUBKIT_BENCH_HUB_STOP_DELAY="${2:-0s}" \
    "$WORK/hubapi.test" -test.run '^TestServeBenchHub$' -test.timeout 0 >"$WORK/hub.log" 2>&1 &
  HUB_PID=$!
  for _ in $(seq 100); do
    curl -fsS -o /dev/null -H "Authorization: token test-token" "http://127.0.0.1:$PORT/hub/api/" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "benchmark hub did not start:" >&2; cat "$WORK/hub.log" >&2; exit 1
}
stop_hub() { kill "$HUB_PID"; wait "$HUB_PID" 2>/dev/null || true; HUB_PID=""; }

export JUPYTERHUB_API_URL="http://127.0.0.1:$PORT/hub/api" JUPYTERHUB_API_TOKEN="test-token"

echo
echo "## cullerd --once --timeout=3600 --api-page-size=$PAGE (hub in another process; wall time, max RSS)"
run_cullerd() { # $1: idle-each, $2: stop delay
  start_hub "$1" "$2"
  /usr/bin/env time -f "idle-each=$1 stop-delay=${2:-0s}: %e s wall, %M KiB max RSS" \
    "$WORK/cullerd" --once --timeout=3600 --api-page-size="$PAGE" --log-level=WARN 2>&1 | grep 'wall' || true
  stop_hub
}
for idle in 0 10; do
  for _ in $(seq "$COUNT"); do run_cullerd "$idle" 0s; done
done
run_cullerd 10 100ms

if [[ -n "${JUPYTERHUB_IDLE_CULLER_SRC:-}" ]]; then
  echo
  echo "## jupyterhub-idle-culler cull_idle() (api_page_size=$PAGE, inactive_limit=3600, concurrency=10)"
  echo "$(git -C "$JUPYTERHUB_IDLE_CULLER_SRC" log -1 --format='%h %cs' 2>/dev/null || true) $("$PYTHON" --version)"
  cat >"$WORK/ref.py" <<'PY'
import asyncio, logging, os, resource, sys, time
from jupyterhub_idle_culler import cull_idle
log = logging.getLogger("reference")
log.setLevel(logging.WARNING)
t0 = time.perf_counter()
asyncio.run(cull_idle(url=os.environ["JUPYTERHUB_API_URL"], api_token=os.environ["JUPYTERHUB_API_TOKEN"],
                      inactive_limit=3600, logger=log, api_page_size=int(sys.argv[2]), concurrency=10))
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"idle-each={sys.argv[1]} stop-delay={sys.argv[3]}: {dt:.2f} s pass, {rss} KiB max RSS")
PY
  run_ref() { # $1: idle-each, $2: stop delay
    start_hub "$1" "$2"
    PYTHONPATH="$JUPYTERHUB_IDLE_CULLER_SRC" "$PYTHON" "$WORK/ref.py" "$1" "$PAGE" "$2"
    stop_hub
  }
  for idle in 0 10; do
    for _ in $(seq "$COUNT"); do run_ref "$idle" 0s; done
  done
  run_ref 10 100ms
fi
