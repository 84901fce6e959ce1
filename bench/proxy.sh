#!/usr/bin/env bash
# The hub's in-process proxy (internal/hub/proxy) against
# configurable-http-proxy (CHP) and a direct connection to the same
# backend, side by side in one run (issue 8, part 1). Results and the
# machine they were measured on: bench/README.md ("Proxy").
#
# One Go backend (12-byte and 1 MiB responses, a websocket echo), the
# hubkit proxy and CHP, all on loopback, each proxy with 1, 1,000 and
# 10,000 routes /user/u-{i}/ to that backend. wrk (Debian's) drives
# GET /user/u-{i}/small or /big, spreading requests over all the routes,
# at concurrency 1, 10 and 50; the three targets run one after the other
# in an order that rotates every round, so that the noise of a shared
# machine falls on all of them. Then websocket round trips per second
# (a Go client, 10 connections, 100-byte messages) and memory: resident
# set after loading the routes, peak after the load, and with 1,000
# websockets open.
#
#   bench/proxy.sh                           # 3 rounds of 5 s per cell
#   ROUNDS=5 DURATION=10s bench/proxy.sh
#   ROUTES="1 10000" CONCS="10 50" SIZES=small bench/proxy.sh
#   TARGETS="direct hubkit chp hubkit-handler stock" bench/proxy.sh
#       + the Proxy as a plain http.Handler in net/http's server, and a
#         stock httputil.ReverseProxy (issue 8's reference point)
#   PIN=1 bench/proxy.sh
#       each proxy on a core of its own (taskset -c 1), wrk, the backend
#       and the websocket client on the other (taskset -c 0), and the
#       backend answering plain GETs without net/http's server (LEAN=1,
#       the default with PIN=1), so that the load side does not run out
#       of its core before the proxy does. Needs 2 cores or more.
#
# Needs: go, wrk (apt-get install -y wrk), node + npm (CHP is installed by
# hack/install-chp.sh into ~/.cache/hubkit). Bounded: every load run stops
# by itself after DURATION; everything started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5s}"
WS_DURATION="${WS_DURATION:-3s}"
ROUTES="${ROUTES:-1 1000 10000}"
CONCS="${CONCS:-1 10 50}"
SIZES="${SIZES:-small big}"
WS_HOLD="${WS_HOLD:-1000}"
CHP_VERSION="${CHP_VERSION:-5.3.0}"
TARGETS="${TARGETS:-direct hubkit chp}"
PIN="${PIN:-0}"
LEAN="${LEAN:-$PIN}"
LOAD_CPU=() PROXY_CPU=() BACKEND_ARGS=()
if [[ "$PIN" == 1 ]]; then
  LOAD_CPU=(taskset -c 0) PROXY_CPU=(taskset -c 1)
fi
[[ "$LEAN" == 1 ]] && BACKEND_ARGS=(-lean)
BASE_PORT="${BASE_PORT:-19100}"
BACKEND_PORT=$BASE_PORT HUBKIT_PORT=$((BASE_PORT + 1)) CHP_PORT=$((BASE_PORT + 2)) CHP_API_PORT=$((BASE_PORT + 3)) HANDLER_PORT=$((BASE_PORT + 4)) STOCK_PORT=$((BASE_PORT + 5))
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
  echo "proxy.sh: wrk is missing: apt-get install -y wrk" >&2
  exit 1
fi
CHP="$(CHP_VERSION="$CHP_VERSION" hack/install-chp.sh)"
go build -o "$WORK/proxybench" ./bench/cmd/proxybench
PB="$WORK/proxybench"

echo "## machine"
echo "$(date -u +%Y-%m-%dT%H:%MZ); $(go version | cut -d' ' -f3-); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(free -g | awk '/Mem:/ {print $2 " GiB"}'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); node $(node --version); configurable-http-proxy $("$CHP" --version)"
echo "rounds=$ROUNDS duration=$DURATION routes='$ROUTES' concurrency='$CONCS' sizes='$SIZES' pin=$PIN lean-backend=$LEAN; raw results in $OUT"
echo

