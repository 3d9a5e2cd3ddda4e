#!/usr/bin/env bash
# Lag compensation measured: chase bots' hit ratio and prediction error at 0 ms and at a
# simulated round trip, with compensation on and off, on one build, alternating ROUNDS times
# (machines here drift from day to day: compare within one run). Server on core 0, bots on
# core 1, loopback only; release binaries from target/release (built here if absent).
#
#   scripts/lag.sh [ROUNDS] [BOTS] [SECONDS] [ONE_WAY_MS]      e.g. scripts/lag.sh 3 16 30 75
#
# Prints one line per run and, at the end, the median of each case and its ratio to the 0 ms
# figure with compensation on.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
BOTS=${2:-16}
SECS=${3:-30}
ONE_WAY=${4:-75}
OUT=$(realpath -m "${OUT:-target/lag}")
mkdir -p "$OUT"
cargo build -q --release -p arena-server -p arena-bot
source scripts/bench-lib.sh
for mode in on off; do
  printf 'lag_compensation = %s\n' "$([ $mode = on ] && echo true || echo false)" >"$OUT/$mode.toml"
done
ROWS="$OUT/rows.tsv"
: >"$ROWS"
for round in $(seq "$ROUNDS"); do
  for mode in on off; do
    for latency in 0 "$ONE_WAY"; do
      start_server target/release/arena-server "$OUT/server" --config "$OUT/$mode.toml"
      report="$OUT/$mode-$latency-$round.json"
      taskset -c 1 target/release/arena-bot --url "ws://$ADDR/ws" --bots "$BOTS" \
        --duration "$SECS" --room lag --behavior chase --latency-ms "$latency" \
        --progress 0 --metrics-url off --json "$report" >/dev/null || true
      kill "$SERVER" && wait "$SERVER" 2>/dev/null || true
      python3 - "$report" "$mode" "$latency" "$round" >>"$ROWS" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print("\t".join([sys.argv[2], sys.argv[3], sys.argv[4], str(r["shots"]), str(r["hits"]),
                 "%.3f" % (r["hit_ratio"] or 0), "%.3f" % r["prediction_error"]["p99"]]))
EOF
      tail -1 "$ROWS" | awk -F'\t' '{ printf "round %s: compensation %s, %s ms each way: %s shots, %s hits, hit ratio %s, prediction error p99 %s\n", $3, $1, $2, $4, $5, $6, $7 }'
    done
  done
done
python3 - "$ROWS" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
cases = {}
for mode, latency, _, _, _, ratio, err in rows:
    cases.setdefault((mode, int(latency)), []).append((float(ratio), float(err)))
base = statistics.median(r for r, _ in cases[("on", 0)])
print("compensation  one-way ms  hit ratio (median)  of on/0 ms  prediction error p99 (max)")
for (mode, latency), runs in sorted(cases.items(), key=lambda c: (c[0][0] != "on", c[0][1])):
    ratio = statistics.median(r for r, _ in runs)
    print(f"{mode:>12}  {latency:>10}  {ratio:>18.3f}  {ratio / base:>10.2f}  {max(e for _, e in runs):>.3f}")
EOF
