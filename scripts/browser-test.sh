#!/usr/bin/env bash
# The browser client end to end: a real server, bots in a room, and the page in headless
# Chromium driven by Playwright (playwright-core with Debian's /usr/bin/chromium; nothing
# downloads a browser). Installs what it needs (apt: chromium; npm: tests/browser) when absent.
#
#   scripts/browser-test.sh [OUT_DIR]      screenshots land in OUT_DIR (default target/browser)
#
# Loopback only; the bots and the server are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/browser}
mkdir -p "$OUT"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd tests/browser && [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error)
cargo build -q -p arena-server -p arena-bot

# A view box over the whole default map, so every bot is in the page's view wherever it spawns.
printf 'view_width = 3200.0\nview_height = 2000.0\n' >"$OUT/server.toml"
./target/debug/arena-server --bind 127.0.0.1:0 --config "$OUT/server.toml" >"$OUT/server.out" 2>"$OUT/server.err" &
SERVER=$!
BOTS_PID=
trap 'kill $SERVER $BOTS_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  grep -q '^listening on http://' "$OUT/server.out" && break
  sleep 0.1
done
ADDR=$(sed -n 's|^listening on http://||p' "$OUT/server.out")
[ -n "$ADDR" ] || { cat "$OUT/server.err"; exit 1; }
BOTS=3
./target/debug/arena-bot --url "ws://$ADDR/ws" --room e2e --bots $BOTS --behavior wander \
  --duration 60 --progress 0 >"$OUT/bots.txt" 2>&1 &
BOTS_PID=$!
node tests/browser/e2e.mjs "http://$ADDR" e2e "$OUT" $BOTS
