#!/usr/bin/env bash
# The console's end-to-end tests in a real browser (docs/console.md, "Browser tests"):
# Debian's Chromium (installed with apt when missing; never a downloaded browser),
# playwright-core and axe-core from npm (package-lock.json, `npm ci`), against the debug
# binary (`cargo build -p portcullis` first, or PORTCULLIS_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium"
    start=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    echo "installed chromium in $((SECONDS - start)) s"
fi
/usr/bin/chromium --version

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d tests/browser/node_modules/playwright-core ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    npm ci --prefix tests/browser --no-audit --no-fund
fi
[ -x "${PORTCULLIS_BIN:-target/debug/portcullis}" ] || cargo build -p portcullis
npm test --prefix tests/browser
