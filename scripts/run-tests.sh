#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The tests: installs what is needed (Debian 12, as root), then builds
# tokenwatch and runs the whole suite three ways, then fuzzes a little:
#   1. warnings as errors (build-ci): every test but the integration tests,
#      which run on this build in pass 3 (with --quick: every test);
#   2. AddressSanitizer + UndefinedBehaviorSanitizer (build-ci-asan): every
#      test, natively (the timing checks of the integration tests included);
#   3. valgrind memcheck (build-ci): the unit tests under valgrind, and the
#      integration tests with tokenwatchd (and tokenwatch-agent) under valgrind.
# So every integration test runs twice, once per build, within the suite's
# 10-minute budget on 2 cores.
#   4. libFuzzer (build-ci-fuzz, clang, ASan+UBSan): each fuzz target of
#      tests/fuzz for 15 s (the seeds also run in passes 1 to 3).
#   5. the Debian packages (build-ci, suite packaging): built from the
#      working tree with dpkg-buildpackage, installed with apt in a
#      throw-away Debian 12 root (debootstrap, cached in
#      /var/cache/tokenwatch-test), the service started there
#      (tests/packaging/test-debs.sh).
# A test that is skipped counts as failed: nothing is silently left out.
# Ends with the line "N passed, N failed".
#
# usage: scripts/run-tests.sh [--quick]   (--quick: pass 1 only)

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
quick=0
[[ ${1:-} == --quick ]] && quick=1

"$top/scripts/install-deps.sh"

setup() { # builddir, meson options...
    local dir=$1
    shift
    if [[ -f $dir/build.ninja ]]; then
        meson setup --reconfigure "$dir" "$top" "$@" >/dev/null
    else
        meson setup "$dir" "$top" "$@" >/dev/null
    fi
    meson compile -C "$dir"
}

logs=()
run() { # builddir, logbase, meson test options...
    local dir=$1 base=$2
    shift 2
    echo "=== meson test -C $dir --logbase $base $*"
    meson test -C "$dir" --logbase "$base" --print-errorlogs "$@" || true
    # meson adds the setup or wrapper name: BASE.json or BASE-NAME.json
    logs+=("$dir/meson-logs/$base")
}

setup "$top/build-ci" -Dwerror=true
# the integration tests mostly wait for cards, buses and sockets: three at a
# time keep two cores busy (the valgrind pass is CPU-bound and keeps two)
if [[ $quick -eq 1 ]]; then
    run "$top/build-ci" pass1-werror --num-processes 3 --no-suite packaging
else
    run "$top/build-ci" pass1-werror --num-processes 3 --no-suite integration \
        --no-suite packaging
fi

if [[ $quick -eq 0 ]]; then
    setup "$top/build-ci-asan" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dintrospection=disabled
    ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=1 \
    LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run "$top/build-ci-asan" pass2-asan --num-processes 3 --no-suite packaging

    # pass 5 (the Debian packages) runs beside pass 3: that one waits on
    # valgrind, this one on dpkg and apt; the machine's two cores were half
    # idle in the passes before (10m44 of CPU in 8m42)
    pkg_out=$top/build-ci/meson-logs/pass5-packaging.out
    mkdir -p "$top/build-ci/meson-logs"
    meson test -C "$top/build-ci" --no-rebuild --logbase pass5-packaging --print-errorlogs \
        --suite packaging >"$pkg_out" 2>&1 &
    pkg_pid=$!

    run "$top/build-ci" pass3-valgrind-unit --suite unit --suite client-lib --suite cli \
        --wrapper "valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --suppressions=$top/tests/valgrind.supp"
    run "$top/build-ci" pass3-valgrind-integration --setup valgrind --suite integration \
        --num-processes 3

    # libFuzzer (clang, ASan+UBSan, -Dfuzzing=true): each fuzz target for
    # 15 s from its seeds, all four at once (15 s of the budget, not 30);
    # docs/fuzzing.md. Also: the whole project builds with clang's warnings
    # as errors.
    CC=clang setup "$top/build-ci-fuzz" -Dfuzzing=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dintrospection=disabled -Dwerror=true
    run "$top/build-ci-fuzz" pass4-fuzz --suite fuzz --num-processes 4

    echo "=== meson test -C $top/build-ci --logbase pass5-packaging --suite packaging (beside pass 3)"
    wait "$pkg_pid" || true
    cat "$pkg_out"
    logs+=("$top/build-ci/meson-logs/pass5-packaging")
fi

/usr/bin/python3 - "${logs[@]}" <<'PY'
import glob, json, sys
passed = failed = 0
for base in sys.argv[1:]:
    p = f = 0
    found = glob.glob(base + ".json") + glob.glob(base + "-*.json")
    if len(found) != 1:
        print("%s: expected one test log, found %s" % (base, found or "none"))
        failed += 1
        continue
    path = found[0]
    lines = open(path).read().splitlines()
    for line in lines:
        t = json.loads(line)
        if t["result"] == "OK":
            p += 1
        else:
            f += 1
            print("  %s: %s %s" % (path.rsplit("/", 1)[-1], t["result"], t["name"]))
    print("%s: %d passed, %d failed" % (path, p, f))
    passed += p
    failed += f
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or not passed else 0)
PY
