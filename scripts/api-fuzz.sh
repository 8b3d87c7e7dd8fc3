#!/usr/bin/env bash
# Property-based fuzzing of the HTTP API with schemathesis, against the OpenAPI document the
# server publishes at /openapi.json. Run by CI (.ci/run); by hand:
#
#   scripts/api-fuzz.sh [MAX_EXAMPLES_PER_OPERATION]      default 25
#
# Builds and starts `onewindow serve` on a temporary data directory (SQLite), files a small
# registry, issues credentials to an enterprise, a regulator (customs) and uses the administrator
# token, then runs schemathesis once per role with the checks that matter: no server error (5xx),
# every answer's status code, content type and body conform to the document. The door's rate
# limits are switched off for the run (schemathesis sends thousands of requests, many without a
# valid credential, on purpose). Exit status: schemathesis's (non-zero on any failure).
#
# schemathesis comes from PyPI, pinned, into a virtualenv under target/ (ONEWINDOW_VENV to put it
# elsewhere). One worker: with two threads, CPython 3.11's parser can trip over itself while
# Hypothesis describes a strategy ("AST constructor recursion depth mismatch"), failing the run for
# no fault of the server.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

SCHEMATHESIS_VERSION=4.32.5
examples=${1:-25}
venv=${ONEWINDOW_VENV:-$root/target/api-fuzz-venv}
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "api-fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build -q -p onewindow
bin=$root/target/debug/onewindow

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
ONEWINDOW_LOG=warn "$bin" serve --data "$work/data" --listen "127.0.0.1:$port" \
  --rate-credential off --rate-address off --rate-failed-auth off >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  "$bin" healthcheck --server "$base" >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin" healthcheck --server "$base" >/dev/null

admin=$(tr -d '\n' <"$work/data/admin-token")
cat >"$work/registry.csv" <<'CSV'
code,name,roles,dxp_id
3301960001,Demo Mall,ebp|ebc,DXPENT0000000001
3301980002,Demo Payment,payment,
3301960003,Demo Express,logistics,
3301960004,Demo Customs Broker,agent,
CSV
"$bin" enterprise --server "$base" --token "$admin" file "$work/registry.csv" >/dev/null
token_of() {
  "$bin" enterprise --server "$base" --token "$admin" credential "$1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
enterprise=$(token_of 3301960004)
regulator=$(token_of regulator:customs)

# schemathesis keeps a cache of failures where it runs: keep it out of the checkout.
cd "$work"
status=0
for role in admin enterprise regulator; do
  case $role in
    admin) token=$admin ;;
    enterprise) token=$enterprise ;;
    regulator) token=$regulator ;;
  esac
  echo "api-fuzz: as $role, up to $examples examples per operation"
  # Do not let the run revoke the credential it runs with.
  if ! "$venv/bin/schemathesis" --no-color run "$base/openapi.json" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
      --max-examples "$examples" --seed 2026 --workers 1 --request-timeout 30 \
      --exclude-path '/api/v1/credentials/{key_id}' \
      --header "Authorization: Bearer $token" \
      --suppress-health-check all --warnings off; then
    status=1
  fi
done
if [ "$status" != 0 ]; then
  echo "api-fuzz: FAILED (server log: last lines)"
  tail -n 20 "$work/server.log" || true
fi
exit "$status"
