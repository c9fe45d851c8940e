#!/usr/bin/env bash
# Single sign-on speed (issue 15, "Speed"; docs/sso.md), against a release build on loopback
# with SQLite and the test providers of tests/interop (npm ci --prefix tests/interop first).
#
#   bench/sso.sh                      # 300 logins at c=1, 300 at c=4
#   LOGINS=1000 bench/sso.sh
#
# G1: Portcullis's time in /sso/complete/oidc/ (its one token call to the local oidc-provider,
#     id_token checks, account, session): p50 ≤ 15 ms, p99 ≤ 40 ms.
# G2: the whole scripted round trip (Portcullis, the provider's login page, back): p50 ≤ 60 ms.
# G3: calls to the provider per login in steady state: exactly one (the token request), counted
#     by the hostile provider's request counters over LOGINS logins after a warm-up.
# Every login must end with a session: any other answer fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
LOGINS="${LOGINS:-300}"
PORT="${PORT:-18062}"
PW="sso-bench-password"
[ -d tests/interop/node_modules/oidc-provider ] || { echo "run: npm ci --prefix tests/interop" >&2; exit 1; }
cargo build --release -q -p portcullis --bin portcullis
BIN="$PWD/target/release/portcullis"
WORK="$(mktemp -d)"
cleanup() {
    for p in ${PID:-} ${IDP_PID:-} ${HIDP_PID:-}; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
BASE="http://127.0.0.1:$PORT"

# start_node SCRIPT OUT: starts a provider, waits for its one JSON line, prints the issuer.
start_node() {
    node "tests/interop/$1" >"$WORK/$2.out" 2>"$WORK/$2.err" &
    echo $! >"$WORK/$2.pid"
    for _ in $(seq 1 100); do
        grep -q issuer "$WORK/$2.out" 2>/dev/null && break
        sleep 0.1
    done
    sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$WORK/$2.out"
}
export IDP_CLIENTS="[{\"client_id\":\"portcullis\",\"client_secret\":\"bench-secret\",\"redirect_uris\":[\"$BASE/sso/complete/oidc/\"]}]"
IDP="$(start_node idp.mjs idp)"; IDP_PID="$(cat "$WORK/idp.pid")"
HIDP="$(start_node hostile-idp.mjs hidp)"; HIDP_PID="$(cat "$WORK/hidp.pid")"
[ -n "$IDP" ] && [ -n "$HIDP" ] || { echo "providers did not start"; cat "$WORK"/*.err; exit 1; }

export PORTCULLIS_ADMIN_PASSWORD="$PW" PORTCULLIS_LISTEN="127.0.0.1:$PORT" PORTCULLIS_LOG=warn
export PORTCULLIS_DATABASE_URL="sqlite:$WORK/portcullis.db" PORTCULLIS_PUBLIC_URL="$BASE"
# One client address begins every login here: the per-network limit of begun logins is off.
export PORTCULLIS_SSO__BEGIN_LIMIT_PER_MINUTE=0
(cd "$WORK" && exec "$BIN" serve >>"$WORK/server.log" 2>&1) &
PID=$!
for _ in $(seq 1 200); do curl -fs "$BASE/api/v2/ping/" >/dev/null && break; sleep 0.1; done

configure() { # configure ISSUER
    code=$(curl -s -o "$WORK/patch.out" -w '%{http_code}' -u "admin:$PW" -X PATCH \
        -H 'Content-Type: application/json' "$BASE/api/v2/settings/oidc/" \
        -d "{\"SOCIAL_AUTH_OIDC_KEY\":\"portcullis\",\"SOCIAL_AUTH_OIDC_SECRET\":\"bench-secret\",\"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT\":\"$1\"}")
    [ "$code" = 200 ] || { echo "PATCH oidc answered $code"; cat "$WORK/patch.out"; exit 1; }
}

echo "machine: $(nproc) cores; loopback; SQLite; release build; $LOGINS logins per row"
configure "$IDP"
printf '%-28s %4s %9s %13s %13s %10s %10s\n' provider conc logins/s complete_p50 complete_p99 total_p50 total_p99
for conc in 1 4; do
    out=$(node bench/sso.mjs "$BASE" "$LOGINS" "$conc" oidc-provider) || { tail -20 "$WORK/server.log"; exit 1; }
    node -e 'const r=JSON.parse(process.argv[1]);console.log(["oidc-provider",r.concurrency,r.logins_per_s,r.complete_p50,r.complete_p99,r.total_p50,r.total_p99].map(String).map((s,i)=>i?s.padStart([0,4,9,13,13,10,10][i]):s.padEnd(28)).join(" "))' "$out"
done

# G3: outbound calls per login, counted by the hostile provider (honest mode).
configure "$HIDP"
node bench/sso.mjs "$BASE" 1 1 hostile >/dev/null
curl -fs -X POST "$HIDP/__requests/reset" >/dev/null
out=$(node bench/sso.mjs "$BASE" "$LOGINS" 1 hostile) || { tail -20 "$WORK/server.log"; exit 1; }
counts=$(curl -fs "$HIDP/__requests")
# The driver's warm-up login is one more login than LOGINS.
node -e '
const r = JSON.parse(process.argv[1]); const c = JSON.parse(process.argv[2]); const n = r.logins + 1;
console.log(`G3 over ${n} logins: token ${c.token}, discovery ${c.discovery}, jwks ${c.jwks}, userinfo ${c.userinfo} -> ${((c.token + c.discovery + c.jwks + c.userinfo) / n).toFixed(3)} calls per login`);
' "$out" "$counts"
