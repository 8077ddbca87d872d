#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every benchmark on the test bed (builds first; Debian 12, as root).
# usage: bench/run.sh [BUILDDIR [PART...]]   (default: build-bench, an
# optimised build, and every part: see bench/tw_bench.py)
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$top/build-bench}
shift || true
"$top/scripts/install-deps.sh"
# tests stay on: the start-up bench uses tests/store/bench-store and the
# certificate fixtures
[[ -f $build/build.ninja ]] || meson setup "$build" "$top" --buildtype=release
meson compile -C "$build"
exec /usr/bin/python3 "$top/bench/tw_bench.py" "$build" --json "$build/bench-results.json" "$@"
