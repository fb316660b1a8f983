#!/usr/bin/env bash
# Developer entry point: sets up dependencies, builds, then audits this machine or runs the test suite.
#
#   packaging/dev.sh audit [plumb audit options]   build (Release) and audit this machine with the default baseline
#   packaging/dev.sh test                          build with ASan+UBSan and run the whole test suite (CTest)
#   packaging/dev.sh build                         build only (Release, in build/)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
jobs=$(nproc)

"$here/packaging/install-deps.sh"

build() {  # build <dir> <cmake args...>
  local dir=$1; shift
  cmake -S "$here" -B "$dir" -Wno-dev "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  audit)
    build build -DCMAKE_BUILD_TYPE=Release
    # The build tree is a development tree: its modules belong to whoever built them.
    exec "$here/build/bin/plumb" audit --development "$@"
    ;;
  test)
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DPLUMB_SANITIZE=ON
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    cd build-asan && exec ctest --output-on-failure -j"$jobs" --timeout 300 "$@"
    ;;
  build)
    build build -DCMAKE_BUILD_TYPE=Release
    ;;
  *)
    echo "usage: $0 audit [options] | test [ctest options] | build" >&2
    exit 1
    ;;
esac