wait_http() { # $1: port
  for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.05
  done
  echo "proxy.sh: nothing answers on port $1" >&2
  exit 1
}
rss() { # $1: pid → "rss_kib peak_kib"
  awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {print r, h}' "/proc/$1/status"
}

cat >"$WORK/routes.lua" <<'LUA'
-- GET /user/u-{i}{suffix}, i spread over all routes.
local n = tonumber(os.getenv("BENCH_ROUTES") or "1")
local suffix = os.getenv("BENCH_SUFFIX") or "/small"
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/user/u-" .. ((counter * 7919) % n) .. suffix)
end
LUA

port_of() {
  case "$1" in direct) echo "$BACKEND_PORT" ;; hubkit) echo "$HUBKIT_PORT" ;; chp) echo "$CHP_PORT" ;; hubkit-handler) echo "$HANDLER_PORT" ;; stock) echo "$STOCK_PORT" ;; esac
}

run_wrk() { # target size conc routes round duration
  local threads=2
  [[ "$3" == 1 ]] && threads=1
  local suffix=/small
  [[ "$2" == big ]] && suffix=/big
  BENCH_ROUTES="$4" BENCH_SUFFIX="$suffix" "${LOAD_CPU[@]}" wrk -t"$threads" -c"$3" -d"$6" --timeout 10s --latency \
    -s "$WORK/routes.lua" "http://127.0.0.1:$(port_of "$1")" >"$WORK/wrk.out" 2>&1 || true
  "$PB" parse-wrk -label "$1 $2 $3 $4 $5" <"$WORK/wrk.out"
}

"${LOAD_CPU[@]}" "$PB" backend "${BACKEND_ARGS[@]}" -addr "127.0.0.1:$BACKEND_PORT" 2>"$OUT/backend.log" &
BACKEND_PID=$!
PIDS+=("$BACKEND_PID")
wait_http "$BACKEND_PORT"

