#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# usage: journald-wrap.sh DIR COMMAND...
#
# Runs COMMAND in a mount namespace of its own, with a journald of its own:
# a tmpfs on /run there, systemd-journald started on it (it makes its
# sockets in /run/systemd/journal and keeps a runtime journal in
# /run/log/journal, which is DIR/log here, so that the test reads it with
# journalctl -D), and COMMAND's stdout and stderr a journal stream
# (systemd-cat), as under systemd. journald's pid goes to DIR/journald.pid:
# it outlives COMMAND, the test stops it.
set -euo pipefail
dir=$1
shift
mkdir -p "$dir/log"
exec unshare --mount --propagation private /bin/bash -euo pipefail -c '
dir=$1
shift
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/log/journal /run/systemd/journal
mount --bind "$dir/log" /run/log/journal
# (not its READY=1 on our NOTIFY_SOCKET)
env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID /lib/systemd/systemd-journald </dev/null >"$dir/journald.out" 2>&1 &
echo $! >"$dir/journald.pid"
for _ in $(seq 100); do
    [[ -S /run/systemd/journal/stdout ]] && break
    sleep 0.05
done
[[ -S /run/systemd/journal/stdout ]] || { echo "journald did not start" >&2; exit 1; }
exec systemd-cat --identifier=tokenwatchd -- "$@"
' journald-wrap "$dir" "$@"
