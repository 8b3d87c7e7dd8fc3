#!/usr/bin/env bash
# The shape of the workspace that the compiler does not check by itself (DESIGN.md, "Shape of the
# code"): the writer (`ingest`) has no HTTP in its build — no axum, hyper or tower-http — and does
# not depend on `server` (cargo refuses a cycle, so `server` keeps depending on `ingest` only); no
# `impl Engine` outside the clearance room; no function over 150 lines in `domain` or `store`.
# Run by ingest's unit test `shape::ingest_has_no_http`; quick (reads Cargo.lock, builds nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}

tree=$("$cargo" tree --locked --offline --quiet -p ingest -e normal --prefix none)
status=0
for forbidden in axum hyper tower-http server; do
  if grep -qE "^${forbidden} v" <<<"$tree"; then
    echo "check-shape: ingest depends on ${forbidden}:" >&2
    "$cargo" tree --locked --offline --quiet -p ingest -e normal -i "$forbidden" >&2 || true
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "check-shape: ingest has no HTTP and does not depend on server"

# The clearance engine is one room: nothing outside it adds to `impl Engine`.
if outside=$(grep -rln --include='*.rs' -E '^impl Engine\b' crates | grep -v '^crates/domain/src/clearance/'); then
  echo "check-shape: impl Engine outside the clearance room: $outside" >&2
  status=1
fi

# A function that decides stays under a screen or two (STYLE.md): none in `domain` or `store` runs
# past 150 lines. (Elsewhere `scripts/long-functions.sh crates` lists what is still to split.)
if ! long=$(scripts/long-functions.sh 150 crates/domain/src crates/store/src); then
  echo "check-shape: functions over 150 lines in domain or store:" >&2
  echo "$long" >&2
  status=1
fi
exit "$status"
