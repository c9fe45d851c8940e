#!/usr/bin/env bash
# Three nodes behind nginx against one node direct (issue 13, "Speed"; docs/deploy.md): a
# release build, one fresh PostgreSQL database, nginx configured from the template the cluster
# test uses (crates/portcullis/tests/it/cluster/nginx.conf), wrk -t2 -c32 keep-alive,
# interleaved ROUNDS times. Everything shares this machine's cores: the three nodes, nginx,
# PostgreSQL and wrk, so the figure says what nginx and the extra processes cost here, not
# what three machines would do.
#
#   bench/cluster.sh                   # 10 s per measurement, 2 rounds
#   SECONDS_PER=10 ROUNDS=3 bench/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER="${SECONDS_PER:-10}"
ROUNDS="${ROUNDS:-2}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
NGINX="${NGINX:-/usr/sbin/nginx}"
PORTS=(18061 18062 18063)
LB_PORT=18060
PW="cluster-bench-password"
for tool in wrk curl python3 psql "$NGINX"; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install -y wrk curl postgresql-client nginx-light)" >&2; exit 1; }
done
cargo build --release -q -p portcullis --bin portcullis
BIN="$PWD/target/release/portcullis"
TEMPLATE="$PWD/crates/portcullis/tests/it/cluster/nginx.conf"
WORK="$(mktemp -d)"
REPORT="$PWD/bench/wrk_report.lua"
DB="portcullis_cluster_bench_$$"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$PG_URL/postgres" -c "CREATE DATABASE $DB" >/dev/null
KEK="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
for i in 0 1 2; do
    mkdir -p "$WORK/node$i"
    (cd "$WORK/node$i" && PORTCULLIS_ADMIN_PASSWORD="$PW" PORTCULLIS_LISTEN="127.0.0.1:${PORTS[$i]}" \
        PORTCULLIS_LOG=warn PORTCULLIS_DATABASE_URL="$PG_URL/$DB" PORTCULLIS_NODE_NAME="node-$i" \
        PORTCULLIS_TRUSTED_PROXIES='["127.0.0.1"]' PORTCULLIS_MDR__SIGNING__KEY_ENCRYPTION_KEY="$KEK" \
        exec "$BIN" serve >"$WORK/node$i.log" 2>&1) &
    PIDS+=($!)
done
for port in "${PORTS[@]}"; do
    for _ in $(seq 1 200); do
        curl -fs "http://127.0.0.1:$port/api/v2/ping/" >/dev/null && break
        sleep 0.1
    done
done
mkdir -p "$WORK/nginx"
sed -e "s|{{PREFIX}}|$WORK/nginx|g" -e "s|{{LISTEN}}|127.0.0.1:$LB_PORT|" \
    -e "s|{{NODE_1}}|127.0.0.1:${PORTS[0]}|" -e "s|{{NODE_2}}|127.0.0.1:${PORTS[1]}|" \
    -e "s|{{NODE_3}}|127.0.0.1:${PORTS[2]}|" "$TEMPLATE" >"$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
PIDS+=($!)
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$LB_PORT/api/v2/ping/" >/dev/null && break
    sleep 0.1
done
DIRECT="http://127.0.0.1:${PORTS[0]}"
LB="http://127.0.0.1:$LB_PORT"
PAT="$(curl -fs -u "admin:$PW" -X POST -H 'Content-Type: application/json' -d '{}' "$DIRECT/api/v2/tokens/" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

run() { # WHERE SCENARIO URL METHOD BODY AUTH EXPECT
    local out line rps p50 p99 bad errs
    out=$(BENCH_METHOD="$4" BENCH_BODY="$5" BENCH_AUTH="$6" BENCH_EXPECT="$7" \
        wrk -t2 -c32 -d"${SECONDS_PER}s" --latency -s "$REPORT" "$3")
    line=$(grep '^RESULT ' <<<"$out") || { echo "$out"; exit 1; }
    read -r _ rps p50 p99 _ bad errs <<<"$line"
    printf '%-14s %-8s %9s %8s %8s %s\n' "$1" "$2" "$rps" "$p50" "$p99" "$bad/$errs"
    echo "$1 $2 $rps $p99" >>"$WORK/rates"
    [ "$bad" = 0 ] && [ "$errs" = 0 ] || { echo "FAIL: $bad unexpected answers, $errs socket errors"; exit 1; }
}
echo "machine: $(nproc) cores; loopback; release build; PostgreSQL; wrk -t2 -c32 keep-alive; ${SECONDS_PER}s per row; $ROUNDS rounds"
printf '%-14s %-8s %9s %8s %8s %s\n' path scenario req/s p50_ms p99_ms bad/err
: >"$WORK/rates"
for round in $(seq 1 "$ROUNDS"); do
    for where in direct nginx; do
        base="$DIRECT"; [ "$where" = nginx ] && base="$LB"
        label="one node"; [ "$where" = nginx ] && label="3 via nginx"
        run "$label" anon "$base/api/v2/me/" GET "" "" 401
        run "$label" bearer "$base/api/v2/me/" GET "" "Authorization: Bearer $PAT" 200
        run "$label" tokens "$base/api/v2/tokens/" POST "{}" "Authorization: Bearer $PAT" 201
    done
done
echo
python3 - "$WORK/rates" <<'PY'
import sys, collections
rates, p99s = collections.defaultdict(list), collections.defaultdict(list)
for line in open(sys.argv[1]):
    *where, s, r, p = line.split()
    w = " ".join(where)
    rates[(w, s)].append(float(r)); p99s[(w, s)].append(float(p))
mean = lambda xs: sum(xs) / len(xs)
print("| scenario | one node req/s | p99 ms | 3 nodes via nginx req/s | p99 ms | ratio |")
print("|---|---|---|---|---|---|")
for s in ["anon", "bearer", "tokens"]:
    d, n = mean(rates[("one node", s)]), mean(rates[("3 via nginx", s)])
    print(f"| {s} | {d:,.0f} | {max(p99s[('one node', s)]):.2f} | {n:,.0f} | {max(p99s[('3 via nginx', s)]):.2f} | {n / d:.2f} |")
PY
