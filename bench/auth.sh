#!/usr/bin/env bash
# Authenticator benchmarks: session-cookie verifications per second (no
# I/O), and OAuth login callbacks per second against the real OpenID
# provider (npm's oidc-provider on loopback), with the provider's own time
# measured apart from hubkit's. Prints the benchmark lines and keeps them in
# bench/results/auth.txt. Usage: bench/auth.sh [count] [callbacks per run]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-3}"
callbacks="${2:-300}"
hack/install-oidc-provider.sh >/dev/null
mkdir -p bench/results
{
  go test -run '^$' -bench 'BenchmarkSession|BenchmarkGateProtect' -benchtime=2s -count="$count" ./authenticator/
  go test -run '^$' -bench 'BenchmarkLoginCallback' -benchtime="${callbacks}x" -count="$count" ./authenticator/oidc/
} 2>/dev/null | grep -E '^(Benchmark|goos|goarch|cpu|pkg)' | tee bench/results/auth.txt
