#!/usr/bin/env bash
# Builds kwok (Kubernetes WithOut Kubelet: fake nodes and pods driven by
# Stage configurations) from the Go module proxy and caches it outside the
# repository, keyed by version. Prints the path of the binary.
# bench/spawn-scale.sh uses it; the tests do not.
#
#   hack/kwok.sh               build if missing, print the binary's path
#   KWOK_VERSION=0.8.0 hack/kwok.sh
set -euo pipefail

KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
CACHE_ROOT="${HUBKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hubkit}"
OUT="$CACHE_ROOT/kwok/v$KWOK_VERSION"

if [[ -x "$OUT/kwok" ]]; then
  echo "$OUT/kwok"
  exit 0
fi

echo "kwok: building sigs.k8s.io/kwok/cmd/kwok v$KWOK_VERSION (a few minutes on 2 cores)" >&2
mkdir -p "$OUT"
# Outside any module: go install pkg@version resolves kwok's own go.mod.
cd "$OUT"
GOWORK=off CGO_ENABLED=0 GOBIN="$OUT" go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
echo "$OUT/kwok"
