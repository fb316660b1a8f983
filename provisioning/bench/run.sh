#!/usr/bin/env bash
# Benchmark of plumb-provision from start to Ready (loopback IMDS and wireserver that answer at once), next to
# `cloud-init --version` on this machine. Installs Debian's cloud-init with apt-get for the comparison (only here,
# never in CI). Needs root (useradd --root on the fixture roots, apt-get).
#
#   provisioning/bench/run.sh [BUILD_DIR] [RUNS]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
build="${1:-$src/build-bench}"
runs="${2:-20}"

if [ ! -x "$build/tests/plumb_bench_provision" ] || [ ! -x "$build/bin/plumb-provision" ] || [ ! -x "$build/bin/plumb" ]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target plumb-provision plumb_bench_provision plumb plumb_module_core plumb_module_journald
fi

if ! command -v cloud-init >/dev/null 2>&1; then
  echo "run.sh: installing cloud-init for the comparison" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends cloud-init >/dev/null
fi
cloud_init="$(command -v cloud-init)"

echo "== without the baseline step (the issue's start-to-Ready figure), with cloud-init --version for comparison"
PLUMB_BUILD_DIR="$build" PLUMB_SOURCE_DIR="$src" "$build/tests/plumb_bench_provision" --runs "$runs" -- "$cloud_init" --version
echo "== with the baseline step (plumb fix --baseline cis on the root)"
PLUMB_BUILD_DIR="$build" PLUMB_SOURCE_DIR="$src" "$build/tests/plumb_bench_provision" --runs "$runs" --baseline cis
