#!/usr/bin/env bash
# spawner/kube at scale on a simulated cluster (results: bench/README.md,
# "Spawner at scale"): envtest's kube-apiserver and etcd, the real
# kube-scheduler placing the pods on 20 fake nodes, and kwok playing the
# kubelets. The engine is bench/cmd/spawnscale:
#
# - 100, 1,000 and 5,000 servers started at once through one kube.Spawner
#   under a concurrent-spawn limit of 64 (z2jh's default), each with z2jh's
#   default singleuser settings (a dynamic 10Gi claim, a token Secret, a
#   pod): time to all ready, the hub's API requests per spawn by verb, CPU
#   of the hub and of each cluster component;
# - the hub idle for 60 s with 100 and with 5,000 servers running: its
#   CPU, API requests, heap and resident memory.
#
# Default: 3 rounds of 100 and of 1,000, one of 5,000; about 6 minutes on 2
# cores. FULL=1: 5 rounds of 100 and 1,000, 3 of 5,000 (about 15 minutes).
# Those two keep their summary and raw figures in
# bench/results/spawn-scale[-full].{md,tsv}; runs with other flags leave
# theirs in $OUT (with the components' logs).
#
#   bench/spawn-scale.sh
#   FULL=1 bench/spawn-scale.sh
#   PPROF=1 bench/spawn-scale.sh            # + the hub's CPU profile of the first 1,000 round in $OUT
#   bench/spawn-scale.sh -sizes 1000:1 -idle-sizes '' -scheduler-qps 50 -scheduler-burst 100
#
# Builds, once, kube-scheduler beside the envtest binaries
# (hack/envtest.sh --with-scheduler) and kwok v0.8.0 (hack/kwok.sh), both
# from the Go module proxy. Everything started is stopped on exit; the run
# is bounded by spawnscale's -timeout and by timeout(1).
set -euo pipefail
cd "$(dirname "$0")/.."

ASSETS="$(hack/envtest.sh --with-scheduler)"
KWOK="$(hack/kwok.sh)"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
go build -o "$WORK/spawnscale" ./bench/cmd/spawnscale

name=spawn-scale
args=(-sizes 100:3,1000:3,5000:1 -idle 60s -idle-sizes 100,5000 -timeout 25m)
if [[ -n "${FULL:-}" ]]; then
  name=spawn-scale-full
  args=(-sizes 100:5,1000:5,5000:3 -idle 60s -idle-sizes 100,1000,5000 -timeout 50m)
fi
if [[ -n "${PPROF:-}" ]]; then
  args+=(-cpuprofile-size 1000)
fi
cmd="${FULL:+FULL=1 }${PPROF:+PPROF=1 }bench/spawn-scale.sh"
for a in "$@"; do cmd+=" $(printf '%q' "$a")"; done

# timeout(1) leads a process group of its own: spawnscale and everything it
# starts. An interrupt is passed on to spawnscale, which stops what it
# started; whatever is left after it exits (if it was killed outright) is
# killed with the group.
KUBEBUILDER_ASSETS="$ASSETS" timeout --kill-after=2m 60m \
  "$WORK/spawnscale" -kwok "$KWOK" -out "$OUT" -command "$cmd" "${args[@]}" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
rc=0
wait "$pid" || rc=$?
while kill -0 "$pid" 2>/dev/null; do
  rc=0
  wait "$pid" || rc=$?
done
trap - INT TERM
kill -KILL -- "-$pid" 2>/dev/null || true
if [[ $rc -ne 0 ]]; then
  echo "spawn-scale.sh: spawnscale failed (exit $rc); logs in $OUT" >&2
  exit "$rc"
fi

if [[ $# -eq 0 && -z "${PPROF:-}" ]]; then
  mkdir -p bench/results
  cp "$OUT/spawn-scale.md" "bench/results/$name.md"
  cp "$OUT/spawn-scale.tsv" "bench/results/$name.tsv"
  echo "spawn-scale.sh: results in bench/results/$name.{md,tsv}; logs in $OUT" >&2
else
  echo "spawn-scale.sh: results and logs in $OUT" >&2
fi
