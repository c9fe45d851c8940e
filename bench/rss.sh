#!/usr/bin/env bash
# Peak resident memory of the release server (issue 9, "Memory"): VmHWM and VmRSS from
# /proc/PID/status after (1) bursts of 8 concurrent HTTP Basic cache misses by distinct users
# (every miss is an Argon2id verification, m = 19 MiB) and (2) a mixed soak: Bearer, session,
# cached Basic, token creation, anonymous, form logins and Basic checks of other users at once.
# Each part runs on a freshly started server, with SQLite in a temporary directory.
#
#   bench/rss.sh                        # 5 bursts of 8, then a 300 s soak
#   ROUNDS=10 SOAK_SECONDS=60 bench/rss.sh
#   BIN=/path/to/portcullis bench/rss.sh   # measure another build (skips cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-5}"
USERS=8
SOAK_SECONDS="${SOAK_SECONDS:-300}"
PORT="${PORT:-18053}"
PW="rss-bench-password"
if [ -z "${BIN:-}" ]; then
    cargo build --release -q -p portcullis --bin portcullis
    BIN="$PWD/target/release/portcullis"
fi
LOAD="$PWD/bench/rss_load.py"
WORK="$(mktemp -d)"
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export PORTCULLIS_ADMIN_PASSWORD="$PW" PORTCULLIS_LISTEN="127.0.0.1:$PORT" PORTCULLIS_LOG=warn
BASE="http://127.0.0.1:$PORT"

start() { # start [extra env assignments…]
    (cd "$WORK" && exec env "$@" "$BIN" serve >>"$WORK/server.log" 2>&1) &
    PID=$!
    for _ in $(seq 1 100); do
        curl -fs "$BASE/api/v2/ping/" >/dev/null && return 0
        sleep 0.1
    done
    echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}
stop() { kill -TERM "$PID"; wait "$PID" || true; }
kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }
report() { printf '%-34s VmHWM %4d MiB   VmRSS %4d MiB\n' "$1" $(( $(kib VmHWM) / 1024 )) $(( $(kib VmRSS) / 1024 )); }

start PORTCULLIS_AUTH__BASIC_CACHE_TTL=0
report "idle after start"
for n in $(seq 0 $((USERS - 1))); do
    curl -fs -u "admin:$PW" -H 'Content-Type: application/json' \
        -d "{\"username\": \"rss-user-$n\", \"password\": \"$PW\"}" "$BASE/api/v2/users/" >/dev/null
done
report "after creating $USERS users"
python3 "$LOAD" misses "$BASE" "$ROUNDS" "$USERS" "$PW"
report "after $ROUNDS x $USERS concurrent misses"
stop

start
python3 "$LOAD" soak "$BASE" "$SOAK_SECONDS" "$PW" &
LOADPID=$!
PEAK=0
while kill -0 "$LOADPID" 2>/dev/null; do
    RSS=$(kib VmRSS); [ "$RSS" -gt "$PEAK" ] && PEAK=$RSS
    sleep 1
done
wait "$LOADPID"
report "after a ${SOAK_SECONDS} s mixed soak"
printf '%-34s %d MiB\n' "highest VmRSS sampled in the soak" $(( PEAK / 1024 ))
stop
