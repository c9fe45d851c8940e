#!/usr/bin/env bash
# MDR load benchmark (issue 5): the session/confirm exchange (every request a durable,
# single-use rotation) and calls authenticated by an access JWT, against a release build on
# loopback with SQLite (default) or PostgreSQL (DATABASE_URL=postgres://…).
#
#   bench/mdr.sh                 # 10 s per scenario
#   SECONDS_PER=20 WORKERS=32 bench/mdr.sh
#
# Prints one line per scenario: requests per second and latency percentiles. The AWX peer
# figure for the same run comes from the team's comparison harness (bearer scenario, kept
# outside this repository), run right after this script (see README "Speed").
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER="${SECONDS_PER:-10}"
CHAINS="${CHAINS:-16}"
WORKERS="${WORKERS:-32}"
PORT="${PORT:-18052}"
cargo build --release -q -p portcullis --bin portcullis --example mdr_load
BIN="$PWD/target/release/portcullis"
LOAD="$PWD/target/release/examples/mdr_load"
WORK="$(mktemp -d)"
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export PORTCULLIS_ADMIN_PASSWORD=bench-password PORTCULLIS_LISTEN="127.0.0.1:$PORT" PORTCULLIS_LOG=warn
if [ -n "${DATABASE_URL:-}" ]; then export PORTCULLIS_DATABASE_URL="$DATABASE_URL"; fi
cd "$WORK"
"$BIN" serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/api/v2/ping/" >/dev/null && break
    sleep 0.1
done
CLIENT_ID="$("$BIN" mdr customer create "Bench customer" | awk '{print $1}')"
: >"$WORK/tokens"
for i in $(seq 1 "$CHAINS"); do
    "$BIN" mdr connection create --client-id "$CLIENT_ID" --name "bench $i" 2>/dev/null \
        | awk '/^refresh_token:/ {print $2}' >>"$WORK/tokens"
done
CALLER="$("$BIN" mdr connection create --client-id "$CLIENT_ID" --name caller 2>/dev/null | awk '/^refresh_token:/ {print $2}')"
ACCESS="$(curl -fs -H 'Content-Type: application/json' \
    -d "{\"refresh_token\":\"$CALLER\"}" \
    "http://127.0.0.1:$PORT/api/v1/$CLIENT_ID/session/confirm" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
echo "backend: ${DATABASE_URL:-sqlite (default)}; chains: $CHAINS; call workers: $WORKERS; ${SECONDS_PER}s each"
"$LOAD" exchange "http://127.0.0.1:$PORT" "$CLIENT_ID" "$WORK/tokens" "$SECONDS_PER"
"$LOAD" call "http://127.0.0.1:$PORT" "$CLIENT_ID" "$ACCESS" "$SECONDS_PER" "$WORKERS" assets/count
