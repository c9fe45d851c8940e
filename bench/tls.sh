#!/usr/bin/env bash
# HTTPS on the built-in listener (issue 16, "Speed"; docs/tls.md): a release build on loopback
# with SQLite and a development certificate (P-256) from `portcullis tls dev-cert`.
#
#   bench/tls.sh                      # 10 s per measurement, 2 rounds
#   SECONDS_PER=20 ROUNDS=3 bench/tls.sh
#
# 1. Full TLS 1.3 handshakes per second: two `openssl s_time -new -tls1_3` clients. `-new`
#    starts every connection with no session, so no handshake is resumed (wrk with
#    `Connection: close` and h2load with -n > -c resume sessions, and would measure resumed
#    handshakes). The rate is connections per wall-clock second. The client shares the two
#    cores with the server and spends more CPU per handshake than the server, so the server's
#    own CPU time per handshake (from /proc) is reported too, with the rate it implies for the
#    server alone on this machine's cores.
# 2. Keep-alive `GET /api/v2/me/` with a personal token (Bearer), wrk -t2 -c32, over HTTPS on
#    one server process and over plain HTTP on another process of the same build, alternated
#    ROUNDS times (this machine's speed drifts); the ratio HTTPS / HTTP is the figure.
# Every request must answer 200: a non-2xx answer fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER="${SECONDS_PER:-10}"
ROUNDS="${ROUNDS:-2}"
TLS_PORT="${TLS_PORT:-18443}"
PLAIN_PORT="${PLAIN_PORT:-18080}"
PW="tls-bench-password"
for tool in wrk openssl curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install -y wrk openssl curl)" >&2; exit 1; }
done
cargo build --release -q -p portcullis --bin portcullis
BIN="$PWD/target/release/portcullis"
WORK="$(mktemp -d)"
cleanup() {
    kill "${TLS_PID:-0}" "${PLAIN_PID:-0}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
TCK="$(getconf CLK_TCK)"
calc() { python3 -c "print($1)"; }
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

"$BIN" tls dev-cert --dir "$WORK/tls" >/dev/null
CA="$WORK/tls/ca.crt"
start() { # name port [extra env...] -> pid in $STARTED
    local name=$1 port=$2
    shift 2
    env PORTCULLIS_ADMIN_PASSWORD="$PW" PORTCULLIS_LISTEN="127.0.0.1:$port" PORTCULLIS_LOG=warn \
        PORTCULLIS_DATABASE_URL="sqlite:$WORK/$name.db" "$@" \
        "$BIN" serve >"$WORK/$name.log" 2>&1 &
    STARTED=$!
}
start tls "$TLS_PORT" PORTCULLIS_TLS__CERT_FILE="$WORK/tls/server.crt" PORTCULLIS_TLS__KEY_FILE="$WORK/tls/server.key"
TLS_PID=$STARTED
start plain "$PLAIN_PORT"
PLAIN_PID=$STARTED
TLS_BASE="https://127.0.0.1:$TLS_PORT"
PLAIN_BASE="http://127.0.0.1:$PLAIN_PORT"
for base in "$TLS_BASE" "$PLAIN_BASE"; do
    for _ in $(seq 1 100); do
        curl -sf --cacert "$CA" -o /dev/null "$base/api/v2/ping/" && break
        sleep 0.1
    done
    curl -sf --cacert "$CA" -o /dev/null "$base/api/v2/ping/" || { echo "$base did not start"; cat "$WORK"/*.log; exit 1; }
done
token() { # base -> a write-scoped personal token of admin
    curl -sf --cacert "$CA" -u "admin:$PW" -X POST "$1/api/v2/tokens/" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
TLS_TOKEN="$(token "$TLS_BASE")"
PLAIN_TOKEN="$(token "$PLAIN_BASE")"
S_CLIENT="$(openssl s_client -connect "127.0.0.1:$TLS_PORT" -servername localhost -CAfile "$CA" \
    -verify_return_error -alpn http/1.1 </dev/null 2>&1 || true)"
grep -q 'Verify return code: 0 (ok)' <<<"$S_CLIENT" || { echo "TLS check failed:"; echo "$S_CLIENT" | tail -20; exit 1; }
PROTO="$(grep -m1 -E '^New, ' <<<"$S_CLIENT" | sed 's/^New, //; s/, Cipher is / /')"
GROUP="$(grep -m1 -E '^(Server|Peer) Temp Key' <<<"$S_CLIENT" | sed 's/.*Key: //')"

# 1. Full handshakes.
c0="$(cpu_ticks "$TLS_PID")"; t0="$(date +%s.%N)"
STIME_PIDS=()
for i in 1 2; do
    openssl s_time -connect "127.0.0.1:$TLS_PORT" -new -tls1_3 -time "$SECONDS_PER" >"$WORK/stime.$i" 2>&1 &
    STIME_PIDS+=($!)
done
wait "${STIME_PIDS[@]}"
t1="$(date +%s.%N)"; c1="$(cpu_ticks "$TLS_PID")"
conns=0
for i in 1 2; do
    n="$(awk '/connections in .* real seconds/ {print $1; exit}' "$WORK/stime.$i")"
    [ -n "$n" ] || { echo "s_time $i gave no count:"; cat "$WORK/stime.$i"; exit 1; }
    conns=$((conns + n))
done
HS_RATE="$(calc "round($conns / ($t1 - $t0))")"
HS_US="$(calc "round(($c1 - $c0) * 1e6 / $TCK / $conns)")"
HS_SERVER_ONLY="$(calc "round($(nproc) * 1e6 / $HS_US)")"

# 2. Keep-alive Bearer, alternated.
run_wrk() { # base token -> rps
    local out non2xx
    out="$(wrk -t2 -c32 -d"${SECONDS_PER}s" -H "Authorization: Bearer $2" "$1/api/v2/me/")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")"
    [ -z "$non2xx" ] || { echo "$non2xx non-2xx answers from $1:"; echo "$out"; exit 1; } >&2
    awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}
ROWS=()
TLS_SUM=0; PLAIN_SUM=0
for round in $(seq 1 "$ROUNDS"); do
    tls_rps="$(run_wrk "$TLS_BASE" "$TLS_TOKEN")"
    plain_rps="$(run_wrk "$PLAIN_BASE" "$PLAIN_TOKEN")"
    ROWS+=("| $round | $tls_rps | $plain_rps | $(calc "f'{$tls_rps / $plain_rps:.2f}'") |")
    TLS_SUM="$(calc "$TLS_SUM + $tls_rps")"; PLAIN_SUM="$(calc "$PLAIN_SUM + $plain_rps")"
done

echo "TLS: $PROTO; key exchange $GROUP; $(nproc) cores; clients on the same machine"
echo
echo "| full TLS 1.3 handshakes (P-256, no resumption) | value |"
echo "|---|---|"
echo "| measured, 2 × openssl s_time -new, ${SECONDS_PER} s | $HS_RATE /s ($conns handshakes) |"
echo "| server CPU per handshake | $HS_US µs |"
echo "| server alone on $(nproc) cores (cores / CPU per handshake) | $HS_SERVER_ONLY /s |"
echo
echo "| round | HTTPS Bearer rps | HTTP Bearer rps | HTTPS / HTTP |"
echo "|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo "| all | $(calc "round($TLS_SUM / $ROUNDS)") | $(calc "round($PLAIN_SUM / $ROUNDS)") | $(calc "f'{$TLS_SUM / $PLAIN_SUM:.2f}'") |"
