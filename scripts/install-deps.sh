#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs the Debian packages listed in scripts/deps-debian.txt.
#
# usage: scripts/install-deps.sh [--force]
#
# Does nothing when every listed package is already installed, unless
# --force is given. Needs root and apt-get; otherwise prints the command to
# run and exits 1.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list="$here/deps-debian.txt"
force=0

for arg in "$@"; do
    case $arg in
    --force) force=1 ;;
    -h | --help)
        sed -n '4,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        echo "install-deps.sh: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

# the package names: comments and blank lines dropped
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list")
if [[ ${#packages[@]} -eq 0 ]]; then
    echo "install-deps.sh: no packages in $list" >&2
    exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    if [[ $status != ii* ]]; then
        missing+=("$pkg")
    fi
done

if [[ $force -eq 0 && ${#missing[@]} -eq 0 ]]; then
    echo "install-deps.sh: all ${#packages[@]} packages are installed"
    exit 0
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    if [[ $force -eq 1 ]]; then
        missing=("${packages[@]}")
    fi
    echo "install-deps.sh: needs root and apt-get. Missing packages: ${missing[*]}" >&2
    echo "Run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
