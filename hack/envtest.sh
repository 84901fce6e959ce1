#!/usr/bin/env bash
# Builds the envtest binaries (kube-apiserver, etcd) from the Go module proxy
# and caches them outside the repository, keyed by version. Prints the
# directory to use as KUBEBUILDER_ASSETS.
#
# setup-envtest downloads prebuilt binaries; this script builds them from
# source instead, so it works wherever the Go module proxy is reachable.
#
#   hack/envtest.sh            build if missing, print the directory
#   KUBE_VERSION=1.37.2 ETCD_VERSION=3.6.8 hack/envtest.sh
#   hack/envtest.sh --with-scheduler
#                              also kube-scheduler of the same release, from
#                              the same module, into the same directory (for
#                              bench/spawn-scale.sh; the tests do not need it)
set -euo pipefail

WITH_SCHEDULER=0
for arg in "$@"; do
  case "$arg" in
    --with-scheduler) WITH_SCHEDULER=1 ;;
    *) echo "envtest: unknown argument $arg (usage: hack/envtest.sh [--with-scheduler])" >&2; exit 2 ;;
  esac
done

KUBE_VERSION="${KUBE_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.6.8}"
CACHE_ROOT="${HUBKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hubkit}"
OUT="$CACHE_ROOT/envtest/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION"

log() { echo "envtest: $*" >&2; }

if [[ -x "$OUT/kube-apiserver" && -x "$OUT/etcd" ]] && { [[ $WITH_SCHEDULER == 0 ]] || [[ -x "$OUT/kube-scheduler" ]]; }; then
  echo "$OUT"
  exit 0
fi

mkdir -p "$OUT"
WORK="$(mktemp -d "$CACHE_ROOT/envtest-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

build_etcd() {
  [[ -x "$OUT/etcd" ]] && return 0
  log "building etcd v$ETCD_VERSION (about a minute)"
  local d="$WORK/etcd"
  mkdir -p "$d"
  cat >"$d/go.mod" <<MOD
module hubkit.local/envtest-etcd

go 1.26

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v$ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 v$ETCD_VERSION
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 v$ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 v$ETCD_VERSION
)
MOD
  cat >"$d/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  (cd "$d" && go mod tidy >/dev/null 2>&1 || go mod tidy)
  (cd "$d" && go build -trimpath -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3) && mv "$OUT/etcd.tmp" "$OUT/etcd"
}

# kube_module writes, once, into $WORK/kube a module that requires
# k8s.io/kubernetes with kubernetes' staging replaces turned into releases.
# kube-apiserver (and, with --with-scheduler, kube-scheduler) build from it.
kube_module() {
  local d="$WORK/kube"
  if [[ ! -f "$d/go.mod" ]]; then
    mkdir -p "$d"
    # Read kubernetes' own go.mod and turn each staging replace into the
    # matching v0.X.Y release of that module.
    local gomod
    gomod="$(cd "$WORK" && GOFLAGS= go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    local minor="${KUBE_VERSION#*.}"
    local staging="0.$minor"
    {
      echo "module hubkit.local/envtest-kube"
      echo
      echo "go 1.26"
      echo
      echo "require k8s.io/kubernetes v$KUBE_VERSION"
      echo
      echo "replace ("
      grep -E '^\s*k8s\.io/[^ ]+ => \./staging/src/' "$gomod" | awk -v v="v$staging" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } >"$d/go.mod"
    {
      echo "//go:build tools"
      echo
      echo "package tools"
      echo
      echo 'import _ "k8s.io/kubernetes/cmd/kube-apiserver"'
      if [[ $WITH_SCHEDULER == 1 ]]; then
        echo 'import _ "k8s.io/kubernetes/cmd/kube-scheduler"'
      fi
    } >"$d/tools.go"
    (cd "$d" && go mod tidy)
  fi
}

build_apiserver() {
  [[ -x "$OUT/kube-apiserver" ]] && return 0
  log "building kube-apiserver v$KUBE_VERSION (about 10 minutes on 2 cores)"
  kube_module
  (cd "$WORK/kube" && go build -trimpath -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver) && mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
}

build_scheduler() {
  [[ -x "$OUT/kube-scheduler" ]] && return 0
  log "building kube-scheduler v$KUBE_VERSION (a few minutes on 2 cores)"
  kube_module
  (cd "$WORK/kube" && go build -trimpath -o "$OUT/kube-scheduler.tmp" k8s.io/kubernetes/cmd/kube-scheduler) && mv "$OUT/kube-scheduler.tmp" "$OUT/kube-scheduler"
}

build_etcd
build_apiserver
if [[ $WITH_SCHEDULER == 1 ]]; then
  build_scheduler
fi
log "binaries in $OUT"
echo "$OUT"
