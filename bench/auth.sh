#!/usr/bin/env bash
# Authenticated request rates against their yardsticks (issue 13, "Speed"; docs/cluster.md):
# a release build on loopback, SQLite and PostgreSQL, wrk -t2 keep-alive, every scenario
# interleaved ROUNDS times in one run (this machine's speed drifts, so only ratios measured in
# the same run mean anything).
#
#   bench/auth.sh                                  # 10 s per measurement, 2 rounds
#   SECONDS_PER=10 ROUNDS=3 BACKENDS="sqlite postgres" bench/auth.sh
#
# Scenarios (c = connections):
#   null     the do-nothing server (examples/null_server.rs): Portcullis's listener answering
#            every request with the anonymous 401, the framework's ceiling here   (c=32)
#   anon     GET /api/v2/me/ without credentials: 401                              (c=32)
#   bearer   GET /api/v2/me/ with a personal access token                          (c=32)
#   session  GET /api/v2/me/ with a session cookie                                 (c=32)
#   mdr      POST /api/v1/{client}/assets/count with an MDR access JWT             (c=32)
#   tokens   POST /api/v2/tokens/ with a Bearer token: a durable PAT per request   (c=32)
#   exchange session/confirm over 16 rotating refresh-token chains (examples/mdr_load.rs)
# The PostgreSQL runs use a fresh database on $PG_URL (default the local test server).
# Every answer must have the expected status: any other answer fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER="${SECONDS_PER:-10}"
ROUNDS="${ROUNDS:-2}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT="${PORT:-18052}"
NULL_PORT="${NULL_PORT:-18090}"
PW="auth-bench-password"
for tool in wrk curl python3 psql; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install -y wrk curl postgresql-client)" >&2; exit 1; }
done
cargo build --release -q -p portcullis --bin portcullis --example mdr_load
cargo build --release -q -p portcullis-server --example null_server
BIN="$PWD/target/release/portcullis"
LOAD="$PWD/target/release/examples/mdr_load"
NULL="$PWD/target/release/examples/null_server"
WORK="$(mktemp -d)"
REPORT="$PWD/bench/wrk_report.lua"
DBS=()
cleanup() {
    # Never `kill 0`: that would signal this script's whole process group.
    for p in "${PID:-}" "${NULL_PID:-}"; do [ -z "$p" ] || kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for db in "${DBS[@]}"; do psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
BASE="http://127.0.0.1:$PORT"
# One key-encryption key for the server and the `portcullis mdr` commands of a backend.
KEK="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"


# run BACKEND SCENARIO URL METHOD BODY AUTH EXPECT: one wrk run, one line in $WORK/rates.
run() {
    local backend="$1" scen="$2" url="$3" out line rps p50 p99 n bad errs
    out=$(BENCH_METHOD="$4" BENCH_BODY="$5" BENCH_AUTH="$6" BENCH_EXPECT="$7" \
        wrk -t2 -c32 -d"${SECONDS_PER}s" --latency -s "$REPORT" "$url")
    line=$(grep '^RESULT ' <<<"$out") || { echo "$out"; exit 1; }
    read -r _ rps p50 p99 n bad errs <<<"$line"
    printf '%-9s %-9s %9s %8s %8s %9s %s\n' "$backend" "$scen" "$rps" "$p50" "$p99" "$n" "$bad/$errs"
    echo "$backend $scen $rps $p99" >>"$WORK/rates"
    if [ "$bad" != 0 ] || [ "$errs" != 0 ]; then
        echo "FAIL: $bad unexpected answers, $errs socket errors in $backend $scen"; tail -20 "$WORK/server.log"; exit 1
    fi
}

start_server() { # BACKEND
    mkdir -p "$WORK/$1"
    (cd "$WORK/$1" && PORTCULLIS_ADMIN_PASSWORD="$PW" PORTCULLIS_LISTEN="127.0.0.1:$PORT" PORTCULLIS_LOG=warn \
        PORTCULLIS_DATABASE_URL="${DB_URL[$1]}" \
        PORTCULLIS_MDR__SIGNING__KEY_ENCRYPTION_KEY="$KEK" \
        exec "$BIN" serve >>"$WORK/server.log" 2>&1) &
    PID=$!
    for _ in $(seq 1 200); do
        curl -fs "$BASE/api/v2/ping/" >/dev/null && return 0
        sleep 0.1
    done
    echo "server did not start"; tail -20 "$WORK/server.log"; exit 1
}
stop_server() {
    kill "$PID" 2>/dev/null || { echo "the server had stopped:"; tail -20 "$WORK/server.log"; exit 1; }
    wait "$PID" 2>/dev/null || true
}

declare -A DB_URL PAT SID CID ACCESS
for b in $BACKENDS; do
    case "$b" in
        sqlite) DB_URL[$b]="sqlite:$WORK/auth.db" ;;
        postgres)
            db="portcullis_bench_$$"
            psql -q "$PG_URL/postgres" -c "CREATE DATABASE $db" >/dev/null
            DBS+=("$db")
            DB_URL[$b]="$PG_URL/$db" ;;
        *) echo "unknown backend $b"; exit 1 ;;
    esac
    # Credentials made once per backend (they survive the restarts between rounds).
    start_server "$b"
    PAT[$b]="$(curl -fs -u "admin:$PW" -X POST -H 'Content-Type: application/json' -d '{}' "$BASE/api/v2/tokens/" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
    jar="$WORK/$b.jar"
    curl -fs -c "$jar" -b "$jar" "$BASE/api/login/" >/dev/null
    csrf="$(awk '$6 == "csrftoken" {print $7}' "$jar")"
    curl -fs -o /dev/null -c "$jar" -b "$jar" -H "Referer: $BASE/api/login/" \
        --data-urlencode username=admin --data-urlencode "password=$PW" \
        --data-urlencode "csrfmiddlewaretoken=$csrf" --data-urlencode next=/api/ "$BASE/api/login/"
    SID[$b]="$(awk '$6 == "awx_sessionid" {print $7}' "$jar")"
    [ -n "${SID[$b]}" ] || { echo "session login failed on $b"; exit 1; }
    CID[$b]="$(cd "$WORK/$b" && PORTCULLIS_DATABASE_URL="${DB_URL[$b]}" PORTCULLIS_MDR__SIGNING__KEY_ENCRYPTION_KEY="$KEK" \
        "$BIN" mdr customer create "Bench customer" 2>/dev/null | grep -oE '^[0-9a-f]{32}' | head -1)"
    : >"$WORK/$b.chains"
    for i in $(seq 1 16); do
        (cd "$WORK/$b" && PORTCULLIS_DATABASE_URL="${DB_URL[$b]}" PORTCULLIS_MDR__SIGNING__KEY_ENCRYPTION_KEY="$KEK" \
            "$BIN" mdr connection create --client-id "${CID[$b]}" --name "chain $i" 2>/dev/null) \
            | awk '/^refresh_token:/ {print $2}' >>"$WORK/$b.chains"
    done
    caller="$(cd "$WORK/$b" && PORTCULLIS_DATABASE_URL="${DB_URL[$b]}" PORTCULLIS_MDR__SIGNING__KEY_ENCRYPTION_KEY="$KEK" \
        "$BIN" mdr connection create --client-id "${CID[$b]}" --name caller 2>/dev/null | awk '/^refresh_token:/ {print $2}')"
    echo "$caller" >"$WORK/$b.caller"
    stop_server
