#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fails when a C file of the project is not formatted by the project's .clang-format.
set -euo pipefail
top=${1:?usage: check-format.sh SOURCE_ROOT}
cd "$top"
bad=0
while IFS= read -r -d '' f; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done < <(find daemon client-lib cli agent tests bench -name '*.[ch]' -print0 2>/dev/null)
exit $bad
