#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs the Debian packages listed in scripts/deps-debian.txt, and
# generates the cs_CZ.UTF-8 locale (Czech messages are tested with it).
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

# the locales the tests use, generated with the locales package
ensure_locales() {
    if locale -a 2>/dev/null | grep -qix 'cs_CZ.utf8'; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps.sh: the cs_CZ.UTF-8 locale is missing. Run as root:" >&2
        echo "  sed -i 's/^# *cs_CZ.UTF-8 UTF-8/cs_CZ.UTF-8 UTF-8/' /etc/locale.gen && locale-gen" >&2
        return 1
    fi
    if ! grep -q '^cs_CZ.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
        if grep -q '^# *cs_CZ.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
            sed -i 's/^# *cs_CZ.UTF-8 UTF-8/cs_CZ.UTF-8 UTF-8/' /etc/locale.gen
        else
            echo 'cs_CZ.UTF-8 UTF-8' >>/etc/locale.gen
        fi
    fi
    locale-gen
}

if [[ $force -eq 0 && ${#missing[@]} -eq 0 ]]; then
    echo "install-deps.sh: all ${#packages[@]} packages are installed"
    ensure_locales
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
ensure_locales
