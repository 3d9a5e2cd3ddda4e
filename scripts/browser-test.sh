#!/usr/bin/env bash
# The browser client end to end: a real server, bots in a room, and the page in headless
# Chromium driven by Playwright (playwright-core with Debian's /usr/bin/chromium; nothing
# downloads a browser). Installs what it needs (apt: chromium; npm: tests/browser) when absent.
#
#   scripts/browser-test.sh [OUT_DIR]      screenshots land in OUT_DIR (default target/browser)
#
# Loopback only; the bots and the server are stopped on exit. The server records replays: bots
# play a short while in room e2e-replay and leave, so the page has a finished replay to watch.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/browser}
mkdir -p "$OUT"
source scripts/browser-lib.sh
ensure_browser
cargo build -q -p arena-server -p arena-bot

# A view box over the whole default map, so every bot is in the page's view wherever it spawns;
# replays recorded in OUT_DIR/replays, emptied first so the page finds this run's; every room
# here is named from one address (the bots' four and the page's), more than the default allows.
REPLAYS=$(cd "$OUT" && pwd)/replays
rm -rf "$REPLAYS"
printf 'view_width = 3200.0\nview_height = 2000.0\nreplay_dir = "%s"\nmax_named_rooms_per_ip = 16\n' \
  "$REPLAYS" >"$OUT/server.toml"
SERVER=
BOTS_PID=
trap 'kill $SERVER $BOTS_PID 2>/dev/null || true' EXIT
start_debug_server "$OUT/server" --config "$OUT/server.toml"
BOTS=3
"$ARENA_BIN/arena-bot" --url "ws://$ADDR/ws" --room e2e --bots $BOTS --behavior wander \
  --duration 120 --progress 0 >"$OUT/bots.txt" 2>&1 &
BOTS_PID=$!
"$ARENA_BIN/arena-bot" --game tron --url "ws://$ADDR/ws" --room e2e-tron --bots $BOTS \
  --duration 120 --progress 0 >"$OUT/tron-bots.txt" 2>&1 &
BOTS_PID="$BOTS_PID $!"
# 20 s of play, then the room closes: its replay is what the page watches (ticks to spare for
# 4x speed over two seconds).
"$ARENA_BIN/arena-bot" --url "ws://$ADDR/ws" --room e2e-replay --bots $BOTS --behavior wander \
  --duration 20 --progress 0 >"$OUT/replay-bots.txt" 2>&1 &
BOTS_PID="$BOTS_PID $!"
# Two bots hold both seats of room e2e-full: the page's matchmake there is refused.
"$ARENA_BIN/arena-bot" --url "ws://$ADDR/ws" --room e2e-full --room-option max_players=2 --bots 2 \
  --behavior wander --duration 120 --progress 0 >"$OUT/full-bots.txt" 2>&1 &
BOTS_PID="$BOTS_PID $!"
node tests/browser/e2e.mjs "http://$ADDR" e2e "$OUT" $BOTS
