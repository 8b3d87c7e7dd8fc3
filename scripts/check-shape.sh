#!/usr/bin/env bash
# Fails when a function body in crates/store/src (tests excluded) is longer than 150 lines:
# a function that long is several functions waiting for names (STYLE.md).
# Usage: scripts/check-shape.sh [MAX_LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
max="${1:-150}"
find crates/store/src -name '*.rs' -print0 | xargs -0 awk -v max="$max" '
    FNR == 1 { in_tests = 0; depth = 0; start = 0 }
    /^#\[cfg\(test\)\]/ { in_tests = 1 }
    in_tests { next }
    {
        line = $0
        sub(/\/\/.*/, "", line)
        if (start == 0 && line ~ /(^|[^a-z_])fn [a-z_0-9]+/) { start = FNR; name = line; base = depth; opened = 0 }
        opens = gsub(/\{/, "{", line); closes = gsub(/\}/, "}", line)
        depth += opens - closes
        if (start && opens) opened = 1
        if (start && !opened && line ~ /;[[:space:]]*$/) { start = 0 }
        if (start && opened && depth <= base) {
            len = FNR - start + 1
            if (len > max) { printf "%s:%d: fn of %d lines (max %d):%s\n", FILENAME, start, len, max, name; bad = 1 }
            start = 0
        }
    }
    END { exit bad }
'
echo "check-shape: no fn in crates/store/src is over $max lines"
