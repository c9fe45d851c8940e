#!/usr/bin/env bash
# Gateway request rates against their yardsticks (issue 14; the targets P1–P6 and the floors D,
# B, F, N of the gateway specification, §4.2 and §8.2): a release build on loopback, Debian's
# nginx with a private prefix, wrk keep-alive, every scenario interleaved ROUNDS times in one
# run (this machine's speed drifts, so only ratios measured in the same run mean anything).
#
#   bench/gateway.sh                                  # 8 s per measurement, 3 rounds
#   SECONDS_PER=10 ROUNDS=5 bench/gateway.sh
#   ONLY="D B F N" bench/gateway.sh                   # the yardsticks only (no Portcullis)
#
# Scenarios (wrk -t2 -c32; those listed in C1 are measured again with -t1 -c1):
#   U   the tiny upstream (an nginx `return 200 "ok\n"`) called directly              200
#   D   nginx → tiny upstream, no auth                                                 200
#   B   bare pass-through proxy (examples/bare_proxy.rs, Portcullis's listener and
#       hyper-util's pooled client) → tiny upstream                                    200
#   F   do-nothing forward-auth server (examples/null_auth.rs) called directly         204
#   N   nginx auth_request → null_auth, then → tiny upstream                           200
#   P1  Portcullis forward-auth called directly, Traefik/Caddy style (X-Forwarded-*),
#       Bearer PAT                                                                      200
#   P4  nginx auth_request → Portcullis /api/gateway/auth (X-Original-*), then → tiny
#       upstream                                                                        200
#   P5  Portcullis proxy mode: route /read/ → tiny upstream, Bearer PAT                200
#   P6  P5 on route /signed/, which adds the signed assertion                          200
# Every answer must have the expected status: any other answer, or a socket error, fails
# the run. nginx and wrk must be installed: apt-get install -y nginx-light wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER="${SECONDS_PER:-8}"
ROUNDS="${ROUNDS:-3}"
ONLY="${ONLY:-U D B F N P1 P4 P5 P6}"
C1="${C1-U B F P1 P5}"  # set it empty for no c=1 rows
NGINX="${NGINX:-/usr/sbin/nginx}"
PORT="${PORT:-18052}"            # Portcullis API (forward-auth endpoint)
GW_PORT="${GW_PORT:-18060}"      # Portcullis gateway listener (proxy mode)
UP_PORT="${UP_PORT:-18080}"      # tiny upstream
D_PORT="${D_PORT:-18081}"        # nginx → upstream
N_PORT="${N_PORT:-18082}"        # nginx auth_request → null_auth
P4_PORT="${P4_PORT:-18083}"      # nginx auth_request → Portcullis
BARE_PORT="${BARE_PORT:-18091}"  # bare_proxy
NULL_PORT="${NULL_PORT:-18092}"  # null_auth
HOST_HDR="api.example.test"
PW="gateway-bench-password"

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install -y wrk curl python3)" >&2; exit 1; }
done
[ -x "$NGINX" ] || { echo "$NGINX is not installed (apt-get install -y nginx-light wrk)" >&2; exit 1; }
"$NGINX" -V 2>&1 | grep -q -- --with-http_auth_request_module \
    || { echo "$NGINX lacks the auth_request module" >&2; exit 1; }
has() { [[ " $ONLY " == *" $1 "* ]]; }
for s in $ONLY; do
    case "$s" in U | D | B | F | N | P1 | P4 | P5 | P6) ;; *) echo "unknown scenario $s" >&2; exit 1 ;; esac
