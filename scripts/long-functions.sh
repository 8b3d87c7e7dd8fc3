#!/usr/bin/env bash
# Functions longer than a limit (default 150 lines), outside tests: `scripts/long-functions.sh
# [LIMIT] DIR…` prints `LINES FILE:LINE NAME` for each and exits 1 if there is any. A function is
# counted from its `fn` line to the closing brace at the same indentation; everything after a
# `#[cfg(test)]` line in a file is skipped, and so are `tests/` folders.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=150
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  limit=$1
  shift
fi
found=0
while IFS= read -r file; do
  while IFS= read -r hit; do
    echo "$hit"
    found=1
  done < <(awk -v limit="$limit" -v file="$file" '
    /^[[:space:]]*#\[cfg\(test\)\]/ { exit }
    {
      if (open == 0 && match($0, /^[[:space:]]*(pub(\([^)]*\))?[[:space:]]+)?(async[[:space:]]+)?(const[[:space:]]+)?fn[[:space:]]+[A-Za-z0-9_]+/)) {
        line = $0
        indent = match(line, /[^ ]/) - 1
        name = line
        sub(/^.*fn[[:space:]]+/, "", name)
        sub(/[^A-Za-z0-9_].*$/, "", name)
        # a declaration without a body (a trait method) ends with ";"
        if (line ~ /;[[:space:]]*$/) next
        open = 1; start = NR; close_re = "^" sprintf("%" indent "s", "") "}"
        body = (line ~ /\{/)
        next
      }
      # a multi-line declaration without a body ends with ";" before any "{"
      if (open == 1 && body == 0) {
        if ($0 ~ /\{/) body = 1
        else if ($0 ~ /;[[:space:]]*$/) { open = 0; next }
      }
      if (open == 1 && $0 ~ close_re && (match($0, /[^ ]/) - 1) == indent) {
        n = NR - start + 1
        if (n > limit) printf "%d %s:%d %s\n", n, file, start, name
        open = 0
      }
    }' "$file")
done < <(find "$@" -name '*.rs' -not -path '*/tests/*' | sort)
exit "$found"
