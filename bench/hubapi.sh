#!/usr/bin/env bash
# The hub's REST API and start-up against the real JupyterHub 3.0 (Debian's
# package, SQLite), side by side in one run, with the same users
# (results: bench/README.md, "Hub API"). The engine is bench/cmd/hubbench:
#
# - GET /hub/api/users, every page of 200 (paginated), over 10,000 users;
# - POST /hub/api/users/{name}/activity with the admin service's token and
#   GET /hub/api/user with users' own tokens, at concurrency 10 and 50
#   (wrk, Debian's);
# - start-up with 1,000 and 10,000 users (FULL=1: and 50,000) in the
#   database: process start to hubkit's /hub/health 200, to JupyterHub's
#   /hub/api/ 200.
#
# hubkit is the example hub (examples/hub) with a values.yaml; JupyterHub
# runs with its dummy authenticator and configurable-http-proxy
# (hack/install-chp.sh). Each peer's database is filled the fast way that
# is still its own: hubkit's through its store, JupyterHub's through its
# ORM (bench/hubapi-jupyterhub.py). Rounds alternate the peers. Default:
# 3 rounds of 5 s, about 3 minutes on 2 cores; FULL=1: 5 rounds of 10 s
# and 50,000 users, about 10 minutes. Those two runs keep their Markdown
# summary and raw figures in bench/results/hubapi[-full].{md,tsv}; runs
# with other flags leave theirs in $OUT.
#
#   bench/hubapi.sh
#   FULL=1 bench/hubapi.sh
#   PPROF=1 bench/hubapi.sh -parts walk,self   # + CPU profiles of hubkit in $OUT/pprof
#   bench/hubapi.sh -rounds 5 -concs 10,50,100 # any other hubbench flag
#
# With PPROF=1 hubkit runs as `hubbench serve-hubkit` (the example hub's
# default blocks, assembled in the benchmark, with a profile control).
# Needs: go, Debian's jupyterhub (hack/install-jupyterhub.sh), node + npm
# for configurable-http-proxy, wrk (apt-get install -y wrk; without it the
# load comes from Go's HTTP client). Everything started is stopped on exit;
# every load run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [[ ! -x /usr/bin/jupyterhub ]] || ! /usr/bin/python3 -c 'import jupyterhub' 2>/dev/null; then
  echo "hubapi.sh: Debian's jupyterhub is missing: hack/install-jupyterhub.sh" >&2
  exit 1
fi
CHP="$(hack/install-chp.sh)"
go build -o "$WORK/hubbench" ./bench/cmd/hubbench
go build -o "$WORK/hub" ./examples/hub

args=(-hubkit-bin "$WORK/hub" -chp "$CHP" -out "$OUT")
name=hubapi
if [[ "${FULL:-0}" == 1 ]]; then
  args+=(-full)
  name=hubapi-full
fi
[[ "${PPROF:-0}" == 1 ]] && args+=(-pprof)

cmd="bench/hubapi.sh $*"
[[ "${FULL:-0}" == 1 ]] && cmd="FULL=1 $cmd"
[[ "${PPROF:-0}" == 1 ]] && cmd="PPROF=1 $cmd"
HUBBENCH_COMMAND="${cmd% }" "$WORK/hubbench" "${args[@]}" "$@" | tee "$OUT/summary.md"
# Only the standard runs replace the recorded results.
if [[ $# -eq 0 && "${PPROF:-0}" != 1 ]]; then
  mkdir -p bench/results
  cp "$OUT/summary.md" "bench/results/$name.md"
  cp "$OUT/results.tsv" "bench/results/$name.tsv"
  echo "hubapi.sh: bench/results/$name.md and $name.tsv; logs in $OUT/logs" >&2
else
  echo "hubapi.sh: results in $OUT (summary.md, results.tsv, logs/, pprof/)" >&2
fi
