#!/usr/bin/env bash
# Gateway memory (issue 14, P8; docs/gateway.md): resident memory of the release server holding
# N verified tokens in its credential cache, each used once through the forward-auth endpoint
# (one cached decision per token). VmRSS from /proc/PID/status before and after, and the
# cache's entry count from the metrics listener. SQLite in a temporary directory.
#
#   bench/gateway_memory.sh              # N = 100000
#   N=20000 bench/gateway_memory.sh
#   BIN=/path/to/portcullis bench/gateway_memory.sh   # another build (skips cargo build)
#   CACHE_SIZE=0 bench/gateway_memory.sh              # the same load with the token cache off
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-100000}"
PORT="${PORT:-18054}"
METRICS_PORT="${METRICS_PORT:-18055}"
PW="gateway-memory-bench"
if [ -z "${BIN:-}" ]; then
    cargo build --release -q -p portcullis --bin portcullis
    BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/portcullis"
fi
WORK="$(mktemp -d)"
cleanup() {
    # Never `kill 0`: that would signal this script's whole process group.
    [ -z "${PID:-}" ] || kill "$PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
cat >"$WORK/portcullis.toml" <<TOML
listen = "127.0.0.1:$PORT"
database_url = "sqlite:$WORK/bench.db"
[auth]
credential_cache_size = ${CACHE_SIZE:-$((N + 1000))}
[metrics]
listen = "127.0.0.1:$METRICS_PORT"
[gateway]
public_origin = "http://api.example.test"
[[gateway.routes]]
id = "read"
match = { host = "api.example.test", path_prefix = "/read/" }
auth = ["bearer"]
TOML
(cd "$WORK" && exec env PORTCULLIS_ADMIN_PASSWORD="$PW" PORTCULLIS_LOG=warn "$BIN" --config "$WORK/portcullis.toml" serve >"$WORK/server.log" 2>&1) &
PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    curl -fs "$BASE/healthz" >/dev/null && break
    sleep 0.1
done
kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }
BEFORE=$(kib VmRSS)
# N personal tokens through the API (Basic is verified once, then cached), then one
# forward-auth decision per token: N verified tokens held in the cache.
cat >"$WORK/load.py" <<'PY'
import base64, http.client, json, sys, threading
base, pw, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = base.split("//")[1].split(":")
basic = "Basic " + base64.b64encode(f"admin:{pw}".encode()).decode()
# One write token made with Basic creates the others (a bearer check per creation, not a
# password check: the account's hourly password-check cap would stop a long run).
c0 = http.client.HTTPConnection(host, int(port))
c0.request("POST", "/api/v2/tokens/", body='{"scope": "write"}',
           headers={"Authorization": basic, "Content-Type": "application/json"})
r0 = c0.getresponse(); creator = "Bearer " + json.loads(r0.read())["token"]
tokens, lock = [], threading.Lock()
def worker(count, fn):
    c = http.client.HTTPConnection(host, int(port))
    for _ in range(count):
        fn(c)
def create(c):
    c.request("POST", "/api/v2/tokens/", body='{"scope": "read"}',
              headers={"Authorization": creator, "Content-Type": "application/json"})
    r = c.getresponse(); body = r.read()
    assert r.status == 201, (r.status, body)
    with lock: tokens.append(json.loads(body)["token"])
def run(fn, total, threads=8):
    ts = [threading.Thread(target=worker, args=(total // threads + (i < total % threads), fn)) for i in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]
run(create, n)
print(f"CREATED {len(tokens)}", flush=True)
sys.stdin.readline()
it = iter(list(tokens)); it_lock = threading.Lock()
def decide(c):
    with it_lock: t = next(it)
    c.request("GET", "/api/gateway/auth", headers={"Authorization": "Bearer " + t,
              "X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/read/x", "X-Forwarded-Host": "api.example.test"})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
run(decide, len(tokens))
print(f"DECIDED {len(tokens)}", flush=True)
PY
coproc LOAD { python3 "$WORK/load.py" "$BASE" "$PW" "$N"; }
read -r _ CREATED <&"${LOAD[0]}"
CREATED_RSS=$(kib VmRSS)
echo go >&"${LOAD[1]}"
read -r _ DECIDED <&"${LOAD[0]}"
AFTER=$(kib VmRSS)
ENTRIES=$(curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" | awk '$1 ~ /^portcullis_cache_entries\{cache="token"\}/ {print $2}')
echo "| tokens | cached entries | VmRSS at start | after creating them | after one decision each | growth by the decisions | VmHWM |"
echo "|---|---|---|---|---|---|---|"
echo "| $DECIDED | ${ENTRIES:-?} | $((BEFORE / 1024)) MiB | $((CREATED_RSS / 1024)) MiB | $((AFTER / 1024)) MiB | $(((AFTER - CREATED_RSS) / 1024)) MiB | $(( $(kib VmHWM) / 1024 )) MiB |"
