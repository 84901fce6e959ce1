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
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.6.8}"
CACHE_ROOT="${HUBKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hubkit}"
OUT="$CACHE_ROOT/envtest/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION"

log() { echo "envtest: $*" >&2; }

if [[ -x "$OUT/kube-apiserver" && -x "$OUT/etcd" ]]; then
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

build_apiserver() {
  [[ -x "$OUT/kube-apiserver" ]] && return 0
  log "building kube-apiserver v$KUBE_VERSION (about 10 minutes on 2 cores)"
  local d="$WORK/kube"
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
  cat >"$d/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  (cd "$d" && go mod tidy)
  (cd "$d" && go build -trimpath -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver) && mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
}

build_etcd
build_apiserver
log "binaries in $OUT"
echo "$OUT"
