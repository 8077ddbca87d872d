#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The long fuzzing run reported in docs/fuzzing.md: builds the libFuzzer
# targets if needed (clang, ASan+UBSan), then runs each for SECONDS
# (default 600), one after the other, at nice 19, from a copy of its seed
# corpus, and prints per target: executions, executions per second, the
# corpus reached, coverage (cov: edges, ft: features), peak RSS and what
# was found.
#
#   tests/fuzz/run-long.sh [SECONDS]
#
# Environment: TW_FUZZ_BUILDDIR (default: build-fuzz in the checkout),
# TW_FUZZ_TARGETS (default: "cert devices config store"). Logs, the grown
# corpora and any finding go to $TW_FUZZ_BUILDDIR/fuzz-long/; nothing in the
# checkout changes. Exits 1 if any target found something.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-600}
build=${TW_FUZZ_BUILDDIR:-$top/build-fuzz}
targets=${TW_FUZZ_TARGETS:-cert devices config store}
out=$build/fuzz-long

if [[ ! -f $build/build.ninja ]]; then
    CC=clang meson setup "$build" "$top" -Dfuzzing=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dintrospection=disabled
fi
if [[ $(meson introspect --buildoptions "$build" |
        python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "fuzzing"][0])') != True ]]; then
    echo "$build is not a fuzzing build: meson configure $build -Dfuzzing=true (with CC=clang)" >&2
    exit 2
fi
names=()
for t in $targets; do
    names+=("fuzz-$t")
done
nice -n 19 meson compile -C "$build" "${names[@]}"

mkdir -p "$out"
echo "fuzzing $seconds s per target, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -srm)"
echo "$(clang --version | head -1); logs in $out"
found=0
summary=()
for t in $targets; do
    log=$out/$t.log
    rm -rf "$out/$t-corpus" "$out/$t-artifacts"
    mkdir -p "$out/$t-artifacts"
    echo "--- $t: started $(date -u '+%H:%M:%S')"
    status=0
    TW_FUZZ_KEEP_CORPUS=$out/$t-corpus \
        nice -n 19 "$top/tests/fuzz/run-fuzzer.sh" "$build/tests/fuzz/fuzz-$t" \
        "$top/tests/fuzz/corpus/$t" "$seconds" -dict="$top/tests/fuzz/$t.dict" \
        -artifact_prefix="$out/$t-artifacts/" >"$log" 2>&1 || status=$?
    row=$(python3 - "$log" "$status" "$out/$t-artifacts" "$t" <<'PY'
import os, re, sys
log, status, artifacts, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
text = open(log, errors="replace").read()
stat = dict(re.findall(r"^stat::(\w+):\s+(\d+)", text, re.M))
last = [l for l in text.splitlines() if re.match(r"#\d+\s", l) and "cov:" in l]
m = re.search(r"cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", last[-1]) if last else None
bad = [l.strip() for l in text.splitlines()
       if re.search(r"ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|"
                    r"invariant broken|deadly signal|out-of-memory|timeout after", l)]
files = sorted(os.listdir(artifacts))
findings = "none" if status == 0 and not bad and not files else \
    "%s (exit %d; %s)" % ("; ".join(bad[:3]) or "see log", status, ", ".join(files) or "no file")
print("| %s | %s | %s | %s | %s | %s | %s MB | %s |" % (
    name, stat.get("number_of_executed_units", "?"), stat.get("average_exec_per_sec", "?"),
    "%s inputs, %s" % (m.group(3), m.group(4)) if m else "?",
    m.group(1) if m else "?", m.group(2) if m else "?", stat.get("peak_rss_mb", "?"), findings))
PY
)
    echo "$row"
    summary+=("$row")
    if [[ $status -ne 0 || $row != *"| none |" ]]; then
        found=1
    fi
done
echo
echo "| target | executions | exec/s | corpus at the end | cov | ft | peak RSS | crashes, leaks |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
exit $found
