#!/usr/bin/env bash
# WebSocket push against HTTP polling, measured: observers watch one room in which 10 bots play,
# either as spectators (the server pushes every snapshot, in JSON as a browser gets it or in
# bincode) or by polling
# GET /api/rooms/{room}/state with If-None-Match every 100 ms or 1 s.
#
#   scripts/polling.sh [OBSERVER_COUNTS] [SECONDS]      e.g. scripts/polling.sh "10 100" 20
#
# For each count and transport: a fresh release server pinned to core 0 (one worker), the bots
# and observers on core 1. Bytes are counted on the observers' TCP streams (HTTP heads and
# WebSocket frame headers included, TCP/IP headers not). Prints a Markdown table; raw reports
# go to $OUT (default target/polling). Loopback only; every run ends by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${1:-"10 100"}
SECONDS_PER_RUN=${2:-20}
OUT=${OUT:-target/polling}
mkdir -p "$OUT"
cargo build -q --release -p arena-server -p arena-bot
source scripts/bench-lib.sh
# Transport:poll-interval pairs to run; e.g. MODES="ws-json:0 ws:0" for spectators only.
MODES=${MODES:-"poll:1000 poll:100 ws-json:0 ws:0"}
printf 'workers = 1\nmax_connections_per_ip = 100000\nmax_spectators = 1000\nmax_spectators_per_ip = 100000\n' >"$OUT/server.toml"

echo "| observers | transport | requests or messages per observer-s | new states per observer-s | bytes up per observer-s | bytes down per observer-s | update latency p50 / p99 / max ms | server CPU |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for N in $COUNTS; do
  for MODE in $MODES; do
    TRANSPORT=${MODE%%:*}; INTERVAL=${MODE##*:}
    TAG="$TRANSPORT-$INTERVAL-$N"
    start_server ./target/release/arena-server "$OUT/server-$TAG" --config "$OUT/server.toml"
    C0=$(cpu_ticks $SERVER)
    EXTRA=""; [ "$TRANSPORT" = poll ] && EXTRA="--poll-interval-ms $INTERVAL"
    set +e
    taskset -c 1 ./target/release/arena-bot --url "ws://$ADDR/ws" --room watched --bots 10 --ramp 1 \
      --duration "$SECONDS_PER_RUN" --progress 0 --observers "$N" --transport "$TRANSPORT" $EXTRA \
      --json "$OUT/bots-$TAG.json" >"$OUT/bots-$TAG.txt" 2>&1
    BOT_EXIT=$?
    set -e
    C1=$(cpu_ticks $SERVER)
    kill -TERM $SERVER; wait $SERVER || true
    python3 - "$OUT/bots-$TAG.json" "$N" "$TRANSPORT" "$INTERVAL" "$C0" "$C1" "$(getconf CLK_TCK)" "$BOT_EXIT" <<'PY'
import json, sys
j, n, transport, interval, c0, c1, tck, bot_exit = sys.argv[1:]
d = json.load(open(j)); o = d["observers"]
cpu = (int(c1) - int(c0)) / int(tck)
label = {"poll": f"HTTP poll every {int(interval)} ms (JSON)", "ws-json": "WebSocket push (JSON)", "ws": "WebSocket push (bincode)"}[transport]
st = o["update_latency_ms"]
flag = "" if bot_exit == "0" else f" (run failed: {d['result']})"
print(f"| {n} | {label}{flag} | {o['per_observer_requests_per_s']:.1f} | {o['per_observer_updates_per_s']:.1f} "
      f"| {o['per_observer_bytes_up_per_s']:,.0f} | {o['per_observer_bytes_down_per_s']:,.0f} "
      f"| {st['p50']:.1f} / {st['p99']:.1f} / {st['max']:.1f} | {cpu / float(d['duration_s']) * 100:.1f}% "
      f"({cpu / float(d['duration_s']) / int(n) * 1e6:,.0f} µs per observer-s) |")
PY
  done
done
