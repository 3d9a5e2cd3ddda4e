#!/usr/bin/env bash
# Capacity benchmark: how many bots one server core holds at the default tick rate.
#
#   scripts/capacity.sh [STEPS] [SECONDS]        e.g. scripts/capacity.sh "250 500 1000" 30
#
# For each bot count: a fresh release server pinned to core 0 (one worker), the bots pinned to
# core 1 (one runtime thread), a 10 s ramp, then SECONDS of play. A step passes when every bot
# connected and stayed, p99 input-to-ack is under two ticks, snapshots arrive at >= 95% of the
# tick rate, and fewer than 1% of ticks overran. Prints a Markdown table; raw reports go to
# $OUT (default target/capacity), each also as an HTML page (bots-N.html), and
# $OUT/capacity.html charts server CPU per player and p99 input-to-ack against bot count (from
# $OUT/capacity.jsonl, one row per step; APPEND=1 adds to the rows of an earlier invocation).
# SERVER_BIN picks another server binary (A/B comparisons). Loopback only; every run ends by
# itself.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-"250 500 750 1000"}
SECONDS_PER_STEP=${2:-30}
RAMP=10
OUT=${OUT:-target/capacity}
TICK_RATE=30
mkdir -p "$OUT"
cargo build -q --release -p arena-server -p arena-bot
SERVER_BIN=${SERVER_BIN:-./target/release/arena-server}
cat >"$OUT/server.toml" <<TOML
workers = 1
tick_rate = $TICK_RATE
max_rooms = 10000
max_connections_per_ip = 100000
max_connections = 100000
TOML

source scripts/bench-lib.sh
ROWS="$OUT/capacity.jsonl"
[ "${APPEND:-0}" = 1 ] || : >"$ROWS"

echo "| bots | rooms | snapshot Hz | input-ack p50 / p99 ms | RTT p99 ms | unexpected disconnects | tick overruns | server CPU (1 core) | CPU µs per client-s | peak RSS | RSS per player | pass |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"
for BOTS in $STEPS; do
  start_server "$SERVER_BIN" "$OUT/server-$BOTS" --config "$OUT/server.toml"
  IDLE_KB=$(awk '/VmRSS/ { print $2 }' /proc/$SERVER/status)
  C0=$(cpu_ticks $SERVER)
  set +e
  taskset -c 1 ./target/release/arena-bot --url "ws://$ADDR/ws" --bots "$BOTS" --ramp $RAMP \
    --duration "$SECONDS_PER_STEP" --progress 0 --json "$OUT/bots-$BOTS.json" --html "$OUT/bots-$BOTS.html" \
    --max-p99-input-ack-ms $(python3 -c "print(2000 / $TICK_RATE)") \
    --min-snapshot-rate $(python3 -c "print(0.95 * $TICK_RATE)") >"$OUT/bots-$BOTS.txt" 2>&1
  BOT_EXIT=$?
  set -e
  C1=$(cpu_ticks $SERVER)
  PEAK_KB=$(awk '/VmHWM/ { print $2 }' /proc/$SERVER/status)
  TICKS=$(metric "$ADDR" arena_tick_seconds_count); OVERRUNS=$(metric "$ADDR" arena_tick_overruns_total)
  kill -TERM $SERVER; wait $SERVER || true
  J="$OUT/bots-$BOTS.json"
  python3 - "$J" "$BOTS" "$C0" "$C1" "$(getconf CLK_TCK)" "$IDLE_KB" "$PEAK_KB" "${TICKS:-0}" "${OVERRUNS:-0}" "$BOT_EXIT" "$((RAMP + SECONDS_PER_STEP))" "$ROWS" <<'PY'
import json, math, sys
j, bots, c0, c1, tck, idle, peak, ticks, overruns, bot_exit, wall, rows = sys.argv[1:]
d = json.load(open(j)); bots = int(bots)
cpu = (int(c1) - int(c0)) / int(tck)
wall = float(d["duration_s"])
ticks, overruns = float(ticks), float(overruns)
overrun_ok = ticks > 0 and overruns / ticks < 0.01
rooms = math.ceil(bots / 16)
ok = bot_exit == "0" and overrun_ok
# Client-seconds: every bot connected for the play time plus on average half the ramp.
client_s = bots * (wall - 5.0)
print(f"| {bots} | {rooms} | {d['snapshot_rate_hz']:.2f} | {d['input_ack_ms']['p50']:.1f} / {d['input_ack_ms']['p99']:.1f} "
      f"| {d['rtt_ms']['p99']:.2f} | {d['unexpected_disconnects']} | {int(overruns)} of {int(ticks)} "
      f"| {cpu / wall * 100:.0f}% | {cpu / client_s * 1e6:.0f} | {int(peak) / 1024:.1f} MiB "
      f"| {(int(peak) - int(idle)) / bots:.1f} KiB | {'yes' if ok else 'no: ' + (d['result'] if bot_exit != '0' else 'tick overruns')} |")
with open(rows, "a") as f:
    f.write(json.dumps({
        "bots": bots, "rooms": rooms, "snapshot_hz": round(d["snapshot_rate_hz"], 2),
        "input_ack_p50_ms": d["input_ack_ms"]["p50"], "input_ack_p99_ms": d["input_ack_ms"]["p99"],
        "rtt_p99_ms": d["rtt_ms"]["p99"], "unexpected_disconnects": d["unexpected_disconnects"],
        "tick_overruns": int(overruns), "ticks": int(ticks),
        "server_cpu_percent": round(cpu / wall * 100, 1), "cpu_us_per_client_s": round(cpu / client_s * 1e6),
        "peak_rss_mib": round(int(peak) / 1024, 1), "rss_per_player_kib": round((int(peak) - int(idle)) / bots, 1),
        "pass": "yes" if ok else "no", "report": f"bots-{bots}.html"}) + "\n")
PY
done
./target/release/arena-bot sweep "$ROWS" --html "$OUT/capacity.html" --title "Capacity: one server core at $TICK_RATE Hz" \
  --x bots --x-label "bots (16 per room)" \
  --chart "cpu_us_per_client_s=Server CPU, µs per client-second" \
  --chart "input_ack_p99_ms=p99 input-to-ack, ms" --target "input_ack_p99_ms=$(python3 -c "print(round(2000 / $TICK_RATE, 1))")" \
  --chart "server_cpu_percent=Server CPU, % of its core" \
  --note "scripts/capacity.sh \"$STEPS\" $SECONDS_PER_STEP: server on core 0 (one worker), bots on core 1, ${RAMP} s ramp then $SECONDS_PER_STEP s of play; $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%d)"
echo "charts: $OUT/capacity.html" >&2
