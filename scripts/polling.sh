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
# go to $OUT (default target/polling), each also as an HTML page, and $OUT/polling.html charts
# polling against push (bytes, update latency, server CPU per observer count; from
# $OUT/polling.jsonl, APPEND=1 adds to the rows of an earlier invocation). Loopback only; every
# run ends by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${1:-"10 100"}
SECONDS_PER_RUN=${2:-20}
OUT=${OUT:-target/polling}
mkdir -p "$OUT"
cargo build -q --release -p arena-server -p arena-bot
source scripts/bench-lib.sh
ROWS="$OUT/polling.jsonl"
[ "${APPEND:-0}" = 1 ] || : >"$ROWS"
# Transport:poll-interval pairs to run; e.g. MODES="ws-json:0 ws:0" for spectators only.
MODES=${MODES:-"poll:1000 poll:100 ws-json:0 ws:0"}
printf 'workers = 1\nmax_connections_per_ip = 100000\nmax_spectators = 1000\nmax_players = 100\nmax_spectators_per_ip = 100000\n' >"$OUT/server.toml"

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
    taskset -c 1 ./target/release/arena-bot --url "ws://$ADDR/ws" --room watched --bots "${BOTS:-10}" --ramp 1 \
      --duration "$SECONDS_PER_RUN" --progress 0 --observers "$N" --transport "$TRANSPORT" $EXTRA \
      --json "$OUT/bots-$TAG.json" --html "$OUT/bots-$TAG.html" >"$OUT/bots-$TAG.txt" 2>&1
    BOT_EXIT=$?
    set -e
    C1=$(cpu_ticks $SERVER)
    kill -TERM $SERVER; wait $SERVER || true
    python3 - "$OUT/bots-$TAG.json" "$N" "$TRANSPORT" "$INTERVAL" "$C0" "$C1" "$(getconf CLK_TCK)" "$BOT_EXIT" "$ROWS" "$TAG" <<'PY'
import json, sys
j, n, transport, interval, c0, c1, tck, bot_exit, rows, tag = sys.argv[1:]
d = json.load(open(j)); o = d["observers"]
cpu = (int(c1) - int(c0)) / int(tck)
label = {"poll": f"HTTP poll every {int(interval)} ms (JSON)", "ws-json": "WebSocket push (JSON)", "ws": "WebSocket push (bincode)"}[transport]
st = o["update_latency_ms"]
flag = "" if bot_exit == "0" else f" (run failed: {d['result']})"
print(f"| {n} | {label}{flag} | {o['per_observer_requests_per_s']:.1f} | {o['per_observer_updates_per_s']:.1f} "
      f"| {o['per_observer_bytes_up_per_s']:,.0f} | {o['per_observer_bytes_down_per_s']:,.0f} "
      f"| {st['p50']:.1f} / {st['p99']:.1f} / {st['max']:.1f} | {cpu / float(d['duration_s']) * 100:.1f}% "
      f"({cpu / float(d['duration_s']) / int(n) * 1e6:,.0f} µs per observer-s) |")
with open(rows, "a") as f:
    f.write(json.dumps({
        "observers": int(n), "transport": label, "requests_or_messages_per_s": round(o["per_observer_requests_per_s"], 1),
        "new_states_per_s": round(o["per_observer_updates_per_s"], 1),
        "bytes_up_per_observer_s": round(o["per_observer_bytes_up_per_s"]),
        "bytes_down_per_observer_s": round(o["per_observer_bytes_down_per_s"]),
        "update_latency_p50_ms": st["p50"], "update_latency_p99_ms": st["p99"], "update_latency_max_ms": st["max"],
        "server_cpu_percent": round(cpu / float(d["duration_s"]) * 100, 1),
        "pass": "yes" if bot_exit == "0" else "no", "report": f"bots-{tag}.html"}) + "\n")
PY
  done
done
./target/release/arena-bot sweep "$ROWS" --html "$OUT/polling.html" --title "WebSocket push against HTTP polling" \
  --x observers --x-label "observers of one room (log scale)" --series transport --log-x \
  --chart "bytes_down_per_observer_s=Bytes down per observer-second" \
  --chart "update_latency_p50_ms=Update latency p50, ms" \
  --chart "update_latency_p99_ms=Update latency p99, ms" \
  --chart "server_cpu_percent=Server CPU, % of its core" \
  --note "scripts/polling.sh \"$COUNTS\" $SECONDS_PER_RUN: 10 bots play, observers watch; server on core 0 (one worker), bots and observers on core 1; $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%d)"
echo "charts: $OUT/polling.html" >&2
