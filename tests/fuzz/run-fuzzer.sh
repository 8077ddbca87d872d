#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs one libFuzzer target for a while, from a copy of its seed corpus:
#
#   run-fuzzer.sh FUZZER SEED_DIR SECONDS [LIBFUZZER_OPTION...]
#
# The seeds are copied into a private directory (on /dev/shm when it is
# writable: the store target writes and syncs a record per input), which
# also serves as the targets' $TMPDIR and is removed at the end: the
# checkout never changes. Leaks are findings (-detect_leaks=1). Exits with
# libFuzzer's status: 0 when the time ran out with nothing found.
# TW_FUZZ_KEEP_CORPUS=DIR: copy the corpus grown by the run there.
# Used by the 'fuzz' suite (15 s) and by run-long.sh (docs/fuzzing.md).

set -euo pipefail

fuzzer=$(realpath "${1:?usage: run-fuzzer.sh FUZZER SEED_DIR SECONDS [OPTION...]}")
seeds=${2:?seed directory}
seconds=${3:?seconds}
shift 3

base=/dev/shm
[[ -d $base && -w $base ]] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/tw-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/tmp"
cp "$seeds"/* "$work/corpus/"

# a finding is written where -artifact_prefix says (meson: the build
# directory), else as crash-*, leak-*, timeout-* or oom-* in the current
# directory; make the prefix's directory
for arg in "$@"; do
    if [[ $arg == -artifact_prefix=*/* ]]; then
        prefix=${arg#-artifact_prefix=}
        mkdir -p "${prefix%/*}"
    fi
done

export TMPDIR=$work/tmp
export G_SLICE=always-malloc
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -detect_leaks=1 \
    -print_final_stats=1 "$@" "$work/corpus" || status=$?
# run-long.sh keeps the corpus the run grew (in the build directory)
if [[ -n ${TW_FUZZ_KEEP_CORPUS:-} ]]; then
    mkdir -p "$TW_FUZZ_KEEP_CORPUS"
    cp "$work/corpus"/* "$TW_FUZZ_KEEP_CORPUS/"
fi
exit $status
