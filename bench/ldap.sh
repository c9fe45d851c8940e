#!/usr/bin/env bash
# HTTP Basic with LDAP directory users (issue 12, "Speed"), against a release build on loopback
# with SQLite and a real OpenLDAP slapd (the test fixture directory, started by the
# `slapd` example of portcullis-server).
#
#   bench/ldap.sh                          # 10 s per measurement
#   SECONDS_PER=20 CONNS=4 ROUNDS=3 bench/ldap.sh
#
# Measures `GET /api/v2/me/` with `Authorization: Basic …` (wrk, keep-alive):
# - warm: the server with the verified-credential cache on (default TTL), local admin and
#   directory user alice, interleaved ROUNDS times so that the ratio is fair on a machine
#   whose speed drifts; the target is directory ≥ 90 % of local;
# - cold: the server restarted with PORTCULLIS_AUTH__BASIC_CACHE_TTL=0, so every directory
#   request binds to slapd (pooled service bind, user search, user bind, group search) and
#   every local request verifies Argon2id; latency at 1 connection (target p50 ≤ 5 ms) and at
#   CONNS connections.
# Every request must answer 200: a non-2xx answer or a socket error fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER="${SECONDS_PER:-10}"
CONNS="${CONNS:-4}"
ROUNDS="${ROUNDS:-2}"
PORT="${PORT:-18056}"
PW="ldap-bench-password"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
cargo build --release -q -p portcullis --bin portcullis
cargo build --release -q -p portcullis-server --features testing --example slapd
BIN="$PWD/target/release/portcullis"
SLAPD_BIN="$PWD/target/release/examples/slapd"
WORK="$(mktemp -d)"
cleanup() {
    kill "${PID:-0}" 2>/dev/null || true
    # Closing its stdin (the fd 3 below) also stops it; SIGTERM in case it is still there.
    exec 3>&- 2>/dev/null || true
    kill "${SLAPD_PID:-0}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
BASE="http://127.0.0.1:$PORT"

# slapd: the example prints KEY=value lines, then READY, and runs until its stdin closes.
mkfifo "$WORK/slapd.in"
"$SLAPD_BIN" <"$WORK/slapd.in" >"$WORK/slapd.out" 2>"$WORK/slapd.err" &
SLAPD_PID=$!
exec 3>"$WORK/slapd.in"
for _ in $(seq 1 300); do
    grep -q '^READY$' "$WORK/slapd.out" 2>/dev/null && break
    kill -0 "$SLAPD_PID" 2>/dev/null || { echo "slapd example failed:"; cat "$WORK/slapd.err"; exit 1; }
    sleep 0.1
done
grep -q '^READY$' "$WORK/slapd.out" || { echo "slapd did not start:"; cat "$WORK/slapd.err"; exit 1; }
val() { sed -n "s/^$1=//p" "$WORK/slapd.out"; }
LDAP_URL="$(val URL)"
CA="$(val CA)"
BASE_DN="$(val BASE_DN)"
SERVICE_DN="$(val SERVICE_DN)"
SERVICE_PASSWORD="$(val SERVICE_PASSWORD)"

export PORTCULLIS_ADMIN_PASSWORD="$PW" PORTCULLIS_LISTEN="127.0.0.1:$PORT" PORTCULLIS_LOG=warn
export PORTCULLIS_DATABASE_URL="sqlite:$WORK/portcullis.db"
# The test CA (not needed for ldap://, harmless).
export PORTCULLIS_LDAP__CA_FILE="$CA"

# start_server [TTL]: (re)starts the server on the same database; TTL sets the Basic cache.
start_server() {
    if [ -n "${PID:-}" ]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    if [ -n "${1:-}" ]; then export PORTCULLIS_AUTH__BASIC_CACHE_TTL="$1"; else unset PORTCULLIS_AUTH__BASIC_CACHE_TTL; fi
    (cd "$WORK" && exec "$BIN" serve >>"$WORK/server.log" 2>&1) &
    PID=$!
    for _ in $(seq 1 200); do
        curl -fs "$BASE/api/v2/ping/" >/dev/null && return 0
        sleep 0.1
    done
    echo "server did not start:"; cat "$WORK/server.log"; exit 1
}

start_server
code=$(curl -s -o "$WORK/patch.out" -w '%{http_code}' -u "admin:$PW" -X PATCH \
    -H 'Content-Type: application/json' "$BASE/api/v2/settings/ldap/" -d @- <<JSON
{
  "AUTH_LDAP_SERVER_URI": "$LDAP_URL",
  "AUTH_LDAP_BIND_DN": "$SERVICE_DN",
  "AUTH_LDAP_BIND_PASSWORD": "$SERVICE_PASSWORD",
  "AUTH_LDAP_CONNECTION_OPTIONS": {"OPT_REFERRALS": 0, "OPT_NETWORK_TIMEOUT": 5},
  "AUTH_LDAP_USER_SEARCH": ["ou=people,$BASE_DN", "SCOPE_SUBTREE", "(uid=%(user)s)"],
  "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
  "AUTH_LDAP_GROUP_SEARCH": ["ou=groups,$BASE_DN", "SCOPE_SUBTREE", "(objectClass=groupOfNames)"],
  "AUTH_LDAP_GROUP_TYPE": "GroupOfNamesType",
  "AUTH_LDAP_GROUP_TYPE_PARAMS": {"member_attr": "member", "name_attr": "cn"},
  "AUTH_LDAP_USER_FLAGS_BY_GROUP": {
    "is_superuser": ["cn=portcullis-admins,ou=groups,$BASE_DN"],
    "is_system_auditor": ["cn=auditors,ou=groups,$BASE_DN"]
  }
}
JSON
)
[ "$code" = 200 ] || { echo "PATCH /api/v2/settings/ldap/ answered $code:"; cat "$WORK/patch.out"; exit 1; }

LOCAL="Basic $(printf 'admin:%s' "$PW" | base64 -w0)"
DIRECTORY="Basic $(printf 'alice:alice-pass' | base64 -w0)"
check_alice() {
    code=$(curl -s -o "$WORK/me.out" -w '%{http_code}' -H "Authorization: $DIRECTORY" "$BASE/api/v2/me/")
    [ "$code" = 200 ] || { echo "Basic alice answered $code:"; cat "$WORK/me.out"; tail -20 "$WORK/server.log"; exit 1; }
    grep -q '"username":"alice"' "$WORK/me.out" || { echo "Basic alice: unexpected body:"; cat "$WORK/me.out"; exit 1; }
}
check_alice

# One line per wrk run: requests/s, p50/p99 in ms, requests, non-2xx answers, socket errors.
cat >"$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %.2f %.2f %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
LUA
# measure NAME CONNECTIONS HEADER: one wrk run, one table row; fails on any non-2xx answer.
measure() {
    local name="$1" conns="$2" header="$3" threads out line
    threads=$((conns < 2 ? conns : 2))
    out=$(wrk -t"$threads" -c"$conns" -d"${SECONDS_PER}s" --latency -s "$WORK/report.lua" \
        -H "Authorization: $header" "$BASE/api/v2/me/")
    line=$(grep '^RESULT ' <<<"$out") || { echo "$out"; exit 1; }
    read -r _ rps p50 p99 n non2xx errs <<<"$line"
    printf '%-34s %5s %10s %8s %8s %9s %7s\n' "$name" "$conns" "$rps" "$p50" "$p99" "$n" "$non2xx/$errs"
    echo "$name $rps" >>"$WORK/rates"
    if [ "$non2xx" != 0 ] || [ "$errs" != 0 ]; then
        echo "FAIL: $non2xx non-2xx answers, $errs socket errors in '$name'"; tail -20 "$WORK/server.log"; exit 1
    fi
}
mean() { awk -v k="$1" '$1 == k { s += $2; n++ } END { printf "%.0f", s / n }' "$WORK/rates"; }

echo "machine: $(nproc) cores; loopback; SQLite; release build; ${SECONDS_PER}s per row; wrk keep-alive"
printf '%-34s %5s %10s %8s %8s %9s %7s\n' measurement conns req/s p50_ms p99_ms requests non2xx/err
: >"$WORK/rates"
for _ in $(seq 1 "$ROUNDS"); do
    measure warm-local "$CONNS" "$LOCAL"
    measure warm-directory "$CONNS" "$DIRECTORY"
done

start_server 0
check_alice
measure cold-directory-c1 1 "$DIRECTORY"
measure cold-directory "$CONNS" "$DIRECTORY"
measure cold-local-argon2id "$CONNS" "$LOCAL"
check_alice

WL=$(mean warm-local)
WD=$(mean warm-directory)
echo
echo "warm local (mean of $ROUNDS): $WL req/s; warm directory: $WD req/s; ratio $(awk -v a="$WD" -v b="$WL" 'BEGIN { printf "%.1f %%", 100 * a / b }') (target ≥ 90 %)"
