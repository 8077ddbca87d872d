#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# verify-unit.sh [--security-threshold=N] UNIT-FILE [UNIT-NAME]
#
# Runs `systemd-analyze verify` on UNIT-FILE, installed under UNIT-NAME
# (default: its base name) in a private directory, and fails when
# systemd-analyze exits non-zero *or* prints anything about the unit:
# systemd-analyze reports unknown keys, bad values and the like on stderr
# but still exits 0.
#
# With --security-threshold=N it also runs
# `systemd-analyze security --offline=true --threshold=N` (N on the 0..100
# scale, i.e. 20 means an exposure of 2.0) and fails above it.
#
# Exit codes: 0 ok, 1 failure, 77 skipped (systemd-analyze missing, or the
# unit's ExecStart= binary not built yet), as meson and automake expect.

set -euo pipefail

threshold=
if [[ ${1:-} == --security-threshold=* ]]; then
    threshold=${1#--security-threshold=}
    shift
fi

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 [--security-threshold=N] UNIT-FILE [UNIT-NAME]" >&2
    exit 2
fi

unit=$1
name=${2:-$(basename "$unit")}

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not found"
    exit 77
fi

# systemd-analyze verify insists that ExecStart= exists; say so plainly
# instead of failing when the daemon is not part of this build (yet).
exec_start=$(sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$unit" | head -n 1)
if [[ -n $exec_start && ! -x $exec_start ]]; then
    echo "SKIP: ExecStart= binary $exec_start is not built"
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$unit" "$tmp/$name"

rc=0
SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$tmp/$name" \
    >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
cat "$tmp/stdout"
cat "$tmp/stderr" >&2

if [[ $rc -ne 0 ]]; then
    echo "FAIL: systemd-analyze verify exited with $rc" >&2
    exit 1
fi
if grep -qF -e "$name" -e "$tmp/" "$tmp/stderr"; then
    echo "FAIL: systemd-analyze verify printed warnings about $name" >&2
    exit 1
fi
echo "systemd-analyze verify: $name OK"

if [[ -n $threshold ]]; then
    rc=0
    SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=true \
        --threshold="$threshold" "$tmp/$name" >"$tmp/security" 2>&1 || rc=$?
    grep -F 'Overall exposure level' "$tmp/security" || cat "$tmp/security"
    if [[ $rc -ne 0 ]]; then
        echo "FAIL: exposure of $name is above $threshold/100 (see docs/security.md)" >&2
        exit 1
    fi
fi

exit 0
