#!/usr/bin/env bash
# arena-bot's HTML pages as a person opens them: a short real run (10 bots for 6 s, with churn,
# debug build) against a real server on loopback, written as JSON and HTML with the server's
# /metrics scraped; then `arena-bot compare` of that report with itself (which must pass) with
# --html; then both pages in headless Chromium (tests/browser/report.mjs): the verdict is shown,
# every chart drew data, nothing is fetched, no script error. Installs what it needs (apt:
# chromium; npm: tests/browser) when absent.
#
#   scripts/report-test.sh [OUT_DIR]      pages, JSON and screenshots land in OUT_DIR
#                                         (default target/report-test)
#
# Loopback only; the server is stopped on exit. About 15 s once built.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/report-test}
mkdir -p "$OUT"
source scripts/browser-lib.sh
ensure_browser
cargo build -q -p arena-server -p arena-bot

SERVER=
trap 'kill $SERVER 2>/dev/null || true' EXIT
start_debug_server "$OUT/server"
set +e
./target/debug/arena-bot --url "ws://$ADDR/ws" --bots 10 --duration 6 --churn 20 --progress 0 \
  --json "$OUT/run.json" --html "$OUT/report.html" >"$OUT/bots.txt" 2>&1
BOT_EXIT=$?
set -e
cat "$OUT/bots.txt"
EXPECT=PASS
[ "$BOT_EXIT" = 0 ] || EXPECT=FAIL
./target/debug/arena-bot compare "$OUT/run.json" "$OUT/run.json" --html "$OUT/compare.html" >"$OUT/compare.md"
tail -n 1 "$OUT/compare.md"
node tests/browser/report.mjs "$OUT/report.html" "$OUT/compare.html" "$OUT" "$EXPECT"
# The pages were checked either way; a run that failed fails the test too.
[ "$BOT_EXIT" = 0 ] || { echo "report-test: the bot run failed (exit $BOT_EXIT)"; exit 1; }
