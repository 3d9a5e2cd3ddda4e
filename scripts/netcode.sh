#!/usr/bin/env bash
# Netcode benchmark: full snapshots against delta snapshots + interest management, for one room
# of N bots, on the same release build.
#
#   scripts/netcode.sh [SIZES] [SECONDS]        e.g. scripts/netcode.sh "10 100 500" 20
#   MODES=delta scripts/netcode.sh ...          one mode only (full, delta)
#
# For each size and mode: a fresh release server pinned to core 0 (one worker; `--full-snapshots`
# for the full mode), every bot in one room on core 1, a ramp of SIZE/50 s, then SECONDS of play.
# Rooms of 10 play on the default map (1600 x 1000); larger rooms on assets/maps/large.map
# (6400 x 4000), where a 2048 x 1280 view box sees about a tenth of the arena. Prints a Markdown
# table; raw reports go to $OUT (default target/netcode), each also as an HTML page, and
# $OUT/netcode.html charts bytes per client, server CPU and p99 input-to-ack for full against
# delta snapshots (from $OUT/netcode.jsonl; APPEND=1 adds to the rows of an earlier invocation).
# Loopback only; every run ends by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-"10 100 500"}
SECONDS_PER_RUN=${2:-20}
MODES=${MODES:-"full delta"}
OUT=${OUT:-target/netcode}
mkdir -p "$OUT"
cargo build -q --release -p arena-server -p arena-bot

source scripts/bench-lib.sh
ROWS="$OUT/netcode.jsonl"
[ "${APPEND:-0}" = 1 ] || : >"$ROWS"

echo "| players in the room | map | snapshots | bytes per client-s | snapshot Hz | input-ack p99 ms | tick overruns | server CPU | CPU µs per client-s | peak RSS | prediction error p99 | pass |"
echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"
for N in $SIZES; do
  MAP=""; MAP_NAME=default
  if [ "$N" -gt 16 ]; then MAP="map = \"$PWD/assets/maps/large.map\""; MAP_NAME=large; fi
  cat >"$OUT/server-$N.toml" <<TOML
workers = 1
max_players = $N
max_connections_per_ip = 100000
$MAP
TOML
  RAMP=$(python3 -c "print(max(2, $N / 50))")
  for MODE in $MODES; do
    FLAG=""; [ "$MODE" = full ] && FLAG=--full-snapshots
    TAG="$MODE-$N"
    start_server ./target/release/arena-server "$OUT/server-$TAG" --config "$OUT/server-$N.toml" $FLAG
    C0=$(cpu_ticks $SERVER)
    set +e
    taskset -c 1 ./target/release/arena-bot --url "ws://$ADDR/ws" --bots "$N" --room big --ramp "$RAMP" \
      --duration "$SECONDS_PER_RUN" --progress 0 --json "$OUT/bots-$TAG.json" --html "$OUT/bots-$TAG.html" \
      --max-p99-input-ack-ms 66.7 --min-snapshot-rate 28.5 >"$OUT/bots-$TAG.txt" 2>&1
    BOT_EXIT=$?
    set -e
    C1=$(cpu_ticks $SERVER)
    PEAK_KB=$(awk '/VmHWM/ { print $2 }' /proc/$SERVER/status)
    TICKS=$(metric "$ADDR" arena_tick_seconds_count); OVERRUNS=$(metric "$ADDR" arena_tick_overruns_total)
    kill -TERM $SERVER; wait $SERVER || true
    python3 - "$OUT/bots-$TAG.json" "$N" "$MAP_NAME" "$MODE" "$C0" "$C1" "$(getconf CLK_TCK)" \
      "$PEAK_KB" "${TICKS:-0}" "${OVERRUNS:-0}" "$BOT_EXIT" "$RAMP" "$ROWS" "$TAG" <<'PY'
import json, sys
j, n, map_name, mode, c0, c1, tck, peak, ticks, overruns, bot_exit, ramp, rows, tag = sys.argv[1:]
d = json.load(open(j)); n = int(n)
cpu = (int(c1) - int(c0)) / int(tck)
wall = float(d["duration_s"])
# Client-seconds: every bot connected for the play time plus on average half the ramp.
client_s = n * (wall - float(ramp) / 2)
label = "full" if mode == "full" else "delta + view box"
ok = "yes" if bot_exit == "0" else "no: " + d["result"]
print(f"| {n} | {map_name} | {label} | {d['bytes_per_bot_s']:,.0f} | {d['snapshot_rate_hz']:.2f} "
      f"| {d['input_ack_ms']['p99']:.1f} | {int(float(overruns))} of {int(float(ticks))} | {cpu / wall * 100:.0f}% "
      f"| {cpu / client_s * 1e6:.0f} | {int(peak) / 1024:.1f} MiB | {d['prediction_error']['p99']:.3f} | {ok} |")
with open(rows, "a") as f:
    f.write(json.dumps({
        "players": n, "map": map_name, "snapshots": label, "bytes_per_client_s": round(d["bytes_per_bot_s"]),
        "snapshot_hz": round(d["snapshot_rate_hz"], 2), "input_ack_p99_ms": d["input_ack_ms"]["p99"],
        "tick_overruns": int(float(overruns)), "ticks": int(float(ticks)),
        "server_cpu_percent": round(cpu / wall * 100, 1), "cpu_us_per_client_s": round(cpu / client_s * 1e6),
        "peak_rss_mib": round(int(peak) / 1024, 1), "prediction_error_p99": d["prediction_error"]["p99"],
        "pass": "yes" if bot_exit == "0" else "no", "report": f"bots-{tag}.html"}) + "\n")
PY
  done
done
./target/release/arena-bot sweep "$ROWS" --html "$OUT/netcode.html" --title "Netcode: full snapshots against delta + view box" \
  --x players --x-label "players in the room (log scale)" --series snapshots --log-x \
  --chart "bytes_per_client_s=Bytes per client-second" \
  --chart "cpu_us_per_client_s=Server CPU, µs per client-second" \
  --chart "input_ack_p99_ms=p99 input-to-ack, ms" --target "input_ack_p99_ms=66.7" \
  --note "scripts/netcode.sh \"$SIZES\" $SECONDS_PER_RUN: one room per run, server on core 0 (one worker), bots on core 1; $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%d)"
echo "charts: $OUT/netcode.html" >&2
