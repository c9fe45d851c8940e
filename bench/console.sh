#!/usr/bin/env bash
# Console page times at scale (issue 11, "Quality"): every console page with 10 000 users,
# 100 000 tokens and 100 000 activity entries in the database, against a release build on
# loopback with SQLite (default) or PostgreSQL (DATABASE_URL=postgres://…, an empty database).
#
#   bench/console.sh                       # 30 requests per page
#   REQUESTS=100 bench/console.sh
#   BIN=/path/to/portcullis bench/console.sh
#
# The rows are inserted with SQL after the server created its schema (creating 100 000 tokens
# through the API would measure the API, not the pages). Each page is then fetched REQUESTS
# times, one at a time, by a logged-in browser session (curl with a cookie jar); the figure is
# the time to the first byte of the answer as curl measures it on loopback, which is the
# server's time plus well under a millisecond. Prints p50, p95 and max per page, in ms.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS="${REQUESTS:-30}"
USERS="${USERS:-10000}"
TOKENS="${TOKENS:-100000}"
ACTIVITY="${ACTIVITY:-100000}"
PORT="${PORT:-18054}"
PW="console-bench-password"
if [ -z "${BIN:-}" ]; then
    cargo build --release -q -p portcullis --bin portcullis
    BIN="$PWD/target/release/portcullis"
fi
WORK="$(mktemp -d)"
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
BASE="http://127.0.0.1:$PORT"
export PORTCULLIS_ADMIN_PASSWORD="$PW" PORTCULLIS_LISTEN="127.0.0.1:$PORT" PORTCULLIS_LOG=warn
if [ -n "${DATABASE_URL:-}" ]; then
    export PORTCULLIS_DATABASE_URL="$DATABASE_URL"
    SQL=(psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL")
else
    export PORTCULLIS_DATABASE_URL="sqlite:$WORK/portcullis.db"
    SQL=(sqlite3 "$WORK/portcullis.db")
fi
(cd "$WORK" && exec "$BIN" serve >"$WORK/server.log" 2>&1) &
PID=$!
for _ in $(seq 1 200); do
    curl -fs "$BASE/api/v2/ping/" >/dev/null && break
    sleep 0.1
done

NOW_MS=$(($(date +%s) * 1000))
YEAR_MS=$((365 * 86400 * 1000))
echo "seeding $USERS users, $TOKENS tokens, $ACTIVITY activity entries…"
if [ -n "${DATABASE_URL:-}" ]; then
    "${SQL[@]}" <<SQL
INSERT INTO users (username, email, first_name, last_name, password_hash, created_at)
SELECT 'user' || lpad(g::text, 5, '0'), 'user' || g || '@example.com', 'First' || g, 'Last' || g,
       'argon2-placeholder', now()
FROM generate_series(1, $USERS) g;
INSERT INTO oauth_access_tokens (hash, user_id, description, scope, created_at, modified_at, expires_at)
SELECT sha256(('bench-token-' || g)::bytea), 2 + (g % $USERS), 'bench token ' || g, 'write',
       now(), now(), now() + interval '1 year'
FROM generate_series(1, $TOKENS) g;
INSERT INTO activity_stream (timestamp, actor_id, operation, object1, object1_id, changes)
SELECT now() - (g || ' seconds')::interval, 1, 'update', 'user', 2 + (g % $USERS), '{"email": ["a", "b"]}'::jsonb
FROM generate_series(1, $ACTIVITY) g;
-- Statistics, as a database in service has them (autovacuum would gather them later).
ANALYZE;
SQL
else
    "${SQL[@]}" >/dev/null <<SQL
PRAGMA busy_timeout = 10000;
BEGIN;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $USERS)
INSERT INTO users (username, email, first_name, last_name, password_hash, created_at)
SELECT printf('user%05d', n), 'user' || n || '@example.com', 'First' || n, 'Last' || n,
       'argon2-placeholder', $NOW_MS FROM g;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $TOKENS)
INSERT INTO oauth_access_tokens (hash, user_id, description, scope, created_at, modified_at, expires_at)
SELECT randomblob(32), 2 + (n % $USERS), 'bench token ' || n, 'write', $NOW_MS, $NOW_MS,
       $NOW_MS + $YEAR_MS FROM g;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $ACTIVITY)
INSERT INTO activity_stream (timestamp, actor_id, operation, object1, object1_id, changes)
SELECT $NOW_MS - n * 1000, 1, 'update', 'user', 2 + (n % $USERS), '{"email":["a","b"]}' FROM g;
COMMIT;
SQL
fi

# Log in through the console's form, as a browser does.
JAR="$WORK/jar"
curl -fs -c "$JAR" "$BASE/console/login/" -o /dev/null
CSRF=$(awk '$6=="csrftoken"{print $7}' "$JAR")
code=$(curl -s -b "$JAR" -c "$JAR" -o /dev/null -w '%{http_code}' \
    -H "Origin: $BASE" --data-urlencode "csrfmiddlewaretoken=$CSRF" \
    --data-urlencode "username=admin" --data-urlencode "password=$PW" \
    --data-urlencode "next=/console/" "$BASE/console/login/")
[ "$code" = 303 ] || { echo "console login failed ($code)"; cat "$WORK/server.log"; exit 1; }

PAGES=(
    "/console/"
    "/console/users/"
    "/console/users/?search=user0999"
    "/console/users/?page=200"
    "/console/users/2/"
    "/console/tokens/"
    "/console/tokens/all/"
    "/console/tokens/all/?page=2000"
    "/console/tokens/all/?user=user05000"
    "/console/tokens/revoke/?target=all"
    "/console/tokens/revoke/?target=user&user=user05000"
    "/console/tokens/revoke/?target=external"
    "/console/applications/"
    "/console/connections/"
    "/console/settings/"
    "/console/activity/"
    "/console/activity/?page=2000"
    "/console/activity/?kind=user&user=admin"
    "/console/profile/"
)
printf '%-44s %6s %8s %8s %8s\n' page status p50_ms p95_ms max_ms
for p in "${PAGES[@]}"; do
    : >"$WORK/times"
    status=""
    for _ in $(seq 1 "$REQUESTS"); do
        out=$(curl -s -b "$JAR" -o /dev/null -w '%{http_code} %{time_starttransfer}' "$BASE$p")
        status=${out%% *}
        echo "${out##* }" >>"$WORK/times"
    done
    sort -n "$WORK/times" | awk -v page="$p" -v status="$status" '
        { t[NR] = $1 * 1000 }
        END {
            p50 = t[int((NR + 1) * 0.50)]; p95 = t[int(NR * 0.95 + 0.999)];
            printf "%-44s %6s %8.1f %8.1f %8.1f\n", page, status, p50, p95, t[NR]
        }'
done