done
NEED_PORTCULLIS=false
for s in P1 P4 P5 P6; do if has "$s"; then NEED_PORTCULLIS=true; fi; done

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p portcullis-server --example bare_proxy --example null_auth
if $NEED_PORTCULLIS; then cargo build --release -q -p portcullis --bin portcullis; fi
BIN="$TARGET/release/portcullis"
BARE="$TARGET/release/examples/bare_proxy"
NULL_AUTH="$TARGET/release/examples/null_auth"
REPORT="$PWD/bench/wrk_report.lua"
WORK="$(mktemp -d)"
chmod 755 "$WORK" # nginx's workers (user nobody when run as root) must reach their files
cleanup() {
    # Never `kill 0`: that would signal this script's whole process group.
    for p in "${PID:-}" "${NGINX_PID:-}" "${BARE_PID:-}" "${NULL_PID:-}"; do
        [ -z "$p" ] || kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

logs() {
    for f in "$WORK"/*.log; do
        [ -s "$f" ] || continue
        echo "--- $f"; tail -20 "$f"
    done
}

wait_for() { # NAME EXPECTED_STATUS CURL_ARGS…: poll until the answer has the status
    local name="$1" want="$2" got
    shift 2
    for _ in $(seq 1 200); do
        got="$(curl -s -o /dev/null -w '%{http_code}' "$@" || true)"
        [ "$got" = "$want" ] && return 0
        sleep 0.1
    done
    echo "$name did not answer $want (last: $got)"; logs; exit 1
}

# --- Portcullis: configuration, start, a read-scope PAT -------------------------------------
PAT=""
if $NEED_PORTCULLIS; then
    mkdir -p "$WORK/portcullis"
    cat >"$WORK/portcullis.toml" <<EOF
version = 1
listen = "127.0.0.1:$PORT"
database_url = "sqlite:$WORK/portcullis/bench.db"

[gateway]
listen = "127.0.0.1:$GW_PORT"
trusted_proxies = ["127.0.0.1/32", "::1/128"]
public_origin = "http://$HOST_HDR"

[[gateway.routes]]
id = "read"
match = { host = "$HOST_HDR", path_prefix = "/read/" }
upstream = { url = "http://127.0.0.1:$UP_PORT" }
auth = ["bearer", "session"]

[[gateway.routes]]
id = "signed"
match = { host = "$HOST_HDR", path_prefix = "/signed/" }
upstream = { url = "http://127.0.0.1:$UP_PORT" }
auth = ["bearer"]
assertion = { ttl = "60s" }
EOF
    chmod 600 "$WORK/portcullis.toml"
    KEK="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
    (cd "$WORK/portcullis" && PORTCULLIS_ADMIN_PASSWORD="$PW" PORTCULLIS_LOG=warn \
        PORTCULLIS_MDR__SIGNING__KEY_ENCRYPTION_KEY="$KEK" \
        exec "$BIN" --config "$WORK/portcullis.toml" serve >>"$WORK/portcullis.log" 2>&1) &
    PID=$!
    wait_for portcullis 200 -f "http://127.0.0.1:$PORT/healthz"
    PAT="$(curl -fs -u "admin:$PW" -H 'Content-Type: application/json' -d '{"scope":"read"}' \
        "http://127.0.0.1:$PORT/api/v2/tokens/" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
    [ -n "$PAT" ] || { echo "no personal access token"; logs; exit 1; }
fi
# The null auth server's credential: a throwaway as long as the PAT (it shows in ps).
FAKE_LEN="${#PAT}"
[ "$FAKE_LEN" -gt 0 ] || FAKE_LEN=30
FAKE="$(python3 -c 'import secrets,sys; n=int(sys.argv[1]); print(secrets.token_hex(n)[:n])' "$FAKE_LEN")"

# --- nginx: the tiny upstream, D, N and P4 --------------------------------------------------
mkdir -p "$WORK/nginx-tmp"
cat >"$WORK/nginx.conf" <<EOF
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    default_type text/plain;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    # wrk's connections live the whole run (the default closes them every 1,000 requests).
    keepalive_requests 1000000;

    upstream tiny { server 127.0.0.1:$UP_PORT; keepalive 64; keepalive_requests 1000000; }
    upstream null_auth { server 127.0.0.1:$NULL_PORT; keepalive 64; keepalive_requests 1000000; }
    upstream portcullis { server 127.0.0.1:$PORT; keepalive 64; keepalive_requests 1000000; }

    # The tiny upstream: any path.
    server {
        listen 127.0.0.1:$UP_PORT;
        location / { return 200 "ok\n"; }
    }
    # D: nginx as the proxy, no auth.
    server {
        listen 127.0.0.1:$D_PORT;
        location / {
            proxy_pass http://tiny; proxy_http_version 1.1; proxy_set_header Connection "";
        }
    }
    # N: auth_request to the null auth server.
    server {
        listen 127.0.0.1:$N_PORT;
        location / {
            auth_request /_auth;
            proxy_pass http://tiny; proxy_http_version 1.1; proxy_set_header Connection "";
        }
        location = /_auth {
            internal;
            proxy_pass http://null_auth; proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_pass_request_body off; proxy_set_header Content-Length "";
            proxy_set_header Host \$host;
            proxy_set_header X-Original-URI \$request_uri;
            proxy_set_header X-Original-Method \$request_method;
        }
    }
    # P4: auth_request to Portcullis's forward-auth endpoint (the same location as N's).
    # Host \$host: proxy_pass would send "Host: portcullis" (the upstream block's name), and
    # the routes match on the client's host.
    server {
        listen 127.0.0.1:$P4_PORT;
        location / {
            auth_request /_auth;
            proxy_pass http://tiny; proxy_http_version 1.1; proxy_set_header Connection "";
        }
        location = /_auth {
            internal;
            proxy_pass http://portcullis/api/gateway/auth;
            proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_pass_request_body off; proxy_set_header Content-Length "";
            proxy_set_header Host \$host;
            proxy_set_header X-Original-URI \$request_uri;
            proxy_set_header X-Original-Method \$request_method;
        }
    }
}
EOF
"$NGINX" -t -q -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" \
    || { cat "$WORK/nginx-error.log"; exit 1; }
"$NGINX" -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
wait_for "tiny upstream" 200 "http://127.0.0.1:$UP_PORT/"

if has B; then
    "$BARE" "127.0.0.1:$BARE_PORT" "127.0.0.1:$UP_PORT" >>"$WORK/bare_proxy.log" 2>&1 &
    BARE_PID=$!
    wait_for bare_proxy 200 "http://127.0.0.1:$BARE_PORT/read/x"
fi
if has F || has N; then
    "$NULL_AUTH" "127.0.0.1:$NULL_PORT" "Bearer $FAKE" >>"$WORK/null_auth.log" 2>&1 &
    NULL_PID=$!
    wait_for null_auth 204 -H "Authorization: Bearer $FAKE" "http://127.0.0.1:$NULL_PORT/"
fi

# Every scenario: its URL, expected status, credential and extra (non-secret) wrk headers.
declare -A URL EXPECT AUTH HDRS
URL[U]="http://127.0.0.1:$UP_PORT/read/x";   EXPECT[U]=200; AUTH[U]=""
URL[D]="http://127.0.0.1:$D_PORT/read/x";    EXPECT[D]=200; AUTH[D]=""
URL[B]="http://127.0.0.1:$BARE_PORT/read/x"; EXPECT[B]=200; AUTH[B]=""
URL[F]="http://127.0.0.1:$NULL_PORT/read/x"; EXPECT[F]=204; AUTH[F]="Authorization: Bearer $FAKE"
URL[N]="http://127.0.0.1:$N_PORT/read/x";    EXPECT[N]=200; AUTH[N]="Authorization: Bearer $FAKE"
URL[P1]="http://127.0.0.1:$PORT/api/gateway/auth"; EXPECT[P1]=200; AUTH[P1]="Authorization: Bearer $PAT"
URL[P4]="http://127.0.0.1:$P4_PORT/read/x";  EXPECT[P4]=200; AUTH[P4]="Authorization: Bearer $PAT"
URL[P5]="http://127.0.0.1:$GW_PORT/read/x";  EXPECT[P5]=200; AUTH[P5]="Authorization: Bearer $PAT"
URL[P6]="http://127.0.0.1:$GW_PORT/signed/x"; EXPECT[P6]=200; AUTH[P6]="Authorization: Bearer $PAT"
# Each entry is one header line; '|' separates entries.
HDRS[U]="Host: $HOST_HDR"
HDRS[D]="Host: $HOST_HDR"
HDRS[B]="Host: $HOST_HDR"
HDRS[F]="Host: $HOST_HDR"
HDRS[N]="Host: $HOST_HDR"
HDRS[P1]="X-Forwarded-Method: GET|X-Forwarded-Uri: /read/x|X-Forwarded-Host: $HOST_HDR|X-Forwarded-Proto: http"
HDRS[P4]="Host: $HOST_HDR"
HDRS[P5]="Host: $HOST_HDR"
HDRS[P6]="Host: $HOST_HDR"

# One check per scenario before the clock starts, so a wrong setup fails with its answer.
for s in $ONLY; do
    args=(-s -o "$WORK/check.body" -w '%{http_code}')
    IFS='|' read -r -a hs <<<"${HDRS[$s]}"
    for h in "${hs[@]}"; do args+=(-H "$h"); done
    [ -z "${AUTH[$s]}" ] || args+=(-H @-)
    got="$(printf '%s\n' "${AUTH[$s]}" | curl "${args[@]}" "${URL[$s]}" || true)"
    if [ "$got" != "${EXPECT[$s]}" ]; then
        echo "FAIL: $s answered $got, expected ${EXPECT[$s]}:"; head -c 500 "$WORK/check.body"; echo; logs; exit 1
    fi
done

# run ROUND SCENARIO CONNECTIONS: one wrk run, one markdown row, one line in $WORK/rates.
run() {
    local round="$1" s="$2" c="$3" threads=2 out line rps p50 p99 n bad errs h
    local -a hargs=() hs
    [ "$c" -gt 1 ] || threads=1
    IFS='|' read -r -a hs <<<"${HDRS[$s]}"
    for h in "${hs[@]}"; do hargs+=(-H "$h"); done
    out=$(BENCH_METHOD=GET BENCH_BODY="" BENCH_MS_DIGITS=3 BENCH_AUTH="${AUTH[$s]}" BENCH_EXPECT="${EXPECT[$s]}" \
        wrk -t"$threads" -c"$c" -d"${SECONDS_PER}s" --latency -s "$REPORT" "${hargs[@]}" "${URL[$s]}")
    line=$(grep '^RESULT ' <<<"$out") || { echo "$out"; exit 1; }
    read -r _ rps p50 p99 n bad errs <<<"$line"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$c" "$rps" "$p50" "$p99" "$n" "$bad/$errs"
    echo "$round $s $c $rps $p50 $p99" >>"$WORK/rates"
    if [ "$bad" != 0 ] || [ "$errs" != 0 ]; then
        echo "FAIL: $bad unexpected answers, $errs socket errors in $s (c=$c)"; logs; exit 1
    fi
}

echo "machine: $(nproc) cores; loopback; release build; $("$NGINX" -v 2>&1 | sed 's/.*: //'), worker_processes 2;"
echo "wrk -t2 -c32 keep-alive (c=1 rows: -t1 -c1); ${SECONDS_PER}s per row; $ROUNDS rounds interleaved; scenarios: $ONLY; c=1: $C1"
: >"$WORK/rates"
for round in $(seq 1 "$ROUNDS"); do
    echo
    echo "### round $round"
    echo
    echo "| scenario | c | req/s | p50 ms | p99 ms | requests | bad/err |"
    echo "|---|---|---|---|---|---|---|"
    for s in $ONLY; do
        run "$round" "$s" 32
    done
    for s in $ONLY; do
        if [[ " $C1 " == *" $s "* ]]; then run "$round" "$s" 1; fi
    done
done
if [ -n "${PID:-}" ]; then
    kill -0 "$PID" 2>/dev/null || { echo "Portcullis had stopped:"; logs; exit 1; }
fi

echo
echo "## summary: medians over $ROUNDS rounds (ratios: the median of each round's ratio)"
echo
python3 - "$WORK/rates" <<'PY'
import sys, collections, statistics
rows = collections.defaultdict(list)           # (scen, c) -> [(rps, p50, p99)]
by_round = collections.defaultdict(dict)        # round -> (scen, c) -> (rps, p50, p99)
order = []
for line in open(sys.argv[1]):
    r, s, c, rps, p50, p99 = line.split()
    key = (s, int(c))
    if key not in order:
        order.append(key)
    vals = (float(rps), float(p50), float(p99))
    rows[key].append(vals)
    by_round[r][key] = vals
med = statistics.median
print("| scenario | c | req/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|")
for key in sorted(order, key=lambda k: (-k[1], order.index(k))):
    v = rows[key]
    print(f"| {key[0]} | {key[1]} | {med(x[0] for x in v):,.0f} | {med(x[1] for x in v):.3f} | {med(x[2] for x in v):.3f} |")

def ratio(label, num, den, field, target, scale=1.0, diff=False):
    xs = []
    for rnd in by_round.values():
        if num in rnd and den in rnd:
            a, b = rnd[num][field], rnd[den][field]
            if diff:
                xs.append((a - b) * scale)
            elif b > 0:
                xs.append(a / b)
    if xs:
        unit = " µs" if diff else ""
        print(f"| {label} | {med(xs):.2f}{unit} | {min(xs):.2f}–{max(xs):.2f}{unit} | {target} |")

RPS, P50, P99 = 0, 1, 2
print()
print("| ratio | median | range over rounds | target (spec §8.2) |")
print("|---|---|---|---|")
ratio("P1 / F req/s", ("P1", 32), ("F", 32), RPS, "≥ 0.35")
ratio("P4 / N req/s", ("P4", 32), ("N", 32), RPS, "≥ 0.85")
ratio("P4 p99 / N p99", ("P4", 32), ("N", 32), P99, "≤ 1.2")
ratio("P5 / B req/s", ("P5", 32), ("B", 32), RPS, "≥ 0.85")
ratio("P5 p99 / B p99", ("P5", 32), ("B", 32), P99, "≤ 1.3")
ratio("P6 / P5 req/s", ("P6", 32), ("P5", 32), RPS, "≥ 0.9")
ratio("P5 / D req/s", ("P5", 32), ("D", 32), RPS, "≥ 0.5")
ratio("B / D req/s", ("B", 32), ("D", 32), RPS, "—")
ratio("N / D req/s", ("N", 32), ("D", 32), RPS, "—")
ratio("P5 − U p50, c=1", ("P5", 1), ("U", 1), P50, "≤ 60 µs", scale=1000.0, diff=True)
ratio("P5 − B p50, c=1", ("P5", 1), ("B", 1), P50, "—", scale=1000.0, diff=True)
p1c1 = rows.get(("P1", 1))
if p1c1:
    print(f"| P1 p50, c=1 | {med(x[1] for x in p1c1) * 1000:.0f} µs | — | ≤ 150 µs |")
p1 = rows.get(("P1", 32))
if p1:
    print(f"| P1 req/s, p99 | {med(x[0] for x in p1):,.0f}, {med(x[2] for x in p1):.2f} ms | — | ≥ 40k, ≤ 5 ms |")
PY
