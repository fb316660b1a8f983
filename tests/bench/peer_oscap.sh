#!/usr/bin/env bash
# Peer figure: the cis rules that have a ComplianceAsCode id, evaluated on this live host by `plumb audit` and by
# OpenSCAP (`oscap oval eval` of the same rules' OVAL definitions from SSG's RHEL 9 content), each as whole
# processes, in the same run. Prints median wall time and peak RSS of each and the ratio.
#
#   tests/bench/peer_oscap.sh [BUILD_DIR] [RUNS]
#
# Needs openscap-scanner and ssg-nondebian (installed here with apt-get when missing; not part of CI).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$here/build-rel}
runs=${2:-20}
oval=/usr/share/xml/scap/ssg/content/ssg-rhel9-oval.xml
if ! command -v oscap >/dev/null || [ ! -f "$oval" ]; then
  apt-get install -y -qq openscap-scanner ssg-nondebian >/dev/null
fi

# Rules of the shipped cis baseline with an SSG id that SSG's OVAL content defines.
mapfile -t pairs < <(PLUMB_DEVELOPMENT=1 "$build/bin/plumb" rules --format json | /usr/bin/python3 -c '
import json, sys
oval = open(sys.argv[1]).read()
for r in json.load(sys.stdin)["rules"]:
    ssg = r["references"].get("ssg")
    if ssg and ("id=\"oval:ssg-%s:def:1\"" % ssg) in oval:
        print(r["id"], ssg)
' "$oval")
plumb_args=(audit --format json)
oscap_args=(oval eval)
for p in "${pairs[@]}"; do
  plumb_args+=(--rule "${p%% *}")
  oscap_args+=(--id "oval:ssg-${p##* }:def:1")
done
oscap_args+=("$oval")
echo "rules compared: ${#pairs[@]}"

# Median wall time and peak RSS over $runs whole-process runs (os.wait4 gives each child's rusage).
measure() {  # measure NAME CMD...
  /usr/bin/python3 - "$runs" "$@" <<'PY'
import os, subprocess, sys, time
runs, name, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
times, rss = [], 0
for _ in range(runs + 1):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    times.append((time.perf_counter() - t0) * 1000)
    rss = max(rss, ru.ru_maxrss)
times = sorted(times[1:])  # the first run warms the page cache
print(f"{name} runs={runs} median_wall_ms={times[len(times) // 2]:.2f} min_wall_ms={times[0]:.2f} peak_rss_mb={rss / 1024:.1f}")
PY
}

PLUMB_DEVELOPMENT=1 measure plumb "$build/bin/plumb" "${plumb_args[@]}" | tee /tmp/peer_plumb.txt
measure oscap oscap "${oscap_args[@]}" | tee /tmp/peer_oscap.txt
/usr/bin/python3 - <<'PY'
import re
get = lambda f: float(re.search(r"median_wall_ms=([0-9.]+)", open(f).read()).group(1))
print(f"ratio oscap/plumb (median wall) = {get('/tmp/peer_oscap.txt') / get('/tmp/peer_plumb.txt'):.1f}x")
PY
