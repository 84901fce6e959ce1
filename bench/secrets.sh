#!/usr/bin/env bash
# Secret store benchmarks: put/get round trips per second against a real
# Vault dev server (secrets/vault, on a user's token) and envtest's
# kube-apiserver (secrets/kubesecret), in-memory for reference, and Vault
# provisioning time per user (policy + token record + token). Prints the
# benchmark lines and keeps them in bench/results/secrets.txt.
#
#   bench/secrets.sh [rounds] [benchtime]     default: 5 rounds of 3s
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
benchtime="${2:-3s}"
HUBKIT_VAULT="$(hack/vault.sh)"
KUBEBUILDER_ASSETS="$(hack/envtest.sh)"
export HUBKIT_VAULT KUBEBUILDER_ASSETS
mkdir -p bench/results
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), vault $("$HUBKIT_VAULT" version | cut -d' ' -f2 | tr -d ,)"
  go test -run '^$' -bench . -benchtime="$benchtime" -count="$rounds" \
    ./secrets/vault/ ./secrets/kubesecret/ ./secrets/memory/ 2>/dev/null |
    grep -E '^(Benchmark|goos|goarch|cpu|pkg)'
} | tee bench/results/secrets.txt
