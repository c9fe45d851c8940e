#!/usr/bin/env bash
# Fuzzes a running server against its own OpenAPI document (/api/openapi.json) with
# schemathesis: a bounded number of examples per operation, once as a normal user and once
# as a superuser (HTTP Basic). Fails on any 5xx and on any response the document does not
# describe (status code, content type, body schema).
#
# The server is the debug binary (`cargo build -p portcullis` first, or PORTCULLIS_BIN),
# started on 127.0.0.1 with a fresh SQLite database in a temporary directory. schemathesis
# comes from PyPI, pinned, in a virtualenv under ~/.cache that later runs reuse.
#
# One worker: with several, hypothesis (under Python 3.11) sometimes fails inside `ast.parse`
# while describing a strategy, which schemathesis reports as an error of the operation.
#
# Knobs: ST_EXAMPLES (examples per operation, default 20), ST_PORT (default 18052),
# ST_SEED (default 1, for reproducible runs).
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/portcullis/schemathesis-$ST_VERSION"
BIN="${PORTCULLIS_BIN:-target/debug/portcullis}"
PORT="${ST_PORT:-18052}"
EXAMPLES="${ST_EXAMPLES:-20}"
SEED="${ST_SEED:-1}"
BASE="http://127.0.0.1:$PORT"
ADMIN_PW="schemathesis-admin-password"
USER_PW="schemathesis-user-password"

if [ ! -x "$VENV/bin/st" ]; then
    echo "installing schemathesis $ST_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
[ -x "$BIN" ] || cargo build -p portcullis

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Fuzzed logins with random passwords must not throttle the run's own Basic credentials
# (every request comes from 127.0.0.1): the per-network limits are raised out of reach. The
# per-account lock stays on; the run's accounts are only ever used with their right password.
PORTCULLIS_DATABASE_URL="sqlite:$WORK/portcullis.db" \
PORTCULLIS_LISTEN="127.0.0.1:$PORT" \
PORTCULLIS_ADMIN_PASSWORD="$ADMIN_PW" \
PORTCULLIS_THROTTLE__SOURCE_FAILURES=1000000 \
PORTCULLIS_THROTTLE__CLIENT_FAILURES=1000000 \
PORTCULLIS_MDR__EXCHANGE_FAILURE_LIMIT=1000000 \
PORTCULLIS_LOG="${PORTCULLIS_LOG:-warn}" \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 100); do
    curl -fs "$BASE/api/v2/ping/" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
    sleep 0.2
done
curl -fs "$BASE/api/v2/ping/" >/dev/null || { echo "server did not start"; cat "$WORK/server.log"; exit 1; }

# The normal user, created by the superuser through the API.
curl -fsS -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' \
    -d "{\"username\": \"fuzzer\", \"password\": \"$USER_PW\"}" \
    "$BASE/api/v2/users/" >/dev/null

run() {
    local who="$1"
    shift
    echo "==> schemathesis as $who"
    "$VENV/bin/st" run "$BASE/api/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing \
        --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
        --request-timeout 30 --max-redirects 0 --no-shrink \
        --suppress-health-check all --warnings off \
        "$@"
}

# Operations that would end the run's own authentication if fuzzed with random data: a
# superuser changing or deleting users (the `admin` account among them: its password,
# `is_active`, `is_superuser`) and changing settings (`AUTH_BASIC_ENABLED`,
# `DISABLE_LOCAL_AUTH`, …). A normal user may change its own password. They run last, in a
# run of their own, after everything else was covered.
DESTRUCTIVE=(update_user update_user_patch delete_user update_settings update_settings_patch)
exclude=()
include=()
for id in "${DESTRUCTIVE[@]}"; do
    exclude+=(--exclude-operation-id "$id")
    include+=(--include-operation-id "$id")
done

status=0
run "a normal user" --auth "fuzzer:$USER_PW" "${exclude[@]}" || status=1
run "a superuser" --auth "admin:$ADMIN_PW" "${exclude[@]}" || status=1
run "a normal user (own-account changes)" --auth "fuzzer:$USER_PW" "${include[@]}" || status=1
run "a superuser (user and settings changes)" --auth "admin:$ADMIN_PW" "${include[@]}" || status=1

if grep -q 'handler panicked' "$WORK/server.log"; then
    echo "the server log records a panic"
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "--- server log (last 50 lines) ---"
    tail -n 50 "$WORK/server.log"
fi
exit "$status"