: >"$OUT/results.tsv"
: >"$OUT/ws.tsv"
: >"$OUT/memory.tsv"
for n in $ROUTES; do
  "${PROXY_CPU[@]}" "$PB" hubkit -addr "127.0.0.1:$HUBKIT_PORT" -target "http://127.0.0.1:$BACKEND_PORT" -routes "$n" 2>"$OUT/hubkit-$n.log" &
  HUBKIT_PID=$!
  PIDS+=("$HUBKIT_PID")
  CONFIGPROXY_AUTH_TOKEN=bench "${PROXY_CPU[@]}" "$CHP" --ip 127.0.0.1 --port "$CHP_PORT" --api-ip 127.0.0.1 --api-port "$CHP_API_PORT" \
    --log-level warn >"$OUT/chp-$n.log" 2>&1 &
  CHP_PID=$!
  PIDS+=("$CHP_PID")
  HANDLER_PID=""
  if [[ " $TARGETS " == *" hubkit-handler "* ]]; then
    "${PROXY_CPU[@]}" "$PB" hubkit -front handler -addr "127.0.0.1:$HANDLER_PORT" -target "http://127.0.0.1:$BACKEND_PORT" -routes "$n" 2>"$OUT/handler-$n.log" &
    HANDLER_PID=$!
    PIDS+=("$HANDLER_PID")
    wait_http "$HANDLER_PORT"
  fi
  if [[ " $TARGETS " == *" stock "* ]]; then
    "${PROXY_CPU[@]}" "$PB" stock -addr "127.0.0.1:$STOCK_PORT" -target "http://127.0.0.1:$BACKEND_PORT" 2>"$OUT/stock-$n.log" &
    HANDLER_PID="$HANDLER_PID $!"
    PIDS+=("$!")
    wait_http "$STOCK_PORT"
  fi
  wait_http "$HUBKIT_PORT"
  wait_http "$CHP_PORT"
  start=$(date +%s.%N)
  CONFIGPROXY_AUTH_TOKEN=bench "$PB" chp-routes -api "http://127.0.0.1:$CHP_API_PORT" -target "http://127.0.0.1:$BACKEND_PORT" -routes "$n"
  echo "routes=$n: CHP took $(echo "$(date +%s.%N) - $start" | bc) s to accept $n routes through its API"
  echo -e "hubkit\t$n\tloaded\t$(rss "$HUBKIT_PID" | tr ' ' '\t')" >>"$OUT/memory.tsv"
  echo -e "chp\t$n\tloaded\t$(rss "$CHP_PID" | tr ' ' '\t')" >>"$OUT/memory.tsv"

  read -r -a targets <<<"$TARGETS"
  nt=${#targets[@]}
  for t in "${targets[@]}"; do run_wrk "$t" small 10 "$n" 0 1s >/dev/null; done # warm-up
  for round in $(seq "$ROUNDS"); do
    for size in $SIZES; do
      for c in $CONCS; do
        for i in $(seq 0 $((nt - 1))); do
          t="${targets[$(((i + round) % nt))]}"
          run_wrk "$t" "$size" "$c" "$n" "$round" "$DURATION" | tee -a "$OUT/results.tsv"
        done
      done
    done
  done
  echo -e "hubkit\t$n\tafter-load\t$(rss "$HUBKIT_PID" | tr ' ' '\t')" >>"$OUT/memory.tsv"
  echo -e "chp\t$n\tafter-load\t$(rss "$CHP_PID" | tr ' ' '\t')" >>"$OUT/memory.tsv"

  for round in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((nt - 1))); do
      t="${targets[$(((i + round) % nt))]}"
      r=$("${LOAD_CPU[@]}" "$PB" ws -url "ws://127.0.0.1:$(port_of "$t")/user/u-$((n - 1))/ws" -conns 10 -size 100 -duration "$WS_DURATION")
      echo -e "$t\t$n\t$round\t$r" | tee -a "$OUT/ws.tsv"
    done
  done

  if [[ "$WS_HOLD" -gt 0 && "$n" == "$(echo "$ROUTES" | awk '{print $1}')" ]]; then
    for t in hubkit chp; do
      pid=$HUBKIT_PID
      [[ "$t" == chp ]] && pid=$CHP_PID
      before=$(rss "$pid" | cut -d' ' -f1)
      mkfifo "$WORK/hold"
      "${LOAD_CPU[@]}" "$PB" ws-hold -url "ws://127.0.0.1:$(port_of "$t")/user/u-0/ws" -conns "$WS_HOLD" <"$WORK/hold" >"$WORK/hold.out" &
      HOLD_PID=$!
      exec 3>"$WORK/hold"
      for _ in $(seq 600); do grep -q ready "$WORK/hold.out" 2>/dev/null && break; sleep 0.1; done
      after=$(rss "$pid" | cut -d' ' -f1)
      echo -e "$t\t$n\t${WS_HOLD}-websockets\t$after\t$before" >>"$OUT/memory.tsv"
      exec 3>&-
      wait "$HOLD_PID" || true
      rm -f "$WORK/hold"
    done
  fi

  kill "$HUBKIT_PID" "$CHP_PID" $HANDLER_PID
  wait "$HUBKIT_PID" "$CHP_PID" $HANDLER_PID 2>/dev/null || true
done

echo
echo "## HTTP: medians of $ROUNDS rounds (min–max), wrk --latency"
"$PB" summarize <"$OUT/results.tsv"
echo
echo "## websocket round trips/s (10 connections, 100-byte messages; per round)"
echo "target routes round msgs/s failed"
cat "$OUT/ws.tsv"
echo
echo "## memory (KiB): target routes when RSS peak | RSS-with-websockets RSS-before"
cat "$OUT/memory.tsv"
