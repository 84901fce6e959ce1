#!/usr/bin/env bash
# Concurrent spawns on envtest's real kube-apiserver with a simulated
# kubelet: N = 100 and 1,000, several rounds. Prints the benchmark lines and
# keeps them in bench/results/spawn.txt. Usage: bench/spawn.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
export KUBEBUILDER_ASSETS="$(hack/envtest.sh)"
mkdir -p bench/results
go test -run '^$' -bench 'BenchmarkSpawn' -benchtime=1x -count="$rounds" ./spawner/kube/ 2>/dev/null \
  | grep -E '^(Benchmark|goos|goarch|cpu|pkg)' | tee bench/results/spawn.txt