done

"$NULL" "127.0.0.1:$NULL_PORT" &
NULL_PID=$!
sleep 0.3
echo "machine: $(nproc) cores; loopback; release build; wrk -t2 -c32 keep-alive; ${SECONDS_PER}s per row; $ROUNDS rounds interleaved"
printf '%-9s %-9s %9s %8s %8s %9s %s\n' backend scenario req/s p50_ms p99_ms requests bad/err
: >"$WORK/rates"
for round in $(seq 1 "$ROUNDS"); do
    run none null "http://127.0.0.1:$NULL_PORT/api/v2/me/" GET "" "" 401
    for b in $BACKENDS; do
        start_server "$b"
        # A fresh access JWT per round (they live minutes); the caller's chain rotates.
        caller="$(cat "$WORK/$b.caller")"
        pair="$(curl -fs -H 'Content-Type: application/json' -d "{\"refresh_token\":\"$caller\"}" \
            "$BASE/api/v1/${CID[$b]}/session/confirm")"
        ACCESS[$b]="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_token"])' "$pair")"
        python3 -c 'import json,sys; print(json.loads(sys.argv[1])["refresh_token"])' "$pair" >"$WORK/$b.caller"
        run "$b" anon "$BASE/api/v2/me/" GET "" "" 401
        run "$b" bearer "$BASE/api/v2/me/" GET "" "Authorization: Bearer ${PAT[$b]}" 200
        run "$b" session "$BASE/api/v2/me/" GET "" "Cookie: awx_sessionid=${SID[$b]}" 200
        run "$b" mdr "$BASE/api/v1/${CID[$b]}/assets/count" POST "{}" "Authorization: Bearer ${ACCESS[$b]}" 200
        run "$b" tokens "$BASE/api/v2/tokens/" POST "{}" "Authorization: Bearer ${PAT[$b]}" 201
        # mdr_load prints "mode=exchange ok=… errors=… rps=… p50_ms=… p99_ms=… max_ms=…" and
        # leaves each chain's current token in the file for the next round.
        line="$("$LOAD" exchange "$BASE" "${CID[$b]}" "$WORK/$b.chains" "$SECONDS_PER" | tail -1)"
        rps="$(grep -o 'rps=[0-9.]*' <<<"$line" | cut -d= -f2)"
        p50="$(grep -o 'p50_ms=[0-9.]*' <<<"$line" | cut -d= -f2)"
        p99="$(grep -o 'p99_ms=[0-9.]*' <<<"$line" | cut -d= -f2)"
        errs="$(grep -o 'errors=[0-9]*' <<<"$line" | cut -d= -f2)"
        printf '%-9s %-9s %9s %8s %8s %9s %s\n' "$b" exchange "$rps" "$p50" "$p99" "" "0/$errs"
        echo "$b exchange $rps $p99" >>"$WORK/rates"
        stop_server
    done
done

echo
echo "means over $ROUNDS rounds; ratios to the same run's anonymous 401 of the same backend"
python3 - "$WORK/rates" <<'PY'
import sys, collections
rates = collections.defaultdict(list)
p99s = collections.defaultdict(list)
for line in open(sys.argv[1]):
    b, s, r, p = line.split()
    rates[(b, s)].append(float(r))
    p99s[(b, s)].append(float(p))
mean = lambda xs: sum(xs) / len(xs)
null = mean(rates[("none", "null")])
print(f"| backend | scenario | req/s | p99 ms (worst) | ratio |")
print(f"|---|---|---|---|---|")
print(f"| — | null server | {null:,.0f} | {max(p99s[('none', 'null')]):.2f} | 1 |")
for b in sorted({b for b, _ in rates if b != "none"}):
    anon = mean(rates[(b, "anon")])
    for s in ["anon", "bearer", "session", "mdr", "tokens", "exchange"]:
        if (b, s) not in rates:
            continue
        r = mean(rates[(b, s)])
        ratio = f"{r / null:.2f} × null" if s == "anon" else f"{r / anon:.2f} × anon"
        print(f"| {b} | {s} | {r:,.0f} | {max(p99s[(b, s)]):.2f} | {ratio} |")
PY
