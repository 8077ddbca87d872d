#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The main job: installs what is needed (Debian 12, as root), builds
# tokenwatch, and runs the demo: a private pcscd with virtual readers and
# virtual cards, tokenwatchd on a private bus, and tokenwatchctl showing the
# status and the live events as cards are inserted and removed.
#
# usage: scripts/demo.sh [BUILDDIR]   (default: build-demo)

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$top/build-demo}

"$top/scripts/install-deps.sh"
if [[ ! -f $build/build.ninja ]]; then
    meson setup "$build" "$top"
fi
meson compile -C "$build"
exec /usr/bin/python3 "$top/scripts/demo.py" "$build"
